// Package clienttest runs a fake Stratum V1 pool on loopback for tests of
// the Stratum client and of programs that use it. The pool speaks the
// protocol through package stratum and checks every share for real: it
// rebuilds the share's header with NotifyParams.ShareHeader from the
// extranonce1 the job was sent with, and accepts it only when its hash
// meets the share target the job was issued at.
package clienttest

import (
	"crypto/tls"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"strconv"
	"sync"
	"time"

	"github.com/powmine/powmine/chain"
	"github.com/powmine/powmine/stratum"
)

// Config configures a Pool.
type Config struct {
	// Extranonce2Size is sent in the subscribe result; 0 means 4.
	Extranonce2Size int
	// Difficulty is the share difficulty of a new connection; 0 means
	// 1/65536, which a CPU meets in a few thousand hashes.
	Difficulty float64
	// VersionMask is the pool's version-rolling mask, granted as
	// VersionMask & the miner's mask; 0 refuses version rolling.
	VersionMask uint32
	// RefuseAuthorize answers every mining.authorize with false.
	RefuseAuthorize bool
	// IgnoreConfigure leaves mining.configure unanswered, as a pool that
	// does not know it may.
	IgnoreConfigure bool
	// TLS, if set, makes the pool speak TLS (stratum+ssl://).
	TLS *tls.Config
}

// Submit is one mining.submit the pool judged.
type Submit struct {
	// Conn is the index of the connection (0 for the first accepted).
	Conn int
	// Params are the submit's params.
	Params stratum.SubmitParams
	// Header is the rebuilt header (zero when the job was unknown).
	Header chain.Header
	// Err is nil for an accepted share, else the reject sent.
	Err *stratum.Error
}

// Pool is a fake Stratum pool listening on 127.0.0.1.
type Pool struct {
	ln   net.Listener
	cfg  Config
	subs chan Submit

	mu       sync.Mutex
	conns    []*Conn
	job      *stratum.NotifyParams // current job
	nextJob  int
	reject   *stratum.Error
	sessions map[string][]byte // subscription id -> extranonce1
	wg       sync.WaitGroup
}

// Conn is the pool's view of one connection.
type Conn struct {
	index int
	pool  *Pool
	nc    net.Conn

	mu          sync.Mutex
	methods     []string
	subscribe   stratum.SubscribeParams
	extranonce1 []byte
	e2size      int
	difficulty  float64
	mask        uint32
	authorized  bool
	jobs        map[string]*sentJob
}

// sentJob is a job as sent on one connection.
type sentJob struct {
	notify      stratum.NotifyParams
	extranonce1 []byte
	e2size      int
	target      chain.Hash
}

// New starts a pool; Close stops it.
func New(cfg Config) (*Pool, error) {
	if cfg.Extranonce2Size == 0 {
		cfg.Extranonce2Size = 4
	}
	if cfg.Difficulty == 0 {
		cfg.Difficulty = 1.0 / 65536
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	if cfg.TLS != nil {
		ln = tls.NewListener(ln, cfg.TLS)
	}
	p := &Pool{ln: ln, cfg: cfg, subs: make(chan Submit, 1<<16), sessions: map[string][]byte{}}
	p.wg.Go(p.accept)
	return p, nil
}

// Addr returns the pool's host:port.
func (p *Pool) Addr() string { return p.ln.Addr().String() }

// URL returns stratum+tcp://host:port, or stratum+ssl://host:port for a
// TLS pool.
func (p *Pool) URL() string {
	if p.cfg.TLS != nil {
		return "stratum+ssl://" + p.Addr()
	}
	return "stratum+tcp://" + p.Addr()
}

// Submits returns the channel of judged submits. It is buffered; the pool
// never blocks on it (submits beyond the buffer are lost).
func (p *Pool) Submits() <-chan Submit { return p.subs }

// Close stops listening and closes every connection.
func (p *Pool) Close() {
	p.ln.Close()
	p.DropAll()
	p.wg.Wait()
}

// DropAll closes every open connection.
func (p *Pool) DropAll() {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, c := range p.conns {
		c.nc.Close()
	}
}

// Conns returns the connections accepted so far, in order.
func (p *Pool) Conns() []*Conn {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]*Conn(nil), p.conns...)
}

// RejectShares makes the pool reject otherwise valid shares with e; nil
// accepts them again.
func (p *Pool) RejectShares(e *stratum.Error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.reject = e
}

// Notify sends a new job to every authorized connection and returns its
// id.
func (p *Pool) Notify(clean bool) string {
	p.mu.Lock()
	defer p.mu.Unlock()
	j := p.newJob(clean)
	for _, c := range p.conns {
		c.notify(j)
	}
	return j.JobID
}

// Resend sends the current job again, same id, without clean_jobs, to
// every authorized connection, at the connection's difficulty now: what
// pools do to apply a difficulty change at once. It returns the job id,
// "" when there is no job yet.
func (p *Pool) Resend() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.job == nil {
		return ""
	}
	j := *p.job
	j.CleanJobs = false
	for _, c := range p.conns {
		c.notify(&j)
	}
	return j.JobID
}

// SetDifficulty sends mining.set_difficulty to every connection; jobs sent
// afterwards are judged at d.
func (p *Pool) SetDifficulty(d float64) {
	for _, c := range p.Conns() {
		c.mu.Lock()
		c.difficulty = d
		c.send(stratum.AppendNotification(nil, &stratum.SetDifficultyParams{Difficulty: d}))
		c.mu.Unlock()
	}
}

// SetExtranonce sends mining.set_extranonce to every connection; jobs
// sent afterwards use the new values.
func (p *Pool) SetExtranonce(extranonce1 []byte, size int) {
	for _, c := range p.Conns() {
		c.mu.Lock()
		c.extranonce1, c.e2size = extranonce1, size
		c.send(stratum.AppendNotification(nil, &stratum.SetExtranonceParams{Extranonce1: extranonce1, Extranonce2Size: size}))
		c.mu.Unlock()
	}
}

// SetVersionMask sends mining.set_version_mask to every connection that
// negotiated version rolling; submits are checked against the new mask
// from then on.
func (p *Pool) SetVersionMask(mask uint32) {
	for _, c := range p.Conns() {
		c.mu.Lock()
		if c.mask != 0 {
			c.mask = mask
			c.send(stratum.AppendNotification(nil, &stratum.SetVersionMaskParams{Mask: mask}))
		}
		c.mu.Unlock()
	}
}

// Send writes a raw line (a "\n" is added) to every connection.
func (p *Pool) Send(line string) {
	for _, c := range p.Conns() {
		c.mu.Lock()
		c.send([]byte(line + "\n"))
		c.mu.Unlock()
	}
}

// newJob makes the next job; p.mu is held.
func (p *Pool) newJob(clean bool) *stratum.NotifyParams {
	p.nextJob++
	var prev, b1, b2 chain.Hash
	binary.LittleEndian.PutUint64(prev[:], uint64(p.nextJob))
	prev[31], b1[0], b2[0] = 0x7f, 1, 2
	p.job = &stratum.NotifyParams{
		JobID:        strconv.FormatInt(int64(p.nextJob), 16),
		PrevHash:     prev,
		Coinb1:       []byte("\x01\x00\x00\x00\x01coinbase-one"),
		Coinb2:       []byte("coinbase-two\x00\x00\x00\x00"),
		MerkleBranch: []chain.Hash{b1, b2},
		Version:      0x20000000,
		Bits:         0x1d00ffff,
		Time:         uint32(time.Now().Unix()),
		CleanJobs:    clean,
	}
	return p.job
}

func (p *Pool) accept() {
	for {
		nc, err := p.ln.Accept()
		if err != nil {
			return
		}
		p.mu.Lock()
		c := &Conn{index: len(p.conns), pool: p, nc: nc, difficulty: p.cfg.Difficulty, jobs: map[string]*sentJob{}}
		p.conns = append(p.conns, c)
		p.mu.Unlock()
		p.wg.Go(c.serve)
	}
}

// Methods returns the methods the client sent, in order.
func (c *Conn) Methods() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]string(nil), c.methods...)
}

// Subscribe returns the client's mining.subscribe params.
func (c *Conn) Subscribe() stratum.SubscribeParams {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.subscribe
}

// Extranonce1 returns the extranonce1 the connection was given.
func (c *Conn) Extranonce1() []byte {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.extranonce1
}

// send writes a line; c.mu is held. Errors end the connection through
// the reader.
func (c *Conn) send(line []byte) {
	c.nc.SetWriteDeadline(time.Now().Add(5 * time.Second))
	c.nc.Write(line)
}

// notify sends a job; c.mu is not held.
func (c *Conn) notify(j *stratum.NotifyParams) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.authorized {
		return
	}
	if j.CleanJobs {
		clear(c.jobs)
	}
	t, _ := stratum.TargetFromDifficulty(c.difficulty)
	c.jobs[j.JobID] = &sentJob{notify: *j, extranonce1: c.extranonce1, e2size: c.e2size, target: t}
	c.send(stratum.AppendNotification(nil, j))
}

func (c *Conn) serve() {
	defer c.nc.Close()
	r := stratum.NewReader(c.nc)
	for {
		line, err := r.ReadLine()
		if err != nil {
			return
		}
		m, err := stratum.ParseMessage(line)
		if err != nil || m.Kind() != stratum.KindRequest {
			return
		}
		if err := c.handle(&m); err != nil {
			return
		}
	}
}

func (c *Conn) handle(m *stratum.Message) error {
	c.mu.Lock()
	c.methods = append(c.methods, m.Method)
	c.mu.Unlock()
	switch m.Method {
	case stratum.MethodConfigure:
		var p stratum.ConfigureParams
		if err := p.Decode(m.Params); err != nil {
			return err
		}
		if c.pool.cfg.IgnoreConfigure {
			return nil
		}
		r := stratum.ConfigureResult{}
		if p.Has(stratum.ExtensionVersionRolling) && c.pool.cfg.VersionMask != 0 {
			r.VersionRolling, r.VersionRollingMask = true, c.pool.cfg.VersionMask&p.VersionRollingMask
		}
		c.mu.Lock()
		c.mask = r.VersionRollingMask
		c.send(stratum.AppendResponse(nil, m.ID, &r))
		c.mu.Unlock()
	case stratum.MethodSubscribe:
		var p stratum.SubscribeParams
		if err := p.Decode(m.Params); err != nil {
			return err
		}
		c.pool.mu.Lock()
		e1 := c.pool.sessions[p.SessionID]
		if e1 == nil {
			e1 = binary.BigEndian.AppendUint32(nil, 0xe1000000+uint32(len(c.pool.conns)))
		}
		id := fmt.Sprintf("sub%x", e1)
		c.pool.sessions[id] = e1
		c.pool.mu.Unlock()
		c.mu.Lock()
		c.subscribe, c.extranonce1, c.e2size = p, e1, c.pool.cfg.Extranonce2Size
		c.send(stratum.AppendResponse(nil, m.ID, &stratum.SubscribeResult{
			SubscriptionID: id, Extranonce1: e1, Extranonce2Size: c.e2size,
		}))
		c.mu.Unlock()
	case stratum.MethodAuthorize:
		ok := !c.pool.cfg.RefuseAuthorize
		c.mu.Lock()
		c.authorized = ok
		c.send(stratum.AppendResponse(nil, m.ID, stratum.BoolResult(ok)))
		c.send(stratum.AppendNotification(nil, &stratum.SetDifficultyParams{Difficulty: c.difficulty}))
		c.mu.Unlock()
		if ok {
			c.pool.mu.Lock()
			j := c.pool.job
			if j == nil {
				j = c.pool.newJob(true)
			}
			c.pool.mu.Unlock()
			jc := *j
			jc.CleanJobs = true
			c.notify(&jc)
		}
	case stratum.MethodExtranonceSubscribe:
		c.mu.Lock()
		c.send(stratum.AppendResponse(nil, m.ID, stratum.BoolResult(true)))
		c.mu.Unlock()
	case stratum.MethodSubmit:
		var p stratum.SubmitParams
		if err := p.Decode(m.Params); err != nil {
			return err
		}
		c.submit(m.ID, p)
	default:
		c.mu.Lock()
		c.send(stratum.AppendErrorResponse(nil, m.ID, stratum.NewError(stratum.CodeIllegalMethod, "")))
		c.mu.Unlock()
	}
	return nil
}

// submit judges a share and answers it.
func (c *Conn) submit(id json.RawMessage, p stratum.SubmitParams) {
	c.pool.mu.Lock()
	forced := c.pool.reject
	c.pool.mu.Unlock()
	c.mu.Lock()
	defer c.mu.Unlock()
	s := Submit{Conn: c.index, Params: p}
	s.Params.Extranonce2 = append([]byte(nil), p.Extranonce2...)
	j := c.jobs[p.JobID]
	switch {
	case j == nil:
		s.Err = stratum.NewError(stratum.CodeJobNotFound, "")
	case len(p.Extranonce2) != j.e2size:
		s.Err = stratum.NewError(stratum.CodeOther, "bad extranonce2 length")
	case p.HasVersionBits != (c.mask != 0):
		s.Err = stratum.NewError(stratum.CodeOther, "version bits sent without rolling or missing")
	default:
		h, err := j.notify.ShareHeader(j.extranonce1, &p, c.mask)
		var se *stratum.Error
		if errors.As(err, &se) {
			s.Err = se
			break
		}
		s.Header = h
		hash := h.Hash()
		switch {
		case !stratum.HashMeetsTarget(&hash, &j.target):
			s.Err = stratum.NewError(stratum.CodeLowDifficulty, "")
		case forced != nil:
			s.Err = forced
		}
	}
	if s.Err == nil {
		c.send(stratum.AppendResponse(nil, id, stratum.BoolResult(true)))
	} else {
		c.send(stratum.AppendErrorResponse(nil, id, s.Err))
	}
	select {
	case c.pool.subs <- s:
	default:
	}
}
