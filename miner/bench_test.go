package miner

import (
	"fmt"
	"runtime"
	"slices"
	"testing"
	"time"

	"github.com/powmine/powmine/chain"
)

// BenchmarkWorkSwitch measures how long a SetWork takes to reach every
// worker: from the call until the last worker has taken the new work, by
// the workers' own clocks. The publishing goroutine sleeps while it waits,
// as a network reader would, so it does not steal the workers' CPUs.
func BenchmarkWorkSwitch(b *testing.B) {
	for _, threads := range []int{1, runtime.NumCPU()} {
		b.Run(fmt.Sprintf("threads=%d", threads), func(b *testing.B) {
			m, _, _ := start(b, Config{Threads: threads}, nil)
			works := []*Work{{ID: "a"}, {ID: "b", Header: chain.Header{Version: 1}}}
			m.SetWork(works[0])
			var lat []time.Duration
			i := 0
			for b.Loop() {
				i++
				t0 := time.Now()
				m.SetWork(works[i%2])
				want := m.work.Load().epoch
				var last int64
				for w := range m.counters {
					for m.counters[w].epoch.Load() != want {
						time.Sleep(20 * time.Microsecond)
					}
					last = max(last, m.counters[w].switchedAt.Load())
				}
				lat = append(lat, time.Duration(last-t0.UnixNano()))
			}
			slices.Sort(lat)
			b.ReportMetric(float64(lat[len(lat)/2].Microseconds()), "p50-µs")
			b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds()), "p99-µs")
			b.ReportMetric(float64(lat[len(lat)-1].Microseconds()), "max-µs")
		})
	}
}
