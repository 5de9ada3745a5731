package miner

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"github.com/powmine/powmine/chain"
	"github.com/powmine/powmine/hash/sha256d"
)

const (
	// chunkBits sets the nonces a worker claims at a time: 2^24, a fraction
	// of a second at tens of MH/s.
	chunkBits = 24
	// rollBits sets the nonces searched before the header rolls: all 2^32.
	rollBits = 32
)

// Config configures a Miner. The zero value mines on every core with the
// fastest kernel that passes its self-test.
type Config struct {
	// Threads is the number of worker goroutines; 0 means one per CPU.
	Threads int
	// Kernel is the nonce-search kernel; nil means sha256d.Choose().
	Kernel *sha256d.Kernel
	// CPUs, if set, pins worker i to CPU CPUs[i % len(CPUs)] (Linux only).
	CPUs []int
	// ShareBuffer is the capacity of the Shares channel; 0 means 64.
	ShareBuffer int
	// Logger receives the kernel choice and start-up warnings (failed
	// kernel self-tests); nil discards them.
	Logger *slog.Logger
}

// Errors returned by New.
var (
	ErrThreads  = errors.New("miner: thread count must be positive")
	ErrAffinity = errors.New("miner: bad CPU affinity")
)

// workState is one published Work with its chunk counter.
type workState struct {
	work  *Work
	next  atomic.Uint64 // next chunk to claim
	epoch uint64
}

// counter is a per-worker hash counter on its own cache line.
type counter struct {
	hashes     atomic.Uint64
	epoch      atomic.Uint64 // epoch of the work this worker is on
	switchedAt atomic.Int64  // when it took that work, in Unix nanoseconds
	_          [40]byte
}

// Miner searches nonces on several cores. Its methods are safe for
// concurrent use.
type Miner struct {
	threads int
	kernel  *sha256d.Kernel
	cpus    []int
	log     *slog.Logger
	// chunkBits and rollBits are the constants of the same names; tests
	// shrink them to reach rolling quickly.
	chunkBits, rollBits uint

	mu      sync.Mutex
	changed chan struct{} // closed and replaced by SetWork
	epoch   uint64

	work     atomic.Pointer[workState]
	shares   chan Share
	counters []counter
	meter    meter
	running  atomic.Bool
}

// New validates cfg and returns a Miner; call Run to start it.
func New(cfg Config) (*Miner, error) {
	threads := cfg.Threads
	if threads == 0 {
		threads = runtime.NumCPU()
	}
	if threads < 0 {
		return nil, fmt.Errorf("%w: %d", ErrThreads, threads)
	}
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if len(cfg.CPUs) > 0 && !affinitySupported {
		return nil, fmt.Errorf("%w: not supported on %s", ErrAffinity, runtime.GOOS)
	}
	for _, c := range cfg.CPUs {
		if c < 0 || c >= runtime.NumCPU() {
			return nil, fmt.Errorf("%w: CPU %d (this machine has %d)", ErrAffinity, c, runtime.NumCPU())
		}
	}
	k := cfg.Kernel
	if k == nil {
		c := sha256d.Choose()
		for _, err := range c.Failures {
			log.Warn("kernel failed its self-test; not using it", "err", err)
		}
		log.Info("kernel chosen", "kernel", c.Kernel.Name(), "rates", c.String(), "took", c.Elapsed)
		k = c.Kernel
	}
	buf := cfg.ShareBuffer
	if buf <= 0 {
		buf = 64
	}
	return &Miner{
		threads:   threads,
		kernel:    k,
		cpus:      cfg.CPUs,
		log:       log,
		changed:   make(chan struct{}),
		shares:    make(chan Share, buf),
		counters:  make([]counter, threads),
		chunkBits: chunkBits,
		rollBits:  rollBits,
	}, nil
}

// Kernel returns the kernel the miner runs.
func (m *Miner) Kernel() *sha256d.Kernel { return m.kernel }

// Threads returns the number of workers.
func (m *Miner) Threads() int { return m.threads }

// Shares returns the channel on which shares arrive. It is closed when Run
// returns.
func (m *Miner) Shares() <-chan Share { return m.shares }

// SetWork replaces the work every worker searches; workers switch after
// their current batch. A nil w pauses the search.
func (m *Miner) SetWork(w *Work) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.epoch++
	if w == nil {
		m.work.Store(nil)
	} else {
		m.work.Store(&workState{work: w, epoch: m.epoch})
	}
	close(m.changed)
	m.changed = make(chan struct{})
}

// waitChange returns a channel closed at the next SetWork.
func (m *Miner) waitChange() <-chan struct{} {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.changed
}

// Rates returns the moving-average hashrate over the last ten seconds.
func (m *Miner) Rates() Rates { return m.meter.rates() }

// Run mines until ctx is done, then waits for the workers and closes the
// Shares channel. It may be called once.
func (m *Miner) Run(ctx context.Context) error {
	if !m.running.CompareAndSwap(false, true) {
		return errors.New("miner: Run called twice")
	}
	defer close(m.shares)
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()

	errs := make(chan error, m.threads)
	var wg sync.WaitGroup
	for i := range m.threads {
		wg.Go(func() {
			if err := m.worker(ctx, i); err != nil {
				errs <- err
				cancel()
			}
		})
	}
	m.sampleRates(ctx)
	// Wake workers waiting for work so they see ctx is done.
	m.SetWork(nil)
	wg.Wait()
	close(errs)
	return <-errs
}

// sampleRates feeds the meter four times a second until ctx is done.
func (m *Miner) sampleRates(ctx context.Context) {
	t := time.NewTicker(time.Second / 4)
	defer t.Stop()
	for {
		m.meter.add(time.Now(), m.counts())
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// Hashes returns the number of nonces tried since Run started.
func (m *Miner) Hashes() uint64 {
	var n uint64
	for i := range m.counters {
		n += m.counters[i].hashes.Load()
	}
	return n
}

func (m *Miner) counts() []uint64 {
	c := make([]uint64, len(m.counters))
	for i := range m.counters {
		c[i] = m.counters[i].hashes.Load()
	}
	return c
}

// worker is one search goroutine.
func (m *Miner) worker(ctx context.Context, id int) error {
	if len(m.cpus) > 0 {
		if err := pinThread(m.cpus[id%len(m.cpus)]); err != nil {
			return err
		}
	}
	scanner := sha256d.NewScanner(m.kernel)
	// A whole number of kernel iterations, so no nonce of a batch falls
	// to the portable kernel's remainder path; the size SelfTest checks.
	batch := uint32(m.kernel.Step())
	ctr := &m.counters[id]
	hits := make([]uint32, 0, 16)

	var (
		job     *sha256d.Job
		jobWS   *workState
		jobRoll uint64
		header  chain.Header
	)
	for ctx.Err() == nil {
		changed := m.waitChange()
		ws := m.work.Load()
		if ws == nil {
			select {
			case <-changed:
			case <-ctx.Done():
			}
			continue
		}
		if ctr.epoch.Load() != ws.epoch {
			ctr.switchedAt.Store(time.Now().UnixNano())
			ctr.epoch.Store(ws.epoch)
		}
		chunk := ws.next.Add(1) - 1
		chunksPerRoll := uint64(1) << (m.rollBits - m.chunkBits)
		roll := chunk / chunksPerRoll
		if job == nil || jobWS != ws || jobRoll != roll {
			header = ws.work.header(roll)
			job = newJob(&header, &ws.work.Target)
			jobWS, jobRoll = ws, roll
		}
		start := uint32(chunk%chunksPerRoll) << m.chunkBits
		for off, end := uint64(0), uint64(1)<<m.chunkBits; off < end; {
			n := min(uint64(batch), end-off)
			hits = scanner.Scan(job, start+uint32(off), n, hits[:0])
			ctr.hashes.Add(n)
			off += n
			for _, nonce := range hits {
				s := Share{Work: ws.work, Roll: roll, Header: header}
				s.Header.Nonce = nonce
				s.Hash = chain.Hash(job.Hash(nonce))
				select {
				case m.shares <- s:
				case <-ctx.Done():
					return nil
				}
			}
			if m.work.Load() != ws {
				break
			}
		}
	}
	return nil
}

// newJob prepares a header for the kernels.
func newJob(h *chain.Header, target *chain.Hash) *sha256d.Job {
	hdr := h.Serialize()
	t := [sha256d.Size]byte(*target)
	return sha256d.NewJob(&hdr, &t)
}
