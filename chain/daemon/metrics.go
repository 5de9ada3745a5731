package daemon

import (
	"math/big"
	"net/http"

	"github.com/powmine/powmine/chain/mempool"
	"github.com/powmine/powmine/chain/node"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// metrics are the node's Prometheus metrics, in a registry of its own so
// several daemons (tests) can live in one process.
type metrics struct {
	reg        *prometheus.Registry
	height     prometheus.Gauge
	work       prometheus.Gauge
	connected  prometheus.Counter
	reorgs     prometheus.Counter
	reorgDepth prometheus.Histogram
	validation prometheus.Histogram
	mempoolTxs prometheus.Gauge
	mempoolB   prometheus.Gauge
	justified  prometheus.Gauge
	finalized  prometheus.Gauge
	lag        prometheus.Gauge
}

func newMetrics() *metrics {
	m := &metrics{
		reg:        prometheus.NewRegistry(),
		height:     prometheus.NewGauge(prometheus.GaugeOpts{Name: "powmine_tip_height", Help: "Height of the best chain's tip."}),
		work:       prometheus.NewGauge(prometheus.GaugeOpts{Name: "powmine_tip_chainwork", Help: "Cumulative work of the best chain (as a float)."}),
		connected:  prometheus.NewCounter(prometheus.CounterOpts{Name: "powmine_blocks_connected_total", Help: "Blocks connected to the best chain."}),
		reorgs:     prometheus.NewCounter(prometheus.CounterOpts{Name: "powmine_reorgs_total", Help: "Reorganizations of the best chain."}),
		reorgDepth: prometheus.NewHistogram(prometheus.HistogramOpts{Name: "powmine_reorg_depth_blocks", Help: "Blocks disconnected per reorganization.", Buckets: prometheus.ExponentialBuckets(1, 2, 8)}),
		validation: prometheus.NewHistogram(prometheus.HistogramOpts{Name: "powmine_block_validation_seconds", Help: "Time to process a submitted block.", Buckets: prometheus.ExponentialBuckets(0.0005, 2, 14)}),
		mempoolTxs: prometheus.NewGauge(prometheus.GaugeOpts{Name: "powmine_mempool_transactions", Help: "Transfers waiting in the mempool."}),
		mempoolB:   prometheus.NewGauge(prometheus.GaugeOpts{Name: "powmine_mempool_bytes", Help: "Serialized size of the mempool's transfers."}),
		justified:  prometheus.NewGauge(prometheus.GaugeOpts{Name: "powmine_finality_justified_epoch", Help: "Epoch of the best chain's highest justified checkpoint."}),
		finalized:  prometheus.NewGauge(prometheus.GaugeOpts{Name: "powmine_finality_finalized_epoch", Help: "Epoch of the best chain's finalized checkpoint."}),
		lag:        prometheus.NewGauge(prometheus.GaugeOpts{Name: "powmine_finality_lag_epochs", Help: "Epochs from the finalized checkpoint to the tip's epoch (stalled above 3 while validators hold stake)."}),
	}
	m.reg.MustRegister(m.height, m.work, m.connected, m.reorgs, m.reorgDepth, m.validation, m.mempoolTxs, m.mempoolB,
		m.justified, m.finalized, m.lag,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

func (m *metrics) setTip(tip node.BlockInfo) {
	m.height.Set(float64(tip.Height))
	w, _ := new(big.Float).SetInt(tip.Work).Float64()
	m.work.Set(w)
}

func (m *metrics) setFinality(f node.FinalityInfo) {
	m.justified.Set(float64(f.Justified.Epoch))
	m.finalized.Set(float64(f.Finalized.Epoch))
	m.lag.Set(float64(f.Lag()))
}

func (m *metrics) setMempool(info mempool.Info) {
	m.mempoolTxs.Set(float64(info.Count))
	m.mempoolB.Set(float64(info.Bytes))
}

func (m *metrics) reorg(depth int) {
	m.reorgs.Inc()
	m.reorgDepth.Observe(float64(depth))
}

func (m *metrics) handler() http.Handler {
	// A collector's error (a bad label value, say) costs its own metrics,
	// never the whole scrape.
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{ErrorHandling: promhttp.ContinueOnError})
}
