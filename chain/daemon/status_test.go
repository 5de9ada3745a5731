package daemon

import (
	"testing"
	"time"
)

// gapRounds and gapWait are the knobs of TestTipReachesNewPeer: each
// round is one chance to hit the gap, and must end within gapWait.
const (
	gapRounds = 6
	gapWait   = 10 * time.Second
)

// TestTipReachesNewPeer: daemons a—b—c in a line. In each round b dials
// c (at equal work, so the hello starts no sync) and a mines a block at
// once, without waiting for the b—c meshes: the block reaches b before
// c is in b's mesh, so gossipsub does not relay it to c. c must still
// end on the block within gapWait, with no other block mined: b
// announces its new tip to c (a status), and c syncs from b. Then the
// b—c link is cut for the next round.
func TestTipReachesNewPeer(t *testing.T) {
	tds := netDaemons(t, 3)
	a, b, c := tds[0], tds[1], tds[2]
	s := &scaleNet{t: t, p: a.params, tds: tds, links: make(map[[2]int]bool)}
	s.link(1, 0)
	waitFor(t, "the a-b mesh", func() bool { return meshed(a, b) && meshed(b, a) })
	for r := range gapRounds {
		s.link(1, 2)
		tip := s.mine(a, 1).Hash()
		deadline := time.Now().Add(gapWait)
		for c.Node().Tip().Hash != tip {
			if time.Now().After(deadline) {
				t.Fatalf("round %d: c did not get a's block %v within %v (c's sync stats %+v, b's stats %+v)\n%s",
					r, tip, gapWait, c.net.SyncStats(), b.net.Stats(), s.describe())
			}
			time.Sleep(5 * time.Millisecond)
		}
		s.cut(1, 2)
	}
	st, as, bs, cs := c.net.SyncStats(), a.net.Stats(), b.net.Stats(), c.net.Stats()
	t.Logf("c: %d status syncs, %d hello syncs, %d gossiped blocks accepted; statuses sent by a %d, b %d, c %d",
		st.StatusSyncs, st.HelloSyncs, cs.Blocks.Accepted, as.StatusesSent, bs.StatusesSent, cs.StatusesSent)
	// Statuses go only to peers not known to have the tip: b's to c, at
	// most one per round (a sent b each block); none of c's (b named
	// each tip c synced to).
	if bs.StatusesSent > gapRounds || cs.StatusesSent != 0 {
		t.Errorf("statuses sent: b %d (want at most %d), c %d (want 0)", bs.StatusesSent, gapRounds, cs.StatusesSent)
	}
	checkStatusMetrics(t, c, st.StatusSyncs)
}

// checkStatusMetrics checks that td's metrics export its status syncs.
func checkStatusMetrics(t *testing.T, td *testDaemon, syncs int64) {
	t.Helper()
	got := scrape(t, td)
	if v := got[`powmine_p2p_syncs_total{cause="status"}`]; v != float64(syncs) {
		t.Errorf("powmine_p2p_syncs_total{cause=\"status\"} = %v, want %d", v, syncs)
	}
	if _, ok := got[`powmine_p2p_statuses_total{event="received"}`]; !ok {
		t.Errorf("no powmine_p2p_statuses_total{event=\"received\"} among %d samples", len(got))
	}
}
