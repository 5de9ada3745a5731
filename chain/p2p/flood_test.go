package p2p

import (
	"testing"

	"github.com/powmine/powmine/chain"
)

// orphanVersion marks the blocks orphanChain calls orphans.
const orphanVersion = 77

// orphanChain is a fakeChain whose blocks of version orphanVersion have
// an unknown parent, and whose HeaderLocator (called by each sync round)
// waits for gate to close.
type orphanChain struct {
	*fakeChain
	gate chan struct{}
}

func (o *orphanChain) ProcessBlock(b *chain.Block) error {
	if b.Header.Version == orphanVersion {
		return ErrOrphan
	}
	return o.fakeChain.ProcessBlock(b)
}

func (o *orphanChain) HeaderLocator() []chain.Hash {
	<-o.gate
	return nil
}

// TestOrphanFloodSyncQueue: a peer gossips a flood of orphans (valid
// proof of work, unknown parents) while the node's sync goroutine is
// busy. Every orphan is ignored, none is relayed and nobody is banned;
// each asks for a sync, but the sync queue holds syncQueue of them and
// drops the rest, so the flood costs at most 1+syncQueue requests. The
// node still takes an honest block meanwhile. (The bound of the real
// orphan pool is tested in chain/daemon, TestOrphanFlood.)
func TestOrphanFloodSyncQueue(t *testing.T) {
	const flood, batch = 100, 20
	p := &chain.DevParams
	oc := &orphanChain{fakeChain: newFakeChain(), gate: make(chan struct{})}
	victim, err := New(Config{Params: p, Chain: oc, Mempool: oc, Listen: loopback(t)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		select {
		case <-oc.gate:
		default:
			close(oc.gate)
		}
		victim.Close()
	})
	v := &testNode{Node: victim, fake: oc.fakeChain}
	attacker, honest, other := newTestNode(t, p), newTestNode(t, p), newTestNode(t, p)
	connect(t, attacker, v)
	connect(t, honest, v)
	connect(t, v, other)
	waitFor(t, "mesh", func() bool { return meshed(v, attacker) && meshed(v, honest) && meshed(other, v) })

	// In batches that fit pubsub's outbound queue to a peer (32).
	for sent := 0; sent < flood; sent += batch {
		for i := range batch {
			attacker.PublishBlock(testBlock(t, p, byte(sent+i), orphanVersion, true))
		}
		waitFor(t, "orphans ignored", func() bool { return victim.Stats().Blocks.Ignored == int64(sent+batch) })
	}
	// One sync runs (its locator waiting, so no request sent yet), the
	// queue is full.
	if ss := victim.SyncStats(); ss.OrphanSyncs != flood || ss.Requests != 0 {
		t.Fatalf("sync stats %+v during the flood: want %d syncs asked for, one running", ss, flood)
	}
	if n := len(victim.syncs); n != syncQueue {
		t.Fatalf("sync queue holds %d, want it full at %d", n, syncQueue)
	}
	good := testBlock(t, p, 200, 1, true)
	honest.PublishBlock(good)
	waitFor(t, "the honest block relayed", func() bool { return other.fake.has(good.Hash(), false) })

	close(oc.gate)
	waitFor(t, "the queued syncs", func() bool { return victim.SyncStats().Requests == 1+syncQueue && len(victim.syncs) == 0 })
	other.fake.mu.Lock()
	relayed := other.fake.calls
	other.fake.mu.Unlock()
	if st := victim.Stats(); st.Blocks.Rejected != 0 || st.Banned != 0 || relayed != 1 {
		t.Fatalf("after the flood: stats %+v, the next node processed %d blocks (want only the honest one)", st, relayed)
	}
}
