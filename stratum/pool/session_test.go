package pool

import (
	"bytes"
	"fmt"
	"net"
	"testing"
	"time"

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
		t.Skipf("cannot dial from %s: %v", ip, err)
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
	if id != fmt.Sprintf("%x", a.e1) {
		t.Errorf("subscription id %q, want the extranonce1 %x", id, a.e1)
	}
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
	if got := d.subscribeResume("00c0ffee"); got == "00c0ffee" || bytes.Equal(d.e1, c.e1) {
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

// TestSessionCacheLimits: sessions expire after the timeout, the oldest
// is evicted beyond the limit, and a negative limit keeps none.
func TestSessionCacheLimits(t *testing.T) {
	t0 := time.Unix(1_000_000, 0)
	sc := newSessionCache(time.Minute, 2)
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
	for i := range 200 { // taken sessions do not pile up in the queue
		sc.save(&savedSession{id: fmt.Sprint(i), ip: "ip"}, t0)
		sc.take(fmt.Sprint(i), "ip", t0)
	}
	if len(sc.order) > 65 {
		t.Errorf("expiry queue holds %d entries for %d sessions", len(sc.order), sc.len())
	}

	none := newSessionCache(time.Minute, -1)
	none.save(&savedSession{id: "x", ip: "ip"}, t0)
	if none.take("x", "ip", t0) != nil {
		t.Error("a session was kept with MaxSessions -1")
	}
}
