package pool

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/powmine/powmine/chain/daemon"
	"github.com/powmine/powmine/internal/jsonrpc"
	"github.com/powmine/powmine/stratum"
)

// fakeClock is a settable clock for the statistics.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func newFakeClock() *fakeClock { return &fakeClock{t: time.Unix(1_800_000_000, 0)} }

func (c *fakeClock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// wantRate is the hashrate of total share difficulty over the window.
func wantRate(total float64) float64 { return wantRateOver(total, HashrateWindow) }

// wantRateOver is the hashrate of total share difficulty over d.
func wantRateOver(total float64, d time.Duration) float64 { return total * (1 << 32) / d.Seconds() }

func near(got, want float64) bool { return math.Abs(got-want) <= 1e-9*math.Abs(want) }

// TestWorkerStatsReasons: a mix of accepted and rejected shares is
// counted per worker and in the totals, each rejection under its reason.
func TestWorkerStatsReasons(t *testing.T) {
	clk := newFakeClock()
	tp := newTestPool(t, func(c *Config) { c.Now = clk.now; c.RefreshInterval = time.Hour })
	addr := testAddr(3)
	user := addr.String() + ".rig1"
	c := dial(t, tp.addr)
	c.subscribe()
	if e := c.authorize(user); e != nil {
		t.Fatal(e)
	}
	job := c.waitJobs(1)
	diff := c.jobDif[0]
	nt := netTarget(t, job)
	good := c.mine(job, []byte{0, 0, 0, 1}, target(t, diff), &nt)
	good2 := c.mine(job, []byte{0, 0, 0, 2}, target(t, diff), &nt)
	steps := []struct {
		worker, job string
		s           share
		code        stratum.ErrorCode // 0: accepted
	}{
		{user, job.JobID, good, 0},
		{user, job.JobID, good, stratum.CodeDuplicateShare},
		{user, "ffffff", good, stratum.CodeJobNotFound},
		{user, job.JobID, share{e2: good.e2, ntime: job.Time - 100000, nonce: good.nonce}, stratum.CodeTimeTooOld},
		{user, job.JobID, share{e2: []byte{1, 2, 3}, ntime: job.Time}, stratum.CodeOther},
		{addr.String() + ".other", job.JobID, good2, stratum.CodeUnauthorized},
		{user, job.JobID, good2, 0},
	}
	for i, st := range steps {
		e := c.submit(st.worker, st.job, st.s)
		if (e == nil) != (st.code == 0) || e != nil && e.Code != st.code {
			t.Fatalf("step %d: got %v, want code %d", i, e, st.code)
		}
	}
	if _, e := c.call(stratum.MethodSubmit, `[1,2]`); e == nil {
		t.Fatal("malformed submit accepted")
	}

	ws := tp.WorkerStats()
	if len(ws) != 1 {
		t.Fatalf("%d workers tracked, want 1: %+v", len(ws), ws)
	}
	w := ws[0]
	var want RejectCounts
	want[RejectDuplicate], want[RejectStale], want[RejectTimeTooOld], want[RejectOther] = 1, 1, 1, 1
	if w.Worker != user || w.Address != addr || w.Name != "rig1" || w.Accepted != 2 || w.Rejected != want || w.Stale != 1 {
		t.Errorf("worker stats %+v, want 2 accepted, rejected %v", w, want)
	}
	if !w.LastShare.Equal(clk.now()) {
		t.Errorf("last share %v, want %v", w.LastShare, clk.now())
	}
	// A worker (and a pool) younger than one bucket: its shares over one
	// bucket.
	if !near(w.Hashrate, wantRateOver(2*diff, HashrateBucket)) {
		t.Errorf("hashrate %g, want %g", w.Hashrate, wantRateOver(2*diff, HashrateBucket))
	}
	ps := tp.PoolStats()
	want[RejectUnauthorized], want[RejectOther] = 1, 2
	if ps.Conns != 1 || ps.Workers != 1 || ps.Accepted != 2 || ps.Rejected != want || ps.Blocks != 0 || !near(ps.Hashrate, wantRateOver(2*diff, HashrateBucket)) {
		t.Errorf("pool stats %+v, want rejected %v", ps, want)
	}
	if got := tp.Stats().Rejected; got != want.Total() {
		t.Errorf("Stats().Rejected %d, want %d", got, want.Total())
	}
}

// TestHashrateWindow: a known difficulty per bucket over the window gives
// the expected hashrate, which decays as buckets leave the window.
func TestHashrateWindow(t *testing.T) {
	clk := newFakeClock()
	st := newStats(clk.now, 4, DefaultWorkerIdleTimeout)
	addr := testAddr(4)
	st.authorize("u", addr)
	for range hashrateBuckets {
		clk.advance(HashrateBucket)
		st.accept("u", addr, 1.5)
		st.accept("u", addr, 0.5)
	}
	check := func(what string, total float64) {
		t.Helper()
		ws := st.workerStats()
		_, _, pool := st.totals()
		if len(ws) != 1 || !near(ws[0].Hashrate, wantRate(total)) || !near(pool, wantRate(total)) {
			t.Fatalf("%s: worker %+v, pool %g, want %g H/s", what, ws, pool, wantRate(total))
		}
	}
	check("full window", 2*float64(hashrateBuckets))
	if d := st.workerStats()[0].Difficulty; d != 0.5 {
		t.Fatalf("worker difficulty %g, want the last share's 0.5", d)
	}
	// A worker authorized a minute ago is measured over that minute.
	st.authorize("young", addr)
	for range 6 {
		clk.advance(HashrateBucket)
		st.accept("young", addr, 1)
	}
	for _, w := range st.workerStats() {
		if w.Worker == "young" && !near(w.Hashrate, wantRateOver(6, time.Minute)) {
			t.Fatalf("young worker: %g H/s, want %g", w.Hashrate, wantRateOver(6, time.Minute))
		}
	}
	clk.advance(HashrateWindow + HashrateBucket)
	st = newStats(clk.now, 4, DefaultWorkerIdleTimeout)
	st.authorize("u", addr)
	for range hashrateBuckets {
		clk.advance(HashrateBucket)
		st.accept("u", addr, 1.5)
		st.accept("u", addr, 0.5)
	}
	clk.advance(HashrateWindow / 2)
	check("half window later", float64(hashrateBuckets))
	clk.advance(HashrateWindow)
	check("idle window", 0)
	if ws := st.workerStats(); ws[0].Accepted != 2*uint64(hashrateBuckets) {
		t.Fatalf("accepted %d", ws[0].Accepted)
	}
	if raceEnabled {
		return
	}
	if a := testing.AllocsPerRun(1000, func() { st.accept("u", addr, 1) }); a != 0 {
		t.Fatalf("accepting a share costs %v allocations", a)
	}
}

// TestWorkerCapEviction: at the cap a new worker evicts the longest idle.
func TestWorkerCapEviction(t *testing.T) {
	clk := newFakeClock()
	st := newStats(clk.now, 2, DefaultWorkerIdleTimeout)
	a := testAddr(5)
	st.authorize("a", a)
	clk.advance(time.Second)
	st.authorize("b", a)
	clk.advance(time.Second)
	st.accept("a", a, 1) // a is now the more recent
	clk.advance(time.Second)
	st.authorize("c", a)
	var got []string
	for _, w := range st.workerStats() {
		got = append(got, w.Worker)
	}
	if strings.Join(got, ",") != "a,c" {
		t.Fatalf("tracked %v, want [a c]", got)
	}

	// Through the server: the cap is Config.MaxTrackedWorkers.
	tp := newTestPool(t, func(c *Config) { c.Now = clk.now; c.MaxTrackedWorkers = 2 })
	c := dial(t, tp.addr)
	c.subscribe()
	for _, w := range []string{"w1", "w2", "w3"} {
		clk.advance(time.Second)
		if e := c.authorize(testAddr(6).String() + "." + w); e != nil {
			t.Fatal(e)
		}
	}
	ws := tp.WorkerStats()
	if len(ws) != 2 || ws[0].Name != "w2" || ws[1].Name != "w3" {
		t.Fatalf("tracked %+v, want w2 and w3", ws)
	}
	if n := tp.PoolStats().Workers; n != 2 {
		t.Fatalf("PoolStats().Workers %d", n)
	}
}

// TestWorkerEvictionScales: taking a new worker in at the cap costs about
// the same with 100 tracked workers as with 100,000, as it must when the
// longest idle is found in O(1). A scan of every tracked worker, done
// under the mutex every accepted share takes, makes the large case about
// a thousand times slower; the test allows a factor of 20 for the larger
// map's cache misses. Each size keeps its fastest of five rounds.
func TestWorkerEvictionScales(t *testing.T) {
	const rounds, perRound = 5, 2000
	cost := func(capacity int) time.Duration {
		base := time.Unix(1_800_000_000, 0)
		var tick time.Duration
		now := func() time.Time { tick += time.Millisecond; return base.Add(tick) }
		st := newStats(now, capacity, DefaultWorkerIdleTimeout)
		names := make([]string, capacity+rounds*perRound)
		for i := range names {
			names[i] = fmt.Sprint("w", i)
		}
		addr := testAddr(5)
		for _, n := range names[:capacity] {
			st.authorize(n, addr)
		}
		best := time.Duration(math.MaxInt64)
		next := names[capacity:]
		for range rounds {
			t0 := time.Now()
			for _, n := range next[:perRound] {
				st.authorize(n, addr) // a new name: evicts the longest idle
			}
			best = min(best, time.Since(t0))
			next = next[perRound:]
		}
		if n := len(st.workerStats()); n != capacity {
			t.Fatalf("%d workers tracked, want the cap %d", n, capacity)
		}
		return best / perRound
	}
	small, large := cost(100), cost(100_000)
	t.Logf("a new worker at the cap: %v with 100 tracked, %v with 100,000", small, large)
	if large > 20*small {
		t.Fatalf("a new worker at the cap costs %v with 100,000 tracked workers, %v with 100: eviction grows with the number tracked", large, small)
	}
}

// TestPoolMetricsAndRPC registers the pool with a daemon serving RPC and
// /metrics, then scrapes both.
func TestPoolMetricsAndRPC(t *testing.T) {
	p, err := daemon.DevParams("", time.Now())
	if err != nil {
		t.Fatal(err)
	}
	rln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	url := "http://" + rln.Addr().String()
	d, err := daemon.New(daemon.Config{Params: p, RPCListener: rln, RPCUser: "u", RPCPassword: "p"})
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	tp := newTestPoolOn(t, d, nil)
	if err := d.RegisterMetrics(tp.Server); err != nil {
		t.Fatal(err)
	}
	if err := tp.RegisterRPC(d); err != nil {
		t.Fatal(err)
	}
	if err := tp.RegisterRPC(d); !errors.Is(err, daemon.ErrMethodExists) {
		t.Fatalf("second RegisterRPC: %v, want ErrMethodExists", err)
	}
	if err := tp.RegisterRPC(newTestDaemon(t)); !errors.Is(err, daemon.ErrNoRPC) {
		t.Fatalf("RegisterRPC without RPC server: %v, want ErrNoRPC", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- d.Run(ctx) }()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Error(err)
		}
	}()

	addr := testAddr(9)
	user := addr.String() + ".w"
	c := dial(t, tp.addr)
	job := c.handshake(addr)
	nt := netTarget(t, job)
	good := c.mine(job, []byte{0, 0, 0, 1}, target(t, c.jobDif[0]), &nt)
	if e := c.submit(user, job.JobID, good); e != nil {
		t.Fatal(e)
	}
	if e := c.submit(user, "ffffff", good); e == nil || e.Code != stratum.CodeJobNotFound {
		t.Fatalf("got %v, want stale", e)
	}

	resp, err := http.Get(url + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"\npowmine_pool_connections 1\n",
		"\npowmine_pool_workers 1\n",
		"\npowmine_pool_shares_total{reason=\"\",result=\"accepted\"} 1\n",
		"\npowmine_pool_shares_total{reason=\"stale\",result=\"rejected\"} 1\n",
		"\npowmine_pool_shares_total{reason=\"duplicate\",result=\"rejected\"} 0\n",
		"\npowmine_pool_blocks_total{branch=\"main\"} 0\n",
		"\npowmine_pool_blocks_total{branch=\"side\"} 0\n",
		"\npowmine_pool_hashrate ",
		"\npowmine_pool_worker_hashrate{worker=\"" + user + "\"} ",
		"\npowmine_tip_height 0\n",
	} {
		if !strings.Contains(string(body), want) {
			t.Errorf("metrics lack %q", strings.TrimSpace(want))
		}
	}

	cl := jsonrpc.NewClient(url, "u", "p")
	var info PoolInfo
	if err := cl.Call(context.Background(), "getpoolinfo", &info); err != nil {
		t.Fatal(err)
	}
	if info.Connections != 1 || info.Workers != 1 || info.Accepted != 1 || info.Rejected != 1 || info.RejectedBy["stale"] != 1 || !(info.Hashrate > 0) {
		t.Errorf("getpoolinfo %+v", info)
	}
	var workers []WorkerInfo
	if err := cl.Call(context.Background(), "getpoolworkers", &workers); err != nil {
		t.Fatal(err)
	}
	if len(workers) != 1 {
		t.Fatalf("getpoolworkers: %+v", workers)
	}
	w := workers[0]
	if w.Worker != user || w.Address != addr.String() || w.Name != "w" || w.Accepted != 1 || w.Stale != 1 || w.RejectedBy["stale"] != 1 || w.LastShare == 0 || !(w.Hashrate > 0) {
		t.Errorf("getpoolworkers %+v", w)
	}
	if err := cl.Call(context.Background(), "getpoolinfo", &info, 1); err == nil {
		t.Error("getpoolinfo accepted a parameter")
	}
}

// TestWorkerEvictionNoAllocs: at the cap, a new worker takes over the
// entry of the longest idle one without allocating, and the eviction
// order stays the lastSeen order.
func TestWorkerEvictionNoAllocs(t *testing.T) {
	const capacity = 64
	clk := newFakeClock()
	st := newStats(clk.now, capacity, DefaultWorkerIdleTimeout)
	addr := testAddr(5)
	names := make([]string, 4*capacity)
	for i := range names {
		names[i] = fmt.Sprint("w", i)
	}
	for _, n := range names[:capacity] {
		clk.advance(time.Second)
		st.authorize(n, addr)
	}
	i := capacity
	next := func() {
		clk.advance(time.Second)
		st.authorize(names[i%len(names)], addr)
		i++
	}
	for range capacity { // the map settles at its size
		next()
	}
	if !raceEnabled {
		if a := testing.AllocsPerRun(1000, next); a != 0 {
			t.Errorf("evicting a worker costs %v allocations", a)
		}
	}
	ws := st.workerStats()
	if len(ws) != capacity {
		t.Fatalf("%d workers tracked, want %d", len(ws), capacity)
	}
	// The tracked ones are the last capacity names authorized.
	want := map[string]bool{}
	for k := i - capacity; k < i; k++ {
		want[names[k%len(names)]] = true
	}
	for _, w := range ws {
		if !want[w.Worker] {
			t.Errorf("worker %s tracked, but it is not among the %d most recent", w.Worker, capacity)
		}
	}
}
