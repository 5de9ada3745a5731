package pool

import (
	"net"
	"strings"
	"testing"
	"time"

	"github.com/powmine/powmine/stratum"
)

// TestNotJSONClosesAtOnce: a TLS probe or other junk closes the
// connection at once, without a newline and without a ban.
func TestNotJSONClosesAtOnce(t *testing.T) {
	tp := newTestPool(t, nil)
	for _, junk := range []string{"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03", "GET / HTTP/1.1", "[1,2]"} {
		c := dial(t, tp.addr)
		start := time.Now()
		c.write(junk)
		c.waitClosed(time.Second)
		if d := time.Since(start); d > 500*time.Millisecond {
			t.Errorf("%q: closed after %v", junk, d)
		}
	}
	if tp.Banned("127.0.0.1") {
		t.Error("junk banned the IP")
	}
	c := dial(t, tp.addr)
	c.subscribe() // still welcome
}

func TestLineTooLongCloses(t *testing.T) {
	tp := newTestPool(t, func(c *Config) { c.LineLimit = 512 })
	c := dial(t, tp.addr)
	c.write(`{"id":1,"method":"mining.subscribe","params":["` + strings.Repeat("a", 600))
	c.waitClosed(time.Second)
}

func TestInvalidMessageCloses(t *testing.T) {
	tp := newTestPool(t, nil)
	c := dial(t, tp.addr)
	c.write("{\"id\":1,\n")
	c.waitClosed(time.Second)
}

func TestConnectionLimits(t *testing.T) {
	tp := newTestPool(t, func(c *Config) { c.MaxConnsPerIP = 2 })
	a, b := dial(t, tp.addr), dial(t, tp.addr)
	a.subscribe()
	b.subscribe()
	c := dial(t, tp.addr)
	c.waitClosed(time.Second)
	a.nc.Close()
	waitFor(t, func() bool { return tp.Stats().Conns == 1 })
	d := dial(t, tp.addr)
	d.subscribe()

	tp2 := newTestPool(t, func(c *Config) { c.MaxConns = 1 })
	e := dial(t, tp2.addr)
	e.subscribe()
	f := dial(t, tp2.addr)
	f.waitClosed(time.Second)
}

func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(5 * time.Second); !cond(); {
		if time.Now().After(deadline) {
			t.Fatal("condition not reached")
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestBanAfterInvalidShares(t *testing.T) {
	tp := newTestPool(t, func(c *Config) { c.BanInvalidShares = 3; c.BanDuration = time.Minute })
	c := dial(t, tp.addr)
	job := c.handshake(testAddr(9))
	user := testAddr(9).String() + ".w"
	bad := share{e2: []byte{1}, ntime: job.Time}
	for range 2 {
		if e := c.submit(user, job.JobID, bad); e == nil || e.Code != stratum.CodeOther {
			t.Fatalf("got %v", e)
		}
	}
	// Stale shares do not count.
	if e := c.submit(user, "nope", share{e2: []byte{1, 2, 3, 4}, ntime: job.Time}); e == nil || e.Code != stratum.CodeJobNotFound {
		t.Fatalf("got %v", e)
	}
	if tp.Banned("127.0.0.1") {
		t.Fatal("banned after 2 invalid shares")
	}
	c.request(stratum.MethodSubmit, c.submitParams(user, job.JobID, bad))
	c.waitClosed(time.Second)
	if !tp.Banned("127.0.0.1") {
		t.Fatal("not banned")
	}
	d := dial(t, tp.addr)
	d.waitClosed(time.Second)
}

func TestTimeouts(t *testing.T) {
	tp := newTestPool(t, func(c *Config) {
		c.HandshakeTimeout = 200 * time.Millisecond
		c.IdleTimeout = 400 * time.Millisecond
	})
	c := dial(t, tp.addr)
	c.subscribe()
	start := time.Now()
	c.waitClosed(2 * time.Second)
	if d := time.Since(start); d > time.Second {
		t.Errorf("unauthorized connection closed after %v", d)
	}
	a := dial(t, tp.addr)
	a.handshake(testAddr(10))
	a.request(stratum.MethodExtranonceSubscribe, "[]") // activity resets the idle timer
	time.Sleep(300 * time.Millisecond)
	a.request(stratum.MethodExtranonceSubscribe, "[]")
	a.waitClosed(2 * time.Second)
	if d := time.Since(start); d < 600*time.Millisecond {
		t.Errorf("idle connection closed after %v", d)
	}
}

// TestSlowConsumer: a client that never reads is closed when its
// outbound buffer overflows, and the reader never blocks on it.
func TestSlowConsumer(t *testing.T) {
	tp := newTestPool(t, nil)
	server, client := net.Pipe() // unbuffered: writes block until read
	defer client.Close()
	s := tp.Server
	s.mu.Lock()
	s.conns[newConn(s, server, "pipe")] = struct{}{}
	s.mu.Unlock()
	var c *conn
	for k := range s.conns {
		if k.ip == "pipe" {
			c = k
		}
	}
	s.wg.Add(1)
	go func() { defer s.wg.Done(); c.writeLoop() }()
	line := []byte(`{"id":1,"method":"mining.extranonce.subscribe","params":[]}`)
	done := make(chan struct{})
	go func() {
		defer close(done)
		for !c.closed.Load() {
			c.handleLine(line)
		}
	}()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("reader blocked by a client that does not read")
	}
	c.mu.Lock()
	reason := c.reason
	c.mu.Unlock()
	if reason != CloseSlowConsumer {
		t.Errorf("closed with %v", reason)
	}
	s.removeConn(c)
}
