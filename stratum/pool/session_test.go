package pool

import (
	"bytes"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"net"
	"runtime"
	"testing"
	"time"

	"github.com/powmine/powmine/chain"
	"github.com/powmine/powmine/stratum"
)

// subscribeResume subscribes asking to resume session id ("" for none)
// and returns the subscription id the server gave.
func (c *client) subscribeResume(id string) string {
	c.t.Helper()
	params := `["test/1.0"]`
	if id != "" {
		params = fmt.Sprintf(`["test/1.0",%q]`, id)
	}
	m, e := c.call(stratum.MethodSubscribe, params)
	if e != nil {
		c.t.Fatal(e)
	}
	var r stratum.SubscribeResult
	if err := r.Decode(m.Result); err != nil {
		c.t.Fatal(err)
	}
	c.e1, c.e2size = r.Extranonce1, r.Extranonce2Size
	return r.SubscriptionID
}

// dialFrom connects to addr from the local IP ip.
func dialFrom(t testing.TB, ip, addr string) *client {
	t.Helper()
	d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(ip)}}
	nc, err := d.Dial("tcp", addr)
	if err != nil {
		if runtime.GOOS == "linux" { // where all of 127.0.0.0/8 is loopback
			t.Fatalf("cannot dial from %s: %v", ip, err)
		}
		t.Skipf("cannot dial from %s: %v (on this system only 127.0.0.1 may be loopback)", ip, err)
	}
	t.Cleanup(func() { nc.Close() })
	return &client{t: t, nc: nc, rd: stratum.NewReader(nc)}
}

// waitSessions waits until the pool keeps n closed sessions.
func waitSessions(t testing.TB, tp *testPool, n int) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for tp.sessions.len() != n {
		if time.Now().After(deadline) {
			t.Fatalf("%d saved sessions, want %d", tp.sessions.len(), n)
		}
		time.Sleep(time.Millisecond)
	}
}

// TestSessionResume: a client that reconnects with its subscription id
// gets its extranonce1 back and its work stays valid: the latest job is
// re-sent without clean_jobs, a share found before the reconnect on an
// older live job is accepted after it, and a share accepted before it is
// a duplicate.
func TestSessionResume(t *testing.T) {
	tp := newTestPool(t, func(c *Config) { c.RefreshInterval = time.Hour })
	user := testAddr(1).String() + ".w"
	a := dial(t, tp.addr)
	id := a.subscribeResume("")
	if e := a.authorize(user); e != nil {
		t.Fatal(e)
	}
	job := a.waitJobs(1)
	nt := netTarget(t, job)
	st := target(t, a.jobDif[0])
	first := a.mine(job, []byte{1, 0, 0, 0}, st, &nt)
	if e := a.submit(user, job.JobID, first); e != nil {
		t.Fatal(e)
	}
	pending := a.mine(job, []byte{2, 0, 0, 0}, st, &nt)
	// A refresh job: the share above is on an older live job, which the
	// resumed connection was never sent.
	if err := tp.newJob(false); err != nil {
		t.Fatal(err)
	}
	latest := a.waitJobs(2)
	e1 := bytes.Clone(a.e1)
	a.nc.Close()
	waitSessions(t, tp, 1)

	b := dial(t, tp.addr)
	if got := b.subscribeResume(id); got != id || !bytes.Equal(b.e1, e1) {
		t.Fatalf("resume gave session %q extranonce1 %x, want %q %x", got, b.e1, id, e1)
	}
	if e := b.authorize(user); e != nil {
		t.Fatal(e)
	}
	// The latest job again, as a variant (another id and ntime): the
	// miner restarts it and must not find the shares it sent before.
	if j := b.waitJobs(1); j.JobID != latest.JobID+".1" || j.Time != latest.Time+1 || j.CleanJobs {
		t.Errorf("first job after resume: %s ntime %d clean=%v, want %s.1 without clean_jobs", j.JobID, j.Time, j.CleanJobs, latest.JobID)
	}
	if e := b.submit(user, job.JobID, pending); e != nil {
		t.Errorf("share found before the reconnect: %v", e)
	}
	if e := b.submit(user, job.JobID, first); e == nil || e.Code != stratum.CodeDuplicateShare {
		t.Errorf("share accepted before the reconnect, sent again: %v, want a duplicate", e)
	}

	// A session is resumed once: a second taker gets a new one.
	c := dial(t, tp.addr)
	if got := c.subscribeResume(id); got == id || bytes.Equal(c.e1, e1) {
		t.Errorf("session %q resumed twice (extranonce1 %x)", got, c.e1)
	}
	// An unknown id gets a new session too.
	d := dial(t, tp.addr)
	if got := d.subscribeResume("00c0ffee"); got == "00c0ffee" || bytes.Equal(d.e1, c.e1) || bytes.Equal(d.e1, e1) {
		t.Errorf("unknown session resumed as %q (extranonce1 %x)", got, d.e1)
	}
}

// TestSessionResumeOtherIP: a session is resumed only from the IP that
// left it.
func TestSessionResumeOtherIP(t *testing.T) {
	tp := newTestPool(t, nil)
	a := dial(t, tp.addr)
	id := a.subscribeResume("")
	a.nc.Close()
	waitSessions(t, tp, 1)
	b := dialFrom(t, "127.0.0.2", tp.addr)
	if got := b.subscribeResume(id); got == id {
		t.Fatalf("session %q resumed from another IP", id)
	}
	c := dial(t, tp.addr)
	if got := c.subscribeResume(id); got != id {
		t.Fatalf("session %q not resumed from its own IP (got %q)", id, got)
	}
}

// TestSessionResumeAfterNewTip: when the session's jobs died with a new
// block, the resumed client gets a clean job and its old shares are
// stale.
func TestSessionResumeAfterNewTip(t *testing.T) {
	tp := newTestPool(t, func(c *Config) { c.RefreshInterval = time.Hour })
	user := testAddr(1).String() + ".w"
	a := dial(t, tp.addr)
	id := a.subscribeResume("")
	if e := a.authorize(user); e != nil {
		t.Fatal(e)
	}
	job := a.waitJobs(1)
	nt := netTarget(t, job)
	old := a.mine(job, []byte{1, 0, 0, 0}, target(t, a.jobDif[0]), &nt)
	a.nc.Close()
	waitSessions(t, tp, 1)

	m := dial(t, tp.addr)
	mjob := m.handshake(testAddr(2))
	tip := tp.d.TipChanged()
	blk := m.mine(mjob, []byte{9, 9, 9, 9}, netTarget(t, mjob), nil)
	if e := m.submit(testAddr(2).String()+".w", mjob.JobID, blk); e != nil {
		t.Fatal(e)
	}
	<-tip
	for tp.jobs.Load().latest.notify.PrevHash != blk.hash {
		time.Sleep(time.Millisecond)
	}

	b := dial(t, tp.addr)
	if got := b.subscribeResume(id); got != id {
		t.Fatalf("session not resumed: %q", got)
	}
	if e := b.authorize(user); e != nil {
		t.Fatal(e)
	}
	if j := b.waitJobs(1); !j.CleanJobs || j.PrevHash != blk.hash {
		t.Errorf("first job after resume past a new block: clean=%v prev %s, want clean on %s", j.CleanJobs, j.PrevHash, blk.hash)
	}
	if e := b.submit(user, job.JobID, old); e == nil || e.Code != stratum.CodeJobNotFound {
		t.Errorf("share on a job of the old tip: %v, want job not found", e)
	}
}

// TestSessionCacheLimits: sessions expire after the timeout; beyond the
// limit the oldest without accepted shares is evicted first, then the
// oldest; one IP keeps at most its own limit; a negative limit keeps
// none.
func TestSessionCacheLimits(t *testing.T) {
	t0 := time.Unix(1_000_000, 0)
	sc := newSessionCache(time.Minute, 2, 10, 1<<30)
	for i := range 3 {
		sc.save(&savedSession{id: fmt.Sprint(i), ip: "ip"}, t0.Add(time.Duration(i)*time.Second))
	}
	if sc.len() != 2 {
		t.Fatalf("%d sessions kept, want 2", sc.len())
	}
	if sc.take("0", "ip", t0.Add(3*time.Second)) != nil {
		t.Error("the oldest session was not evicted")
	}
	if sc.take("2", "ip", t0.Add(61*time.Second)) == nil {
		t.Error("session 2 expired early")
	}
	if sc.take("1", "ip", t0.Add(61*time.Second)) != nil {
		t.Error("session 1 resumed after its timeout")
	}
	for i := range 200 { // taken sessions leave nothing behind
		sc.save(&savedSession{id: fmt.Sprint(i), ip: fmt.Sprint("ip", i)}, t0)
		sc.take(fmt.Sprint(i), fmt.Sprint("ip", i), t0)
	}
	if sc.len() != 0 || sc.idle.Len() != 0 || sc.worked.Len() != 0 || len(sc.byIP) != 0 {
		t.Errorf("after taking every session: %d, queues %d and %d, %d IPs", sc.len(), sc.idle.Len(), sc.worked.Len(), len(sc.byIP))
	}

	// A worked session outlives newer idle ones, and goes only when
	// every session is worked.
	sc = newSessionCache(time.Minute, 3, 10, 1<<30)
	sc.save(&savedSession{id: "w1", ip: "a", worked: true}, t0)
	for i := range 10 {
		sc.save(&savedSession{id: fmt.Sprint("i", i), ip: "b"}, t0.Add(time.Second))
	}
	if sc.take("w1", "a", t0.Add(2*time.Second)) == nil {
		t.Fatal("a worked session was evicted by idle ones")
	}
	for i := range 4 {
		sc.save(&savedSession{id: fmt.Sprint("w", i), ip: "a", worked: true}, t0.Add(3*time.Second))
	}
	if sc.len() != 3 || sc.take("w0", "a", t0.Add(4*time.Second)) != nil || sc.take("w3", "a", t0.Add(4*time.Second)) == nil {
		t.Error("beyond the limit with worked sessions only, the oldest was not the one evicted")
	}

	// One IP keeps at most its limit, its oldest going first.
	sc = newSessionCache(time.Minute, 100, 2, 1<<30)
	sc.save(&savedSession{id: "other", ip: "b"}, t0)
	for i := range 5 {
		sc.save(&savedSession{id: fmt.Sprint(i), ip: "a", worked: true}, t0)
	}
	if sc.len() != 3 || sc.take("3", "a", t0) == nil || sc.take("other", "b", t0) == nil {
		t.Errorf("per-IP limit: %d sessions kept, want a's newest two and b's", sc.len())
	}

	none := newSessionCache(time.Minute, -1, 10, 1<<30)
	none.save(&savedSession{id: "x", ip: "ip"}, t0)
	if none.take("x", "ip", t0) != nil {
		t.Error("a session was kept with MaxSessions -1")
	}
}

// TestSessionIDUnguessable: the subscription id is 128 random bits in
// hex, not the extranonce1: a session is resumed by its id, never by its
// extranonce1 or a neighbour's.
func TestSessionIDUnguessable(t *testing.T) {
	tp := newTestPool(t, nil)
	a, b := dial(t, tp.addr), dial(t, tp.addr)
	idA, idB := a.subscribeResume(""), b.subscribeResume("")
	for _, id := range []string{idA, idB} {
		if raw, err := hex.DecodeString(id); err != nil || len(raw) != 16 {
			t.Fatalf("subscription id %q, want 16 bytes in hex", id)
		}
	}
	if idA == idB || idA == hex.EncodeToString(a.e1) {
		t.Fatalf("subscription ids %q and %q (extranonce1 %x)", idA, idB, a.e1)
	}
	e1 := bytes.Clone(a.e1)
	a.nc.Close()
	waitSessions(t, tp, 1)
	c := dial(t, tp.addr)
	if got := c.subscribeResume(hex.EncodeToString(e1)); got == idA || bytes.Equal(c.e1, e1) {
		t.Fatalf("session resumed by its extranonce1 %x", e1)
	}
	d := dial(t, tp.addr)
	if got := d.subscribeResume(idA); got != idA || !bytes.Equal(d.e1, e1) {
		t.Fatalf("session %q not resumed by its id: got %q, extranonce1 %x", idA, got, d.e1)
	}
}

// TestSessionChurnKeepsWorked: subscribing and closing, many times the
// session limit over from one IP, does not evict the session of a miner
// that had shares accepted.
func TestSessionChurnKeepsWorked(t *testing.T) {
	const maxSessions = 20
	tp := newTestPool(t, func(c *Config) { c.MaxSessions = maxSessions; c.RefreshInterval = time.Hour })
	user := testAddr(31).String() + ".w"
	a := dial(t, tp.addr)
	id := a.subscribeResume("")
	if e := a.authorize(user); e != nil {
		t.Fatal(e)
	}
	job := a.waitJobs(1)
	nt := netTarget(t, job)
	if e := a.submit(user, job.JobID, a.mine(job, []byte{1, 0, 0, 0}, target(t, a.jobDif[0]), &nt)); e != nil {
		t.Fatal(e)
	}
	a.nc.Close()
	waitSessions(t, tp, 1)
	for range 3 * maxSessions {
		c := dial(t, tp.addr)
		c.subscribeResume("")
		c.nc.Close()
	}
	waitSessions(t, tp, maxSessions)
	b := dial(t, tp.addr)
	if got := b.subscribeResume(id); got != id {
		t.Fatalf("the miner's session was evicted by %d subscribe/close cycles", 3*maxSessions)
	}
}

// TestSavedSessionBounded: a closed connection with many accepted shares
// leaves a session of at most MaxSessionShares shares: those of its
// newest live jobs, whole, and only those jobs, so that no share of a
// resumable job can be credited twice.
func TestSavedSessionBounded(t *testing.T) {
	tp := newTestPool(t, func(c *Config) { c.RefreshInterval = time.Hour })
	c := fuzzConn(tp.Server)
	c.handleLine([]byte(`{"id":1,"method":"mining.subscribe","params":["x"]}`))
	for range 3 {
		if err := tp.newJob(false); err != nil {
			t.Fatal(err)
		}
		c.mu.Lock()
		c.appendJobLocked(tp.jobs.Load().latest, false)
		c.mu.Unlock()
	}
	live := tp.jobs.Load().list // oldest first; all four were sent to c
	perJob := []int{MaxTrackedShares - 3*80, 80, 80, 80}
	c.mu.Lock()
	n := 0
	for i, j := range live {
		for range perJob[i] {
			var h chain.Hash
			binary.LittleEndian.PutUint64(h[:], uint64(n))
			c.dup[h] = j.seq
			n++
		}
	}
	c.mu.Unlock()
	c.close(CloseClientQuit)
	c.saveSession()
	ss := tp.sessions.take(c.subID, c.ip, time.Now())
	if ss == nil {
		t.Fatal("session not saved")
	}
	keep := map[uint64]bool{}
	for _, j := range live[1:] { // 240 shares fit, not the oldest job's
		keep[j.seq] = true
	}
	for _, e := range ss.sent {
		if !keep[e.seq] {
			t.Errorf("job %d kept without its shares", e.seq)
		}
	}
	if len(ss.sent) != len(keep) || len(ss.shares) != 240 {
		t.Fatalf("saved %d jobs and %d shares, want %d and 240", len(ss.sent), len(ss.shares), len(keep))
	}
	for _, sh := range ss.shares {
		if !keep[sh.seq] {
			t.Fatalf("share of job %d saved", sh.seq)
		}
	}
	if ss.size > maxSessionSize(tp.cfg.MaxJobs) {
		t.Errorf("saved session costs %d bytes, over the bound %d", ss.size, maxSessionSize(tp.cfg.MaxJobs))
	}
}

// TestSessionCacheBytes: the saved sessions' total cost stays within the
// byte budget, evicting the oldest.
func TestSessionCacheBytes(t *testing.T) {
	t0 := time.Unix(1_000_000, 0)
	const budget = 1 << 20
	sc := newSessionCache(time.Minute, 10000, 10000, budget)
	for i := range 1000 {
		ss := &savedSession{id: fmt.Sprint(i), ip: "ip", worked: true,
			sent: make([]sentJob, 2*DefaultMaxJobs), shares: make([]savedShare, MaxSessionShares)}
		sc.save(ss, t0)
		if sc.bytes > budget {
			t.Fatalf("after %d sessions: %d bytes kept, over the budget %d", i+1, sc.bytes, budget)
		}
	}
	full := maxSessionSize(DefaultMaxJobs)
	if sc.len() != budget/full || sc.take("999", "ip", t0) == nil || sc.take("0", "ip", t0) != nil {
		t.Errorf("%d sessions of %d bytes kept, want the newest %d", sc.len(), full, budget/full)
	}
	sc.save(&savedSession{id: "huge", ip: "ip", shares: make([]savedShare, budget)}, t0)
	if sc.take("huge", "ip", t0) != nil || sc.bytes > budget {
		t.Error("a session over the whole budget was kept")
	}
}
