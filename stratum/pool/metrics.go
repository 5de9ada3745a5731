package pool

import (
	"strconv"
	"unicode/utf8"

	"github.com/prometheus/client_golang/prometheus"
)

// The pool's Prometheus metrics. Per-worker series are bounded by
// Config.MaxTrackedWorkers.
var (
	descConns = prometheus.NewDesc("powmine_pool_connections",
		"Open Stratum connections.", nil, nil)
	descWorkers = prometheus.NewDesc("powmine_pool_workers",
		"Workers tracked by the pool's statistics.", nil, nil)
	descShares = prometheus.NewDesc("powmine_pool_shares_total",
		"Shares submitted, by result (accepted, rejected) and reject reason.", []string{"result", "reason"}, nil)
	descBlocks = prometheus.NewDesc("powmine_pool_blocks_total",
		"Shares that were blocks the node accepted, by branch: main (they became the tip) or side.", []string{"branch"}, nil)
	descHashrate = prometheus.NewDesc("powmine_pool_hashrate",
		"Pool hashrate estimate in hashes per second over the last 10 minutes.", nil, nil)
	descWorkerHashrate = prometheus.NewDesc("powmine_pool_worker_hashrate",
		"Worker hashrate estimate in hashes per second over the last 10 minutes.", []string{"worker"}, nil)
)

// Describe implements prometheus.Collector.
func (s *Server) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{descConns, descWorkers, descShares, descBlocks, descHashrate, descWorkerHashrate} {
		ch <- d
	}
}

// Collect implements prometheus.Collector.
func (s *Server) Collect(ch chan<- prometheus.Metric) {
	ps := s.PoolStats()
	ch <- prometheus.MustNewConstMetric(descConns, prometheus.GaugeValue, float64(ps.Conns))
	ch <- prometheus.MustNewConstMetric(descWorkers, prometheus.GaugeValue, float64(ps.Workers))
	ch <- prometheus.MustNewConstMetric(descShares, prometheus.CounterValue, float64(ps.Accepted), "accepted", "")
	for r, n := range ps.Rejected {
		ch <- prometheus.MustNewConstMetric(descShares, prometheus.CounterValue, float64(n), "rejected", RejectReason(r).String())
	}
	ch <- prometheus.MustNewConstMetric(descBlocks, prometheus.CounterValue, float64(ps.Blocks), "main")
	ch <- prometheus.MustNewConstMetric(descBlocks, prometheus.CounterValue, float64(ps.SideBlocks), "side")
	ch <- prometheus.MustNewConstMetric(descHashrate, prometheus.GaugeValue, ps.Hashrate)
	ws := s.WorkerStats()
	seen := make(map[string]bool, len(ws))
	for _, w := range ws {
		label := labelValue(w.Worker)
		if seen[label] {
			continue // two names sanitized alike: a repeated series fails the scrape
		}
		seen[label] = true
		m, err := prometheus.NewConstMetric(descWorkerHashrate, prometheus.GaugeValue, w.Hashrate, label)
		if err != nil {
			continue // one bad series must not fail the scrape
		}
		ch <- m
	}
}

// labelValue returns s as a label value: s when it is valid UTF-8, else s
// quoted with its invalid bytes escaped (\xff), which Prometheus
// accepts. Authorize refuses such names; the collector does not rely on
// it, since one bad label fails every scrape.
func labelValue(s string) string {
	if utf8.ValidString(s) {
		return s
	}
	return strconv.Quote(s)
}

var _ prometheus.Collector = (*Server)(nil)
