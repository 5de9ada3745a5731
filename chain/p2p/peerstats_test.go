package p2p

import (
	"testing"

	"github.com/powmine/powmine/chain"
)

// peerInfo returns a's view of b, or false when b is not connected.
func peerInfo(a, b *testNode) (PeerInfo, bool) {
	for _, p := range a.Peers() {
		if p.ID == b.ID() {
			return p, true
		}
	}
	return PeerInfo{}, false
}

// TestPeerRelaysAndScore: a valid block and a valid transfer from a
// count as relayed by a at b; a rejected block counts not, and pulls
// a's gossipsub score at b below zero.
func TestPeerRelaysAndScore(t *testing.T) {
	p := &chain.DevParams
	a, b := newTestNode(t, p), newTestNode(t, p)
	connect(t, a, b)
	waitFor(t, "mesh", func() bool { return meshed(a, b) && meshed(b, a) })
	if info, _ := peerInfo(b, a); info.BlocksRelayed != 0 || info.TransfersRelayed != 0 {
		t.Fatalf("relays before any message: %+v", info)
	}
	waitFor(t, "a score", func() bool { info, _ := peerInfo(b, a); return info.Scored })
	if info, _ := peerInfo(b, a); info.Score != 0 {
		t.Fatalf("score %v of a peer that sent nothing, want 0", info.Score)
	}
	good := testBlock(t, p, 1, 1, true)
	tx := testTransfer(t, p, 1)
	a.PublishBlock(good)
	a.PublishTransfer(tx)
	a.PublishTransfer(testTransfer(t, p, 0)) // rejected
	waitFor(t, "relay counts", func() bool {
		info, _ := peerInfo(b, a)
		return info.BlocksRelayed == 1 && info.TransfersRelayed == 1
	})
	a.PublishBlock(testBlock(t, p, 2, 1, false)) // bad proof of work: rejected
	waitFor(t, "a negative score", func() bool { info, _ := peerInfo(b, a); return info.Scored && info.Score < 0 })
	if info, _ := peerInfo(b, a); info.BlocksRelayed != 1 || info.TransfersRelayed != 1 {
		t.Fatalf("rejected messages counted as relayed: %+v", info)
	}
	if info, _ := peerInfo(a, b); info.BlocksRelayed != 0 || info.TransfersRelayed != 0 {
		t.Fatalf("a counts its own publishes as relayed by b: %+v", info)
	}
}
