package pool

import (
	"fmt"
	"math"
	"runtime"
	"strconv"
	"sync"
	"time"

	"github.com/powmine/powmine/chain"
	"github.com/powmine/powmine/chain/template"
	"github.com/powmine/powmine/stratum"
)

// A failed template is retried jobAttempts times, jobRetryDelay apart,
// before the job loop waits for the next tip or refresh.
const (
	jobAttempts   = 3
	jobRetryDelay = 50 * time.Millisecond
)

// job is one mining.notify: a template and what shares on it need.
// Immutable once published.
type job struct {
	seq       uint64
	tmpl      *template.Template
	notify    stratum.NotifyParams    // CleanJobs false
	prefix    *stratum.CoinbasePrefix // notify.Coinb1 hashed ahead
	line      [2][]byte               // the notify line without / with clean_jobs
	netTarget chain.Hash              // the block target, digest order
	netDiff   float64                 // the block difficulty: the most a share is asked
	netShare  chain.Hash              // the share target of netDiff
	created   time.Time
	txids     func() []byte // the mining.get_transactions result, made once on first use
}

// jobSet is the published set of live jobs, oldest first. Immutable.
type jobSet struct {
	byID   map[string]*job
	list   []*job
	latest *job
}

// jobLoop makes a clean job when the tip changes and a refresh job every
// RefreshInterval, until the server quits.
func (s *Server) jobLoop(tip <-chan struct{}) {
	refresh := time.NewTicker(s.cfg.RefreshInterval)
	defer refresh.Stop()
	for {
		clean := false
		select {
		case <-s.quit:
			return
		case <-tip:
			clean = true
		case <-refresh.C:
			s.sweepIPs()
		}
		tip = s.cfg.Node.TipChanged()
		for attempt := 1; ; attempt++ {
			err := s.newJob(clean) // a job on a new parent is clean anyway
			if err == nil {
				break
			}
			s.log.Error("new job", "err", err, "attempt", attempt)
			if attempt == jobAttempts {
				break
			}
			select {
			case <-time.After(jobRetryDelay):
			case <-s.quit:
				return
			}
		}
	}
}

// newJob builds a template, publishes a job for it and sends it to every
// subscribed connection. A job on a new parent is always clean.
func (s *Server) newJob(clean bool) error {
	s.jobMu.Lock()
	defer s.jobMu.Unlock()
	window := s.cfg.WindowDifficulty
	old := s.jobs.Load()
	if window == 0 && old.latest != nil {
		window = DefaultWindowFactor * stratum.DifficultyFromTarget(old.latest.netTarget)
	}
	payouts := s.pplns.payouts(window, s.cfg.PoolAddress)
	t, err := s.cfg.Node.TemplateExtranonce(payouts, Extranonce1Size+s.cfg.Extranonce2Size)
	if err != nil {
		return fmt.Errorf("pool: template: %w", err)
	}
	netTarget, err := chain.BigToHash(chain.CompactToBig(t.Header.Bits))
	if err != nil {
		return fmt.Errorf("pool: template target: %w", err)
	}
	seq := s.jobsMade.Add(1)
	coinb1, coinb2 := t.CoinbaseParts()
	j := &job{
		seq:  seq,
		tmpl: t,
		notify: stratum.NotifyParams{
			JobID:        strconv.FormatUint(s.jobIDBase+seq, 16),
			PrevHash:     t.Header.PrevBlock,
			Coinb1:       coinb1,
			Coinb2:       coinb2,
			MerkleBranch: t.MerkleBranch(),
			Version:      uint32(t.Header.Version),
			Bits:         t.Header.Bits,
			Time:         t.Header.Timestamp,
		},
		netTarget: netTarget,
		netDiff:   stratum.DifficultyFromTarget(netTarget),
		created:   time.Now(),
		txids:     sync.OnceValue(func() []byte { return appendTxIDs(nil, t) }),
	}
	if j.netShare, err = stratum.TargetFromDifficulty(j.netDiff); err != nil {
		return fmt.Errorf("pool: template difficulty: %w", err)
	}
	j.prefix = stratum.NewCoinbasePrefix(coinb1)
	j.line[0] = stratum.AppendNotification(nil, &j.notify)
	np := j.notify
	np.CleanJobs = true
	j.line[1] = stratum.AppendNotification(nil, &np)

	if old.latest == nil || old.latest.notify.PrevHash != j.notify.PrevHash {
		clean = true
	}
	next := &jobSet{byID: make(map[string]*job, s.cfg.MaxJobs), latest: j}
	if !clean {
		keep := old.list
		if len(keep) >= s.cfg.MaxJobs {
			keep = keep[len(keep)-s.cfg.MaxJobs+1:]
		}
		next.list = append(next.list, keep...)
	}
	next.list = append(next.list, j)
	for _, o := range next.list {
		next.byID[o.notify.JobID] = o
	}
	s.jobs.Store(next)
	s.log.Debug("new job", "id", j.notify.JobID, "height", t.Height, "clean", clean, "txs", len(t.Transactions), "payouts", len(payouts))
	s.fanOut(j, clean, next.list[0].seq)
	return nil
}

// appendTxIDs appends the ids of t's transactions after the coinbase, in
// block order, as a JSON array of the hex strings RPC shows
// (chain.Hash.String).
func appendTxIDs(dst []byte, t *template.Template) []byte {
	dst = append(dst, '[')
	for i := 1; i < len(t.Transactions); i++ {
		if i > 1 {
			dst = append(dst, ',')
		}
		id := t.Transactions[i].TxID()
		dst = append(dst, '"')
		dst = append(dst, id.String()...)
		dst = append(dst, '"')
	}
	return append(dst, ']')
}

// fanOutShard is the fewest connections worth a goroutine of their own
// when a job is sent.
const fanOutShard = 512

// fanOut sends j to every connection, split among up to GOMAXPROCS
// goroutines: the cost is a socket write per connection. It returns once
// every connection has it, so that jobs reach each one in order.
func (s *Server) fanOut(j *job, clean bool, oldest uint64) {
	conns := s.connSnapshot()
	shards := min(runtime.GOMAXPROCS(0), len(conns)/fanOutShard)
	if shards <= 1 {
		for _, c := range conns {
			c.sendJob(j, clean, oldest)
		}
		return
	}
	var wg sync.WaitGroup
	for k := range shards {
		part := conns[k*len(conns)/shards : (k+1)*len(conns)/shards]
		wg.Go(func() {
			for _, c := range part {
				c.sendJob(j, clean, oldest)
			}
		})
	}
	wg.Wait()
}

// clampDifficulty bounds d to the configured range.
func (s *Server) clampDifficulty(d float64) float64 {
	if math.IsNaN(d) {
		return s.cfg.StartDifficulty
	}
	return min(max(d, s.cfg.MinDifficulty), s.cfg.MaxDifficulty)
}
