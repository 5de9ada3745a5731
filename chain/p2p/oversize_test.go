package p2p

import (
	"context"
	"testing"

	"github.com/libp2p/go-libp2p"
	pubsub "github.com/libp2p/go-libp2p-pubsub"
	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/go-libp2p/p2p/transport/tcp"
	"github.com/powmine/powmine/chain"
)

// TestOversizedMessageDropped: a peer whose own pubsub allows larger
// messages publishes one above MaxMessageSize on the blocks topic; the
// node's pubsub drops it before validation (the stream that carried it
// is reset), and the same peer's valid block still gets through.
func TestOversizedMessageDropped(t *testing.T) {
	p := &chain.DevParams
	victim := newTestNode(t, p)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	h, err := libp2p.New(libp2p.ListenAddrStrings("/ip4/127.0.0.1/tcp/0"), libp2p.NoTransports, libp2p.Transport(tcp.NewTCPTransport),
		libp2p.DisableRelay(), libp2p.ResourceManager(&network.NullResourceManager{}))
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close()
	ps, err := pubsub.NewGossipSub(ctx, h, pubsub.WithMaxMessageSize(4*MaxMessageSize), pubsub.WithFloodPublish(true))
	if err != nil {
		t.Fatal(err)
	}
	topic, err := ps.Join(BlocksTopic(p.GenesisHash))
	if err != nil {
		t.Fatal(err)
	}
	if err := h.Connect(ctx, peer.AddrInfo{ID: victim.ID(), Addrs: victim.host.Addrs()}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the node's subscription", func() bool { return len(topic.ListPeers()) == 1 })

	if err := topic.Publish(ctx, make([]byte, MaxMessageSize+1)); err != nil {
		t.Fatal(err)
	}
	// The node resets the stream that carried it; the peer's pubsub sees
	// its stream die and forgets the node's subscriptions.
	waitFor(t, "the stream reset", func() bool { return len(topic.ListPeers()) == 0 })
	if victim.host.Network().Connectedness(h.ID()) != network.Connected {
		t.Fatal("the node closed the connection")
	}
	// A new connection brings the subscriptions back, and a valid block
	// goes through.
	h.Network().ClosePeer(victim.ID())
	if err := h.Connect(ctx, peer.AddrInfo{ID: victim.ID(), Addrs: victim.host.Addrs()}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the node's subscription again", func() bool { return len(topic.ListPeers()) == 1 })
	good := testBlock(t, p, 1, 1, true)
	if err := topic.Publish(ctx, mustMarshal(t, good)); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the valid block", func() bool { return victim.fake.has(good.Hash(), false) })
	// Had the oversized message been delivered, the validator would have
	// rejected it (it does not decode as a block).
	if st := victim.Stats().Blocks; st.Accepted != 1 || st.Rejected != 0 || st.Ignored != 0 {
		t.Fatalf("block stats %+v: the oversized message reached the validator", st)
	}
	if victim.Banned(h.ID()) {
		t.Fatal("the sender was banned")
	}
}

func mustMarshal(t *testing.T, b *chain.Block) []byte {
	t.Helper()
	raw, err := b.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	return raw
}
