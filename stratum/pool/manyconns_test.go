//go:build linux

package pool

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"flag"
	"fmt"
	"io"
	"net/netip"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// benchConns is the connection count of BenchmarkManyConnections.
var benchConns = flag.Int("pool.conns", 2000, "connections of BenchmarkManyConnections")

// helperClientsEnv, set to "addr conns", makes TestHelperClients the
// client side of BenchmarkManyConnections.
const helperClientsEnv = "POWMINE_POOL_BENCH_CLIENTS"

// The helper process prints readyLine once every connection has its
// first job; then, for each line on its stdin, it reads the next job on
// every connection and prints roundPrefix, the job's number and the
// time, in Unix nanoseconds, at which it reached the last connection.
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
// A round starts when the share that is the next block is submitted, so
// it includes the node's processing of the block (about 0.5 ms) before
// the tip changes.
//
// A notify reaches a connection when the kernel receives it into the
// client's socket: the helper asks the kernel for that time
// (SO_TIMESTAMPNS) and reads the notifies only once the pool has sent
// the job everywhere, so the clients take no CPU from the pool while it
// sends. That time is wall-clock time, the same kernel clock as this
// process's time.Now; a round whose delay does not fit within this
// process's monotonic time until the helper's report (a clock step)
// fails the benchmark.
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
	helper := startHelperClients(b, tp.addr, n)
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
		made := tp.jobsMade.Load()
		b.StartTimer()
		submitted := time.Now()
		if e := miner.submit(testAddr(1).String()+".w", job.JobID, blk); e != nil {
			b.Fatal(e)
		}
		<-tip
		// The new job is sent once newJob, which holds jobMu, is done.
		for tp.jobsMade.Load() == made {
			time.Sleep(100 * time.Microsecond)
		}
		tp.jobMu.Lock()
		//lint:ignore SA2001 a barrier: taking jobMu waits for newJob's fan-out to end
		tp.jobMu.Unlock()
		last := helper.round(b, rounds+1)
		b.StopTimer()
		d, bound := time.Duration(last-submitted.UnixNano()), time.Since(submitted)
		if d < 0 || d > bound {
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

// helperClients is the helper process as the benchmark sees it.
type helperClients struct {
	stdin io.Writer
	sc    *bufio.Scanner
}

// startHelperClients runs TestHelperClients in a child process with n
// connections to addr and waits until each has its first job. The
// child stops when the benchmark ends.
func startHelperClients(b *testing.B, addr string, n int) *helperClients {
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
	h := &helperClients{stdin: stdin, sc: bufio.NewScanner(stdout)}
	if line := h.next(b); line != readyLine {
		b.Fatalf("helper clients: %q, want %q", line, readyLine)
	}
	return h
}

// next returns the next report line, passing other output on to stderr.
func (h *helperClients) next(b *testing.B) string {
	b.Helper()
	for h.sc.Scan() {
		line := h.sc.Text()
		if strings.HasPrefix(line, "manyconns: ") {
			return line
		}
		fmt.Fprintln(os.Stderr, line)
	}
	b.Fatalf("helper clients stopped: %v", h.sc.Err())
	return ""
}

// round has the helper read job k on every connection and returns the
// time (Unix nanoseconds) at which it reached the last one.
func (h *helperClients) round(b *testing.B, k int) int64 {
	b.Helper()
	if _, err := fmt.Fprintln(h.stdin, k); err != nil {
		b.Fatal(err)
	}
	line := h.next(b)
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

// runClients opens n connections to addr, each sending hello, waits for
// the first notify on each and prints readyLine; then, for each line on
// stdin, it reads the next notify on each (readJob) and prints the
// latest kernel receive time among them.
func runClients(addr string, n int, hello []byte) error {
	ap, err := netip.ParseAddrPort(addr)
	if err != nil {
		return err
	}
	sa := &unix.SockaddrInet4{Port: int(ap.Port()), Addr: ap.Addr().As4()}
	peers := make([]rawPeer, n)
	defer func() {
		for _, p := range peers {
			if p.fd > 0 {
				unix.Close(p.fd)
			}
		}
	}()
	for i := range peers {
		fd, err := unix.Socket(unix.AF_INET, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
		if err != nil {
			return fmt.Errorf("connection %d: %w", i, err)
		}
		peers[i].fd = fd
		if err := unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_TIMESTAMPNS_NEW, 1); err != nil {
			return fmt.Errorf("receive timestamps: %w", err)
		}
		if err := unix.Connect(fd, sa); err != nil {
			return fmt.Errorf("connection %d: %w", i, err)
		}
		if _, err := unix.Write(fd, hello); err != nil {
			return fmt.Errorf("connection %d: %w", i, err)
		}
		if err := unix.SetNonblock(fd, true); err != nil {
			return err
		}
	}
	if _, err := readJob(peers, 0); err != nil {
		return err
	}
	fmt.Println(readyLine)
	in := bufio.NewScanner(os.Stdin)
	for k := 1; in.Scan(); k++ {
		last, err := readJob(peers, k)
		if err != nil {
			return err
		}
		fmt.Printf("%s%d %d\n", roundPrefix, k, last)
	}
	return in.Err()
}

// rawPeer is one connection of the helper clients: a non-blocking
// socket with receive timestamps.
type rawPeer struct {
	fd       int
	notifies int   // notifies read
	at       int64 // kernel receive time of the last notify, Unix ns; 0: none
	tail     [len(notifyText) - 1]byte
	nt       int // bytes of tail in use: a notifyText cut by a read
}

// drain reads what is pending, counting notifies and noting when the
// last one was received.
func (p *rawPeer) drain(buf, oob []byte) error {
	for {
		copy(buf, p.tail[:p.nt])
		r, oobn, _, _, err := unix.Recvmsg(p.fd, buf[p.nt:], oob, 0)
		if err == unix.EAGAIN {
			return nil
		}
		if err != nil {
			return err
		}
		if r == 0 {
			return io.ErrUnexpectedEOF
		}
		w := buf[:p.nt+r]
		if c := bytes.Count(w, []byte(notifyText)); c > 0 {
			p.notifies += c
			p.at = receiveTime(oob[:oobn])
		}
		p.nt = copy(p.tail[:], w[max(0, len(w)-len(p.tail)):])
	}
}

// receiveTime returns the SO_TIMESTAMPNS_NEW time in a control message:
// when the kernel received the last segment read; 0 when there is none
// (the kernel turns timestamps on a little after the first socket asks).
func receiveTime(oob []byte) int64 {
	msgs, err := unix.ParseSocketControlMessage(oob)
	if err != nil {
		return 0
	}
	for _, m := range msgs {
		if m.Header.Level == unix.SOL_SOCKET && m.Header.Type == unix.SO_TIMESTAMPNS_NEW && len(m.Data) >= 16 {
			sec, nsec := binary.NativeEndian.Uint64(m.Data), binary.NativeEndian.Uint64(m.Data[8:])
			return int64(sec)*1e9 + int64(nsec)
		}
	}
	return 0
}

// readJob reads until every peer has had notify k (0: the handshake's)
// and exactly k+1 in all, polling those still without it, and returns
// the latest receive time of notify k.
func readJob(peers []rawPeer, k int) (int64, error) {
	buf := make([]byte, 4096)
	oob := make([]byte, unix.CmsgSpace(16))
	waiting := make([]int, len(peers)) // peers without notify k
	for i := range waiting {
		waiting[i] = i
	}
	fds := make([]unix.PollFd, 0, len(peers))
	var last int64
	for pass := 0; len(waiting) > 0; pass++ {
		if pass > 0 { // wait for some
			fds = fds[:0]
			for _, i := range waiting {
				fds = append(fds, unix.PollFd{Fd: int32(peers[i].fd), Events: unix.POLLIN})
			}
			m, err := unix.Poll(fds, 30_000)
			if err == unix.EINTR {
				continue
			}
			if err != nil {
				return 0, err
			}
			if m == 0 {
				return 0, fmt.Errorf("job %d: %d connections without it after 30s", k, len(waiting))
			}
		}
		still := waiting[:0]
		for j, i := range waiting {
			if pass > 0 && fds[j].Revents == 0 {
				still = append(still, i)
				continue
			}
			p := &peers[i]
			if err := p.drain(buf, oob); err != nil {
				return 0, fmt.Errorf("connection %d, job %d: %w", i, k, err)
			}
			switch {
			case p.notifies > k+1:
				return 0, fmt.Errorf("connection %d: %d notifies by job %d", i, p.notifies, k)
			case p.notifies == k+1 && k > 0 && p.at == 0:
				return 0, fmt.Errorf("connection %d, job %d: no receive timestamp", i, k)
			case p.notifies == k+1:
				last = max(last, p.at)
			default:
				still = append(still, i)
			}
		}
		waiting = still
	}
	return last, nil
}
