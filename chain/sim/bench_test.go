package sim

import (
	"testing"
	"time"
)

// BenchmarkRun simulates the target network, 20 nodes for an
// hour with a 5 s block interval and 50 ms links, once per iteration,
// under each rule.
func BenchmarkRun(b *testing.B) {
	for _, rule := range Rules() {
		b.Run(rule.String(), func(b *testing.B) {
			cfg := Config{Rule: rule, Nodes: 20, Latency: 50 * time.Millisecond, BlockInterval: 5 * time.Second,
				Duration: time.Hour, Seed: 1}
			rp := newRealParams()
			b.ReportAllocs()
			run := 0
			for b.Loop() {
				if _, err := runOne(&cfg, run, rp); err != nil {
					b.Fatal(err)
				}
				run++
			}
			b.ReportMetric(b.Elapsed().Seconds()/float64(b.N), "s/run")
		})
	}
}
