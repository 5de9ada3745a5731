package daemon

import (
	"encoding/json"
	"net/http"
	"testing"
	"time"

	"github.com/powmine/powmine/chain/dashboard"
)

// TestDashboardBlockSourcesAndRelays: a block submitted to daemon a
// reaches daemon b by gossip; a's tree says "this node", b's names a,
// and b's getpeerinfo and peers table count the block relayed by a and
// show a's score.
func TestDashboardBlockSourcesAndRelays(t *testing.T) {
	now := time.Now()
	p, err := DevParams("", now)
	if err != nil {
		t.Fatal(err)
	}
	a := startTestDaemon(t, now, Config{Params: p, Network: &Network{Listen: loopback(t)}})
	b := startTestDaemon(t, now, Config{Params: p, Network: &Network{Listen: loopback(t), Peers: a.NetworkAddrs()[:1]}})
	waitFor(t, "mesh", func() bool { return meshed(a, b) && meshed(b, a) })
	blk := a.mineBlock(t)
	if _, err := a.SubmitBlock(blk); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "block at b", func() bool { return b.Node().Tip().Hash == blk.Hash() })

	source := func(td *testDaemon) string {
		req, _ := http.NewRequest(http.MethodGet, td.url+"/api/tree", nil)
		_, body := getBody(t, req)
		var tree dashboard.Tree
		if err := json.Unmarshal([]byte(body), &tree); err != nil {
			t.Fatal(err)
		}
		for _, n := range tree.Nodes {
			if n.Hash == blk.Hash().String() {
				return n.Source
			}
		}
		return ""
	}
	if got := source(a); got != dashboard.LocalSource {
		t.Errorf("source at a %q, want %q", got, dashboard.LocalSource)
	}
	aid := a.net.ID().String()
	if got := source(b); got != "…"+aid[len(aid)-6:] {
		t.Errorf("source at b %q, want a's id %s", got, aid)
	}

	var peer peerJSON
	waitFor(t, "a's relay count and score at b", func() bool {
		var peers []peerJSON
		if e := b.call(t, &peers, "getpeerinfo"); e != nil || len(peers) != 1 {
			return false
		}
		peer = peers[0]
		return peer.BlocksRelayed == 1 && peer.Score != nil
	})
	if peer.PeerID != aid || peer.TransfersRelayed != 0 {
		t.Fatalf("getpeerinfo %+v", peer)
	}
	req, _ := http.NewRequest(http.MethodGet, b.url+"/api/peers", nil)
	_, body := getBody(t, req)
	var rows []dashboard.PeerRow
	if err := json.Unmarshal([]byte(body), &rows); err != nil {
		t.Fatal(err)
	}
	if len(rows) != 1 || rows[0].ID != aid || rows[0].BlocksRelayed != 1 || rows[0].Score == nil {
		t.Fatalf("peers table %+v", rows)
	}
}
