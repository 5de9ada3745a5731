package dashboard

import (
	"bufio"
	"context"
	"io"
	"net/http"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/powmine/powmine/chain"
)

// BenchmarkFirstLoad serves each page to a loopback client with 10,000
// blocks in the index and 1,000 workers in the pool (target: under
// 200 ms). "warm" is as with Run going (the overview and the tree
// computed at the last update); "cold" computes them for the request, as
// when the tip changed since.
func BenchmarkFirstLoad(b *testing.B) {
	ts := newTestServer(b, 10_000, 1000, nil)
	for _, tc := range []struct{ name, path string }{
		{"overview", "/"}, {"workers", "/workers"}, {"tree", "/tree"}, {"charts", "/charts"}, {"app.js", "/static/app.js"},
	} {
		for _, mode := range []string{"warm", "cold"} {
			b.Run(tc.name+"/"+mode, func(b *testing.B) {
				b.ReportAllocs()
				var bytes int
				ts.refresh()
				for b.Loop() {
					if mode == "cold" {
						ts.mu.Lock()
						ts.last = nil
						ts.mu.Unlock()
					}
					code, body := ts.get(b, tc.path)
					if code != http.StatusOK {
						b.Fatalf("%s: %d", tc.path, code)
					}
					bytes = len(body)
				}
				b.ReportMetric(float64(bytes), "bytes/page")
			})
		}
	}
}

// openStreams opens n update streams that read every event, and returns
// a function that closes them.
func openStreams(tb testing.TB, url string, n int) func() {
	tb.Helper()
	return openCountedStreams(tb, url, n, new(atomic.Int64))
}

// openCountedStreams is openStreams counting the events received in
// events.
func openCountedStreams(tb testing.TB, url string, n int, events *atomic.Int64) func() {
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
			tb.Fatalf("stream: %d", resp.StatusCode)
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
			tb.Fatal("a stream got no first event")
		}
	}
	return func() {
		for _, b := range bodies {
			b.Close()
		}
		wg.Wait()
	}
}

// TestHundredStreamsMemory: 100 open pages cost under 50 MB. The figure
// counts both ends of the loopback connections (client and server run in
// this process), so the server's share is lower.
func TestHundredStreamsMemory(t *testing.T) {
	ts := newTestServer(t, 100, 10, func(c *Config) { c.UpdateInterval = 50 * time.Millisecond })
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- ts.Run(ctx) }()
	defer func() { cancel(); <-done }()
	before := inUse()
	closeStreams := openStreams(t, ts.url, DefaultMaxStreams)
	defer closeStreams()
	time.Sleep(200 * time.Millisecond) // a few updates to every stream
	after := inUse()
	per := float64(after-before) / DefaultMaxStreams
	t.Logf("%d open streams: %.1f MB (%.1f KB a page, both ends of the connection), %d goroutines",
		DefaultMaxStreams, float64(after-before)/1e6, per/1e3, runtime.NumGoroutine())
	if after-before > 50e6 {
		t.Fatalf("%d streams cost %.1f MB, want under 50", DefaultMaxStreams, float64(after-before)/1e6)
	}
}

// inUse returns the heap and stack bytes in use after a collection.
func inUse() int64 {
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return int64(m.HeapInuse + m.StackInuse)
}

// BenchmarkShareHashWithStreams measures the core of share validation
// (a header's double SHA-256 and a target check) with no page open and
// with 100 pages open on a dashboard that updates them every 100 ms
// (50 times the default rate) and samples a 1,000-worker pool every
// 100 ms: the difference is what the pages take from the miners.
func BenchmarkShareHashWithStreams(b *testing.B) {
	for _, streams := range []int{0, DefaultMaxStreams} {
		b.Run("streams="+strconv.Itoa(streams), func(b *testing.B) {
			ts := newTestServer(b, 1000, 1000, func(c *Config) {
				c.UpdateInterval, c.SampleInterval = 100*time.Millisecond, 100*time.Millisecond
			})
			ctx, cancel := context.WithCancel(context.Background())
			done := make(chan error, 1)
			go func() { done <- ts.Run(ctx) }()
			defer func() { cancel(); <-done }()
			if streams > 0 {
				defer openStreams(b, ts.url, streams)()
			}
			h := chain.Header{Version: 1, Bits: 0x1d00ffff, Timestamp: 1_800_000_000}
			limit := chain.CompactToBig(h.Bits)
			b.ReportAllocs()
			b.ResetTimer()
			met := 0
			for b.Loop() {
				h.Nonce++
				if chain.CheckProofOfWork(h.Hash(), h.Bits, limit) == nil {
					met++
				}
			}
			_ = met
		})
	}
}

// BenchmarkUpdate is one update with 100 open pages: the overview and the
// tree computed over 10,000 blocks and 1,000 workers, pushed to every
// stream, and read by every page (the pages are in this process, so the
// CPU time counts both ends). cpu-ms/update is the process's CPU time
// (getrusage) per update: times the updates a second (one every 5 s and
// one a block), the share of a core the pages take from share validation.
func BenchmarkUpdate(b *testing.B) {
	ts := newTestServer(b, 10_000, 1000, nil)
	var events atomic.Int64
	defer openCountedStreams(b, ts.url, DefaultMaxStreams, &events)()
	b.ReportAllocs()
	cpu0 := cpuTime()
	for b.Loop() {
		want := events.Load() + DefaultMaxStreams
		ts.sample()
		ts.refresh()
		for events.Load() < want {
			runtime.Gosched()
		}
	}
	b.ReportMetric(float64(cpuTime()-cpu0)/float64(time.Millisecond)/float64(b.N), "cpu-ms/update")
}
