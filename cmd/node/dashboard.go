package main

import (
	"github.com/powmine/powmine/chain/dashboard"
	"github.com/powmine/powmine/stratum/pool"
)

// poolView shows the Stratum pool's statistics on the dashboard, which
// has types of its own (it cannot import stratum/pool).
type poolView struct{ srv *pool.Server }

// PoolStats returns the pool's totals.
func (v poolView) PoolStats() dashboard.PoolStats {
	ps := v.srv.PoolStats()
	return dashboard.PoolStats{Conns: ps.Conns, Workers: ps.Workers, Accepted: ps.Accepted, Blocks: ps.Blocks, Hashrate: ps.Hashrate}
}

// WorkerStats returns the tracked workers.
func (v poolView) WorkerStats() []dashboard.WorkerStats {
	ws := v.srv.WorkerStats()
	out := make([]dashboard.WorkerStats, len(ws))
	for i, w := range ws {
		out[i] = dashboard.WorkerStats{Worker: w.Worker, Address: w.Address.String(), Hashrate: w.Hashrate,
			Accepted: w.Accepted, Stale: w.Stale, Rejected: w.Rejected.Total(), RejectedBy: w.Rejected.Map(),
			LastShare: w.LastShare, Difficulty: w.Difficulty}
	}
	return out
}
