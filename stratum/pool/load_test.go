package pool

import (
	"bytes"
	"fmt"
	"net"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/powmine/powmine/stratum"
)

// TestLoad: thousands of clients on loopback subscribe, authorize and
// submit shares, pipelined, all at once; every share gets an answer and
// the run is bounded in time.
func TestLoad(t *testing.T) {
	clients, shares := 2000, 3
	if raceEnabled {
		clients = 500
	}
	if testing.Short() {
		clients = 200
	}
	tp := newTestPool(t, func(c *Config) {
		c.MinDifficulty, c.StartDifficulty = 1e-12, 1e-12 // every hash is a share
		// All clients handshake at once: above MaxUnauthConns the
		// pool would rightly evict the oldest unauthorized ones.
		c.MaxConnsPerIP, c.MaxUnauthConns = clients+10, clients+10
		c.RefreshInterval = time.Hour
	})
	user := testAddr(11).String() + ".load"
	var accepted, stale atomic.Int64
	var wg sync.WaitGroup
	errs := make(chan error, clients)
	start := time.Now()
	deadline := start.Add(20 * time.Second)
	for i := range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			a, s, err := loadClient(tp.addr, user, i, shares, deadline)
			accepted.Add(int64(a))
			stale.Add(int64(s))
			if err != nil {
				errs <- fmt.Errorf("client %d: %w", i, err)
			}
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	total := int64(clients * shares)
	if accepted.Load()+stale.Load() != total || stale.Load() > total/10 {
		t.Fatalf("accepted %d, stale %d of %d", accepted.Load(), stale.Load(), total)
	}
	if st := tp.Stats(); st.Accepted != uint64(accepted.Load()) {
		t.Errorf("server counted %d accepted, clients %d", st.Accepted, accepted.Load())
	}
	t.Logf("%d clients, %d shares in %v (%.0f shares/s)", clients, total, elapsed, float64(total)/elapsed.Seconds())
	if elapsed > 10*time.Second {
		t.Errorf("load test took %v", elapsed)
	}
}

// loadClient runs one load-test client: pipelined handshake, then shares
// pipelined on the first job. It returns the accepted and stale counts.
func loadClient(addr, user string, i, shares int, deadline time.Time) (accepted, stale int, err error) {
	nc, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		return 0, 0, err
	}
	defer nc.Close()
	nc.SetDeadline(deadline)
	fmt.Fprintf(nc, "{\"id\":1,\"method\":\"mining.subscribe\",\"params\":[\"load\"]}\n{\"id\":2,\"method\":\"mining.authorize\",\"params\":[%q,\"x\"]}\n", user)
	rd := stratum.NewReader(nc)
	var sub stratum.SubscribeResult
	var job stratum.NotifyParams
	for job.JobID == "" {
		line, err := rd.ReadLine()
		if err != nil {
			return 0, 0, err
		}
		m, err := stratum.ParseMessage(line)
		if err != nil {
			return 0, 0, err
		}
		switch {
		case string(m.ID) == "1":
			if err := sub.Decode(m.Result); err != nil {
				return 0, 0, err
			}
		case string(m.ID) == "2" && m.ResponseError() != nil:
			return 0, 0, m.ResponseError()
		case m.Method == stratum.MethodNotify:
			if err := job.Decode(m.Params); err != nil {
				return 0, 0, err
			}
		}
	}
	var buf bytes.Buffer
	for k := range shares {
		p := stratum.SubmitParams{Worker: user, JobID: job.JobID, Extranonce2: make([]byte, sub.Extranonce2Size),
			NTime: job.Time, Nonce: uint32(i<<8 | k)}
		buf.WriteString(fmt.Sprintf(`{"id":%d,"method":"mining.submit","params":%s}`+"\n", 10+k, p.AppendParams(nil)))
	}
	if _, err := nc.Write(buf.Bytes()); err != nil {
		return 0, 0, err
	}
	for accepted+stale < shares {
		line, err := rd.ReadLine()
		if err != nil {
			return accepted, stale, err
		}
		m, err := stratum.ParseMessage(line)
		if err != nil {
			return accepted, stale, err
		}
		if m.Method != "" {
			continue
		}
		if string(m.ID) == "2" { // the authorize answer follows the first notify
			if e := m.ResponseError(); e != nil {
				return accepted, stale, e
			}
			continue
		}
		switch e := m.ResponseError(); {
		case e == nil:
			accepted++
		case e.Code == stratum.CodeJobNotFound: // a share was a block: a new tip
			stale++
		default:
			return accepted, stale, e
		}
	}
	return accepted, stale, nil
}
