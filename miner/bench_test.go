package miner

import (
	"runtime"
	"testing"
	"time"

	"github.com/powmine/powmine/chain"
)

// BenchmarkWorkSwitch measures how long a SetWork takes to reach every
// worker: from the call until all workers report the new work's epoch.
func BenchmarkWorkSwitch(b *testing.B) {
	for _, threads := range []int{1, runtime.NumCPU()} {
		b.Run(map[bool]string{true: "threads=1", false: "threads=all"}[threads == 1], func(b *testing.B) {
			m, _, _ := start(b, Config{Threads: threads}, nil)
			works := []*Work{{ID: "a"}, {ID: "b", Header: chain.Header{Version: 1}}}
			m.SetWork(works[0])
			var worst time.Duration
			i := 0
			for b.Loop() {
				i++
				t0 := time.Now()
				m.SetWork(works[i%2])
				want := m.work.Load().epoch
				for w := range m.counters {
					for m.counters[w].epoch.Load() != want {
						runtime.Gosched()
					}
				}
				worst = max(worst, time.Since(t0))
			}
			b.ReportMetric(float64(worst.Microseconds()), "worst-µs")
		})
	}
}
