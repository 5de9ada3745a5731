package pool

import (
	"container/list"
	"encoding/json"
	"errors"
	"io"
	"net"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/powmine/powmine/chain"
	"github.com/powmine/powmine/stratum"
)

// sentJob is a notify sent to a connection and the share difficulty it
// was sent with. A job sent again to the same connection (after a
// difficulty change, or on a resume) is a new variant of it: another job
// id and another ntime, so that a miner that restarts it from
// extranonce2 0 and nonce 0 searches other headers and finds no share it
// already sent.
type sentJob struct {
	seq     uint64
	variant uint32 // 0: the job as made; n: its id is "<id>.<n in hex>", its ntime the job's + n
	diff    float64
	target  chain.Hash
}

// conn is one client connection. The reader goroutine owns the fields
// above mu; those below mu are shared with the job loop and the writer.
type conn struct {
	s     *Server
	nc    net.Conn
	ip    string
	e1    [Extranonce1Size]byte
	subID string // the session id, made at the first mining.subscribe
	start time.Time

	sub          stratum.SubmitParams // reused by every submit
	workers      map[string]chain.Address
	authorized   bool
	worked       bool                 // a share was accepted (on this session)
	mask         uint32               // negotiated version-rolling mask
	enBuf        []byte               // extranonce scratch for blocks
	hasher       *stratum.ShareHasher // made at the first share
	invalid      int                  // invalid requests since invalidStart
	invalidStart time.Time            // start of the invalid-request window

	unauth *list.Element // in Server.unauth until authorized; under Server.mu

	closed atomic.Bool
	flush  chan struct{} // wakes the writer; capacity 1
	done   chan struct{} // closed on close
	raw    *rawWriter    // non-blocking writes, under mu; nil: the writer writes all

	mu         sync.Mutex
	out, spare []byte // pending output; the writer's idle buffer
	writing    bool   // the writer is writing: out waits for its next turn
	reason     CloseReason
	subscribed bool
	diff       float64    // difficulty of the next jobs
	target     chain.Hash // target of diff
	sentDiff   float64    // last difficulty sent with set_difficulty, 0: none
	sent       []sentJob  // ring of the last 2*MaxJobs notifies sent, variants included
	sentNext   int
	dup        map[chain.Hash]uint64 // accepted share hashes -> job seq
	vdShares   int
	vdStart    time.Time
	floor      float64 // the client's suggested difficulty, clamped
}

func newConn(s *Server, nc net.Conn, ip string) *conn {
	c := &conn{
		s:       s,
		nc:      nc,
		ip:      ip,
		start:   time.Now(),
		workers: make(map[string]chain.Address),
		flush:   make(chan struct{}, 1),
		done:    make(chan struct{}),
		sent:    make([]sentJob, 2*s.cfg.MaxJobs), // each job, re-sent once after a difficulty change
		dup:     make(map[chain.Hash]uint64),
		vdStart: time.Now(),
	}
	if tc, ok := nc.(*net.TCPConn); ok { // not TLS, not a wrapper with its own Write
		c.raw = newRawWriter(tc)
	}
	e := s.nextE1.Add(1)
	c.e1 = [4]byte{byte(e >> 24), byte(e >> 16), byte(e >> 8), byte(e)}
	c.setDifficultyLocked(s.cfg.StartDifficulty)
	return c
}

// readLoop reads and handles lines until the connection closes.
func (c *conn) readLoop() {
	defer c.s.removeConn(c)
	defer c.saveSession()
	cfg := &c.s.cfg
	rd := stratum.NewReaderSize(c.nc, cfg.LineLimit)
	handshake := c.start.Add(cfg.HandshakeTimeout)
	for {
		deadline := time.Now().Add(cfg.IdleTimeout)
		if !c.authorized && handshake.Before(deadline) {
			deadline = handshake
		}
		c.nc.SetReadDeadline(deadline)
		line, err := rd.ReadLine()
		if err != nil {
			c.close(c.readErrorReason(err))
			return
		}
		c.handleLine(line)
		if c.closed.Load() {
			return
		}
	}
}

// readErrorReason classifies a read error.
func (c *conn) readErrorReason(err error) CloseReason {
	switch {
	case errors.Is(err, stratum.ErrNotJSON):
		return CloseNotJSON
	case errors.Is(err, stratum.ErrLineTooLong):
		return CloseLineTooLong
	case errors.Is(err, os.ErrDeadlineExceeded):
		if !c.authorized {
			return CloseHandshakeTimeout
		}
		return CloseIdleTimeout
	case errors.Is(err, io.EOF):
		return CloseClientQuit
	}
	return CloseReadError
}

// writeLoop flushes the outbound buffer whenever signalled, with a write
// deadline per flush.
func (c *conn) writeLoop() {
	for {
		select {
		case <-c.flush:
		case <-c.done:
			return
		}
		c.mu.Lock()
		buf := c.out
		c.out, c.spare = c.spare, nil
		c.writing = len(buf) > 0
		c.mu.Unlock()
		if len(buf) > 0 {
			c.nc.SetWriteDeadline(time.Now().Add(c.s.cfg.WriteTimeout))
			if _, err := c.nc.Write(buf); err != nil {
				c.close(CloseWriteError)
				return
			}
		}
		c.mu.Lock()
		c.spare = buf[:0]
		c.writing = false
		c.mu.Unlock()
	}
}

// signal flushes the outbound buffer after an append: unless the writer
// is writing, it writes what the socket takes at once, without blocking,
// and it wakes the writer for the rest. A new job thus reaches a client
// that keeps up without a goroutine switch, and a slow one costs its
// caller no more than a full socket.
func (c *conn) signal() {
	c.mu.Lock()
	if c.raw != nil && !c.writing && len(c.out) > 0 && !c.closed.Load() {
		n, err := c.raw.writeNow(c.out)
		if err != nil {
			c.closeLocked(CloseWriteError)
		}
		c.out = c.out[:copy(c.out, c.out[n:])]
	}
	pending := len(c.out) > 0
	c.mu.Unlock()
	if pending {
		select {
		case c.flush <- struct{}{}:
		default:
		}
	}
}

// close closes the connection once, recording why.
func (c *conn) close(r CloseReason) {
	c.mu.Lock()
	c.closeLocked(r)
	c.mu.Unlock()
}

func (c *conn) closeLocked(r CloseReason) {
	if c.closed.Swap(true) {
		return
	}
	c.reason = r
	c.nc.Close()
	close(c.done)
	c.s.log.Debug("connection closed", "remote", c.nc.RemoteAddr().String(), "reason", r)
}

// closeWithMessage closes the connection for r, after a
// client.show_message telling the client why (written at once when the
// socket takes it, else lost), and logs it.
func (c *conn) closeWithMessage(r CloseReason, msg string) {
	c.mu.Lock()
	c.out = stratum.AppendNotification(c.out, showMessage(msg))
	if c.raw != nil && !c.writing && !c.closed.Load() {
		c.raw.writeNow(c.out)
	}
	c.closeLocked(r)
	c.mu.Unlock()
	c.s.log.Info("connection closed", "remote", c.nc.RemoteAddr().String(), "reason", r, "why", msg)
}

// showMessage is the params of client.show_message: a text the client
// logs (cpuminer: "MESSAGE FROM SERVER").
type showMessage string

// Method implements stratum.Params.
func (showMessage) Method() string { return "client.show_message" }

// AppendParams implements stratum.Params.
func (m showMessage) AppendParams(dst []byte) []byte {
	s, _ := json.Marshal(string(m)) // a string always marshals
	return append(append(append(dst, '['), s...), ']')
}

// flushLocked checks the outbound bound after an append: a client that
// does not read is closed.
func (c *conn) flushLocked() {
	if len(c.out) > c.s.cfg.MaxOutbound {
		c.closeLocked(CloseSlowConsumer)
	}
}

// setDifficultyLocked sets the difficulty of the next jobs.
func (c *conn) setDifficultyLocked(d float64) {
	t, err := stratum.TargetFromDifficulty(d)
	if err != nil {
		return // d is clamped to a validated range
	}
	c.diff, c.target = d, t
}

// appendJobLocked queues a notify for j, preceded by set_difficulty when
// the difficulty changed, and records the difficulty it was sent at: the
// connection's, capped at the block difficulty so that a miner never
// drops a block for being above its share target (as ckpool does).
func (c *conn) appendJobLocked(j *job, clean bool) {
	d, t := c.diff, c.target
	if j.netDiff < d {
		d, t = j.netDiff, j.netShare
	}
	if d != c.sentDiff {
		c.out = stratum.AppendNotification(c.out, &stratum.SetDifficultyParams{Difficulty: d})
		c.sentDiff = d
	}
	variant := c.nextVariantLocked(j.seq)
	switch {
	case variant != 0:
		np := j.notify
		np.JobID = variantJobID(j.notify.JobID, variant)
		np.Time += variant
		np.CleanJobs = clean
		c.out = stratum.AppendNotification(c.out, &np)
	case clean:
		c.out = append(c.out, j.line[1]...)
	default:
		c.out = append(c.out, j.line[0]...)
	}
	c.sent[c.sentNext] = sentJob{seq: j.seq, variant: variant, diff: d, target: t}
	c.sentNext = (c.sentNext + 1) % len(c.sent)
	c.flushLocked()
}

// sendJob sends a new job to a subscribed connection. oldest is the
// sequence number of the oldest live job: duplicates of older shares are
// forgotten.
func (c *conn) sendJob(j *job, clean bool, oldest uint64) {
	c.mu.Lock()
	if c.closed.Load() || !c.subscribed {
		c.mu.Unlock()
		return
	}
	if clean {
		clear(c.dup)
	} else {
		for h, seq := range c.dup {
			if seq < oldest {
				delete(c.dup, h)
			}
		}
	}
	c.vardiffLocked(time.Now(), j, false)
	c.appendJobLocked(j, clean)
	c.mu.Unlock()
	c.signal()
}

// nextVariantLocked returns the variant of job seq to send: 0 when the
// connection was never sent it (or has forgotten it), else one more than
// the newest variant it was sent.
func (c *conn) nextVariantLocked(seq uint64) uint32 {
	next := uint32(0)
	for i := range c.sent {
		if e := &c.sent[i]; e.seq == seq && e.seq != 0 {
			next = max(next, e.variant+1)
		}
	}
	return next
}

// lookupSent returns the difficulty of the notify of job seq, variant
// variant, sent to this connection, and whether hash meets its target;
// found is false when it was not sent here (or is forgotten).
func (c *conn) lookupSent(seq uint64, variant uint32, hash *chain.Hash) (diff float64, found, met bool) {
	for i := range c.sent {
		if e := &c.sent[i]; e.seq == seq && e.variant == variant && seq != 0 {
			return e.diff, true, stratum.HashMeetsTarget(hash, &e.target)
		}
	}
	return 0, false, false
}

// variantJobID returns the job id of variant n of the job with id id.
func variantJobID(id string, n uint32) string {
	return id + "." + strconv.FormatUint(uint64(n), 16)
}

// splitJobID splits a job id from a submit into the id of its job and
// its variant (see sentJob); ok is false when the suffix is not one
// variantJobID writes. It does not allocate.
func splitJobID(id string) (base string, variant uint32, ok bool) {
	i := strings.IndexByte(id, '.')
	if i < 0 {
		return id, 0, true
	}
	suffix := id[i+1:]
	if len(suffix) == 0 || len(suffix) > 8 || suffix[0] == '0' {
		return "", 0, false
	}
	for k := 0; k < len(suffix); k++ {
		var d byte
		switch ch := suffix[k]; {
		case '0' <= ch && ch <= '9':
			d = ch - '0'
		case 'a' <= ch && ch <= 'f':
			d = ch - 'a' + 10
		default:
			return "", 0, false
		}
		variant = variant<<4 | uint32(d)
	}
	return id[:i], variant, true
}
