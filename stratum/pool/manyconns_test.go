package pool

import (
	"bytes"
	"flag"
	"fmt"
	"net"
	"runtime"
	"sync"
	"testing"
	"time"
)

// benchConns is the connection count of BenchmarkManyConnections.
var benchConns = flag.Int("pool.conns", 2000, "connections of BenchmarkManyConnections")

// notifyPattern marks a mining.notify line.
var notifyPattern = []byte(`"mining.notify"`)

// benchPeer is one loopback client of BenchmarkManyConnections: a raw
// connection and a small read buffer, so that the memory measured is
// mostly the server's.
type benchPeer struct {
	nc  net.Conn
	buf [512 + 16]byte
	n   int // bytes kept from the previous read (a possible split pattern)
}

// readNotify reads until a notify arrives.
func (p *benchPeer) readNotify() error {
	for {
		m, err := p.nc.Read(p.buf[p.n:])
		if err != nil {
			return err
		}
		w := p.buf[:p.n+m]
		found := bytes.Contains(w, notifyPattern)
		p.n = min(len(w), len(notifyPattern)-1)
		copy(p.buf[:], w[len(w)-p.n:])
		if found {
			p.n = 0
			return nil
		}
	}
}

// BenchmarkManyConnections opens -pool.conns subscribed and authorized
// loopback connections, reports the process's heap and goroutine stacks
// per connection, then times how long a new tip takes to reach every
// connection as a clean notify.
func BenchmarkManyConnections(b *testing.B) {
	n := *benchConns
	// Both ends of every connection live in this process.
	if err := raiseFileLimit(uint64(2*n + 64)); err != nil {
		b.Fatal(err)
	}
	tp := newTestPool(b, func(c *Config) {
		c.MaxConns, c.MaxConnsPerIP = n+16, n+16
		c.RefreshInterval, c.RetargetInterval, c.RetargetShares = time.Hour, time.Hour, 1<<30
	})
	miner := dial(b, tp.addr)
	job := miner.handshake(testAddr(1))
	user := testAddr(2).String() + ".bench"
	hello := fmt.Appendf(nil, "{\"id\":1,\"method\":\"mining.subscribe\",\"params\":[\"bench\"]}\n{\"id\":2,\"method\":\"mining.authorize\",\"params\":[%q,\"x\"]}\n", user)

	var before runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	g0 := runtime.NumGoroutine()
	peers := make([]*benchPeer, n)
	for i := range peers {
		nc, err := net.Dial("tcp", tp.addr)
		if err != nil {
			b.Fatalf("connection %d: %v", i, err)
		}
		defer nc.Close()
		p := &benchPeer{nc: nc}
		peers[i] = p
		if _, err := nc.Write(hello); err != nil {
			b.Fatal(err)
		}
		if err := p.readNotify(); err != nil {
			b.Fatalf("connection %d handshake: %v", i, err)
		}
	}
	var after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&after)
	heap := float64(after.HeapInuse) - float64(before.HeapInuse)
	stack := float64(after.StackInuse) - float64(before.StackInuse)
	goroutines := float64(runtime.NumGoroutine() - g0)

	// One reader per connection from now on: each records when the next
	// notify arrived.
	arrived := make([]time.Time, n)
	round := make(chan struct{})
	var wg sync.WaitGroup
	var readers sync.WaitGroup
	for i, p := range peers {
		readers.Add(1)
		go func() {
			defer readers.Done()
			for range round {
				if err := p.readNotify(); err != nil {
					wg.Done()
					return
				}
				arrived[i] = time.Now()
				wg.Done()
			}
		}()
	}
	defer func() { close(round); readers.Wait() }()

	var total time.Duration
	rounds := 0
	for b.Loop() {
		b.StopTimer()
		nt := netTarget(b, job)
		blk := miner.mine(job, []byte{byte(rounds >> 24), byte(rounds >> 16), byte(rounds >> 8), byte(rounds)}, nt, nil)
		wg.Add(n)
		for range n {
			round <- struct{}{}
		}
		tip := tp.d.TipChanged()
		b.StartTimer()
		if e := miner.submit(testAddr(1).String()+".w", job.JobID, blk); e != nil {
			b.Fatal(e)
		}
		<-tip
		changed := time.Now()
		wg.Wait()
		b.StopTimer()
		last := changed
		for _, t := range arrived {
			if t.After(last) {
				last = t
			}
		}
		total += last.Sub(changed)
		rounds++
		for job.PrevHash != blk.hash {
			job = miner.waitJobs(len(miner.jobs) + 1)
		}
		b.StartTimer()
	}
	b.ReportMetric(float64(total.Microseconds())/1e3/float64(rounds), "ms-notify-all")
	// After the loop: b.Loop drops metrics reported before it.
	b.ReportMetric(heap/float64(n), "heap-B/conn")
	b.ReportMetric(stack/float64(n), "stack-B/conn")
	b.ReportMetric((heap+stack)/(1<<20), "total-MiB")
	b.ReportMetric(goroutines/float64(n), "goroutines/conn")
}
