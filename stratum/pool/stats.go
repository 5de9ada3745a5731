package pool

import (
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/powmine/powmine/chain"
	"github.com/powmine/powmine/stratum"
)

// Hashrate estimation: accepted share difficulty is summed into
// HashrateBucket-wide buckets, and the hashrate is the sum over the last
// HashrateWindow times 2^32 divided by the window in seconds (by the time
// since the worker was first authorized, or the pool started, when that
// is shorter).
const (
	// HashrateWindow is the sliding window of the hashrate estimates.
	HashrateWindow = 10 * time.Minute
	// HashrateBucket is the width of one bucket of the window.
	HashrateBucket = 10 * time.Second
	// hashrateBuckets is the number of buckets of the window.
	hashrateBuckets = int(HashrateWindow / HashrateBucket)
)

// DefaultMaxTrackedWorkers is the default of Config.MaxTrackedWorkers.
const DefaultMaxTrackedWorkers = 10000

// hashesPerDifficulty is the expected number of hashes per share of
// difficulty 1.
const hashesPerDifficulty = 1 << 32

// RejectReason classifies a rejected share by its Stratum error code.
type RejectReason int

// Reject reasons.
const (
	// RejectOther: malformed submit, wrong extranonce2 size, too many
	// shares on live jobs (code 20 and unknown codes).
	RejectOther RejectReason = iota
	// RejectStale: job not found (code 21), an expired or unknown job.
	RejectStale
	// RejectDuplicate: duplicate share (code 22).
	RejectDuplicate
	// RejectLowDifficulty: the hash misses the share target (code 23).
	RejectLowDifficulty
	// RejectUnauthorized: unauthorized worker (code 24).
	RejectUnauthorized
	// RejectNotSubscribed: submit before subscribe (code 25).
	RejectNotSubscribed
	// RejectTimeTooOld and RejectTimeTooNew: ntime out of range (codes
	// 31, 32).
	RejectTimeTooOld
	RejectTimeTooNew
	// RejectVersionMask: version bits outside the mask (code 33).
	RejectVersionMask
	// NumRejectReasons is the number of reasons.
	NumRejectReasons
)

var rejectReasonNames = [NumRejectReasons]string{
	RejectOther:         "other",
	RejectStale:         "stale",
	RejectDuplicate:     "duplicate",
	RejectLowDifficulty: "low_difficulty",
	RejectUnauthorized:  "unauthorized",
	RejectNotSubscribed: "not_subscribed",
	RejectTimeTooOld:    "time_too_old",
	RejectTimeTooNew:    "time_too_new",
	RejectVersionMask:   "invalid_version_mask",
}

// String returns the reason's label, as in metrics and RPC replies.
func (r RejectReason) String() string {
	if r >= 0 && r < NumRejectReasons {
		return rejectReasonNames[r]
	}
	return "unknown"
}

// rejectReasonOf classifies a Stratum error.
func rejectReasonOf(e *stratum.Error) RejectReason {
	switch e.Code {
	case stratum.CodeJobNotFound:
		return RejectStale
	case stratum.CodeDuplicateShare:
		return RejectDuplicate
	case stratum.CodeLowDifficulty:
		return RejectLowDifficulty
	case stratum.CodeUnauthorized:
		return RejectUnauthorized
	case stratum.CodeNotSubscribed:
		return RejectNotSubscribed
	case stratum.CodeTimeTooOld:
		return RejectTimeTooOld
	case stratum.CodeTimeTooNew:
		return RejectTimeTooNew
	case stratum.CodeInvalidVersionMask:
		return RejectVersionMask
	}
	return RejectOther
}

// RejectCounts counts rejected shares by reason.
type RejectCounts [NumRejectReasons]uint64

// Total returns the sum over all reasons.
func (rc *RejectCounts) Total() uint64 {
	var n uint64
	for _, v := range rc {
		n += v
	}
	return n
}

// Map returns the non-zero counts by reason label.
func (rc *RejectCounts) Map() map[string]uint64 {
	m := make(map[string]uint64)
	for r, v := range rc {
		if v != 0 {
			m[RejectReason(r).String()] = v
		}
	}
	return m
}

// WorkerStats are the statistics of one authorized worker (one user
// name, over all its connections).
type WorkerStats struct {
	// Worker is the user name as authorized: address[.name].
	Worker string
	// Address is the payout address; Name the worker name part, maybe
	// empty.
	Address chain.Address
	Name    string
	// Hashrate is the estimate in hashes per second over HashrateWindow.
	Hashrate float64
	// Accepted counts accepted shares; Rejected rejected ones by reason.
	Accepted uint64
	Rejected RejectCounts
	// Stale is Rejected[RejectStale].
	Stale uint64
	// LastShare is the time of the last share, accepted or rejected; zero
	// when none.
	LastShare time.Time
	// Authorized is when the worker was first authorized (since it was
	// last tracked).
	Authorized time.Time
	// Difficulty is the share difficulty of its last accepted share; 0
	// before the first.
	Difficulty float64
}

// PoolStats are the pool's totals.
type PoolStats struct {
	// Conns is the number of open connections.
	Conns int
	// Workers is the number of tracked workers (at most
	// Config.MaxTrackedWorkers).
	Workers int
	// Accepted counts accepted shares; Rejected rejected ones by reason.
	Accepted uint64
	Rejected RejectCounts
	// Blocks counts shares that were blocks the node accepted and made
	// its tip; SideBlocks those it accepted on a side branch (another
	// block at the same height came first).
	Blocks, SideBlocks uint64
	// Hashrate is the pool's estimate in hashes per second over
	// HashrateWindow.
	Hashrate float64
}

// rateBucket is the difficulty accepted in one bucket.
type rateBucket struct {
	epoch int64 // bucket number since the Unix epoch
	diff  float64
}

// rateWindow is a ring of buckets covering HashrateWindow.
type rateWindow [hashrateBuckets]rateBucket

// add credits diff at bucket epoch.
func (w *rateWindow) add(epoch int64, diff float64) {
	b := &w[epoch%int64(hashrateBuckets)]
	if b.epoch != epoch {
		*b = rateBucket{epoch: epoch}
	}
	b.diff += diff
}

// hashrate returns the estimate at now for a window that started at
// since: the difficulty in the window over the window's length, or over
// the time since since (at least one bucket) when that is shorter, so
// that a new worker is not underestimated.
func (w *rateWindow) hashrate(now, since time.Time) float64 {
	e := epochOf(now)
	sum := 0.0
	for _, b := range w {
		if b.epoch > e-int64(hashrateBuckets) && b.epoch <= e {
			sum += b.diff
		}
	}
	span := min(max(now.Sub(since), HashrateBucket), HashrateWindow)
	return sum * hashesPerDifficulty / span.Seconds()
}

// workerStat is a tracked worker.
type workerStat struct {
	user       string // its key in stats.workers
	addr       chain.Address
	accepted   uint64
	rejected   RejectCounts
	lastShare  time.Time
	lastSeen   time.Time // last authorize or share: the eviction order
	authorized time.Time
	diff       float64 // of the last accepted share
	rate       rateWindow
	// newer and older link the workers in lastSeen order (stats.newest
	// to stats.oldest), so that the longest idle is found in O(1).
	newer, older *workerStat
}

// stats are the pool's share statistics, behind one mutex.
type stats struct {
	now   func() time.Time
	cap   int
	idle  time.Duration // a worker idle for longer is dropped
	start time.Time     // the pool's window start

	mu       sync.Mutex
	workers  map[string]*workerStat
	newest   *workerStat // most recently seen
	oldest   *workerStat // longest idle: the next evicted
	rejected RejectCounts
	rate     rateWindow
}

func newStats(now func() time.Time, capacity int, idle time.Duration) *stats {
	return &stats{now: now, cap: capacity, idle: idle, start: now(), workers: make(map[string]*workerStat)}
}

// epochOf returns the bucket number of t.
func epochOf(t time.Time) int64 { return t.UnixNano() / int64(HashrateBucket) }

// workerLocked returns the worker's entry, seen at now, making it when
// it is not tracked: at the cap it takes over the entry of the longest
// idle worker, which costs no scan and no allocation.
func (st *stats) workerLocked(user string, addr chain.Address, now time.Time) *workerStat {
	w := st.workers[user]
	if w != nil {
		st.unlinkLocked(w)
	} else {
		if len(st.workers) >= st.cap && st.oldest != nil {
			w = st.oldest
			st.unlinkLocked(w)
			delete(st.workers, w.user)
		} else {
			w = new(workerStat)
		}
		*w = workerStat{user: user, addr: addr, authorized: now}
		st.workers[user] = w
	}
	w.lastSeen = now
	w.older = st.newest
	if st.newest != nil {
		st.newest.newer = w
	}
	st.newest = w
	if st.oldest == nil {
		st.oldest = w
	}
	return w
}

// expireLocked drops the workers idle for longer than st.idle, the
// oldest first.
func (st *stats) expireLocked(now time.Time) {
	for w := st.oldest; w != nil && now.Sub(w.lastSeen) > st.idle; w = st.oldest {
		st.unlinkLocked(w)
		delete(st.workers, w.user)
	}
}

// unlinkLocked takes w out of the lastSeen order.
func (st *stats) unlinkLocked(w *workerStat) {
	if w.newer != nil {
		w.newer.older = w.older
	} else {
		st.newest = w.older
	}
	if w.older != nil {
		w.older.newer = w.newer
	} else {
		st.oldest = w.newer
	}
	w.newer, w.older = nil, nil
}

// authorize starts tracking a worker or refreshes it.
func (st *stats) authorize(user string, addr chain.Address) {
	now := st.now()
	st.mu.Lock()
	st.expireLocked(now)
	st.workerLocked(user, addr, now)
	st.mu.Unlock()
}

// accept records an accepted share of user. It does not allocate for a
// tracked worker.
func (st *stats) accept(user string, addr chain.Address, diff float64) {
	now := st.now()
	e := epochOf(now)
	st.mu.Lock()
	st.expireLocked(now)
	w := st.workerLocked(user, addr, now)
	w.accepted++
	w.lastShare = now
	w.diff = diff
	w.rate.add(e, diff)
	st.rate.add(e, diff)
	st.mu.Unlock()
}

// reject records a rejected share; user is "" when the share names no
// authorized worker.
func (st *stats) reject(user string, addr chain.Address, r RejectReason) {
	now := st.now()
	st.mu.Lock()
	st.expireLocked(now)
	st.rejected[r]++
	if user != "" {
		w := st.workerLocked(user, addr, now)
		w.rejected[r]++
		w.lastShare = now
	}
	st.mu.Unlock()
}

// workerStats returns the tracked workers' statistics, sorted by user.
func (st *stats) workerStats() []WorkerStats {
	now := st.now()
	st.mu.Lock()
	st.expireLocked(now)
	out := make([]WorkerStats, 0, len(st.workers))
	for _, w := range st.workers {
		out = append(out, w.stats(now))
	}
	st.mu.Unlock()
	slices.SortFunc(out, func(a, b WorkerStats) int { return strings.Compare(a.Worker, b.Worker) })
	return out
}

// workerPage returns the statistics of at most count workers whose user
// sorts after after, sorted by user. The names are sorted outside the
// lock, which shares take.
func (st *stats) workerPage(after string, count int) []WorkerStats {
	st.mu.Lock()
	st.expireLocked(st.now())
	users := make([]string, 0, len(st.workers))
	for u := range st.workers {
		if u > after {
			users = append(users, u)
		}
	}
	st.mu.Unlock()
	slices.Sort(users)
	users = users[:min(count, len(users))]
	out := make([]WorkerStats, 0, len(users))
	now := st.now()
	st.mu.Lock()
	for _, u := range users {
		if w := st.workers[u]; w != nil { // not evicted meanwhile
			out = append(out, w.stats(now))
		}
	}
	st.mu.Unlock()
	return out
}

// stats returns w's statistics at now; the stats lock is held.
func (w *workerStat) stats(now time.Time) WorkerStats {
	_, name := stratum.SplitUser(w.user)
	return WorkerStats{
		Worker:     w.user,
		Address:    w.addr,
		Name:       name,
		Hashrate:   w.rate.hashrate(now, w.authorized),
		Accepted:   w.accepted,
		Rejected:   w.rejected,
		Stale:      w.rejected[RejectStale],
		LastShare:  w.lastShare,
		Authorized: w.authorized,
		Difficulty: w.diff,
	}
}

// totals returns the worker count, the rejections and the pool hashrate.
func (st *stats) totals() (workers int, rejected RejectCounts, hashrate float64) {
	now := st.now()
	st.mu.Lock()
	defer st.mu.Unlock()
	st.expireLocked(now)
	return len(st.workers), st.rejected, st.rate.hashrate(now, st.start)
}

// WorkerStats returns the statistics of the tracked workers, sorted by
// user name.
func (s *Server) WorkerStats() []WorkerStats { return s.stats.workerStats() }

// PoolStats returns the pool's totals.
func (s *Server) PoolStats() PoolStats {
	s.mu.Lock()
	conns := len(s.conns)
	s.mu.Unlock()
	workers, rejected, rate := s.stats.totals()
	return PoolStats{
		Conns:      conns,
		Workers:    workers,
		Accepted:   s.accepted.Load(),
		Rejected:   rejected,
		Blocks:     s.blocks.Load(),
		SideBlocks: s.sideBlocks.Load(),
		Hashrate:   rate,
	}
}
