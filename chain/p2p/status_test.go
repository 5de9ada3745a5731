package p2p

import (
	"context"
	"io"
	"math/big"
	"slices"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p/core/network"
	"github.com/powmine/powmine/chain"
)

// sendStatusFrom sends st to n from r's host on a status stream, as a
// peer that ignores the bounds would, and returns once n has closed or
// reset the stream; errors (a reset) are ignored.
func (r *rawPeer) sendStatusFrom(t *testing.T, n *Node, st Status) {
	t.Helper()
	raw, err := st.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
	defer cancel()
	s, err := r.NewStream(ctx, n.ID(), StatusProtocol)
	if err != nil {
		t.Fatal(err)
	}
	_, _ = s.Write(append([]byte{byte(len(raw))}, raw...))
	// Wait for n's close or reset: one status in flight at a time, so
	// that n's resource manager refuses none (a refused stream never
	// reaches the handler, and would be counted neither read nor
	// ignored).
	_ = s.CloseWrite()
	_ = s.SetReadDeadline(time.Now().Add(waitTimeout))
	_, _ = s.Read(make([]byte, 1))
	_ = s.Close()
}

// announced reports whether n keeps announcement state for r, which
// its hello started.
func (n *Node) announced(r *rawPeer) bool {
	n.annMu.Lock()
	defer n.annMu.Unlock()
	return n.ann[r.ID()] != nil
}

// statusPending reports whether a sync asked for by r's statuses waits.
func (n *Node) statusPending(r *rawPeer) bool {
	n.annMu.Lock()
	defer n.annMu.Unlock()
	a := n.ann[r.ID()]
	return a != nil && a.pending
}

// TestStatusFlood: a peer that said hello sends statuses in a loop, each
// with more work than ours and a new unknown tip. The node reads at most
// one per minStatusGap and resets the others unread (ignored, not
// penalized: the peer is neither counted invalid nor banned); at most
// one sync asked for by the peer's statuses waits at a time, so they
// ask for at most one sync per statusGrace; the sync queue never holds
// more than one entry of the peer. A malformed status counts against
// the peer.
func TestStatusFlood(t *testing.T) {
	const floodFor = 3 * statusGrace // several graces and many gaps
	p := &chain.DevParams
	n, _ := newSyncNode(t, p)
	r := newRawPeer(t, p, 1000, nil) // no blocks: each sync ends at once
	r.sayHello(t, n)
	waitFor(t, "the announcement state", func() bool { return n.announced(r) })
	waitFor(t, "the hello sync", func() bool { return len(n.syncs) == 0 })
	base := n.SyncStats()

	start := time.Now()
	maxQueued := 0
	var flood int64
	for i := 0; time.Since(start) < floodFor; i++ {
		flood++
		st := Status{Genesis: p.GenesisHash, TipHash: chain.Hash{byte(i), byte(i >> 8), 0xf1}, Height: int64(2000 + i), Work: big.NewInt(int64(1000 + i))}
		r.sendStatusFrom(t, n, st)
		maxQueued = max(maxQueued, len(n.syncs))
	}
	elapsed := time.Since(start)
	waitFor(t, "every status read or ignored", func() bool {
		st := n.Stats()
		return st.StatusesReceived+st.StatusesIgnored == flood
	})
	waitFor(t, "the last grace", func() bool { return !n.statusPending(r) && len(n.syncs) == 0 })
	st, ss := n.Stats(), n.SyncStats()
	syncs := ss.StatusSyncs - base.StatusSyncs
	t.Logf("%d statuses in %v: %d read, %d ignored, %d syncs asked for, sync queue at most %d",
		flood, elapsed.Round(time.Millisecond), st.StatusesReceived, st.StatusesIgnored, syncs, maxQueued)
	if limit := int64(elapsed/minStatusGap) + 1; st.StatusesReceived > limit || st.StatusesReceived == 0 {
		t.Errorf("read %d statuses in %v, want 1 to %d (one per %v)", st.StatusesReceived, elapsed, limit, minStatusGap)
	}
	if limit := int64(elapsed/statusGrace) + 2; syncs > limit || syncs == 0 {
		t.Errorf("%d syncs asked for in %v, want 1 to %d", syncs, elapsed, limit)
	}
	if maxQueued > 1 {
		t.Errorf("the sync queue held %d entries", maxQueued)
	}
	if c := n.invalidCount(r.ID()); c != 0 || n.Banned(r.ID()) {
		t.Errorf("the flooding peer was penalized: %d invalid, banned %v", c, n.Banned(r.ID()))
	}

	// A malformed status (a length byte that does not match), read once
	// minStatusGap has passed, counts against the peer.
	waitFor(t, "the gap after the last status read", func() bool {
		n.annMu.Lock()
		defer n.annMu.Unlock()
		return time.Since(n.ann[r.ID()].lastRead) > minStatusGap
	})
	ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
	defer cancel()
	s, err := r.NewStream(ctx, n.ID(), StatusProtocol)
	if err != nil {
		t.Fatal(err)
	}
	_, _ = s.Write([]byte{5, 1, 2})
	_ = s.Close()
	waitFor(t, "the malformed status counted", func() bool { return n.invalidCount(r.ID()) == 1 })
}

// TestStatusRetried: a status that cannot be sent (the peer does not
// speak the status protocol yet) is tried again after statusInterval
// while the peer stays connected, so a peer that missed the gossip of
// the last block of a burst still learns of it.
func TestStatusRetried(t *testing.T) {
	p := &chain.DevParams
	n, f := newSyncNode(t, p)
	r := newRawPeer(t, p, 0, nil) // less work than n: no sync
	r.sayHello(t, n)
	waitFor(t, "the announcement state", func() bool { return n.announced(r) })
	tip := chain.Hash{0x5e, 0x7a}
	f.setTip(tip)
	n.wakeAnnouncer()
	attempted := func() bool {
		n.annMu.Lock()
		defer n.annMu.Unlock()
		a := n.ann[r.ID()]
		return a != nil && !a.lastSent.IsZero() && !a.sending
	}
	waitFor(t, "a status attempt", attempted)
	if sent := n.Stats().StatusesSent; sent != 0 {
		t.Fatalf("%d statuses sent to a peer without the status protocol", sent)
	}
	got := make(chan Status, 4)
	r.SetStreamHandler(StatusProtocol, func(s network.Stream) {
		defer s.Reset()
		raw, err := io.ReadAll(io.LimitReader(s, 256))
		var st Status
		if err == nil && len(raw) > 1 && st.UnmarshalBinary(raw[1:]) == nil {
			got <- st
		}
	})
	select {
	case st := <-got:
		if st.TipHash != tip {
			t.Fatalf("status with tip %v, want %v", st.TipHash, tip)
		}
	case <-time.After(waitTimeout):
		t.Fatalf("the failed status was not sent again in %v", waitTimeout)
	}
}

// TestAhead: the sync decision ranks statuses as fork choice does, the
// justified epoch first, then work; equal is not ahead.
func TestAhead(t *testing.T) {
	st := func(j uint64, w int64) Status { return Status{Justified: j, Work: big.NewInt(w)} }
	for _, c := range []struct {
		theirs, ours Status
		want         bool
	}{
		{st(1, 5), st(0, 10), true},  // higher justified epoch, less work
		{st(0, 10), st(1, 5), false}, // lower justified epoch, more work
		{st(2, 6), st(2, 5), true},
		{st(2, 5), st(2, 5), false},
		{st(2, 4), st(2, 5), false},
		{Status{Work: big.NewInt(1)}, Status{}, true}, // nil work reads as 0
		{Status{}, Status{}, false},
	} {
		if got := ahead(c.theirs, c.ours); got != c.want {
			t.Errorf("ahead(%+v, %+v) = %v, want %v", c.theirs, c.ours, got, c.want)
		}
	}
}

// TestSyncTowardsJustified: two nodes on different branches, the light
// one with less work but a higher justified epoch, nobody producing.
// Whichever side dials, the hello makes the heavy node sync from the
// light one, and the download works towards the light node's tip
// (Chain.MissingBlocksTo): its best header, chosen by work, does not
// lead there. The light node does not sync from the heavy one.
func TestSyncTowardsJustified(t *testing.T) {
	p := &chain.DevParams
	for _, lightDials := range []bool{false, true} {
		heavy, light := newTestNode(t, p), newTestNode(t, p)
		x, y := chain.Hash{0xaa}, chain.Hash{0xbb}
		heavy.fake.setTip(x)
		light.fake.setTip(y)
		heavy.fake.mu.Lock()
		heavy.fake.work = 10
		heavy.fake.mu.Unlock()
		light.fake.mu.Lock()
		light.fake.work, light.fake.justified = 5, 1
		light.fake.mu.Unlock()
		if lightDials {
			connect(t, light, heavy)
		} else {
			connect(t, heavy, light)
		}
		waitFor(t, "the heavy node's sync towards the light tip", func() bool {
			heavy.fake.mu.Lock()
			defer heavy.fake.mu.Unlock()
			return slices.Contains(heavy.fake.towards, y)
		})
		if hs, ls := heavy.SyncStats().HelloSyncs, light.SyncStats().HelloSyncs; hs != 1 || ls != 0 {
			t.Errorf("light dials %v: hello syncs: heavy %d, light %d; want 1 and 0", lightDials, hs, ls)
		}
	}
}

// TestStatusJustified: after a hello that is not ahead (less work), a
// status with a higher justified epoch and still less work than ours
// asks for a sync, which works towards the status's tip.
func TestStatusJustified(t *testing.T) {
	p := &chain.DevParams
	n, f := newSyncNode(t, p)
	r := newRawPeer(t, p, 1, nil) // less work than the fake chain's 7
	r.sayHello(t, n)
	waitFor(t, "the announcement state", func() bool { return n.announced(r) })
	tip := chain.Hash{0xcc}
	r.sendStatusFrom(t, n, Status{Genesis: p.GenesisHash, TipHash: tip, Height: 2000, Justified: 1, Work: big.NewInt(2)})
	waitFor(t, "the status sync towards its tip", func() bool {
		f.mu.Lock()
		defer f.mu.Unlock()
		return slices.Contains(f.towards, tip)
	})
	if ss := n.SyncStats(); ss.HelloSyncs != 0 || ss.StatusSyncs != 1 {
		t.Errorf("hello syncs %d, status syncs %d; want 0 and 1", ss.HelloSyncs, ss.StatusSyncs)
	}
}
