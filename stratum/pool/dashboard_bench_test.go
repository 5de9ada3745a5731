package pool

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/powmine/powmine/chain/daemon"
	"github.com/powmine/powmine/chain/dashboard"
)

// dashUpdate is the dashboard's update and sample interval in
// BenchmarkShareWithDashboard: 50 times the default update rate
// (dashboard.DefaultUpdateInterval, 5 s).
const dashUpdate = 100 * time.Millisecond

// dashboardView is cmd/node's adapter: the pool as the dashboard sees it.
type dashboardView struct{ srv *Server }

func (v dashboardView) PoolStats() dashboard.PoolStats {
	ps := v.srv.PoolStats()
	return dashboard.PoolStats{Conns: ps.Conns, Workers: ps.Workers, Accepted: ps.Accepted, Blocks: ps.Blocks, Hashrate: ps.Hashrate}
}

func (v dashboardView) WorkerStats() []dashboard.WorkerStats {
	ws := v.srv.WorkerStats()
	out := make([]dashboard.WorkerStats, len(ws))
	for i, w := range ws {
		out[i] = dashboard.WorkerStats{Worker: w.Worker, Address: w.Address.String(), Hashrate: w.Hashrate,
			Accepted: w.Accepted, Stale: w.Stale, Rejected: w.Rejected.Total(), RejectedBy: w.Rejected.Map(),
			LastShare: w.LastShare, Difficulty: w.Difficulty}
	}
	return out
}

// openPages opens n update streams on the dashboard at url, each read
// by a goroutine that counts its events in events, and waits (10 s at
// most) for every stream's first event. The returned function closes
// them.
func openPages(tb testing.TB, url string, n int, events *atomic.Int64) func() {
	tb.Helper()
	var wg sync.WaitGroup
	var bodies []io.Closer
	ready := make(chan struct{}, n)
	for range n {
		resp, err := http.Get(url + "/events")
		if err != nil {
			tb.Fatal(err)
		}
		if resp.StatusCode != http.StatusOK {
			tb.Fatalf("update stream: %d", resp.StatusCode)
		}
		bodies = append(bodies, resp.Body)
		wg.Go(func() {
			r := bufio.NewReader(resp.Body)
			first := true
			for {
				line, err := r.ReadString('\n')
				if err != nil {
					return
				}
				if strings.HasPrefix(line, "data: ") {
					events.Add(1)
					if first {
						first = false
						ready <- struct{}{}
					}
				}
			}
		})
	}
	for range n {
		select {
		case <-ready:
		case <-time.After(10 * time.Second):
			tb.Fatal("an update stream got no first event")
		}
	}
	return func() {
		for _, b := range bodies {
			b.Close()
		}
		wg.Wait()
	}
}

// BenchmarkShareWithDashboard validates shares through the pool's code
// path, as BenchmarkShare with one payout does, next to a real dashboard
// server on loopback that shows this pool and its daemon's chain and
// pushes an update every dashUpdate (50 times the default rate) and
// samples the pool as often: "streams=0" with no page open,
// "streams=100" with dashboard.DefaultMaxStreams pages open, each
// reading every update. ns/op is the time of one share; events/s the
// updates the pages read. With -v the ratio of the two medians, and of
// the two minima, over the -count runs is logged. The pages run in this
// process, so both ends of their connections compete with the shares
// for the CPUs.
func BenchmarkShareWithDashboard(b *testing.B) {
	var nsPerShare [2][]float64 // of every run, by streams
	for run, streams := range []int{0, dashboard.DefaultMaxStreams} {
		b.Run(fmt.Sprintf("streams=%d", streams), func(b *testing.B) {
			sb := newShareBench(b, 1)
			d := sb.c.s.cfg.Node.(*daemon.Daemon)
			dash, err := dashboard.New(dashboard.Config{Chain: d.Node(), TipChanged: d.TipChanged, Pool: dashboardView{sb.c.s},
				UpdateInterval: dashUpdate, SampleInterval: dashUpdate})
			if err != nil {
				b.Fatal(err)
			}
			srv := httptest.NewServer(dash.Handler())
			defer srv.Close()
			ctx, cancel := context.WithCancel(context.Background())
			done := make(chan error, 1)
			go func() { done <- dash.Run(ctx) }()
			defer func() { cancel(); <-done }()
			var events atomic.Int64
			if streams > 0 {
				defer openPages(b, srv.URL, streams, &events)()
			}
			before, events0 := sb.c.s.Stats().Accepted, events.Load()
			b.ReportAllocs()
			b.ResetTimer()
			i := benchLines
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
			pushed := events.Load() - events0
			if streams > 0 && b.Elapsed() > 10*dashUpdate && pushed == 0 {
				b.Fatalf("no update reached the %d pages in %v", streams, b.Elapsed())
			}
			b.ReportMetric(float64(pushed)/b.Elapsed().Seconds(), "events/s")
			if b.N > 1 { // not the 1-iteration probe
				nsPerShare[run] = append(nsPerShare[run], float64(b.Elapsed().Nanoseconds())/float64(b.N))
			}
		})
	}
	if len(nsPerShare[0]) > 0 && len(nsPerShare[1]) > 0 {
		med0, med1 := median(nsPerShare[0]), median(nsPerShare[1])
		min0, min1 := slices.Min(nsPerShare[0]), slices.Min(nsPerShare[1])
		b.Logf("share validation with %d open pages / with none, over %d and %d runs: medians %.0f / %.0f ns a share = %.3f, minima %.0f / %.0f = %.3f",
			dashboard.DefaultMaxStreams, len(nsPerShare[1]), len(nsPerShare[0]), med1, med0, med1/med0, min1, min0, min1/min0)
	}
}

// median returns the median of v, which it sorts.
func median(v []float64) float64 {
	slices.Sort(v)
	if len(v)%2 == 1 {
		return v[len(v)/2]
	}
	return (v[len(v)/2-1] + v[len(v)/2]) / 2
}
