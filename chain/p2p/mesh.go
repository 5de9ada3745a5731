package p2p

import (
	"sync"
	"time"

	pubsub "github.com/libp2p/go-libp2p-pubsub"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/go-libp2p/core/protocol"
)

// meshTracer records which peers are in the node's gossip mesh of each
// topic (pubsub reports grafts and prunes from its event loop), and
// tells the node which blocks each peer has, as they are gossiped to or
// from it.
type meshTracer struct {
	// Set before pubsub starts, then immutable: the blocks topic, and
	// the function that takes a block message gossiped to or from a
	// peer.
	blocksTopic string
	onBlock     func(p peer.ID, data []byte)

	mu   sync.Mutex
	mesh map[peer.ID]map[string]bool
}

var _ pubsub.RawTracer = (*meshTracer)(nil)

func newMeshTracer() *meshTracer { return &meshTracer{mesh: make(map[peer.ID]map[string]bool)} }

// topics returns the topics in whose mesh p is.
func (m *meshTracer) topics(p peer.ID) []string {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []string
	for t := range m.mesh[p] {
		out = append(out, t)
	}
	return out
}

// Graft records p in topic's mesh.
func (m *meshTracer) Graft(p peer.ID, topic string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.mesh[p] == nil {
		m.mesh[p] = make(map[string]bool)
	}
	m.mesh[p][topic] = true
}

// Prune removes p from topic's mesh.
func (m *meshTracer) Prune(p peer.ID, topic string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	delete(m.mesh[p], topic)
	if len(m.mesh[p]) == 0 {
		delete(m.mesh, p)
	}
}

// forget removes p from every mesh once it disconnected (pubsub traces
// no prune then).
func (m *meshTracer) forget(p peer.ID) {
	m.mu.Lock()
	defer m.mu.Unlock()
	delete(m.mesh, p)
}

// received passes a block message received from a peer to onBlock.
func (m *meshTracer) received(msg *pubsub.Message) {
	if m.onBlock != nil && msg.GetTopic() == m.blocksTopic {
		m.onBlock(msg.ReceivedFrom, msg.GetData())
	}
}

// ValidateMessage: a peer sent a block (pubsub leaves local publishes
// out).
func (m *meshTracer) ValidateMessage(msg *pubsub.Message) { m.received(msg) }

// DuplicateMessage: a peer sent a block seen before.
func (m *meshTracer) DuplicateMessage(msg *pubsub.Message) { m.received(msg) }

// SendRPC: the blocks of an RPC queued for p reach it.
func (m *meshTracer) SendRPC(rpc *pubsub.RPC, p peer.ID) {
	if m.onBlock == nil {
		return
	}
	for _, msg := range rpc.GetPublish() {
		if msg.GetTopic() == m.blocksTopic {
			m.onBlock(p, msg.GetData())
		}
	}
}

// The other events are not recorded.

func (*meshTracer) Join(string)                                          {}
func (*meshTracer) Leave(string)                                         {}
func (*meshTracer) DeliverMessage(*pubsub.Message)                       {}
func (*meshTracer) RejectMessage(*pubsub.Message, string)                {}
func (*meshTracer) ThrottlePeer(peer.ID)                                 {}
func (*meshTracer) RecvRPC(*pubsub.RPC)                                  {}
func (*meshTracer) SendRPCCompleted(*pubsub.RPC, peer.ID, time.Duration) {}
func (*meshTracer) DropRPC(*pubsub.RPC, peer.ID)                         {}
func (*meshTracer) UndeliverableMessage(*pubsub.Message)                 {}
func (*meshTracer) OnNewOutboundStream(peer.ID, protocol.ID)             {}
func (*meshTracer) OnClosedOutboundStream(peer.ID)                       {}
