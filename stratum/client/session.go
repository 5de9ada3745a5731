package client

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"strconv"
	"sync"
	"time"

	"github.com/powmine/powmine/chain"
	"github.com/powmine/powmine/miner"
	"github.com/powmine/powmine/stratum"
)

// Methods a pool may send beyond those of package stratum.
const (
	methodReconnect   = "client.reconnect"
	methodShowMessage = "client.show_message"
	methodGetVersion  = "client.get_version"
	methodPing        = "mining.ping"
)

// errReconnect is a pool's client.reconnect.
var errReconnect = errors.New("client: pool asked to reconnect")

// requestKind tells what a pending request id was for.
type requestKind int

const (
	reqConfigure requestKind = iota + 1
	reqSubscribe
	reqAuthorize
	reqExtranonce
	reqSubmit
)

// pendingRequest is a request awaiting its response.
type pendingRequest struct {
	kind requestKind
	job  *job // reqSubmit: the share's job
}

// session is one connection's state. Its reader goroutine (handleLine)
// and the share loop (submit) share it under mu, which also serializes
// writes.
type session struct {
	c    *Client
	idx  int // URL index
	conn net.Conn
	w    io.Writer

	mu          sync.Mutex
	buf         []byte
	nextID      uint64
	pending     map[uint64]pendingRequest
	configuring bool // mining.configure not yet answered
	rolling     bool // version rolling granted
	subscribed  bool
	established bool // first job received
	extranonce1 []byte
	e2size      int
	difficulty  float64
	target      chain.Hash
	mask        uint32
	early       *stratum.NotifyParams // a notify received before the session was ready
	jobs        map[*miner.Work]*job
	order       []*miner.Work // live works, oldest first
	current     *miner.Work
}

// newSession returns the state of a new connection writing to w; conn,
// if not nil, gets write deadlines.
func newSession(c *Client, idx int, conn net.Conn, w io.Writer) *session {
	target, _ := stratum.TargetFromDifficulty(1) // difficulty 1 is valid
	return &session{
		c: c, idx: idx, conn: conn, w: w,
		pending:    map[uint64]pendingRequest{},
		difficulty: 1,
		target:     target,
		jobs:       map[*miner.Work]*job{},
	}
}

// session runs one connection to URL idx until it fails or ctx is done.
// established reports whether a job arrived on it.
func (c *Client) session(ctx context.Context, idx int) (established bool, err error) {
	u := c.urls[idx]
	conn, err := c.dial(ctx, u)
	if err != nil {
		return false, err
	}
	c.log.Info("connected to pool", "url", u.Redacted())
	s := newSession(c, idx, conn, conn)
	defer func() {
		conn.Close()
		s.mu.Lock()
		established = s.established
		s.mu.Unlock()
	}()
	if err := s.handshake(); err != nil {
		return false, err
	}

	readErr := make(chan error, 1)
	var wg sync.WaitGroup
	defer wg.Wait()
	defer conn.Close() // unblocks the reader
	wg.Go(func() { readErr <- s.readLoop() })

	handshake := time.NewTimer(c.cfg.HandshakeTimeout)
	defer handshake.Stop()
	for {
		select {
		case <-ctx.Done():
			return false, nil
		case err := <-readErr:
			return false, err
		case <-handshake.C:
			s.mu.Lock()
			ok := s.established
			s.mu.Unlock()
			if !ok {
				return false, ErrHandshakeTimeout
			}
		case share, ok := <-c.cfg.Miner.Shares():
			if !ok {
				return false, errSharesClosed
			}
			if err := s.submit(&share); err != nil {
				return false, err
			}
		}
	}
}

// readLoop reads and handles lines until an error.
func (s *session) readLoop() error {
	r := stratum.NewReaderSize(s.conn, s.c.cfg.MaxLineSize)
	for {
		s.conn.SetReadDeadline(time.Now().Add(s.c.cfg.ReadTimeout))
		line, err := r.ReadLine()
		if err != nil {
			if errors.Is(err, stratum.ErrNotJSON) || errors.Is(err, stratum.ErrLineTooLong) {
				err = fmt.Errorf("%w: %w", ErrProtocol, err)
			}
			return err
		}
		if err := s.handleLine(line); err != nil {
			return err
		}
	}
}

// handshake pipelines configure, subscribe, authorize and
// extranonce.subscribe.
func (s *session) handshake() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	cfg := &s.c.cfg
	if !cfg.NoVersionRolling {
		s.configuring = true
		if err := s.request(reqConfigure, nil, &stratum.ConfigureParams{
			Extensions:                []string{stratum.ExtensionVersionRolling},
			VersionRollingMask:        stratum.DefaultVersionRollingMask,
			VersionRollingMinBitCount: 2,
		}); err != nil {
			return err
		}
	}
	if err := s.request(reqSubscribe, nil, &stratum.SubscribeParams{UserAgent: cfg.UserAgent, SessionID: s.c.resume[s.idx]}); err != nil {
		return err
	}
	if err := s.request(reqAuthorize, nil, &stratum.AuthorizeParams{User: cfg.User, Password: cfg.Password}); err != nil {
		return err
	}
	return s.request(reqExtranonce, nil, &stratum.ExtranonceSubscribeParams{})
}

// request sends a request with the next id; s.mu is held.
func (s *session) request(kind requestKind, j *job, p stratum.Params) error {
	if len(s.pending) >= MaxPending {
		return fmt.Errorf("%w: %d requests unanswered", ErrProtocol, len(s.pending))
	}
	s.nextID++
	s.pending[s.nextID] = pendingRequest{kind: kind, job: j}
	s.buf = stratum.AppendRequest(s.buf[:0], strconv.AppendUint(nil, s.nextID, 10), p)
	return s.write(s.buf)
}

// write writes one line with the write deadline; s.mu is held.
func (s *session) write(line []byte) error {
	if s.conn != nil {
		s.conn.SetWriteDeadline(time.Now().Add(s.c.cfg.WriteTimeout))
	}
	_, err := s.w.Write(line)
	return err
}

// submit sends a share, or drops it if its job is no longer live.
func (s *session) submit(share *miner.Share) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	j := s.jobs[share.Work]
	if j == nil {
		s.c.log.Info("dropping a stale share", "job", share.Work.ID)
		s.c.report(ShareResult{JobID: share.Work.ID, Stale: true, Reason: "stale"})
		return nil
	}
	p := j.submitParams(s.c.cfg.User, share)
	return s.request(reqSubmit, j, &p)
}

// handleLine handles one line from the pool. An error ends the
// connection.
func (s *session) handleLine(line []byte) error {
	m, err := stratum.ParseMessage(line)
	if err != nil {
		s.c.log.Error("malformed message from the pool", "err", err)
		return fmt.Errorf("%w: %w", ErrProtocol, err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if m.Kind() == stratum.KindResponse {
		return s.handleResponse(&m)
	}
	err = s.handleMethod(&m)
	var se *stratum.Error
	if errors.As(err, &se) {
		s.c.log.Error("malformed params from the pool", "method", m.Method, "err", err)
		return fmt.Errorf("%w: %w", ErrProtocol, err)
	}
	return err
}

// handleResponse matches a response to its request by integer id.
func (s *session) handleResponse(m *stratum.Message) error {
	id, err := strconv.ParseUint(string(m.ID), 10, 64)
	req, ok := s.pending[id]
	if err != nil || !ok {
		s.c.log.Warn("response to no request", "id", string(m.ID))
		return nil
	}
	delete(s.pending, id)
	rerr := m.ResponseError()
	switch req.kind {
	case reqConfigure:
		s.configuring = false
		var r stratum.ConfigureResult
		if rerr == nil && r.Decode(m.Result) == nil && r.VersionRolling && r.VersionRollingMask != 0 {
			s.rolling, s.mask = true, r.VersionRollingMask
			s.c.log.Info("version rolling granted", "mask", fmt.Sprintf("%08x", s.mask))
		} else {
			s.c.log.Info("version rolling not granted")
		}
		return s.start()
	case reqSubscribe:
		var r stratum.SubscribeResult
		if rerr != nil {
			return fmt.Errorf("%w: %v", ErrSubscribe, rerr)
		}
		if err := r.Decode(m.Result); err != nil {
			return fmt.Errorf("%w: %v", ErrSubscribe, err)
		}
		s.extranonce1, s.e2size = r.Extranonce1, r.Extranonce2Size
		s.c.resume[s.idx] = r.SubscriptionID
		s.subscribed = true
		if s.configuring {
			// Pools answer in order: this one skipped mining.configure
			// (it does not know it). Mine without version rolling.
			s.configuring = false
			for id, p := range s.pending {
				if p.kind == reqConfigure {
					delete(s.pending, id)
				}
			}
			s.c.log.Info("mining.configure unanswered; no version rolling")
		}
		return s.start()
	case reqAuthorize:
		ok, _ := stratum.DecodeBoolResult(m.Result)
		if rerr != nil || !ok {
			reason := "result false"
			if rerr != nil {
				reason = rerr.Message
			}
			return fmt.Errorf("%w: user %q: %s", ErrAuthorize, s.c.cfg.User, reason)
		}
		s.c.log.Info("authorized", "user", s.c.cfg.User)
	case reqExtranonce:
		// Pools without the extension refuse it; nothing changes.
	case reqSubmit:
		ok, _ := stratum.DecodeBoolResult(m.Result)
		r := ShareResult{JobID: req.job.notify.JobID, Difficulty: req.job.difficulty, Accepted: ok && rerr == nil}
		if !r.Accepted {
			r.Reason = "result false"
			if rerr != nil {
				r.Reason = rerr.Message
			}
		}
		s.c.report(r)
	}
	return nil
}

// start publishes a notify that arrived before the session was ready.
func (s *session) start() error {
	if s.early != nil && s.ready() {
		p := s.early
		s.early = nil
		s.newJob(p)
	}
	return nil
}

// ready reports whether jobs can be mined: subscribed (extranonce known)
// and mining.configure answered.
func (s *session) ready() bool { return s.subscribed && !s.configuring }

// handleMethod handles a notification or request from the pool.
func (s *session) handleMethod(m *stratum.Message) error {
	switch m.Method {
	case stratum.MethodSetDifficulty:
		var p stratum.SetDifficultyParams
		if err := p.Decode(m.Params); err != nil {
			return err
		}
		t, err := stratum.TargetFromDifficulty(p.Difficulty)
		if err != nil {
			return stratum.NewError(stratum.CodeOther, err.Error())
		}
		s.difficulty, s.target = p.Difficulty, t
		s.c.log.Info("new share difficulty (from the next job)", "difficulty", p.Difficulty)
	case stratum.MethodNotify:
		var p stratum.NotifyParams
		if err := p.Decode(m.Params); err != nil {
			return err
		}
		if !s.ready() {
			s.early = &p // the newest job is mined once ready
			return nil
		}
		s.newJob(&p)
	case stratum.MethodSetExtranonce:
		var p stratum.SetExtranonceParams
		if err := p.Decode(m.Params); err != nil {
			return err
		}
		s.extranonce1, s.e2size = p.Extranonce1, p.Extranonce2Size
		s.c.log.Info("new extranonce (from the next job)", "extranonce1", fmt.Sprintf("%x", p.Extranonce1), "size", p.Extranonce2Size)
	case stratum.MethodSetVersionMask:
		var p stratum.SetVersionMaskParams
		if err := p.Decode(m.Params); err != nil {
			return err
		}
		if s.rolling {
			s.setMask(p.Mask)
		}
	case methodReconnect:
		s.c.log.Info("pool asked to reconnect", "params", string(m.Params))
		return errReconnect
	case methodShowMessage:
		s.c.log.Info("message from the pool", "text", string(m.Params))
	case methodPing:
		return s.respond(m, "pong")
	case methodGetVersion:
		return s.respond(m, s.c.cfg.UserAgent)
	default:
		if m.Kind() == stratum.KindRequest {
			s.buf = stratum.AppendErrorResponse(s.buf[:0], m.ID, stratum.NewError(stratum.CodeIllegalMethod, "unknown method"))
			return s.write(s.buf)
		}
		s.c.log.Debug("ignoring an unknown notification", "method", m.Method)
	}
	return nil
}

// respond answers a request with a string result.
func (s *session) respond(m *stratum.Message, result string) error {
	if m.Kind() != stratum.KindRequest {
		return nil
	}
	s.buf = stratum.AppendResponse(s.buf[:0], m.ID, stringResult(result))
	return s.write(s.buf)
}

// stringResult is a JSON string result.
type stringResult string

// AppendResult implements stratum.Result.
func (r stringResult) AppendResult(dst []byte) []byte {
	b, _ := json.Marshal(string(r)) // a string always marshals
	return append(dst, b...)
}

// newJob makes a job of a notify with the session's extranonce,
// difficulty and mask and puts the miner on it.
func (s *session) newJob(p *stratum.NotifyParams) {
	if p.CleanJobs {
		clear(s.jobs)
		s.order = s.order[:0]
	}
	j := &job{
		notify:      *p,
		extranonce1: s.extranonce1,
		e2size:      s.e2size,
		difficulty:  s.difficulty,
		target:      s.target,
		mask:        s.mask,
	}
	if !p.CleanJobs {
		j.rollBase = s.firstRoll(j)
	}
	s.publish(j)
	if !s.established {
		s.established = true
		s.c.connects.Add(1)
	}
}

// firstRoll returns the roll a new job starts at: past every roll the
// miner may have searched of the newest live job with the same id and
// headers, which pools send again (without clean_jobs) to apply a new
// difficulty at once, so that the miner does not find the shares it
// already sent; 0 for any other job. A roll is 2^32 nonces (miner.Work),
// so the miner's hashes since that job was published bound the rolls it
// searched: two more cover the rounding down and the nonces it claimed
// but had not hashed yet.
func (s *session) firstRoll(j *job) uint64 {
	for i := len(s.order) - 1; i >= 0; i-- {
		if old := s.jobs[s.order[i]]; old.sameWork(j) {
			return old.rollBase + (s.c.cfg.Miner.Hashes()-old.hashes)>>32 + 2
		}
	}
	return 0
}

// publish makes j's work live and current.
func (s *session) publish(j *job) {
	j.hashes = s.c.cfg.Miner.Hashes()
	w := j.work()
	s.jobs[w] = j
	s.order = append(s.order, w)
	if len(s.order) > MaxJobs {
		delete(s.jobs, s.order[0])
		s.order = append(s.order[:0], s.order[1:]...)
	}
	s.current = w
	s.c.cfg.Miner.SetWork(w)
}

// setMask applies a new version-rolling mask at once: the current job is
// republished with it, and works rolled with the old mask are dropped.
func (s *session) setMask(mask uint32) {
	if mask == s.mask {
		return
	}
	s.mask = mask
	old := s.jobs[s.current]
	for w, j := range s.jobs {
		if j.mask&^mask != 0 {
			delete(s.jobs, w)
		}
	}
	kept := s.order[:0]
	for _, w := range s.order {
		if s.jobs[w] != nil {
			kept = append(kept, w)
		}
	}
	s.order = kept
	if old != nil {
		j := *old
		j.mask = mask
		s.publish(&j)
	}
}
