package p2p

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p/core/crypto"
	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/powmine/powmine/chain"
)

func randomPeer(t *testing.T) peer.ID {
	t.Helper()
	_, pub, err := crypto.GenerateEd25519Key(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	id, err := peer.IDFromPublicKey(pub)
	if err != nil {
		t.Fatal(err)
	}
	return id
}

// TestOperatorBan: an operator's ban disconnects the peer, refuses its
// redials, shows in Bans and Stats, and Unban lets it in again.
func TestOperatorBan(t *testing.T) {
	p := &chain.DevParams
	a, b := newTestNode(t, p), newTestNode(t, p)
	connect(t, a, b)
	if err := a.Ban(b.ID(), time.Now().Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "disconnect", func() bool { return a.host.Network().Connectedness(b.ID()) != network.Connected })
	if err := b.Connect(context.Background(), a.Addrs()[0]); err == nil {
		waitFor(t, "refused reconnection", func() bool { return b.host.Network().Connectedness(a.ID()) != network.Connected })
	}
	bans := a.Bans()
	if len(bans) != 1 || bans[0].Peer != b.ID() || bans[0].Cause != BanOperator {
		t.Fatalf("Bans = %+v", bans)
	}
	if st := a.Stats(); st.OperatorBans != 1 || st.InvalidBans != 0 || st.Banned != 1 {
		t.Fatalf("Stats = %+v", st)
	}
	// A shorter ban keeps the longer one.
	if err := a.Ban(b.ID(), time.Now().Add(time.Minute)); err != nil {
		t.Fatal(err)
	}
	if got := a.Bans()[0].Until; !got.Equal(bans[0].Until) {
		t.Fatalf("a shorter ban changed the end from %v to %v", bans[0].Until, got)
	}
	if ok, err := a.Unban(b.ID()); !ok || err != nil {
		t.Fatalf("Unban = %v, %v", ok, err)
	}
	if ok, _ := a.Unban(b.ID()); ok {
		t.Fatal("second Unban found a ban")
	}
	connect(t, a, b)
}

// TestBanFile: bans survive a restart through Config.BanFile (0600);
// expired entries are dropped at load; a corrupt file stops New.
func TestBanFile(t *testing.T) {
	p := &chain.DevParams
	f := newFakeChain()
	file := filepath.Join(t.TempDir(), "banlist.json")
	cfg := Config{Params: p, Chain: f, Mempool: f, BanFile: file}
	n, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	kept, gone := randomPeer(t), randomPeer(t)
	if err := n.Ban(kept, time.Now().Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	if err := n.Ban(gone, time.Now().Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	if ok, err := n.Unban(gone); !ok || err != nil {
		t.Fatalf("Unban = %v, %v", ok, err)
	}
	if err := n.Close(); err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Stat(file); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("ban file: %v, %v", fi, err)
	}
	n, err = New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if !n.Banned(kept) || n.Banned(gone) || len(n.Bans()) != 1 {
		t.Fatalf("after restart: bans %+v", n.Bans())
	}
	if err := n.ClearBans(); err != nil {
		t.Fatal(err)
	}
	if err := n.Close(); err != nil {
		t.Fatal(err)
	}
	if n, err = New(cfg); err != nil || len(n.Bans()) != 0 {
		t.Fatalf("after clear: %v, bans %+v", err, n.Bans())
	}
	n.Close()

	// An expired entry is dropped at load.
	now := time.Now().Unix()
	expired := fmt.Sprintf(`{"version":1,"bans":[{"peer":%q,"created":%d,"until":%d,"cause":"invalid"},{"peer":%q,"created":%d,"until":%d,"cause":"operator"}]}`,
		kept, now-7200, now-3600, gone, now, now+3600)
	if err := os.WriteFile(file, []byte(expired), 0o600); err != nil {
		t.Fatal(err)
	}
	if n, err = New(cfg); err != nil {
		t.Fatal(err)
	}
	if bans := n.Bans(); len(bans) != 1 || bans[0].Peer != gone || bans[0].Cause != BanOperator {
		t.Fatalf("loaded bans %+v, want the unexpired one", bans)
	}
	n.Close()

	for _, corrupt := range []string{"{", `{"version":2,"bans":[]}`, `{"version":1,"bans":[{"peer":"nope","until":1}]}`} {
		if err := os.WriteFile(file, []byte(corrupt), 0o600); err != nil {
			t.Fatal(err)
		}
		if _, err := New(cfg); !errors.Is(err, ErrBanFile) {
			t.Fatalf("New with ban file %q: %v, want ErrBanFile", corrupt, err)
		}
	}
}

// TestBanListBound: a full ban list drops the expired bans, then the one
// that expires first.
func TestBanListBound(t *testing.T) {
	g, err := newGater("", 3)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	ids := make([]peer.ID, 5)
	for i := range ids {
		ids[i] = randomPeer(t)
	}
	// An expired ban goes first, then ids[1], then ids[0].
	if err := g.ban(Ban{Peer: randomPeer(t), Created: now.Add(-time.Hour), Until: now.Add(-time.Second)}); err != nil {
		t.Fatal(err)
	}
	for i, d := range []time.Duration{2 * time.Hour, time.Hour, 3 * time.Hour, 4 * time.Hour, 5 * time.Hour} {
		if err := g.ban(Ban{Peer: ids[i], Created: now, Until: now.Add(d)}); err != nil {
			t.Fatal(err)
		}
	}
	if len(g.list()) != 3 || g.allowed(ids[2]) || g.allowed(ids[3]) || g.allowed(ids[4]) || !g.allowed(ids[0]) || !g.allowed(ids[1]) {
		t.Fatalf("bans %+v: want the 3 that end last", g.list())
	}
}
