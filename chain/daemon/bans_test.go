package daemon

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/powmine/powmine/chain/p2p"
)

// TestSetBan: setban disconnects and bans a peer named by its peer id or
// its /p2p/ multiaddr; listbanned shows Core's fields; the errors are
// Core's; the ban list survives a restart; clearbanned empties it.
func TestSetBan(t *testing.T) {
	now := time.Now()
	p := syncParams(t, now)
	dir := t.TempDir()
	cfg := Config{Params: p, DataDir: dir, Network: &Network{Listen: loopback(t)}}
	a := startTestDaemon(t, now, cfg)
	b := startTestDaemon(t, now, Config{Params: p, Network: &Network{Listen: loopback(t)}})
	dial(t, b, a)
	waitFor(t, "hello", func() bool { return meshed(a, b) })
	bID := b.net.ID().String()

	for _, c := range []struct {
		name   string
		params []any
		code   int
	}{
		{"bad command", []any{bID, "ban"}, -8},
		{"bad peer", []any{"12D3KooWnope", "add"}, codeInvalidIPOrSubnet},
		{"multiaddr without /p2p/", []any{"/ip4/127.0.0.1/tcp/1", "add"}, codeInvalidIPOrSubnet},
		{"absolute time in the past", []any{bID, "add", now.Unix() - 10, true}, -8},
		{"itself", []any{a.net.ID().String(), "add"}, -8},
		{"remove of a peer not banned", []any{bID, "remove"}, codeInvalidIPOrSubnet},
		{"missing command", []any{bID}, -32602},
	} {
		if e := a.call(t, nil, "setban", c.params...); e == nil || e.Code != c.code {
			t.Errorf("%s: setban %v = %+v, want code %d", c.name, c.params, e, c.code)
		}
	}

	if e := a.call(t, nil, "setban", b.NetworkAddrs()[0].String(), "add", 3600); e != nil {
		t.Fatal(e.Message)
	}
	waitFor(t, "disconnect", func() bool { return a.net.Peers() == nil })
	if e := a.call(t, nil, "setban", bID, "add"); e == nil || e.Code != codeNodeAlreadyAdded {
		t.Fatalf("second setban add: %+v", e)
	}
	var banned []bannedJSON
	if e := a.call(t, &banned, "listbanned"); e != nil || len(banned) != 1 {
		t.Fatalf("listbanned = %+v, %v", banned, e)
	}
	if g := banned[0]; g.Address != bID || g.BanDuration != 3600 || g.BannedUntil != g.BanCreated+3600 || g.TimeRemaining < 3590 || g.Cause != "operator" {
		t.Fatalf("listbanned entry %+v", g)
	}
	if b.net.Connect(t.Context(), a.NetworkAddrs()[0]) == nil {
		waitFor(t, "refused redial", func() bool { return b.net.Peers() == nil })
	}

	// The ban list is in the data directory and survives a restart.
	if fi, err := os.Stat(filepath.Join(dir, banFile)); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("ban file: %v, %v", fi, err)
	}
	a.stop()
	a.stop = func() {} // stopped once
	a = startTestDaemon(t, now, cfg)
	if e := a.call(t, &banned, "listbanned"); e != nil || len(banned) != 1 || banned[0].Address != bID {
		t.Fatalf("listbanned after restart = %+v, %v", banned, e)
	}
	if e := a.call(t, nil, "setban", bID, "remove"); e != nil {
		t.Fatal(e.Message)
	}
	dial(t, b, a)
	waitFor(t, "reconnection", func() bool { return meshed(a, b) })

	// An absolute ban, then clearbanned.
	until := time.Now().Add(time.Hour).Unix()
	if e := a.call(t, nil, "setban", bID, "add", until, true); e != nil {
		t.Fatal(e.Message)
	}
	if e := a.call(t, &banned, "listbanned"); e != nil || len(banned) != 1 || banned[0].BannedUntil != until {
		t.Fatalf("listbanned = %+v, %v; want until %d", banned, e, until)
	}
	if e := a.call(t, nil, "clearbanned"); e != nil {
		t.Fatal(e.Message)
	}
	if e := a.call(t, &banned, "listbanned"); e != nil || len(banned) != 0 {
		t.Fatalf("listbanned after clearbanned = %+v, %v", banned, e)
	}
	if a.net.Banned(b.net.ID()) {
		t.Fatal("still banned after clearbanned")
	}
}

// TestSetBanExpires: a ban of one second ends by itself.
func TestSetBanExpires(t *testing.T) {
	a := netDaemons(t, 1)[0]
	other := netDaemons(t, 1)[0].net.ID()
	if e := a.call(t, nil, "setban", other.String(), "add", 1); e != nil {
		t.Fatal(e.Message)
	}
	waitFor(t, "expiry", func() bool {
		var banned []bannedJSON
		return a.call(t, &banned, "listbanned") == nil && len(banned) == 0
	})
}

// TestBanFileCorrupt: a ban list that does not decode stops the daemon
// at start with an error naming the file; it is left in place.
func TestBanFileCorrupt(t *testing.T) {
	now := time.Now()
	dir := t.TempDir()
	p := syncParams(t, now)
	path := filepath.Join(dir, banFile)
	if err := os.WriteFile(path, []byte("{not json"), 0o600); err != nil {
		t.Fatal(err)
	}
	_, err := New(Config{Params: p, DataDir: dir, Network: &Network{Listen: loopback(t)}})
	if !errors.Is(err, p2p.ErrBanFile) {
		t.Fatalf("New = %v, want p2p.ErrBanFile", err)
	}
	if raw, _ := os.ReadFile(path); string(raw) != "{not json" {
		t.Fatal("the corrupt ban file was changed")
	}
}

// TestBanMethodsDisabled: without networking the ban methods answer
// Core's P2P-disabled error.
func TestBanMethodsDisabled(t *testing.T) {
	td := newTestDaemon(t)
	for _, m := range []string{"listbanned", "clearbanned"} {
		if e := td.call(t, nil, m); e == nil || e.Code != codeP2PDisabled {
			t.Errorf("%s: %+v", m, e)
		}
	}
	if e := td.call(t, nil, "setban", "x", "add"); e == nil || e.Code != codeP2PDisabled {
		t.Errorf("setban: %+v", e)
	}
}
