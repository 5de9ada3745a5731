package pool

import (
	"container/list"
	"crypto/rand"
	"encoding/hex"
	"sync"
	"time"
	"unsafe"

	"github.com/powmine/powmine/chain"
)

// SessionIDSize is the length in bytes of a session id (the subscription
// id, sent in hex): 128 random bits, which no client guesses, unlike an
// extranonce1 that counts connections.
const SessionIDSize = 16

// MaxSessionShares bounds the accepted shares a saved session keeps for
// the duplicate check after a resume. A miner at vardiff's 10-s interval
// has about 50 on the live jobs (16 jobs, 30 s apart); 256 leaves room
// for a fast one that vardiff has not caught up with yet, at 40 bytes a
// share (10 KB), where the whole duplicate set of a connection (up to
// MaxTrackedShares) took 7.8 MB. The jobs whose shares do not fit are not
// kept either: a share on them after the resume is stale (21), never
// credited twice.
const MaxSessionShares = 256

// DefaultMaxSessionBytes is the default of Config.MaxSessionBytes: 32 MiB
// hold DefaultMaxSessions sessions of a typical 3 KB (their live jobs and
// about 50 shares), or some 2,700 of the largest (12 KB with the default
// MaxJobs), next to the 130 MB that 10,000 open connections take.
const DefaultMaxSessionBytes = 32 << 20

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
	shares  []savedShare // accepted shares on the jobs of sent
	worked  bool         // it had accepted shares
	size    int          // what it costs, in bytes (sessionSize)
	expires time.Time
	queue   *list.Element // in sessionCache.idle or .worked
	ipQueue *list.Element // in sessionCache.byIP[ip]
}

// savedShare is an accepted share of a saved session: its hash and job.
type savedShare struct {
	hash chain.Hash
	seq  uint64
}

// sessionOverhead is what a saved session costs besides its jobs and
// shares: the struct, its id and IP, two queue elements and a map entry.
const sessionOverhead = int(unsafe.Sizeof(savedSession{})+2*unsafe.Sizeof(list.Element{})) + 2*SessionIDSize + 64

// sessionSize returns what ss costs in memory, in bytes.
func sessionSize(ss *savedSession) int {
	return sessionOverhead + len(ss.ip) + cap(ss.sent)*int(unsafe.Sizeof(sentJob{})) + cap(ss.shares)*int(unsafe.Sizeof(savedShare{}))
}

// maxSessionSize is the most a saved session costs with maxJobs live
// jobs (and an IPv6 address).
func maxSessionSize(maxJobs int) int {
	return sessionSize(&savedSession{ip: "ffff:ffff:ffff:ffff::/64", sent: make([]sentJob, 2*maxJobs), shares: make([]savedShare, MaxSessionShares)})
}

// sessionCache keeps the sessions of closed connections for
// Config.SessionTimeout: at most Config.MaxSessions of them costing at
// most Config.MaxSessionBytes in all, and Config.MaxSessionsPerIP of one
// client IP (the IP's oldest goes first). Beyond the limits the oldest
// session without accepted shares goes first, and a session with
// accepted shares only when there is none left: subscribing and closing,
// however fast, never evicts a miner's session.
type sessionCache struct {
	mu       sync.Mutex
	timeout  time.Duration
	max      int
	perIP    int
	maxBytes int
	bytes    int // the sizes of the sessions kept
	byID     map[string]*savedSession
	idle     list.List // sessions without accepted shares, oldest first
	worked   list.List // sessions with accepted shares, oldest first
	byIP     map[string]*list.List
}

func newSessionCache(timeout time.Duration, max, perIP, maxBytes int) *sessionCache {
	return &sessionCache{timeout: timeout, max: max, perIP: perIP, maxBytes: maxBytes,
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
	ss.size = sessionSize(ss)
	if sc.max <= 0 || sc.perIP <= 0 || sc.timeout <= 0 || ss.size > sc.maxBytes {
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
	sc.bytes += ss.size
	for len(sc.byID) > sc.max || sc.bytes > sc.maxBytes {
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
	sc.bytes -= ss.size
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
// resume: its newest live jobs with their accepted shares, as many jobs
// as have MaxSessionShares shares in all. Called by the reader goroutine
// once the connection is closed.
func (c *conn) saveSession() {
	oldest := c.s.jobs.Load().oldestSeq()
	c.mu.Lock()
	if !c.subscribed {
		c.mu.Unlock()
		return
	}
	perJob := make(map[uint64]int)
	for _, seq := range c.dup {
		perJob[seq]++
	}
	// The live jobs sent, newest first, while their shares fit.
	keep := make(map[uint64]bool)
	shares := 0
	for i := range len(c.sent) {
		e := &c.sent[(c.sentNext-1-i+len(c.sent))%len(c.sent)]
		if e.seq == 0 || e.seq < oldest || keep[e.seq] {
			continue
		}
		if shares+perJob[e.seq] > MaxSessionShares {
			break
		}
		keep[e.seq] = true
		shares += perJob[e.seq]
	}
	jobs := 0
	for i := range c.sent {
		if keep[c.sent[i].seq] {
			jobs++
		}
	}
	ss := &savedSession{id: c.subID, ip: c.ip, e1: c.e1, diff: c.diff, floor: c.floor, worked: c.worked,
		sent: make([]sentJob, 0, jobs), shares: make([]savedShare, 0, shares)}
	for i := range len(c.sent) {
		if e := c.sent[(c.sentNext+i)%len(c.sent)]; keep[e.seq] { // oldest first
			ss.sent = append(ss.sent, e)
		}
	}
	for h, seq := range c.dup {
		if keep[seq] {
			ss.shares = append(ss.shares, savedShare{hash: h, seq: seq})
		}
	}
	c.mu.Unlock()
	c.s.sessions.save(ss, time.Now()) // conn.mu and the cache's lock are never held together
}

// resumeLocked takes over a saved session: its id, extranonce1,
// difficulty, the live jobs it had and its shares on them. It reports
// whether the newest job the session was sent is still live, so that the
// client's work stays valid.
func (c *conn) resumeLocked(ss *savedSession, oldest uint64) (live bool) {
	c.e1, c.subID, c.floor, c.worked = ss.e1, ss.id, ss.floor, ss.worked
	c.setDifficultyLocked(ss.diff)
	for _, e := range ss.sent {
		c.sent[c.sentNext] = e
		c.sentNext = (c.sentNext + 1) % len(c.sent)
	}
	for _, sh := range ss.shares {
		if sh.seq >= oldest {
			c.dup[sh.hash] = sh.seq
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
