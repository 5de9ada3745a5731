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

	// At MaxConns with every connection authorized, a new one is
	// refused.
	tp2 := newTestPool(t, func(c *Config) { c.MaxConns = 1 })
	e := dial(t, tp2.addr)
	e.handshake(testAddr(43))
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

// TestAbuseClosesTheConnection: malformed submits from a connection that
// never subscribed close that connection, with a message saying why, and
// do not ban its IP: another miner at the same address keeps mining and
// new connections are welcome.
func TestAbuseClosesTheConnection(t *testing.T) {
	tp := newTestPool(t, nil)
	honest := dial(t, tp.addr)
	job := honest.handshake(testAddr(9))
	user := testAddr(9).String() + ".w"
	bad := dial(t, tp.addr)
	var msg string
	for i := range 60 {
		bad.request(stratum.MethodSubmit, `[1,2]`)
		if m, err := bad.read(time.Second); err != nil {
			break
		} else if m.Method == "client.show_message" {
			msg = string(m.Params)
			bad.waitClosed(time.Second)
			break
		}
		if i == 59 {
			t.Fatal("60 malformed submits and the connection is still open")
		}
	}
	if !strings.Contains(msg, "invalid") {
		t.Errorf("closing message %q does not say why", msg)
	}
	if tp.Banned("127.0.0.1") {
		t.Fatal("one abusive connection banned its IP")
	}
	nt := netTarget(t, job)
	if e := honest.submit(user, job.JobID, honest.mine(job, []byte{0, 0, 0, 1}, target(t, honest.jobDif[0]), &nt)); e != nil {
		t.Fatalf("the honest miner at the same IP: %v", e)
	}
	dial(t, tp.addr).subscribe() // still welcome
}

// TestBanAfterAbusiveConns: an IP is banned once BanAbusiveConns of its
// connections were closed for abuse within BanWindow; a refused
// connection is told why.
func TestBanAfterAbusiveConns(t *testing.T) {
	tp := newTestPool(t, func(c *Config) {
		c.MaxInvalidPerConn, c.BanAbusiveConns, c.BanDuration = 3, 2, time.Minute
	})
	c := dial(t, tp.addr)
	job := c.handshake(testAddr(9))
	user := testAddr(9).String() + ".w"
	bad := share{e2: []byte{1}, ntime: job.Time}
	for range 2 {
		if e := c.submit(user, job.JobID, bad); e == nil || e.Code != stratum.CodeOther {
			t.Fatalf("got %v", e)
		}
	}
	// Stale and duplicate shares do not count: a miner that restarts a
	// job sends duplicates in good faith.
	for range 5 {
		if e := c.submit(user, "nope", share{e2: []byte{1, 2, 3, 4}, ntime: job.Time}); e == nil || e.Code != stratum.CodeJobNotFound {
			t.Fatalf("got %v", e)
		}
	}
	nt := netTarget(t, job)
	good := c.mine(job, []byte{0, 0, 0, 7}, target(t, c.jobDif[0]), &nt)
	if e := c.submit(user, job.JobID, good); e != nil {
		t.Fatalf("first submission of a share: %v", e)
	}
	for range 5 {
		if e := c.submit(user, job.JobID, good); e == nil || e.Code != stratum.CodeDuplicateShare {
			t.Fatalf("duplicate: got %v, want code %d", e, stratum.CodeDuplicateShare)
		}
	}
	c.request(stratum.MethodSubmit, c.submitParams(user, job.JobID, bad))
	c.waitClosed(time.Second)
	if tp.Banned("127.0.0.1") {
		t.Fatal("banned after one abusive connection")
	}
	d := dial(t, tp.addr)
	for range 3 {
		d.request(stratum.MethodAuthorize, `["nobody","x"]`) // refused authorizations count
	}
	d.waitClosed(time.Second)
	if !tp.Banned("127.0.0.1") {
		t.Fatal("not banned after two abusive connections")
	}
	e := dial(t, tp.addr)
	m, err := e.read(time.Second)
	if err != nil || m.Method != "client.show_message" || !strings.Contains(string(m.Params), "banned") {
		t.Fatalf("refused connection got %v (%v), want a message that the IP is banned", m, err)
	}
	e.waitClosed(time.Second)
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

// TestIdleConnsDoNotLockOut: connections that never authorize cannot keep
// a new miner out: at MaxConns a new connection takes the slot of the
// oldest connection not yet authorized, and authorized miners keep
// theirs.
func TestIdleConnsDoNotLockOut(t *testing.T) {
	tp := newTestPool(t, func(c *Config) { c.MaxConns = 10 })
	first := dial(t, tp.addr)
	job := first.handshake(testAddr(40))
	idle := make([]*client, 9)
	for i := range idle {
		idle[i] = dial(t, tp.addr)
		waitFor(t, func() bool { return tp.Stats().Conns == i+2 })
	}
	late := dial(t, tp.addr)
	late.handshake(testAddr(41))
	idle[0].waitClosed(time.Second)
	nt := netTarget(t, job)
	if e := first.submit(testAddr(40).String()+".w", job.JobID, first.mine(job, []byte{0, 0, 0, 1}, target(t, first.jobDif[0]), &nt)); e != nil {
		t.Fatalf("the authorized miner: %v", e)
	}
}

// TestMaxUnauthConns: at most MaxUnauthConns connections wait for their
// authorization; a new one closes the oldest.
func TestMaxUnauthConns(t *testing.T) {
	tp := newTestPool(t, func(c *Config) { c.MaxUnauthConns = 3 })
	m := dial(t, tp.addr)
	m.handshake(testAddr(42))
	var idle []*client
	for i := range 6 {
		idle = append(idle, dial(t, tp.addr))
		idle[i].subscribe() // subscribed, not authorized
		if i >= 3 {
			idle[i-3].waitClosed(time.Second)
		}
	}
	waitFor(t, func() bool { return tp.Stats().Conns == 4 })
	if _, e := m.call(stratum.MethodExtranonceSubscribe, "[]"); e != nil {
		t.Fatalf("the authorized miner: %v", e)
	}
}

// pipeConn is one end of a net.Pipe with the remote address of a client.
type pipeConn struct {
	net.Conn
	remote net.Addr
}

func (p pipeConn) RemoteAddr() net.Addr { return p.remote }

// TestIPv6PerIPLimitBy64: the per-IP limit counts IPv6 clients by /64, so
// that one host cannot take a new address of its /64 for every
// connection.
func TestIPv6PerIPLimitBy64(t *testing.T) {
	tp := newTestPool(t, func(c *Config) { c.MaxConnsPerIP = 2 })
	open := func(ip string) bool {
		t.Helper()
		server, client := net.Pipe()
		t.Cleanup(func() { client.Close() })
		before := tp.Stats().Conns
		tp.startConn(pipeConn{server, &net.TCPAddr{IP: net.ParseIP(ip), Port: 3333}})
		return tp.Stats().Conns == before+1
	}
	for _, tc := range []struct {
		ip   string
		want bool
	}{
		{"2001:db8:1:2::1", true},
		{"2001:db8:1:2:aaaa:bbbb:cccc:dddd", true},
		{"2001:db8:1:2:ffff::", false}, // the same /64, at its limit
		{"2001:db8:1:3::1", true},      // the next /64
		{"192.0.2.1", true},
		{"192.0.2.2", true}, // IPv4 addresses count one by one
	} {
		if got := open(tc.ip); got != tc.want {
			t.Errorf("connection from %s accepted: %v, want %v", tc.ip, got, tc.want)
		}
	}
	for ip, want := range map[string]string{
		"2001:db8:1:2:aaaa:bbbb:cccc:dddd": "2001:db8:1:2::/64",
		"::ffff:192.0.2.1":                 "192.0.2.1",
		"192.0.2.1":                        "192.0.2.1",
		"::1":                              "::/64",
	} {
		if got := ipKey(&net.TCPAddr{IP: net.ParseIP(ip)}); got != want {
			t.Errorf("ipKey(%s) = %s, want %s", ip, got, want)
		}
	}
}
