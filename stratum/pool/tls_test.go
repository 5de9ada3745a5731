package pool

import (
	"crypto/tls"
	"net"
	"sync/atomic"
	"testing"
	"time"

	"github.com/powmine/powmine/internal/testcert"
	"github.com/powmine/powmine/stratum"
)

// selfSigned returns a TLS certificate for 127.0.0.1.
func selfSigned(t *testing.T) tls.Certificate { return testcert.New(t).TLS }

func TestTLS(t *testing.T) {
	cert := selfSigned(t)
	tp := newTestPool(t, func(c *Config) { c.TLSConfig = &tls.Config{Certificates: []tls.Certificate{cert}} })
	nc, err := tls.Dial("tcp", tp.addr, &tls.Config{InsecureSkipVerify: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { nc.Close() })
	c := &client{t: t, nc: nc, rd: stratum.NewReader(nc)}
	job := c.handshake(testAddr(14))
	s := c.mine(job, []byte{0, 0, 0, 1}, target(t, c.jobDif[0]), ptr(netTarget(t, job)))
	if e := c.submit(testAddr(14).String()+".w", job.JobID, s); e != nil {
		t.Fatal(e)
	}
}

// flakyListener fails Accept with a temporary error a few times.
type flakyListener struct {
	net.Listener
	fails atomic.Int32
}

type tempErr struct{}

func (tempErr) Error() string   { return "temporary" }
func (tempErr) Timeout() bool   { return true }
func (tempErr) Temporary() bool { return true }

func (l *flakyListener) Accept() (net.Conn, error) {
	if l.fails.Add(-1) >= 0 {
		return nil, tempErr{}
	}
	return l.Listener.Accept()
}

// TestAcceptBackoff: temporary accept errors are retried with backoff,
// then connections are served.
func TestAcceptBackoff(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	fl := &flakyListener{Listener: ln}
	fl.fails.Store(5) // 5+10+20+40+80 ms of backoff
	tp := newTestPool(t, func(c *Config) { c.Listener = fl })
	start := time.Now()
	c := dial(t, ln.Addr().String())
	c.subscribe()
	if d := time.Since(start); d < 50*time.Millisecond {
		t.Errorf("served after %v: no backoff", d)
	}
	if tp.Stats().Conns != 1 {
		t.Errorf("%d connections", tp.Stats().Conns)
	}
}
