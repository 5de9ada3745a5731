package pool

import (
	"encoding/json"
	"errors"
	"fmt"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/powmine/powmine/chain"
	"github.com/powmine/powmine/stratum"
)

// Share rejections, built once so that rejecting does not allocate.
var (
	errNotSubscribed    = stratum.NewError(stratum.CodeNotSubscribed, "")
	errUnauthorized     = stratum.NewError(stratum.CodeUnauthorized, "")
	errExtranonce2Size  = stratum.NewError(stratum.CodeOther, "wrong extranonce2 size")
	errJobNotFound      = stratum.NewError(stratum.CodeJobNotFound, "job not found (stale)")
	errTimeTooOld       = stratum.NewError(stratum.CodeTimeTooOld, "ntime out of range: too old")
	errTimeTooNew       = stratum.NewError(stratum.CodeTimeTooNew, "ntime out of range: too new")
	errDuplicate        = stratum.NewError(stratum.CodeDuplicateShare, "")
	errLowDifficulty    = stratum.NewError(stratum.CodeLowDifficulty, "")
	errTooManyShares    = stratum.NewError(stratum.CodeOther, "too many shares on live jobs")
	errUnknownMethod    = stratum.NewError(stratum.CodeIllegalMethod, "unknown method")
	errBadAddress       = stratum.NewError(stratum.CodeUnauthorized, "unauthorized worker: user must be a payout address[.worker]")
	errUserTooLong      = stratum.NewError(stratum.CodeUnauthorized, fmt.Sprintf("unauthorized worker: user longer than %d bytes", MaxUserLength))
	errUserNotPrintable = stratum.NewError(stratum.CodeUnauthorized, "unauthorized worker: user must be printable UTF-8")
	errTooManyWorkers   = stratum.NewError(stratum.CodeOther, "too many workers on one connection")
	errInvalidVersionMk = stratum.NewError(stratum.CodeInvalidVersionMask, "")
	errTxListTooLong    = stratum.NewError(stratum.CodeOther, "transaction list too long")
)

// handleLine dispatches one received line. A line that is not a Stratum
// message closes the connection; responses from the client are ignored.
func (c *conn) handleLine(line []byte) {
	m, err := stratum.ParseMessage(line)
	if err != nil {
		c.close(CloseProtocolError)
		return
	}
	if m.Kind() == stratum.KindResponse {
		return
	}
	switch m.Method {
	case stratum.MethodSubmit:
		c.handleSubmit(&m)
	case stratum.MethodSubscribe:
		c.handleSubscribe(&m)
	case stratum.MethodAuthorize:
		c.handleAuthorize(&m)
	case stratum.MethodConfigure:
		c.handleConfigure(&m)
	case stratum.MethodSuggestDifficulty:
		c.handleSuggestDifficulty(&m)
	case stratum.MethodGetTransactions:
		c.handleGetTransactions(&m)
	case stratum.MethodExtranonceSubscribe:
		c.reply(m.ID, stratum.BoolResult(true))
	default:
		c.replyError(m.ID, errUnknownMethod)
	}
}

// reply queues a response.
func (c *conn) reply(id json.RawMessage, r stratum.Result) {
	c.mu.Lock()
	c.out = stratum.AppendResponse(c.out, id, r)
	c.flushLocked()
	c.mu.Unlock()
	c.signal()
}

// replyError queues an error response.
func (c *conn) replyError(id json.RawMessage, e *stratum.Error) {
	c.mu.Lock()
	c.out = stratum.AppendErrorResponse(c.out, id, e)
	c.flushLocked()
	c.mu.Unlock()
	c.signal()
}

// paramsError turns a decoding error into its Stratum error.
func paramsError(err error) *stratum.Error {
	var se *stratum.Error
	if errors.As(err, &se) {
		return se
	}
	return stratum.NewError(stratum.CodeOther, err.Error())
}

// rawResult is a result already encoded as JSON.
type rawResult []byte

// AppendResult implements stratum.Result.
func (r rawResult) AppendResult(dst []byte) []byte { return append(dst, r...) }

// handleGetTransactions answers mining.get_transactions with the ids of
// the job's transactions (see the package comment). A list longer than
// half the outbound buffer is refused with code 20 rather than sent, so
// that asking never closes the connection as a slow consumer.
func (c *conn) handleGetTransactions(m *stratum.Message) {
	var p stratum.GetTransactionsParams
	if err := p.Decode(m.Params); err != nil {
		c.replyError(m.ID, paramsError(err))
		return
	}
	var j *job
	if base, _, ok := splitJobID(p.JobID); ok {
		j = c.s.jobs.Load().byID[base]
	}
	if j == nil {
		c.replyError(m.ID, errJobNotFound)
		return
	}
	txids := j.txids()
	if len(txids) > c.s.cfg.MaxOutbound/2 {
		c.replyError(m.ID, errTxListTooLong)
		return
	}
	c.reply(m.ID, rawResult(txids))
}

func (c *conn) handleSubscribe(m *stratum.Message) {
	var p stratum.SubscribeParams
	if err := p.Decode(m.Params); err != nil {
		c.refuse(m.ID, paramsError(err))
		return
	}
	var resumed *savedSession
	if !c.subscribed && p.SessionID != "" {
		resumed = c.s.sessions.take(p.SessionID, c.ip, time.Now())
	}
	jobs := c.s.jobs.Load()
	c.mu.Lock()
	clean := true
	if resumed != nil {
		clean = !c.resumeLocked(resumed, jobs.oldestSeq())
	} else if c.subID == "" {
		c.subID = newSessionID()
	}
	c.out = stratum.AppendResponse(c.out, m.ID, &stratum.SubscribeResult{
		SubscriptionID:  c.subID,
		Extranonce1:     c.e1[:],
		Extranonce2Size: c.s.cfg.Extranonce2Size,
	})
	if !c.subscribed {
		c.subscribed = true
		c.vdStart = time.Now()
		if jobs.latest != nil {
			c.appendJobLocked(jobs.latest, clean)
		}
	}
	c.flushLocked()
	c.mu.Unlock()
	c.signal()
}

func (c *conn) handleAuthorize(m *stratum.Message) {
	var p stratum.AuthorizeParams
	if err := p.Decode(m.Params); err != nil {
		c.refuse(m.ID, paramsError(err))
		return
	}
	if len(p.User) > MaxUserLength {
		c.refuse(m.ID, errUserTooLong)
		return
	}
	if !printable(p.User) {
		c.refuse(m.ID, errUserNotPrintable)
		return
	}
	addr, err := chain.ParseAddress(p.Address())
	if err != nil {
		c.refuse(m.ID, errBadAddress)
		return
	}
	if _, ok := c.workers[p.User]; !ok && len(c.workers) >= MaxWorkersPerConn {
		c.refuse(m.ID, errTooManyWorkers)
		return
	}
	c.workers[p.User] = addr
	if !c.authorized {
		c.authorized = true
		c.s.authorizedConn(c)
	}
	c.s.stats.authorize(p.User, addr)
	c.reply(m.ID, stratum.BoolResult(true))
}

// printable reports whether s is valid UTF-8 made of printable
// characters only (letters, marks, numbers, punctuation, symbols and the
// ASCII space): user names go into logs, RPC replies and metric labels.
func printable(s string) bool {
	for _, r := range s {
		if r == utf8.RuneError || !unicode.IsPrint(r) {
			return false // RuneError: an invalid byte, or U+FFFD itself
		}
	}
	return true
}

func (c *conn) handleConfigure(m *stratum.Message) {
	var p stratum.ConfigureParams
	if err := p.Decode(m.Params); err != nil {
		c.refuse(m.ID, paramsError(err))
		return
	}
	var r stratum.ConfigureResult
	for _, e := range p.Extensions {
		if e != stratum.ExtensionVersionRolling {
			r.Unsupported = append(r.Unsupported, e)
			continue
		}
		client := p.VersionRollingMask
		if client == 0 {
			client = ^uint32(0)
		}
		r.VersionRolling = true
		r.VersionRollingMask = stratum.DefaultVersionRollingMask & client
		c.mask = r.VersionRollingMask
	}
	c.reply(m.ID, &r)
}

func (c *conn) handleSuggestDifficulty(m *stratum.Message) {
	var p stratum.SuggestDifficultyParams
	if err := p.Decode(m.Params); err != nil {
		c.refuse(m.ID, paramsError(err))
		return
	}
	d := c.s.clampDifficulty(p.Difficulty)
	latest := c.s.jobs.Load().latest
	c.mu.Lock()
	// A suggestion at or above the current difficulty is also a floor for
	// vardiff (ESP-Miner asks its difficulty once); one below it lowers the
	// difficulty, and the floor only if there was a higher one
	// (cpuminer-opt's keepalive asks for half when it finds no shares, and
	// vardiff may then go lower still).
	if d >= c.diff {
		c.floor = d
	} else {
		c.floor = min(c.floor, d)
	}
	c.out = stratum.AppendResponse(c.out, m.ID, stratum.BoolResult(true))
	if d != c.diff {
		c.setDifficultyLocked(d)
		if c.subscribed && latest != nil {
			c.appendJobLocked(latest, false)
		}
	}
	c.flushLocked()
	c.mu.Unlock()
	c.signal()
}

// handleSubmit checks a share (see the package comment for the order of
// the checks), credits it, retargets the connection's difficulty and
// submits the share as a block when it meets the network target.
func (c *conn) handleSubmit(m *stratum.Message) {
	s := c.s
	sp := &c.sub
	if err := sp.Decode(m.Params); err != nil {
		e := paramsError(err)
		c.replyError(m.ID, e)
		c.countReject("", e, true) // sp is not a valid submit
		return
	}
	if !c.subscribed {
		c.reject(m.ID, errNotSubscribed, true)
		return
	}
	addr, ok := c.workers[sp.Worker]
	if !ok {
		c.reject(m.ID, errUnauthorized, true)
		return
	}
	if len(sp.Extranonce2) != s.cfg.Extranonce2Size {
		c.reject(m.ID, errExtranonce2Size, true)
		return
	}
	var j *job
	base, variant, ok := splitJobID(sp.JobID)
	if ok {
		j = s.jobs.Load().byID[base]
	}
	if j == nil {
		c.reject(m.ID, errJobNotFound, false)
		return
	}
	now := time.Now()
	if sp.NTime < j.tmpl.MinTimestamp {
		c.reject(m.ID, errTimeTooOld, true)
		return
	}
	if int64(sp.NTime) > now.Unix()+int64(s.params.MaxFutureBlockTime/time.Second) {
		c.reject(m.ID, errTimeTooNew, true)
		return
	}
	if sp.HasVersionBits && sp.VersionBits&^c.mask != 0 {
		c.reject(m.ID, errInvalidVersionMk, true)
		return
	}
	if c.hasher == nil {
		c.hasher = stratum.NewShareHasher()
	}
	hdr, err := c.hasher.ShareHeader(&j.notify, j.prefix, c.e1[:], sp, c.mask)
	if err != nil {
		c.reject(m.ID, paramsError(err), true)
		return
	}
	hash := hdr.Hash()

	c.mu.Lock()
	diff, found, met := c.lookupSent(j.seq, variant, &hash)
	var rej *stratum.Error
	switch _, dup := c.dup[hash]; {
	case !found:
		rej = errJobNotFound
	case dup:
		rej = errDuplicate
	case !met && !stratum.HashMeetsTarget(&hash, &j.netTarget):
		rej = errLowDifficulty
	case len(c.dup) >= MaxTrackedShares:
		rej = errTooManyShares
	}
	if rej != nil {
		c.out = stratum.AppendErrorResponse(c.out, m.ID, rej)
		c.flushLocked()
		c.mu.Unlock()
		c.signal()
		// A duplicate is what a miner that restarts a job sends, and a
		// stale share what a slow one sends: neither counts towards a ban.
		c.countReject(sp.Worker, rej, rej == errLowDifficulty)
		return
	}
	c.dup[hash] = j.seq
	c.mu.Unlock()
	c.worked = true
	s.accepted.Add(1)
	s.pplns.add(addr, diff)
	s.stats.accept(sp.Worker, addr, diff)
	if stratum.HashMeetsTarget(&hash, &j.netTarget) {
		// Before the response: a miner that hears "accepted" finds the
		// block on the node.
		c.submitBlock(j, &hdr, hash)
	}
	c.mu.Lock()
	c.out = stratum.AppendResponse(c.out, m.ID, stratum.BoolResult(true))
	c.vdShares++
	c.vardiffLocked(now, s.jobs.Load().latest, true)
	c.flushLocked()
	c.mu.Unlock()
	c.signal()
}

// reject answers a decoded share with an error and counts it; invalid
// ones count towards closing the connection.
func (c *conn) reject(id json.RawMessage, e *stratum.Error, invalid bool) {
	c.replyError(id, e)
	c.countReject(c.sub.Worker, e, invalid)
}

// countReject counts a rejected share in the totals and, when it names
// an authorized worker of the connection, in the worker's statistics.
func (c *conn) countReject(user string, e *stratum.Error, invalid bool) {
	c.s.rejected.Add(1)
	addr, ok := c.workers[user]
	if !ok {
		user = ""
	}
	c.s.stats.reject(user, addr, rejectReasonOf(e))
	if invalid {
		c.invalidRequest()
	}
}

// refuse answers a request with an error and counts it as invalid.
func (c *conn) refuse(id json.RawMessage, e *stratum.Error) {
	c.replyError(id, e)
	c.invalidRequest()
}

// invalidRequest counts an invalid request. The MaxInvalidPerConn-th
// within BanWindow closes the connection, saying why, and counts towards
// a ban of its IP.
func (c *conn) invalidRequest() {
	cfg := &c.s.cfg
	now := time.Now()
	if now.Sub(c.invalidStart) > cfg.BanWindow {
		c.invalidStart, c.invalid = now, 0
	}
	c.invalid++
	if c.invalid < cfg.MaxInvalidPerConn {
		return
	}
	// Counted before the close, so that a client that sees its connection
	// closed and comes back finds its IP's ban, if this made one.
	c.s.abusiveConn(c.ip)
	c.closeWithMessage(CloseAbuse, fmt.Sprintf("closing the connection: %d invalid requests within %v", c.invalid, cfg.BanWindow))
}

// submitBlock assembles the block of a share that meets the network
// target and submits it to the node.
func (c *conn) submitBlock(j *job, hdr *chain.Header, hash chain.Hash) {
	s := c.s
	c.enBuf = append(append(c.enBuf[:0], c.e1[:]...), c.sub.Extranonce2...)
	b, err := j.tmpl.Block(c.enBuf, hdr.Timestamp, hdr.Nonce)
	if err != nil {
		s.log.Error("block from share", "job", j.notify.JobID, "err", err)
		return
	}
	b.Header.Version = hdr.Version
	if got := b.Header.Hash(); got != hash {
		s.log.Error("block from share does not match the share", "job", j.notify.JobID, "share", hash, "block", got)
		return
	}
	mainChain, err := s.cfg.Node.SubmitBlock(b)
	if err != nil {
		s.log.Warn("block rejected", "hash", hash, "height", j.tmpl.Height, "err", err)
		return
	}
	if mainChain {
		s.blocks.Add(1)
	} else {
		s.sideBlocks.Add(1)
	}
	s.log.Info("block found", "hash", hash, "height", j.tmpl.Height, "main", mainChain, "worker", c.sub.Worker)
}
