package dashboard

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p/core/peer"
	ma "github.com/multiformats/go-multiaddr"

	"github.com/powmine/powmine/chain/p2p"
)

// fixedPeers is a Peers with a fixed list.
type fixedPeers []p2p.PeerInfo

func (f fixedPeers) Peers() []p2p.PeerInfo { return f }

// TestPeers: the peers table and its JSON list the connected peers,
// oldest connection first, and the overview counts them.
func TestPeers(t *testing.T) {
	peers := fixedPeers{
		{ID: peer.ID("new"), Addr: ma.StringCast("/ip4/127.0.0.1/tcp/2"), Since: time.Unix(1_800_000_100, 0), Score: -412.5, Scored: true, BlocksRelayed: 31, TransfersRelayed: 47},
		{ID: peer.ID("old"), Addr: ma.StringCast("/ip4/127.0.0.1/tcp/1"), Inbound: true, Since: time.Unix(1_800_000_000, 0), Status: &p2p.Status{Height: 7}, Added: true},
	}
	ts := newTestServer(t, 1, 0, func(c *Config) { c.Peers = peers })
	var rows []PeerRow
	_, body := ts.get(t, "/api/peers")
	if err := json.Unmarshal([]byte(body), &rows); err != nil {
		t.Fatal(err)
	}
	if len(rows) != 2 || rows[0].ID != peer.ID("old").String() || rows[0].Direction != "inbound" || rows[0].Height == nil || *rows[0].Height != 7 ||
		rows[1].Direction != "outbound" || rows[1].Height != nil || rows[1].Addr != "/ip4/127.0.0.1/tcp/2" ||
		rows[0].Score != nil || rows[1].Score == nil || *rows[1].Score != -412.5 || rows[1].BlocksRelayed != 31 || rows[1].TransfersRelayed != 47 {
		t.Fatalf("peers %+v", rows)
	}
	_, page := ts.get(t, "/peers")
	for _, want := range []string{"/ip4/127.0.0.1/tcp/1", "inbound", "outbound", ">7<", ">-412.5<", ">31<", ">47<", "gossipsub score"} {
		if !strings.Contains(page, want) {
			t.Errorf("peers page lacks %q", want)
		}
	}
	var o Overview
	_, body = ts.get(t, "/api/overview")
	if err := json.Unmarshal([]byte(body), &o); err != nil || o.Peers != 2 {
		t.Fatalf("overview peers %d, %v", o.Peers, err)
	}
}
