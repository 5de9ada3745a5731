package pool

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"net"
	"os"
	"testing"
	"time"

	"github.com/powmine/powmine/chain"
	"github.com/powmine/powmine/chain/daemon"
	"github.com/powmine/powmine/hash/sha256d"
	"github.com/powmine/powmine/stratum"
)

// The node interface is satisfied by the daemon.
var _ Node = (*daemon.Daemon)(nil)

// testAddr returns a distinct address for tag.
func testAddr(tag byte) chain.Address {
	var a chain.Address
	a[0], a[19] = tag, 0x5a
	return a
}

// testPool is a pool on a fresh in-memory dev chain, listening on
// loopback.
type testPool struct {
	*Server
	d    *daemon.Daemon
	addr string
}

// newTestPool starts a pool with tiny difficulties; mut adjusts the
// config.
func newTestPool(t testing.TB, mut func(*Config)) *testPool {
	t.Helper()
	return newTestPoolOn(t, newTestDaemon(t), mut)
}

// newTestPoolOn is newTestPool on the daemon d.
func newTestPoolOn(t testing.TB, d *daemon.Daemon, mut func(*Config)) *testPool {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	cfg := Config{
		Node:            d,
		PoolAddress:     testAddr(0xee),
		Listener:        ln,
		StartDifficulty: 1e-9,
		MinDifficulty:   1e-12,
	}
	if testing.Verbose() {
		cfg.Logger = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelInfo}))
	}
	if mut != nil {
		mut(&cfg)
	}
	s, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Error(err)
		}
	})
	for s.Stats().Jobs == 0 {
		time.Sleep(time.Millisecond)
	}
	return &testPool{Server: s, d: d, addr: ln.Addr().String()}
}

func newTestDaemon(t testing.TB) *daemon.Daemon {
	t.Helper()
	p, err := daemon.DevParams("", time.Now())
	if err != nil {
		t.Fatal(err)
	}
	d, err := daemon.New(daemon.Config{Params: p})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Close() })
	return d
}

// client is a minimal Stratum client for tests.
type client struct {
	t      testing.TB
	nc     net.Conn
	rd     *stratum.Reader
	id     int
	e1     []byte
	e2size int
	diff   float64 // last set_difficulty
	diffs  []float64
	jobs   []*stratum.NotifyParams // notifies received, in order
	jobDif []float64               // the difficulty in force at each notify
	when   []time.Time             // arrival of each notify
}

func dial(t testing.TB, addr string) *client {
	t.Helper()
	nc, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { nc.Close() })
	return &client{t: t, nc: nc, rd: stratum.NewReader(nc)}
}

func (c *client) write(s string) {
	c.t.Helper()
	c.nc.SetWriteDeadline(time.Now().Add(5 * time.Second))
	if _, err := c.nc.Write([]byte(s)); err != nil {
		c.t.Fatal(err)
	}
}

// request writes a request and returns its id.
func (c *client) request(method, params string) int {
	c.t.Helper()
	c.id++
	c.write(fmt.Sprintf(`{"id":%d,"method":%q,"params":%s}`+"\n", c.id, method, params))
	return c.id
}

// read reads one message, recording notifications; nil on error.
func (c *client) read(timeout time.Duration) (*stratum.Message, error) {
	c.nc.SetReadDeadline(time.Now().Add(timeout))
	line, err := c.rd.ReadLine()
	if err != nil {
		return nil, err
	}
	line = bytes.Clone(line)
	m, err := stratum.ParseMessage(line)
	if err != nil {
		c.t.Fatalf("bad line from server: %s: %v", line, err)
	}
	switch m.Method {
	case stratum.MethodSetDifficulty:
		var p stratum.SetDifficultyParams
		if err := p.Decode(m.Params); err != nil {
			c.t.Fatal(err)
		}
		c.diff = p.Difficulty
		c.diffs = append(c.diffs, p.Difficulty)
	case stratum.MethodNotify:
		var p stratum.NotifyParams
		if err := p.Decode(m.Params); err != nil {
			c.t.Fatal(err)
		}
		if c.diff == 0 {
			c.t.Errorf("notify before set_difficulty")
		}
		c.jobs = append(c.jobs, &p)
		c.jobDif = append(c.jobDif, c.diff)
		c.when = append(c.when, time.Now())
	}
	return &m, nil
}

// response reads until the response with id.
func (c *client) response(id int) *stratum.Message {
	c.t.Helper()
	for {
		m, err := c.read(5 * time.Second)
		if err != nil {
			c.t.Fatalf("waiting for response %d: %v", id, err)
		}
		if m.Method == "" && string(m.ID) == fmt.Sprint(id) {
			return m
		}
	}
}

// call makes a request and returns its response's error (nil: success).
func (c *client) call(method, params string) (*stratum.Message, *stratum.Error) {
	c.t.Helper()
	m := c.response(c.request(method, params))
	return m, m.ResponseError()
}

func (c *client) subscribe() {
	c.t.Helper()
	m, e := c.call(stratum.MethodSubscribe, `["test/1.0"]`)
	if e != nil {
		c.t.Fatal(e)
	}
	var r stratum.SubscribeResult
	if err := r.Decode(m.Result); err != nil {
		c.t.Fatal(err)
	}
	c.e1, c.e2size = r.Extranonce1, r.Extranonce2Size
}

func (c *client) authorize(user string) *stratum.Error {
	c.t.Helper()
	_, e := c.call(stratum.MethodAuthorize, fmt.Sprintf(`[%q,"x"]`, user))
	return e
}

// waitJobs reads until n notifies have arrived.
func (c *client) waitJobs(n int) *stratum.NotifyParams {
	c.t.Helper()
	for len(c.jobs) < n {
		if _, err := c.read(5 * time.Second); err != nil {
			c.t.Fatalf("waiting for notify %d: %v", n, err)
		}
	}
	return c.jobs[n-1]
}

// handshake subscribes and authorizes as addr and waits for the first job.
func (c *client) handshake(addr chain.Address) *stratum.NotifyParams {
	c.t.Helper()
	c.subscribe()
	if e := c.authorize(addr.String() + ".w"); e != nil {
		c.t.Fatal(e)
	}
	return c.waitJobs(1)
}

// share is a share to submit.
type share struct {
	e2           []byte
	ntime, nonce uint32
	vbits        uint32
	hasVbits     bool
	hash         chain.Hash
}

// mine finds a share on job with extranonce2 e2 meeting target and, when
// not nil, not meeting notTarget, starting at nonce from.
func (c *client) mine(job *stratum.NotifyParams, e2 []byte, target chain.Hash, notTarget *chain.Hash) share {
	c.t.Helper()
	return c.mineRolled(job, e2, 0, 0, target, notTarget)
}

// mineRolled is mine with BIP310 version bits vbits under mask (none when
// mask is 0).
func (c *client) mineRolled(job *stratum.NotifyParams, e2 []byte, vbits, mask uint32, target chain.Hash, notTarget *chain.Hash) share {
	c.t.Helper()
	sp := stratum.SubmitParams{Extranonce2: e2, NTime: job.Time, VersionBits: vbits, HasVersionBits: mask != 0}
	hdr, err := job.ShareHeader(c.e1, &sp, mask)
	if err != nil {
		c.t.Fatal(err)
	}
	raw := hdr.Serialize()
	tg := [32]byte(target)
	sj := sha256d.NewJob(&raw, &tg)
	k := sha256d.Choose().Kernel
	sc := sha256d.NewScanner(k)
	var hits []uint32
	for start := uint64(0); start < sha256d.MaxScan; start += 1 << 18 {
		hits = sc.Scan(sj, uint32(start), 1<<18, hits[:0])
		for _, n := range hits {
			hdr.Nonce = n
			h := hdr.Hash()
			if notTarget == nil || !stratum.HashMeetsTarget(&h, notTarget) {
				return share{e2: e2, ntime: job.Time, nonce: n, hash: h, vbits: vbits, hasVbits: mask != 0}
			}
		}
	}
	c.t.Fatal("no share found")
	return share{}
}

func (c *client) submitParams(worker string, jobID string, s share) string {
	p := stratum.SubmitParams{Worker: worker, JobID: jobID, Extranonce2: s.e2, NTime: s.ntime, Nonce: s.nonce,
		VersionBits: s.vbits, HasVersionBits: s.hasVbits}
	return string(p.AppendParams(nil))
}

// submit submits a share and returns the rejection (nil: accepted).
func (c *client) submit(worker, jobID string, s share) *stratum.Error {
	c.t.Helper()
	m, e := c.call(stratum.MethodSubmit, c.submitParams(worker, jobID, s))
	if e == nil && string(m.Result) != "true" {
		c.t.Fatalf("submit result %s without error", m.Result)
	}
	return e
}

// target returns the target of a difficulty.
func target(t testing.TB, d float64) chain.Hash {
	t.Helper()
	h, err := stratum.TargetFromDifficulty(d)
	if err != nil {
		t.Fatal(err)
	}
	return h
}

// netTarget returns the block target of a job.
func netTarget(t testing.TB, job *stratum.NotifyParams) chain.Hash {
	t.Helper()
	h, err := chain.BigToHash(chain.CompactToBig(job.Bits))
	if err != nil {
		t.Fatal(err)
	}
	return h
}

// waitClosed reads until the server closes the connection, failing after
// timeout.
func (c *client) waitClosed(timeout time.Duration) {
	c.t.Helper()
	deadline := time.Now().Add(timeout)
	buf := make([]byte, 4096)
	for {
		c.nc.SetReadDeadline(deadline)
		if _, err := c.nc.Read(buf); err != nil {
			if ne, ok := err.(net.Error); ok && ne.Timeout() {
				c.t.Fatalf("connection still open after %v", timeout)
			}
			return
		}
	}
}
