package miner

import (
	"sync"
	"time"
)

// rateWindow is how many quarter-second samples the moving average spans:
// ten seconds.
const rateWindow = 40

// sample is the workers' hash counters at one moment.
type sample struct {
	at     time.Time
	counts []uint64
}

// meter turns monotonically increasing per-worker hash counters into
// moving-average rates over the last rateWindow samples.
type meter struct {
	mu      sync.Mutex
	samples []sample // ring, oldest at next when full
	next    int
}

func (m *meter) add(at time.Time, counts []uint64) {
	m.mu.Lock()
	defer m.mu.Unlock()
	s := sample{at: at, counts: counts}
	if len(m.samples) < rateWindow {
		m.samples = append(m.samples, s)
		return
	}
	m.samples[m.next] = s
	m.next = (m.next + 1) % rateWindow
}

// Rates is a snapshot of the hashrate, in hashes per second.
type Rates struct {
	// PerWorker holds each worker's moving-average rate.
	PerWorker []float64
	// Total is the sum of PerWorker.
	Total float64
	// Hashes counts every nonce tried since the miner started.
	Hashes uint64
}

func (m *meter) rates() Rates {
	m.mu.Lock()
	defer m.mu.Unlock()
	var r Rates
	if len(m.samples) == 0 {
		return r
	}
	newest := m.samples[(m.next+len(m.samples)-1)%len(m.samples)]
	oldest := m.samples[m.next%len(m.samples)]
	r.PerWorker = make([]float64, len(newest.counts))
	for _, c := range newest.counts {
		r.Hashes += c
	}
	dt := newest.at.Sub(oldest.at).Seconds()
	if dt <= 0 {
		return r
	}
	for i := range newest.counts {
		r.PerWorker[i] = float64(newest.counts[i]-oldest.counts[i]) / dt
		r.Total += r.PerWorker[i]
	}
	return r
}
