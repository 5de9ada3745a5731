package pool

import (
	"encoding/binary"
	"fmt"
	"testing"
	"time"

	"github.com/powmine/powmine/chain"
	"github.com/powmine/powmine/stratum"
)

// benchLines is how many distinct submit lines the share benchmark
// cycles through; the connection's duplicate set is cleared after each
// round.
const benchLines = 4096

// shareBench is a subscribed, authorized connection with submit lines
// that are all valid shares and none a block.
type shareBench struct {
	c     *conn
	lines [][]byte
}

// newShareBench makes the bench on a job whose coinbase pays payouts
// addresses.
func newShareBench(tb testing.TB, payouts int) *shareBench {
	tp := newTestPool(tb, func(c *Config) {
		c.StartDifficulty, c.MinDifficulty = 1e-12, 1e-12
		c.RefreshInterval, c.RetargetInterval, c.RetargetShares = time.Hour, time.Hour, 1<<30
		c.WindowDifficulty = 1e12
	})
	if payouts > 1 {
		for i := range payouts {
			var a chain.Address
			binary.BigEndian.PutUint32(a[:], uint32(i+1))
			tp.pplns.add(a, 1)
		}
		if err := tp.newJob(true); err != nil {
			tb.Fatal(err)
		}
		if n := len(tp.jobs.Load().latest.tmpl.Transactions[0].Coinbase.Outputs); n != payouts {
			tb.Fatalf("job pays %d addresses, want %d", n, payouts)
		}
	}
	c := fuzzConn(tp.Server)
	tb.Cleanup(func() { c.nc.Close() })
	user := testAddr(13).String() + ".bench"
	c.handleLine([]byte(`{"id":1,"method":"mining.subscribe","params":["bench"]}`))
	c.handleLine([]byte(`{"id":2,"method":"mining.authorize","params":["` + user + `","x"]}`))
	job := tp.jobs.Load().latest
	nt := job.netTarget
	sb := &shareBench{c: c}
	for nonce := uint32(0); len(sb.lines) < benchLines; nonce++ {
		sp := stratum.SubmitParams{Worker: user, JobID: job.notify.JobID, Extranonce2: []byte{1, 2, 3, 4}, NTime: job.notify.Time, Nonce: nonce}
		hdr, _ := job.notify.ShareHeader(c.e1[:], &sp, 0)
		if h := hdr.Hash(); stratum.HashMeetsTarget(&h, &nt) {
			continue
		}
		sb.lines = append(sb.lines, fmt.Appendf(nil, `{"id":%d,"method":"mining.submit","params":%s}`, 100+nonce, sp.AppendParams(nil)))
	}
	sb.round() // grow the duplicate set and the PPLNS ring
	return sb
}

// round submits every line once and checks they were all accepted.
func (sb *shareBench) round() {
	c := sb.c
	c.mu.Lock()
	clear(c.dup)
	c.mu.Unlock()
	for _, l := range sb.lines {
		sb.submit(l)
	}
}

func (sb *shareBench) submit(line []byte) {
	c := sb.c
	c.handleLine(line)
	c.mu.Lock()
	c.out = c.out[:0]
	c.mu.Unlock()
}

func TestShareNoAllocs(t *testing.T) {
	if raceEnabled {
		t.Skip("allocation counts are not meaningful under -race")
	}
	sb := newShareBench(t, 1)
	before := sb.c.s.Stats().Accepted
	sb.c.mu.Lock()
	clear(sb.c.dup)
	sb.c.mu.Unlock()
	i := 0
	allocs := testing.AllocsPerRun(benchLines-1, func() {
		sb.submit(sb.lines[i])
		i++
	})
	if got := sb.c.s.Stats().Accepted - before; got != benchLines {
		t.Fatalf("%d shares accepted, want %d", got, benchLines)
	}
	if allocs != 0 {
		t.Fatalf("a share costs %v allocations", allocs)
	}
}

// BenchmarkShare validates shares on one connection: parse, checks,
// coinbase and header hashes, duplicate set, vardiff counters, PPLNS
// window, the response; on a coinbase of 1, 16 and MaxPayouts payouts.
func BenchmarkShare(b *testing.B) {
	for _, n := range []int{1, 16, MaxPayouts} {
		b.Run(fmt.Sprintf("payouts=%d", n), func(b *testing.B) { benchmarkShare(b, n) })
	}
}

func benchmarkShare(b *testing.B, payouts int) {
	sb := newShareBench(b, payouts)
	before := sb.c.s.Stats().Accepted
	b.ReportAllocs()
	b.ResetTimer()
	i := benchLines // clear the duplicates of the warm-up round first
	for b.Loop() {
		if i == benchLines {
			sb.c.mu.Lock()
			clear(sb.c.dup)
			sb.c.mu.Unlock()
			i = 0
		}
		sb.submit(sb.lines[i])
		i++
	}
	b.StopTimer()
	if got := sb.c.s.Stats().Accepted - before; got != uint64(b.N) {
		b.Fatalf("%d of %d shares accepted", got, b.N)
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "shares/s")
}

// BenchmarkShareWorkerCap validates shares with the worker statistics at
// their cap (DefaultMaxTrackedWorkers): "tracked" submits shares of a
// tracked worker; "churn" also authorizes a new worker name before each
// share, as an attacker cycling names does, so that every iteration
// evicts a worker.
func BenchmarkShareWorkerCap(b *testing.B) {
	for _, churn := range []bool{false, true} {
		name := "tracked"
		if churn {
			name = "churn"
		}
		b.Run(name, func(b *testing.B) {
			sb := newShareBench(b, 1)
			st := sb.c.s.stats
			addr := testAddr(14)
			names := make([]string, 2*DefaultMaxTrackedWorkers)
			for i := range names {
				names[i] = fmt.Sprintf("%s.churn%d", addr, i)
			}
			for _, n := range names[:DefaultMaxTrackedWorkers] {
				st.authorize(n, addr)
			}
			sb.round() // the bench worker is tracked again, and the most recent
			b.ReportAllocs()
			b.ResetTimer()
			i, k := 0, DefaultMaxTrackedWorkers
			for b.Loop() {
				if i == benchLines {
					sb.c.mu.Lock()
					clear(sb.c.dup)
					sb.c.mu.Unlock()
					i = 0
				}
				if churn {
					st.authorize(names[k], addr)
					k = (k + 1) % len(names)
				}
				sb.submit(sb.lines[i])
				i++
			}
			b.StopTimer()
			if n, _, _ := st.totals(); n != DefaultMaxTrackedWorkers {
				b.Fatalf("%d workers tracked, want %d", n, DefaultMaxTrackedWorkers)
			}
		})
	}
}
