//go:build linux

package pool

import (
	"bufio"
	"bytes"
	"flag"
	"fmt"
	"net/netip"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// benchConns is the connection count of BenchmarkManyConnections.
var benchConns = flag.Int("pool.conns", 2000, "connections of BenchmarkManyConnections")

// helperClientsEnv, set to "addr conns", makes TestHelperClients the
// client side of BenchmarkManyConnections.
const helperClientsEnv = "POWMINE_POOL_BENCH_CLIENTS"

// Lines the helper process writes on its stdout: readyLine once every
// connection has its first job, then one roundPrefix line per new job
// with the wall-clock time, in Unix nanoseconds, at which the last
// connection received it.
const (
	readyLine   = "manyconns: ready"
	roundPrefix = "manyconns: round "
)

// notifyText marks a mining.notify line (the subscribe result names the
// method too).
const notifyText = `"method":"mining.notify"`

// BenchmarkManyConnections opens -pool.conns subscribed and authorized
// loopback connections from a helper process (TestHelperClients), so
// that this process holds only the pool. It reports the pool's heap,
// goroutine stacks and resident memory per connection, then times how
// long a new tip takes to reach every connection as a clean notify:
// ms-notify-all is the mean over the rounds, ms-notify-max the slowest.
//
// The helper timestamps arrivals with the wall clock, which on one
// machine is the same kernel clock as this process's; a round whose
// wall-clock delay does not fit within this process's monotonic time
// until the helper's report (a clock step) fails the benchmark.
func BenchmarkManyConnections(b *testing.B) {
	n := *benchConns
	if err := raiseFileLimit(uint64(n + 64)); err != nil {
		b.Fatal(err)
	}
	tp := newTestPool(b, func(c *Config) {
		c.MaxConns, c.MaxConnsPerIP = n+16, n+16
		c.RefreshInterval, c.RetargetInterval, c.RetargetShares = time.Hour, time.Hour, 1<<30
	})
	miner := dial(b, tp.addr)
	job := miner.handshake(testAddr(1))

	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	rss0 := procStatusBytes("VmRSS")
	g0 := runtime.NumGoroutine()
	reports := startHelperClients(b, tp.addr, n)
	runtime.GC()
	runtime.ReadMemStats(&after)
	rss := procStatusBytes("VmRSS") - rss0
	heap := float64(after.HeapInuse) - float64(before.HeapInuse)
	stack := float64(after.StackInuse) - float64(before.StackInuse)
	goroutines := float64(runtime.NumGoroutine() - g0)

	var total, slowest time.Duration
	rounds := 0
	for b.Loop() {
		b.StopTimer()
		nt := netTarget(b, job)
		blk := miner.mine(job, []byte{byte(rounds >> 24), byte(rounds >> 16), byte(rounds >> 8), byte(rounds)}, nt, nil)
		tip := tp.d.TipChanged()
		b.StartTimer()
		if e := miner.submit(testAddr(1).String()+".w", job.JobID, blk); e != nil {
			b.Fatal(e)
		}
		<-tip
		changed := time.Now()
		last := reports.round(b, rounds+1)
		b.StopTimer()
		d, bound := time.Duration(last-changed.UnixNano()), time.Since(changed)
		if d < 0 || d > bound+time.Millisecond {
			b.Fatalf("round %d: wall-clock delay %v outside [0, %v]: did the clock step?", rounds+1, d, bound)
		}
		total += d
		slowest = max(slowest, d)
		rounds++
		for job.PrevHash != blk.hash {
			job = miner.waitJobs(len(miner.jobs) + 1)
		}
		b.StartTimer()
	}
	// After the loop: b.Loop drops metrics reported before it.
	b.ReportMetric(float64(total.Microseconds())/1e3/float64(rounds), "ms-notify-all")
	b.ReportMetric(float64(slowest.Microseconds())/1e3, "ms-notify-max")
	b.ReportMetric(heap/float64(n), "heap-B/conn")
	b.ReportMetric(stack/float64(n), "stack-B/conn")
	b.ReportMetric((heap+stack)/(1<<20), "total-MiB")
	b.ReportMetric(float64(rss)/float64(n), "rss-B/conn")
	b.ReportMetric(float64(procStatusBytes("VmHWM"))/(1<<20), "peak-rss-MiB")
	b.ReportMetric(goroutines/float64(n), "goroutines/conn")
}

// procStatusBytes returns a memory field of /proc/self/status ("VmRSS",
// "VmHWM") in bytes.
func procStatusBytes(field string) int64 {
	status, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for line := range strings.Lines(string(status)) {
		if v, ok := strings.CutPrefix(line, field+":"); ok {
			kb, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
			return kb << 10
		}
	}
	return 0
}

// helperReports reads the helper process's reports.
type helperReports struct {
	sc *bufio.Scanner
}

// startHelperClients runs TestHelperClients in a child process with n
// connections to addr and waits until each has its first job. The
// child stops when the benchmark ends.
func startHelperClients(b *testing.B, addr string, n int) *helperReports {
	b.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^TestHelperClients$")
	cmd.Env = append(os.Environ(), fmt.Sprintf("%s=%s %d", helperClientsEnv, addr, n))
	cmd.Stderr = os.Stderr
	stdin, err := cmd.StdinPipe()
	if err != nil {
		b.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		b.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() {
		stdin.Close() // the child closes its connections and exits
		done := make(chan error, 1)
		go func() { done <- cmd.Wait() }()
		select {
		case err := <-done:
			if err != nil {
				b.Errorf("helper clients: %v", err)
			}
		case <-time.After(30 * time.Second):
			cmd.Process.Kill()
			b.Errorf("helper clients did not exit: %v", <-done)
		}
	})
	r := &helperReports{sc: bufio.NewScanner(stdout)}
	if line := r.next(b); line != readyLine {
		b.Fatalf("helper clients: %q, want %q", line, readyLine)
	}
	return r
}

// next returns the next report line, passing other output on to stderr.
func (r *helperReports) next(b *testing.B) string {
	b.Helper()
	for r.sc.Scan() {
		line := r.sc.Text()
		if strings.HasPrefix(line, "manyconns: ") {
			return line
		}
		fmt.Fprintln(os.Stderr, line)
	}
	b.Fatalf("helper clients stopped: %v", r.sc.Err())
	return ""
}

// round waits for the report of round k and returns the wall-clock time
// (Unix nanoseconds) at which its notify reached the last connection.
func (r *helperReports) round(b *testing.B, k int) int64 {
	b.Helper()
	line := r.next(b)
	var got int
	var last int64
	if _, err := fmt.Sscanf(line, roundPrefix+"%d %d", &got, &last); err != nil || got != k {
		b.Fatalf("helper clients: %q, want round %d (%v)", line, k, err)
	}
	return last
}

// TestHelperClients is the client side of BenchmarkManyConnections, run
// by it in a child process; it skips otherwise.
func TestHelperClients(t *testing.T) {
	spec := os.Getenv(helperClientsEnv)
	if spec == "" {
		t.Skip("the client process of BenchmarkManyConnections")
	}
	var addr string
	var n int
	if _, err := fmt.Sscanf(spec, "%s %d", &addr, &n); err != nil {
		t.Fatalf("%s=%q: %v", helperClientsEnv, spec, err)
	}
	if err := raiseFileLimit(uint64(n + 64)); err != nil {
		t.Fatal(err)
	}
	user := testAddr(2).String() + ".bench"
	hello := fmt.Appendf(nil, "{\"id\":1,\"method\":\"mining.subscribe\",\"params\":[\"bench\"]}\n{\"id\":2,\"method\":\"mining.authorize\",\"params\":[%q,\"x\"]}\n", user)
	if err := runClients(addr, n, hello); err != nil {
		t.Fatal(err)
	}
}

// rawPeer is one connection of the helper clients.
type rawPeer struct {
	fd       int
	notifies int // notifies received
	tail     [len(notifyText) - 1]byte
	nt       int // bytes of tail in use: a notifyText cut by a read
}

// runClients opens n connections to addr, each sending hello, and reads
// them all on one thread with epoll, so that the client side costs one
// read per notify and no goroutine switches. It prints readyLine once
// every connection has its first notify, then a round line for each
// following notify once it has reached every connection, until stdin
// closes. A notify's arrival time is when epoll reported its connection
// readable.
func runClients(addr string, n int, hello []byte) error {
	ap, err := netip.ParseAddrPort(addr)
	if err != nil {
		return err
	}
	sa := &syscall.SockaddrInet4{Port: int(ap.Port()), Addr: ap.Addr().As4()}
	ep, err := syscall.EpollCreate1(syscall.EPOLL_CLOEXEC)
	if err != nil {
		return err
	}
	defer syscall.Close(ep)
	peers := make([]rawPeer, n)
	defer func() {
		for _, p := range peers {
			if p.fd > 0 {
				syscall.Close(p.fd)
			}
		}
	}()
	for i := range peers {
		fd, err := syscall.Socket(syscall.AF_INET, syscall.SOCK_STREAM|syscall.SOCK_CLOEXEC, 0)
		if err != nil {
			return fmt.Errorf("connection %d: %w", i, err)
		}
		peers[i].fd = fd
		if err := syscall.Connect(fd, sa); err != nil {
			return fmt.Errorf("connection %d: %w", i, err)
		}
		if _, err := syscall.Write(fd, hello); err != nil {
			return fmt.Errorf("connection %d: %w", i, err)
		}
		if err := syscall.SetNonblock(fd, true); err != nil {
			return err
		}
		ev := syscall.EpollEvent{Events: syscall.EPOLLIN, Fd: int32(i)}
		if err := syscall.EpollCtl(ep, syscall.EPOLL_CTL_ADD, fd, &ev); err != nil {
			return err
		}
	}
	stdin := syscall.EpollEvent{Events: syscall.EPOLLIN, Fd: -1}
	if err := syscall.EpollCtl(ep, syscall.EPOLL_CTL_ADD, 0, &stdin); err != nil {
		return err
	}

	// Notify k of every connection (0: the handshake's) has arrived when
	// counts[k] is n; last[k] is when the last one did.
	var counts []int
	var last []int64
	pattern := []byte(notifyText)
	events := make([]syscall.EpollEvent, 256)
	var buf [4096]byte
	for {
		m, err := syscall.EpollWait(ep, events, -1)
		if err == syscall.EINTR {
			continue
		}
		if err != nil {
			return err
		}
		now := time.Now().UnixNano()
		for _, ev := range events[:m] {
			if ev.Fd < 0 {
				return nil // stdin closed: the benchmark is over
			}
			p := &peers[ev.Fd]
			copy(buf[:], p.tail[:p.nt])
			r, err := syscall.Read(p.fd, buf[p.nt:])
			if err == syscall.EAGAIN {
				continue
			}
			if r <= 0 {
				return fmt.Errorf("connection %d closed: %v", ev.Fd, err)
			}
			w := buf[:p.nt+r]
			for range bytes.Count(w, pattern) {
				k := p.notifies
				p.notifies++
				if k == len(counts) {
					counts, last = append(counts, 0), append(last, 0)
				}
				counts[k]++
				last[k] = max(last[k], now)
				switch {
				case counts[k] < n:
				case k == 0:
					fmt.Println(readyLine)
				default:
					fmt.Printf("%s%d %d\n", roundPrefix, k, last[k])
				}
			}
			p.nt = copy(p.tail[:], w[max(0, len(w)-len(p.tail)):])
		}
	}
}
