package pool

import (
	"container/list"
	"crypto/rand"
	"encoding/hex"
	"sync"
	"time"

	"github.com/powmine/powmine/chain"
)

// SessionIDSize is the length in bytes of a session id (the subscription
// id, sent in hex): 128 random bits, which no client guesses, unlike an
// extranonce1 that counts connections.
const SessionIDSize = 16

// savedSession is what a closed subscribed connection leaves behind so
// that its client can resume it (mining.subscribe with the old
// subscription id, as cpuminer sends after a reconnect): its
// extranonce1, its difficulty, the live jobs it was sent with their
// difficulties, and its accepted shares on them. A resumed session keeps
// mining the same extranonce1 space, so the work the miner already has
// stays valid.
type savedSession struct {
	id      string
	ip      string
	e1      [Extranonce1Size]byte
	diff    float64
	floor   float64
	sent    []sentJob
	dup     map[chain.Hash]uint64
	worked  bool // it had accepted shares
	expires time.Time
	queue   *list.Element // in sessionCache.idle or .worked
	ipQueue *list.Element // in sessionCache.byIP[ip]
}

// sessionCache keeps the sessions of closed connections for
// Config.SessionTimeout: at most Config.MaxSessions of them, and
// Config.MaxSessionsPerIP of one client IP (the IP's oldest goes first).
// Beyond the limit the oldest session without accepted shares goes
// first, and a session with accepted shares only when there is none
// left: subscribing and closing, however fast, never evicts a miner's
// session.
type sessionCache struct {
	mu      sync.Mutex
	timeout time.Duration
	max     int
	perIP   int
	byID    map[string]*savedSession
	idle    list.List // sessions without accepted shares, oldest first
	worked  list.List // sessions with accepted shares, oldest first
	byIP    map[string]*list.List
}

func newSessionCache(timeout time.Duration, max, perIP int) *sessionCache {
	return &sessionCache{timeout: timeout, max: max, perIP: perIP,
		byID: make(map[string]*savedSession), byIP: make(map[string]*list.List)}
}

// newSessionID returns a fresh random session id in hex.
func newSessionID() string {
	var b [SessionIDSize]byte
	rand.Read(b[:]) // never fails (crypto/rand)
	return hex.EncodeToString(b[:])
}

// save keeps ss until it expires, is taken or is evicted.
func (sc *sessionCache) save(ss *savedSession, now time.Time) {
	if sc.max <= 0 || sc.perIP <= 0 || sc.timeout <= 0 {
		return
	}
	sc.mu.Lock()
	defer sc.mu.Unlock()
	sc.expireLocked(now)
	if old := sc.byID[ss.id]; old != nil {
		sc.removeLocked(old)
	}
	q := sc.byIP[ss.ip]
	if q == nil {
		q = list.New()
		sc.byIP[ss.ip] = q
	} else if q.Len() >= sc.perIP {
		sc.removeLocked(q.Front().Value.(*savedSession))
	}
	ss.expires = now.Add(sc.timeout)
	sc.byID[ss.id] = ss
	if ss.worked {
		ss.queue = sc.worked.PushBack(ss)
	} else {
		ss.queue = sc.idle.PushBack(ss)
	}
	ss.ipQueue = q.PushBack(ss)
	for len(sc.byID) > sc.max {
		sc.removeLocked(sc.victimLocked())
	}
}

// victimLocked returns the session evicted first: the oldest without
// accepted shares, else the oldest.
func (sc *sessionCache) victimLocked() *savedSession {
	if e := sc.idle.Front(); e != nil {
		return e.Value.(*savedSession)
	}
	return sc.worked.Front().Value.(*savedSession)
}

// expireLocked drops the expired sessions; both queues are in expiry
// order.
func (sc *sessionCache) expireLocked(now time.Time) {
	for _, q := range []*list.List{&sc.idle, &sc.worked} {
		for e := q.Front(); e != nil && !now.Before(e.Value.(*savedSession).expires); e = q.Front() {
			sc.removeLocked(e.Value.(*savedSession))
		}
	}
}

// removeLocked forgets ss.
func (sc *sessionCache) removeLocked(ss *savedSession) {
	delete(sc.byID, ss.id)
	if ss.worked {
		sc.worked.Remove(ss.queue)
	} else {
		sc.idle.Remove(ss.queue)
	}
	q := sc.byIP[ss.ip]
	q.Remove(ss.ipQueue)
	if q.Len() == 0 {
		delete(sc.byIP, ss.ip)
	}
}

// take removes and returns the session id if it is saved, unexpired and
// was left by a connection from ip, else nil.
func (sc *sessionCache) take(id, ip string, now time.Time) *savedSession {
	sc.mu.Lock()
	defer sc.mu.Unlock()
	sc.expireLocked(now)
	ss := sc.byID[id]
	if ss == nil || ss.ip != ip {
		return nil
	}
	sc.removeLocked(ss)
	return ss
}

// len returns the number of saved sessions.
func (sc *sessionCache) len() int {
	sc.mu.Lock()
	defer sc.mu.Unlock()
	return len(sc.byID)
}

// saveSession keeps a closed subscribed connection's session for a
// resume. Called by the reader goroutine once the connection is closed.
func (c *conn) saveSession() {
	oldest := c.s.jobs.Load().oldestSeq()
	c.mu.Lock()
	if !c.subscribed {
		c.mu.Unlock()
		return
	}
	ss := &savedSession{id: c.subID, ip: c.ip, e1: c.e1, diff: c.diff, floor: c.floor, dup: c.dup, worked: c.worked}
	for i := range len(c.sent) {
		e := c.sent[(c.sentNext+i)%len(c.sent)] // oldest first
		if e.seq != 0 && e.seq >= oldest {
			ss.sent = append(ss.sent, e)
		}
	}
	c.dup = nil
	c.mu.Unlock()
	c.s.sessions.save(ss, time.Now())
}

// resumeLocked takes over a saved session: its id, extranonce1,
// difficulty and the live jobs it had. It reports whether the newest job
// the session was sent is still live, so that the client's work stays
// valid.
func (c *conn) resumeLocked(ss *savedSession, oldest uint64) (live bool) {
	c.e1, c.subID, c.floor, c.worked = ss.e1, ss.id, ss.floor, ss.worked
	c.setDifficultyLocked(ss.diff)
	for _, e := range ss.sent {
		c.sent[c.sentNext] = e
		c.sentNext = (c.sentNext + 1) % len(c.sent)
	}
	if ss.dup != nil {
		c.dup = ss.dup
		for h, seq := range c.dup {
			if seq < oldest {
				delete(c.dup, h)
			}
		}
	}
	return len(ss.sent) > 0 && ss.sent[len(ss.sent)-1].seq >= oldest
}

// oldestSeq returns the sequence number of the oldest live job, 0 when
// there is none.
func (js *jobSet) oldestSeq() uint64 {
	if len(js.list) == 0 {
		return 0
	}
	return js.list[0].seq
}
