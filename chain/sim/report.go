package sim

import (
	"context"
	"fmt"
	"math"
	"slices"
	"time"
)

// Report sums up the runs of one rule. Its JSON form has exactly the
// fields below.
type Report struct {
	// ConvergedRuns is the number of runs in which all nodes ended on the
	// same tip, out of Runs.
	ConvergedRuns int `json:"converged_runs"`
	Runs          int `json:"runs"`

	// AgreeTimeMean and AgreeTimeP99 are the mean and the 99th percentile
	// (nearest rank) of RunResult.AgreeTime over the converged runs, in
	// seconds; nil (JSON null) when no run converged.
	AgreeTimeMean *float64 `json:"agree_time_mean_s"`
	AgreeTimeP99  *float64 `json:"agree_time_p99_s"`

	// TipFlips is the number of tip changes that are not extensions, per
	// node per simulated hour (of Config.Duration).
	TipFlips float64 `json:"tip_flips"`

	// StaleRate is the share of all blocks found that ended off the final
	// main chain of their run.
	StaleRate float64 `json:"stale_rate"`

	// MaxReorgDepth is the deepest reorganization of any node in any run.
	MaxReorgDepth int `json:"max_reorg_depth"`

	// Majority is RunResult.Majority averaged over the runs; nil when
	// Config.Bins is 0.
	Majority []float64 `json:"-"`
}

// Simulate runs cfg runs times, runs 0 to runs-1, and sums them up. It
// checks ctx between runs.
func Simulate(ctx context.Context, cfg Config, runs int) (Report, error) {
	if err := cfg.Validate(); err != nil {
		return Report{}, err
	}
	if runs < 1 {
		return Report{}, fmt.Errorf("sim: %d runs, want at least 1", runs)
	}
	var rp *realParams
	if cfg.Rule == Heaviest {
		rp = newRealParams()
	}
	rep := Report{Runs: runs}
	var agree []time.Duration
	var flips, blocks, stale int
	for run := range runs {
		if err := ctx.Err(); err != nil {
			return Report{}, err
		}
		r, err := runOne(&cfg, run, rp)
		if err != nil {
			return Report{}, err
		}
		if r.Converged {
			rep.ConvergedRuns++
			agree = append(agree, r.AgreeTime)
		}
		flips += r.TipFlips
		blocks += r.Blocks
		stale += r.Stale
		rep.MaxReorgDepth = max(rep.MaxReorgDepth, r.MaxReorgDepth)
		if r.Majority != nil {
			if rep.Majority == nil {
				rep.Majority = make([]float64, len(r.Majority))
			}
			for i, f := range r.Majority {
				rep.Majority[i] += f / float64(runs)
			}
		}
	}
	if len(agree) > 0 {
		slices.Sort(agree)
		var sum time.Duration
		for _, d := range agree {
			sum += d
		}
		mean := sum.Seconds() / float64(len(agree))
		p99 := agree[int(math.Ceil(0.99*float64(len(agree))))-1].Seconds()
		rep.AgreeTimeMean, rep.AgreeTimeP99 = &mean, &p99
	}
	rep.TipFlips = float64(flips) / float64(runs*cfg.Nodes) / cfg.Duration.Hours()
	if blocks > 0 {
		rep.StaleRate = float64(stale) / float64(blocks)
	}
	return rep, nil
}
