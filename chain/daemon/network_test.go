package daemon

import (
	"crypto/rand"
	"testing"
	"time"

	ma "github.com/multiformats/go-multiaddr"
	"github.com/powmine/powmine/chain"
)

// loopback are the listen addresses of the network tests.
func loopback(t testing.TB) []ma.Multiaddr {
	t.Helper()
	var out []ma.Multiaddr
	for _, s := range []string{"/ip4/127.0.0.1/tcp/0", "/ip4/127.0.0.1/udp/0/quic-v1"} {
		a, err := ma.NewMultiaddr(s)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, a)
	}
	return out
}

func waitFor(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// meshed reports whether a has b's peer id in both gossip meshes.
func meshed(a, b *testDaemon) bool {
	for _, p := range a.net.Peers() {
		if p.ID == b.net.ID() {
			return len(p.Mesh) == 2 && p.Status != nil
		}
	}
	return false
}

// TestNetworkBlockReachesAll: three daemons in a line, each added to the
// previous one's peers; a block submitted to the first reaches the
// others, which relay it, and so does a transfer; the network RPC methods describe the links.
func TestNetworkBlockReachesAll(t *testing.T) {
	now := time.Now()
	p, err := DevParams("", now)
	if err != nil {
		t.Fatal(err)
	}
	var tds []*testDaemon
	for i := range 3 {
		net := &Network{Listen: loopback(t)}
		if i > 0 {
			net.Peers = tds[i-1].NetworkAddrs()[:1]
		}
		tds = append(tds, startTestDaemon(t, now, Config{Params: p, Network: net}))
	}
	for i := 1; i < len(tds); i++ {
		waitFor(t, "mesh", func() bool { return meshed(tds[i-1], tds[i]) && meshed(tds[i], tds[i-1]) })
	}

	var count int
	if e := tds[1].call(t, &count, "getconnectioncount"); e != nil || count != 2 {
		t.Fatalf("getconnectioncount = %d, %v; want 2", count, e)
	}
	var info networkJSON
	if e := tds[0].call(t, &info, "getnetworkinfo"); e != nil || !info.NetworkActive || info.ConnectionsIn != 1 || len(info.LocalAddresses) != 2 {
		t.Fatalf("getnetworkinfo = %+v, %v", info, e)
	}
	var peers []peerJSON
	if e := tds[1].call(t, &peers, "getpeerinfo"); e != nil || len(peers) != 2 || peers[0].Height == nil || *peers[0].Height != 0 {
		t.Fatalf("getpeerinfo = %+v, %v", peers, e)
	}

	pub, priv, err := chain.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tds[0].miner = pub.Address()
	b := tds[0].mineBlock(t)
	start := time.Now()
	if _, err := tds[0].SubmitBlock(b); err != nil {
		t.Fatal(err)
	}
	for i, td := range tds[1:] {
		waitFor(t, "block", func() bool { return td.Node().Tip().Hash == b.Hash() })
		t.Logf("block at node %d after %v", i+1, time.Since(start))
	}

	// A transfer sent to the last node reaches every mempool.
	tx := &chain.Transaction{Transfer: &chain.Transfer{To: chain.Address{9}, Amount: 1000, Fee: 10_000}}
	if err := tx.Transfer.Sign(priv, p.GenesisHash); err != nil {
		t.Fatal(err)
	}
	if err := tds[2].SendTransaction(tx); err != nil {
		t.Fatal(err)
	}
	for _, td := range tds[:2] {
		waitFor(t, "transfer", func() bool { return td.pool.Has(tx.TxID()) })
	}

	// disconnectnode, then addnode onetry brings the link back.
	if e := tds[0].call(t, nil, "disconnectnode", tds[1].net.ID().String()); e != nil {
		t.Fatal(e.Message)
	}
	if e := tds[0].call(t, nil, "disconnectnode", tds[1].net.ID().String()); e == nil || e.Code != codeNodeNotConnected {
		t.Fatalf("second disconnectnode: %+v, want code %d", e, codeNodeNotConnected)
	}
	if e := tds[0].call(t, nil, "addnode", tds[1].NetworkAddrs()[0].String(), "onetry"); e != nil {
		t.Fatal(e.Message)
	}
	if e := tds[0].call(t, nil, "addnode", tds[1].NetworkAddrs()[0].String(), "remove"); e == nil || e.Code != codeNodeNotAdded {
		t.Fatalf("addnode remove of a peer never added: %+v", e)
	}
	if e := tds[0].call(t, nil, "addnode", "/ip4/127.0.0.1/tcp/1", "add"); e == nil || e.Code != -8 {
		t.Fatalf("addnode without /p2p/: %+v", e)
	}
}

// TestNetworkMethodsDisabled: without networking the methods answer as
// Core's do with networking off.
func TestNetworkMethodsDisabled(t *testing.T) {
	td := newTestDaemon(t)
	var count int
	if e := td.call(t, &count, "getconnectioncount"); e != nil || count != 0 {
		t.Fatalf("getconnectioncount = %d, %v", count, e)
	}
	var info networkJSON
	if e := td.call(t, &info, "getnetworkinfo"); e != nil || info.NetworkActive {
		t.Fatalf("getnetworkinfo = %+v, %v", info, e)
	}
	if e := td.call(t, nil, "addnode", "x", "add"); e == nil || e.Code != codeP2PDisabled {
		t.Fatalf("addnode: %+v", e)
	}
}

// TestNetworkMDNSOff: networking without Network.MDNS runs no mDNS
// service (it would send multicast on every interface).
func TestNetworkMDNSOff(t *testing.T) {
	td := netDaemons(t, 1)[0]
	if td.net.MDNSRunning() {
		t.Fatal("mDNS runs without Network.MDNS")
	}
}
