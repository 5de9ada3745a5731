package dashboard

import (
	"cmp"
	"slices"
	"sync"
	"time"
)

// topWorkersCharted is how many workers (the fastest at each sample) the
// hashrate chart draws a line for.
const topWorkersCharted = 5

// workerRate is one worker's hashrate in a sample.
type workerRate struct {
	Worker   string
	Hashrate float64
}

// sample is one point of the charts' history.
type sample struct {
	T         int64   // Unix seconds
	Pool      float64 // pool hashrate, H/s
	Net       float64 // network hashrate estimate, H/s
	Accepted  uint64  // accepted shares so far
	ShareDiff float64 // mean share difficulty of the workers
	Top       []workerRate
}

// ring is a bounded ring of samples, oldest first when read.
type ring struct {
	buf  []sample
	next int
	full bool
}

func newRing(n int) *ring { return &ring{buf: make([]sample, n)} }

func (r *ring) add(s sample) {
	r.buf[r.next] = s
	r.next++
	if r.next == len(r.buf) {
		r.next, r.full = 0, true
	}
}

// all returns the samples, oldest first.
func (r *ring) all() []sample {
	if !r.full {
		return slices.Clone(r.buf[:r.next])
	}
	return append(slices.Clone(r.buf[r.next:]), r.buf[:r.next]...)
}

// history holds the charts' samples: every SampleInterval over the last
// hour, and one a minute over the last day. Its memory is bounded by the
// ring sizes (and topWorkersCharted names per sample).
type history struct {
	every   time.Duration
	perLong int // short samples per long one

	mu    sync.Mutex
	short *ring // the last hour
	long  *ring // the last day
	n     int   // samples added
}

func newHistory(every time.Duration) *history {
	short := max(int(time.Hour/every), 2)
	perLong := max(int(time.Minute/every), 1)
	long := max(int(24*time.Hour/(every*time.Duration(perLong))), 2)
	return &history{every: every, perLong: perLong, short: newRing(short), long: newRing(long)}
}

func (h *history) add(s sample) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.short.add(s)
	if h.n%h.perLong == 0 {
		h.long.add(s)
	}
	h.n++
}

// hour and day return the samples of the last hour and day.
func (h *history) hour() []sample {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.short.all()
}

func (h *history) day() []sample {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.long.all()
}

// sharesPerMinute returns the accepted shares per minute over the last
// minute of samples (over what there is when the history is younger),
// with the current count cur at now.
func (h *history) sharesPerMinute(cur uint64, now int64) float64 {
	h.mu.Lock()
	defer h.mu.Unlock()
	ss := h.short.all()
	var from *sample
	for i := len(ss) - 1; i >= 0; i-- {
		if now-ss[i].T > 60 {
			break
		}
		from = &ss[i]
	}
	if from == nil || now-from.T < 1 || cur < from.Accepted {
		return 0
	}
	return float64(cur-from.Accepted) * 60 / float64(now-from.T)
}

// topWorkers returns the n fastest workers.
func topWorkers(ws []WorkerStats, n int) []workerRate {
	out := make([]workerRate, 0, len(ws))
	for _, w := range ws {
		if w.Hashrate > 0 {
			out = append(out, workerRate{w.Worker, w.Hashrate})
		}
	}
	slices.SortFunc(out, func(a, b workerRate) int { return cmp.Compare(b.Hashrate, a.Hashrate) })
	return out[:min(n, len(out))]
}
