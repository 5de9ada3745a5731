package daemon

import (
	"context"
	"testing"
	"time"

	"github.com/powmine/powmine/chain"
	"github.com/powmine/powmine/chain/p2p"
)

// netDaemons starts k daemons of one dev chain, networked on loopback and
// not connected, each paying its own miner address.
func netDaemons(t testing.TB, k int) []*testDaemon {
	t.Helper()
	now := time.Now()
	p := syncParams(t, now)
	var tds []*testDaemon
	for i := range k {
		td := startTestDaemon(t, now, Config{Params: p, Network: &Network{Listen: loopback(t)}})
		td.miner[1] = byte(i)
		tds = append(tds, td)
	}
	return tds
}

// syncParams returns the params of a new dev chain whose blocks are at
// the proof-of-work limit: a few hashes each, so the tests can mine
// hundreds.
func syncParams(t testing.TB, now time.Time) *chain.Params {
	t.Helper()
	dev, err := DevParams("", now)
	if err != nil {
		t.Fatal(err)
	}
	p := *dev
	p.ASERTAnchor.Bits = p.PowLimitBits
	return &p
}

// mineOn mines and submits n blocks on td's tip and returns the last.
func mineOn(t testing.TB, td *testDaemon, n int) *chain.Block {
	t.Helper()
	var b *chain.Block
	for range n {
		b = td.mineBlock(t)
		if _, err := td.SubmitBlock(b); err != nil {
			t.Fatal(err)
		}
	}
	return b
}

// dial makes a dial b once.
func dial(t testing.TB, a, b *testDaemon) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), peerDialTimeout)
	defer cancel()
	if err := a.net.Connect(ctx, b.NetworkAddrs()[0]); err != nil {
		t.Fatal(err)
	}
}

// publishQueue is chain/p2p's bound on the blocks waiting for gossip.
const publishQueue = 256

// TestSyncLateJoin: a node that connects after its peer mined blocks
// fetches their headers by locator, then the blocks in many requests,
// and ends on the peer's tip.
func TestSyncLateJoin(t *testing.T) {
	const n = 1000 // above p2p.MaxBlocksInFlight: the window moves
	tds := netDaemons(t, 2)
	a, b := tds[0], tds[1]
	tip := mineOn(t, a, n).Hash()
	start := time.Now()
	dial(t, b, a)
	waitFor(t, "sync", func() bool { return b.Node().Tip().Hash == tip })
	elapsed := time.Since(start)
	t.Logf("synced %d blocks in %v: %.0f blocks/s", n, elapsed, n/elapsed.Seconds())
	// The last blocks a mined may still wait in its publish queue when b
	// connects, and reach b by gossip (orphans, which also start a sync).
	st := b.net.SyncStats()
	if st.Blocks < n-publishQueue || st.Headers < n-publishQueue || st.HeaderRequests < 1 ||
		st.Requests-st.HeaderRequests < (n-publishQueue)/p2p.MaxBlocksPerFetch || st.Failed != 0 {
		t.Fatalf("sync stats %+v, want %d headers and blocks or more, in %d blocks requests or more", st, n-publishQueue,
			(n-publishQueue)/p2p.MaxBlocksPerFetch)
	}
}

// TestSyncPartitionHeal: two nodes mine apart; once connected both end
// on the branch with more work, whichever side dialed.
func TestSyncPartitionHeal(t *testing.T) {
	tds := netDaemons(t, 2)
	long, short := tds[0], tds[1]
	tip := mineOn(t, long, 6).Hash()
	mineOn(t, short, 4)
	dial(t, long, short) // the side that is behind answers the hello
	for _, td := range tds {
		waitFor(t, "tip", func() bool { return td.Node().Tip().Hash == tip })
	}
	// The node ahead may still fetch the other branch's blocks that
	// reach it by gossip as orphans (the publish queue of the node behind
	// can hold them when the two connect), but its hello starts no sync.
	if st := long.net.SyncStats(); st.HelloSyncs != 0 {
		t.Fatalf("the node ahead synced after the hello: %+v", st)
	}
}

// TestSyncOrphanFetch: two nodes on branches of equal work connect (no
// sync at the hello); a block gossiped on top of one branch is an orphan
// at the other, which fetches its ancestors' headers and blocks from the
// sender and reorganizes to it.
func TestSyncOrphanFetch(t *testing.T) {
	now := time.Now()
	p := syncParams(t, now)
	// a's branch is mined offline: gossipsub would otherwise still offer
	// its recent blocks to b once they connect, and b would have them
	// before a's next block.
	dir := t.TempDir()
	offline := startTestDaemon(t, now, Config{Params: p, DataDir: dir})
	mineOn(t, offline, 3)
	offline.stop()
	offline.stop = func() {}
	a := startTestDaemon(t, offline.testNow(), Config{Params: p, DataDir: dir, Network: &Network{Listen: loopback(t)}})
	b := startTestDaemon(t, now, Config{Params: p, Network: &Network{Listen: loopback(t)}})
	b.miner[1] = 1
	mineOn(t, b, 3)
	dial(t, b, a)
	waitFor(t, "mesh", func() bool { return meshed(a, b) && meshed(b, a) })
	if st := b.net.SyncStats(); st.Requests != 0 {
		t.Fatalf("sync at equal work: %+v", st)
	}
	tip := mineOn(t, a, 1).Hash()
	waitFor(t, "tip", func() bool { return b.Node().Tip().Hash == tip })
	// The sync brings the headers of a's 4 blocks, then the 3 missing
	// ancestors; the gossiped block waits in the orphan pool and connects
	// after them (fetched too, it is known). The tip can reach a's while
	// the sync has yet to count the last block it handed over: the counts
	// are waited for, and must then be exact.
	done := func() bool { st := b.net.SyncStats(); return st.OrphanSyncs > 0 && st.Blocks >= 3 && st.Headers >= 4 }
	waitFor(t, "the orphan sync's counts", done)
	if st := b.net.SyncStats(); st.OrphanSyncs == 0 || st.Blocks != 3 || st.Headers != 4 {
		t.Fatalf("sync stats %+v, want an orphan sync of 4 headers and 3 blocks", st)
	}
}

// syncBenchBlocks is the length of the chain the sync benchmarks fetch.
const syncBenchBlocks = 10_000

// benchSync measures a new node syncing from one peer on loopback that
// mined syncBenchBlocks blocks: the time from the dial until done
// reports true, as count per second in unit.
func benchSync(b *testing.B, unit string, done func(c *testDaemon, tip chain.Hash) bool) {
	now := time.Now()
	p := syncParams(b, now)
	a := startTestDaemon(b, now, Config{Params: p, Network: &Network{Listen: loopback(b)}})
	tip := mineOn(b, a, syncBenchBlocks).Hash()
	b.ReportAllocs()
	var total time.Duration
	b.ResetTimer()
	for range b.N {
		b.StopTimer()
		// The new node's clock is the peer's: the mined blocks are not
		// from its future.
		c := startTestDaemon(b, a.testNow(), Config{Params: p, Network: &Network{Listen: loopback(b)}})
		b.StartTimer()
		start := time.Now()
		dial(b, c, a)
		waitFor(b, "sync", func() bool { return done(c, tip) })
		total += time.Since(start)
		b.StopTimer()
		c.stop()
		c.stop = func() {}
		b.StartTimer()
	}
	b.ReportMetric(float64(b.N*syncBenchBlocks)/total.Seconds(), unit)
}

// BenchmarkSync: a new node syncs syncBenchBlocks blocks (headers first,
// then the blocks) from one peer; blocks/s is the rate from the dial to
// the peer's tip.
func BenchmarkSync(b *testing.B) {
	benchSync(b, "blocks/s", func(c *testDaemon, tip chain.Hash) bool { return c.Node().Tip().Hash == tip })
}

// BenchmarkSyncHeaders: the header phase of BenchmarkSync alone;
// headers/s is the rate from the dial until the new node's best header
// is the peer's tip.
func BenchmarkSyncHeaders(b *testing.B) {
	benchSync(b, "headers/s", func(c *testDaemon, tip chain.Hash) bool { return c.Node().BestHeader().Hash == tip })
}

// TestSyncRelay: b syncs a's chain and does not gossip the old blocks one
// by one, only the tip it ends on; c, connected to b alone, gets that tip
// as an orphan and fetches the rest from b.
func TestSyncRelay(t *testing.T) {
	const n = 300
	tds := netDaemons(t, 3)
	a, b, c := tds[0], tds[1], tds[2]
	tip := mineOn(t, a, n).Hash()
	dial(t, c, b)
	waitFor(t, "the c-b mesh", func() bool { return len(b.net.Peers()) == 1 && len(c.net.Peers()) == 1 })
	dial(t, b, a)
	for _, td := range []*testDaemon{b, c} {
		waitFor(t, "tip", func() bool { return td.Node().Tip().Hash == tip })
	}
	st := b.net.SyncStats()
	if st.Announced == 0 || st.Quieted < n-publishQueue-1 {
		t.Fatalf("b's sync stats %+v: want the tip announced and the old blocks (%d or more) not gossiped", st, n-publishQueue-1)
	}
	if st := c.net.SyncStats(); st.OrphanSyncs == 0 && st.Requests == 0 {
		t.Fatalf("c's sync stats %+v: c never synced from b", st)
	}
}
