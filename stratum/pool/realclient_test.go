package pool

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/powmine/powmine/miner"
	stratumclient "github.com/powmine/powmine/stratum/client"
)

// mineWithClient runs the project's miner (one thread) and Stratum
// client against the pool as user until done says stop (it sees every
// share result) or the time limit passes; it returns the results.
func mineWithClient(t *testing.T, addr, user string, limit time.Duration, done func([]stratumclient.ShareResult) bool) []stratumclient.ShareResult {
	t.Helper()
	m, err := miner.New(miner.Config{Threads: 1})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), limit)
	defer cancel()
	var mu sync.Mutex
	var results []stratumclient.ShareResult
	cl, err := stratumclient.New(stratumclient.Config{
		URLs: []string{"stratum+tcp://" + addr}, User: user, Password: "x", Miner: m,
		OnShare: func(r stratumclient.ShareResult) {
			mu.Lock()
			defer mu.Unlock()
			results = append(results, r)
			if done(results) {
				cancel()
			}
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	wg.Go(func() { m.Run(ctx) })
	wg.Go(func() { cl.Run(ctx) })
	wg.Wait()
	mu.Lock()
	defer mu.Unlock()
	return results
}

// TestClientVardiffNoDuplicates: the project's miner and client mine on
// the pool at share difficulties below the block difficulty while vardiff
// changes the difficulty every few shares; no share is rejected, none as
// a duplicate (the pool once re-sent the same job after a change and the
// client restarted it at extranonce2 0, nonce 0). The share difficulty is
// so low that the miner also finds blocks: a share found just before the
// pool's new job reached the client is rightly rejected as stale, so stale
// rejects are allowed, at most two per block found (the client has at
// most a few shares in flight when a block ends their job).
func TestClientVardiffNoDuplicates(t *testing.T) {
	tp := newTestPool(t, func(c *Config) {
		c.StartDifficulty, c.MinDifficulty = 1e-5, 1e-7
		c.ShareInterval = 10 * time.Millisecond
		c.RetargetShares = 4
		c.RefreshInterval = time.Hour
	})
	const want, changes = 150, 5
	user := testAddr(30).String() + ".rig"
	results := mineWithClient(t, tp.addr, user, 20*time.Second, func(rs []stratumclient.ShareResult) bool {
		return len(rs) >= want && diffChanges(rs) >= changes
	})
	rejected := 0
	for _, r := range results {
		if !r.Accepted && !r.Stale {
			rejected++
			t.Logf("share of job %s at %g rejected: %s", r.JobID, r.Difficulty, r.Reason)
		}
	}
	ps := tp.PoolStats()
	staleRejects := ps.Rejected[RejectStale]
	rejected -= int(staleRejects)
	t.Logf("%d shares, %d difficulty changes, %d rejected other than stale; pool: %d accepted, rejected %v, %d blocks",
		len(results), diffChanges(results), rejected, ps.Accepted, ps.Rejected, ps.Blocks)
	if len(results) < want || diffChanges(results) < changes {
		t.Fatalf("%d shares and %d difficulty changes in the time limit, want %d and %d", len(results), diffChanges(results), want, changes)
	}
	if rejected != 0 || ps.Rejected[RejectDuplicate] != 0 {
		t.Errorf("%d of %d shares rejected other than stale, %d as duplicates", rejected, len(results), ps.Rejected[RejectDuplicate])
	}
	if staleRejects > 2*ps.Blocks {
		t.Errorf("%d shares rejected as stale with %d blocks found, want at most 2 per block", staleRejects, ps.Blocks)
	}
}

// diffChanges counts the changes of difficulty along the share results.
func diffChanges(rs []stratumclient.ShareResult) int {
	n := 0
	for i := 1; i < len(rs); i++ {
		if rs[i].Difficulty != rs[i-1].Difficulty {
			n++
		}
	}
	return n
}
