package daemon

import (
	"testing"
	"time"
)

// peerFlags returns whether td is connected to o, and whether o is an
// added peer, from getpeerinfo.
func peerFlags(t *testing.T, td, o *testDaemon) (connected, added bool) {
	t.Helper()
	var peers []peerJSON
	if e := td.call(t, &peers, "getpeerinfo"); e != nil {
		t.Fatal(e.Message)
	}
	for _, p := range peers {
		if p.PeerID == o.net.ID().String() {
			return true, p.AddNode
		}
	}
	return false, false
}

// TestAddNode: addnode add keeps a peer connected (redialed after a
// disconnect) and refuses a second add; remove forgets it (it is not
// redialed); onetry dials once and does not redial. A control peer c,
// added throughout, shows that a redial round ran: the peer that is not
// redialed would have been in the same round.
func TestAddNode(t *testing.T) {
	now := time.Now()
	p := syncParams(t, now)
	var tds []*testDaemon
	for range 3 {
		tds = append(tds, startTestDaemon(t, now, Config{Params: p, Network: &Network{Listen: loopback(t), Redial: 50 * time.Millisecond}}))
	}
	a, b, c := tds[0], tds[1], tds[2]
	addr := func(td *testDaemon) string { return td.NetworkAddrs()[0].String() }
	// cut disconnects a from b and c, and waits for a redial round to
	// bring c back.
	cut := func() {
		t.Helper()
		for _, o := range []*testDaemon{b, c} {
			a.call(t, nil, "disconnectnode", o.net.ID().String())
		}
		waitFor(t, "c redialed", func() bool { ok, _ := peerFlags(t, a, c); return ok })
	}

	for _, o := range []*testDaemon{b, c} {
		if e := a.call(t, nil, "addnode", addr(o), "add"); e != nil {
			t.Fatal(e.Message)
		}
	}
	if conn, added := peerFlags(t, a, b); !conn || !added {
		t.Fatalf("after add: connected %v, added %v", conn, added)
	}
	if e := a.call(t, nil, "addnode", addr(b), "add"); e == nil || e.Code != codeNodeAlreadyAdded {
		t.Fatalf("second add: %+v, want code %d", e, codeNodeAlreadyAdded)
	}
	cut()
	waitFor(t, "b redialed", func() bool { ok, _ := peerFlags(t, a, b); return ok })

	if e := a.call(t, nil, "addnode", addr(b), "remove"); e != nil {
		t.Fatal(e.Message)
	}
	if conn, added := peerFlags(t, a, b); !conn || added {
		t.Fatalf("after remove: connected %v, added %v; want connected, not added", conn, added)
	}
	cut()
	if conn, _ := peerFlags(t, a, b); conn {
		t.Fatal("a removed peer was redialed")
	}

	if e := a.call(t, nil, "addnode", addr(b), "onetry"); e != nil {
		t.Fatal(e.Message)
	}
	if conn, added := peerFlags(t, a, b); !conn || added {
		t.Fatalf("after onetry: connected %v, added %v; want connected, not added", conn, added)
	}
	cut()
	if conn, _ := peerFlags(t, a, b); conn {
		t.Fatal("a onetry peer was redialed")
	}
	for _, c := range []struct {
		params []any
		code   int
	}{
		{[]any{addr(b), "remove"}, codeNodeNotAdded},
		{[]any{addr(b), "sometimes"}, -8},
		{[]any{"/ip4/127.0.0.1/tcp/1", "onetry"}, -8},
	} {
		if e := a.call(t, nil, "addnode", c.params...); e == nil || e.Code != c.code {
			t.Errorf("addnode %v = %+v, want code %d", c.params, e, c.code)
		}
	}
}
