package pool

import (
	"testing"
	"time"

	"github.com/powmine/powmine/stratum"
)

// TestDifficultyCappedAtBlock: a connection whose difficulty is above the
// block difficulty is sent the block difficulty, so that every block it
// finds is a share; vardiff on a capped connection neither climbs away
// nor resends the job when the capped difficulty stays the same.
func TestDifficultyCappedAtBlock(t *testing.T) {
	tp := newTestPool(t, func(c *Config) {
		c.StartDifficulty = 50
		c.RefreshInterval = time.Hour
		c.RetargetShares = 1
		c.ShareInterval = time.Hour
	})
	user := testAddr(1).String() + ".w"
	c := dial(t, tp.addr)
	job := c.handshake(testAddr(1))
	nt := netTarget(t, job)
	netDiff := stratum.DifficultyFromTarget(nt)
	if c.jobDif[0] != netDiff {
		t.Fatalf("first job sent at difficulty %g, want the block difficulty %g", c.jobDif[0], netDiff)
	}
	// A block is accepted as a share and lands.
	tip := tp.d.TipChanged()
	blk := c.mine(job, []byte{1, 1, 1, 1}, nt, nil)
	if e := c.submit(user, job.JobID, blk); e != nil {
		t.Fatalf("block share: %v", e)
	}
	<-tip
	if got := tp.d.Node().Tip().Hash; got != blk.hash {
		t.Fatalf("tip %v, want the pool's block %v", got, blk.hash)
	}
	// Vardiff saw a share an hour early: it wants four times the sent
	// difficulty (of this block or the next), which the cap takes back to
	// the block difficulty; the start difficulty is forgotten.
	cn := tp.connSnapshot()[0]
	cn.mu.Lock()
	got := cn.diff
	cn.mu.Unlock()
	if got > 4*1.5*netDiff {
		t.Errorf("vardiff left the wanted difficulty at %g, want about 4 times the sent %g", got, netDiff)
	}
	for _, d := range c.diffs {
		if d > netDiff*1.5 { // the next block's difficulty is close
			t.Errorf("set_difficulty %g above the block difficulty %g", d, netDiff)
		}
	}
}

// TestSuggestDifficultyFloor: a suggestion above the current difficulty
// is a floor vardiff keeps; one below lowers the difficulty and the
// floor, as cpuminer-opt's keepalive expects.
func TestSuggestDifficultyFloor(t *testing.T) {
	const start = 1e-6
	tp := newTestPool(t, func(c *Config) {
		c.StartDifficulty = start
		c.RetargetInterval = 20 * time.Millisecond
		c.RefreshInterval = 50 * time.Millisecond
	})
	c := dial(t, tp.addr)
	c.handshake(testAddr(2))
	floor := 4 * start
	if _, e := c.call(stratum.MethodSuggestDifficulty, `[4e-6]`); e != nil {
		t.Fatal(e)
	}
	// Idle: vardiff lowers every refresh, but not below the floor.
	n := len(c.jobs)
	c.waitJobs(n + 4)
	for i, d := range c.jobDif[n:] {
		if d != floor {
			t.Fatalf("job %d after the suggestion at difficulty %g, want the floor %g", n+i, d, floor)
		}
	}
	// A lower suggestion is taken at once and lowers the floor to it.
	if _, e := c.call(stratum.MethodSuggestDifficulty, `["0.000002"]`); e != nil {
		t.Fatal(e)
	}
	n = len(c.jobs)
	c.waitJobs(n + 3)
	for i, d := range c.jobDif[n:] {
		if d != 2e-6 {
			t.Fatalf("job %d after a lower suggestion at difficulty %g, want 2e-6", n+i, d)
		}
	}

	// Without a floor, a suggestion below the current difficulty (a
	// keepalive) lowers it and sets no floor, so vardiff may go lower
	// still.
	quiet := newTestPool(t, func(c *Config) {
		c.StartDifficulty = start
		c.RetargetInterval, c.RefreshInterval = time.Hour, time.Hour
	})
	k := dial(t, quiet.addr)
	k.handshake(testAddr(3))
	if _, e := k.call(stratum.MethodSuggestDifficulty, `["0.0000005"]`); e != nil {
		t.Fatal(e)
	}
	if j := k.waitJobs(2); k.jobDif[1] != 5e-7 || j.CleanJobs {
		t.Fatalf("after a keepalive suggestion: difficulty %g, want 5e-7 at once", k.jobDif[1])
	}
	cn := quiet.connSnapshot()[0]
	cn.mu.Lock()
	got := cn.floor
	cn.mu.Unlock()
	if got != 0 {
		t.Fatalf("a keepalive suggestion set the floor %g", got)
	}
}
