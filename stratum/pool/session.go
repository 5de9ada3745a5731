package pool

import (
	"encoding/hex"
	"sync"
	"time"

	"github.com/powmine/powmine/chain"
)

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
	expires time.Time
}

// sessionCache keeps the sessions of closed connections for
// Config.SessionTimeout, at most Config.MaxSessions of them (the oldest
// go first).
type sessionCache struct {
	mu      sync.Mutex
	timeout time.Duration
	max     int
	byID    map[string]*savedSession
	order   []*savedSession // saving order, which is expiry order
}

func newSessionCache(timeout time.Duration, max int) *sessionCache {
	return &sessionCache{timeout: timeout, max: max, byID: make(map[string]*savedSession)}
}

// sessionID is the subscription id of a session: its extranonce1 in hex,
// as ckpool does.
func sessionID(e1 [Extranonce1Size]byte) string { return hex.EncodeToString(e1[:]) }

// save keeps ss until it expires, is taken or is evicted.
func (sc *sessionCache) save(ss *savedSession, now time.Time) {
	if sc.max <= 0 || sc.timeout <= 0 {
		return
	}
	sc.mu.Lock()
	defer sc.mu.Unlock()
	ss.expires = now.Add(sc.timeout)
	sc.byID[ss.id] = ss
	sc.order = append(sc.order, ss)
	sc.pruneLocked(now)
}

// pruneLocked drops expired sessions and the oldest beyond the limit,
// and the queue entries of sessions already taken.
func (sc *sessionCache) pruneLocked(now time.Time) {
	drop := 0
	for drop < len(sc.order) {
		ss := sc.order[drop]
		live := sc.byID[ss.id] == ss
		if live && now.Before(ss.expires) && len(sc.byID) <= sc.max {
			break
		}
		if live {
			delete(sc.byID, ss.id)
		}
		sc.order[drop] = nil
		drop++
	}
	sc.order = sc.order[drop:]
	// Taken sessions leave holes in the queue; compact it when they are
	// most of it.
	if len(sc.order) > 64 && len(sc.order) > 2*len(sc.byID) {
		kept := make([]*savedSession, 0, 2*len(sc.byID))
		for _, ss := range sc.order {
			if sc.byID[ss.id] == ss {
				kept = append(kept, ss)
			}
		}
		sc.order = kept
	}
}

// take removes and returns the session id if it is saved, unexpired and
// was left by a connection from ip, else nil.
func (sc *sessionCache) take(id, ip string, now time.Time) *savedSession {
	sc.mu.Lock()
	defer sc.mu.Unlock()
	sc.pruneLocked(now)
	ss := sc.byID[id]
	if ss == nil || ss.ip != ip {
		return nil
	}
	delete(sc.byID, id)
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
	ss := &savedSession{id: c.subID, ip: c.ip, e1: c.e1, diff: c.diff, floor: c.floor, dup: c.dup}
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

// resumeLocked takes over a saved session: its extranonce1, difficulty
// and the live jobs it had. It reports whether the newest job the
// session was sent is still live, so that the client's work stays valid.
func (c *conn) resumeLocked(ss *savedSession, oldest uint64) (live bool) {
	c.e1, c.subID, c.floor = ss.e1, ss.id, ss.floor
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
