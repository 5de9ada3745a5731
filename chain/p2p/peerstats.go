package p2p

import (
	"time"

	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
)

// ScoreInspectPeriod is how often the node copies gossipsub's peer
// scores (PeerInfo.Score); the copy holds one entry per peer gossipsub
// scores, which it retains an hour after a disconnection.
const ScoreInspectPeriod = time.Second

// relayCounts are the gossip messages a connected peer sent that the
// validators accepted.
type relayCounts struct {
	blocks, transfers int64
}

// relayed counts a message from p that the validator of t accepted. The
// counts are kept for connected peers only: one entry per connected
// peer, dropped at disconnection.
func (n *Node) relayed(t *topic, p peer.ID) {
	connected := n.host.Network().Connectedness(p) == network.Connected // libp2p is not called under relayMu
	n.relayMu.Lock()
	defer n.relayMu.Unlock()
	c := n.relays[p]
	if c == nil {
		if !connected {
			return
		}
		c = new(relayCounts)
		n.relays[p] = c
	}
	if t.name == n.mesh.blocksTopic {
		c.blocks++
	} else {
		c.transfers++
	}
}

// forgetRelays drops the counts of a peer that disconnected.
func (n *Node) forgetRelays(p peer.ID) {
	n.relayMu.Lock()
	defer n.relayMu.Unlock()
	delete(n.relays, p)
}

// inspectScores takes gossipsub's scores (every ScoreInspectPeriod, on a
// goroutine of its own).
func (n *Node) inspectScores(scores map[peer.ID]float64) {
	n.relayMu.Lock()
	defer n.relayMu.Unlock()
	n.scores = scores
}

// fillRelays sets the score and relay counts of info.
func (n *Node) fillRelays(info *PeerInfo) {
	n.relayMu.Lock()
	defer n.relayMu.Unlock()
	info.Score, info.Scored = n.scores[info.ID]
	if c := n.relays[info.ID]; c != nil {
		info.BlocksRelayed, info.TransfersRelayed = c.blocks, c.transfers
	}
}
