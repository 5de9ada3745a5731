package pool

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/powmine/powmine/chain"
	"github.com/powmine/powmine/stratum"
)

func TestHandshakeOrders(t *testing.T) {
	tp := newTestPool(t, nil)
	user := testAddr(1).String() + ".rig1"
	tests := []struct {
		name  string
		lines []string // sent in one write (pipelined)
		mask  uint32   // expected negotiated mask, 0 if none
	}{
		{name: "cpuminer", lines: []string{
			`{"id":1,"method":"mining.subscribe","params":["cpuminer/2.5.1"]}`,
			`{"id":2,"method":"mining.authorize","params":["` + user + `","x"]}`}},
		{name: "cpuminer-opt", lines: []string{
			`{"id":1,"method":"mining.subscribe","params":["cpuminer-opt-26.1-x64L"]}`,
			`{"id":2,"method":"mining.authorize","params":["` + user + `","x"]}`,
			`{"id":3,"method":"mining.extranonce.subscribe","params":[]}`,
			`{"id":4,"method":"mining.suggest_difficulty","params":["0.000000001"]}`}},
		{name: "bfgminer string ids", lines: []string{
			`{"id":0,"method":"mining.subscribe","params":["bfgminer/5.5.0-unknown"]}`,
			`{"id":"auth","method":"mining.authorize","params":["` + user + `","x"]}`}},
		{name: "esp-miner configure first", mask: 0x1fffe000, lines: []string{
			`{"id":1,"method":"mining.configure","params":[["version-rolling"],{"version-rolling.mask":"ffffffff"}]}`,
			`{"id":2,"method":"mining.subscribe","params":["bitaxe/BM1370/v2.4.2"]}`,
			`{"id":3,"method":"mining.authorize","params":["` + user + `","x"]}`,
			`{"id":4,"method":"mining.suggest_difficulty","params":[1e-9]}`}},
		{name: "nerdqaxe configure after subscribe", mask: 0x1fffe000, lines: []string{
			`{"id":1,"method":"mining.subscribe","params":["NerdQAxe++"]}`,
			`{"id":2,"method":"mining.configure","params":[["version-rolling"],{"version-rolling.mask":"1fffe000","version-rolling.min-bit-count":2}]}`,
			`{"id":3,"method":"mining.authorize","params":["` + user + `","x"]}`}},
		{name: "antminer mask", mask: 0x00c00000, lines: []string{
			`{"id":1,"method":"mining.configure","params":[["version-rolling","minimum-difficulty"],{"version-rolling.mask":"00c00000","version-rolling.min-bit-count":2}]}`,
			`{"id":2,"method":"mining.subscribe","params":[]}`,
			`{"id":3,"method":"mining.authorize","params":["` + user + `","x"]}`}},
		{name: "authorize before subscribe", lines: []string{
			`{"id":7,"method":"mining.authorize","params":["` + user + `","x"]}`,
			`{"id":8,"method":"mining.subscribe","params":["x"]}`}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := dial(t, tp.addr)
			c.write(strings.Join(tc.lines, "\n") + "\n")
			// One response per request, ids echoed verbatim.
			for i := 0; i < len(tc.lines); {
				m, err := c.read(5 * time.Second)
				if err != nil {
					t.Fatal(err)
				}
				if m.Method != "" {
					continue
				}
				i++
				req, _ := stratum.ParseMessage([]byte(tc.lines[i-1]))
				if string(m.ID) != string(req.ID) {
					t.Fatalf("response %d: id %s, want %s", i, m.ID, req.ID)
				}
				if e := m.ResponseError(); e != nil {
					t.Fatalf("%s: %v", req.Method, e)
				}
				switch req.Method {
				case stratum.MethodSubscribe:
					var r stratum.SubscribeResult
					if err := r.Decode(m.Result); err != nil {
						t.Fatal(err)
					}
					if len(r.Extranonce1) != Extranonce1Size || r.Extranonce2Size != DefaultExtranonce2Size {
						t.Fatalf("subscribe result %s", m.Result)
					}
					c.e1, c.e2size = r.Extranonce1, r.Extranonce2Size
				case stratum.MethodConfigure:
					var r stratum.ConfigureResult
					if err := r.Decode(m.Result); err != nil {
						t.Fatal(err)
					}
					if !r.VersionRolling || r.VersionRollingMask != tc.mask {
						t.Fatalf("configure result %s, want mask %08x", m.Result, tc.mask)
					}
				}
			}
			job := c.waitJobs(1)
			if !job.CleanJobs {
				t.Error("first job without clean_jobs")
			}
			// With a negotiated mask the share rolls two of its bits.
			s := c.mineRolled(job, []byte{1, 2, 3, 4}, tc.mask&0x00c00000, tc.mask, target(t, c.jobDif[0]), ptr(netTarget(t, job)))
			if e := c.submit(user, job.JobID, s); e != nil {
				t.Fatal(e)
			}
		})
	}
}

func ptr[T any](v T) *T { return &v }

func TestExtranonceUnique(t *testing.T) {
	tp := newTestPool(t, func(c *Config) { c.Extranonce2Size = 8 })
	seen := map[string]bool{}
	for range 20 {
		c := dial(t, tp.addr)
		c.subscribe()
		if c.e2size != 8 || seen[string(c.e1)] {
			t.Fatalf("extranonce1 %x (seen %v), e2 size %d", c.e1, seen[string(c.e1)], c.e2size)
		}
		seen[string(c.e1)] = true
	}
}

func TestShareErrors(t *testing.T) {
	tp := newTestPool(t, nil)
	addr := testAddr(2)
	user := addr.String() + ".w"

	t.Run("not subscribed", func(t *testing.T) {
		c := dial(t, tp.addr)
		if e := c.authorize(user); e != nil {
			t.Fatal(e)
		}
		_, e := c.call(stratum.MethodSubmit, fmt.Sprintf(`[%q,"1","00000000","00000000","00000000"]`, user))
		if e == nil || e.Code != stratum.CodeNotSubscribed {
			t.Fatalf("got %v, want 25", e)
		}
	})
	t.Run("bad address", func(t *testing.T) {
		c := dial(t, tp.addr)
		for _, u := range []string{"testuser", "pm00.w", strings.Replace(addr.String(), "5a", "5b", 1)} {
			if e := c.authorize(u); e == nil || e.Code != stratum.CodeUnauthorized {
				t.Fatalf("authorize %q: %v, want 24", u, e)
			}
		}
	})

	c := dial(t, tp.addr)
	job := c.handshake(addr)
	diff := c.jobDif[0]
	nt := netTarget(t, job)
	good := c.mine(job, []byte{0, 0, 0, 1}, target(t, diff), &nt)
	tests := []struct {
		name   string
		worker string
		job    string
		s      share
		code   stratum.ErrorCode
	}{
		{"unauthorized worker", addr.String() + ".other", job.JobID, good, stratum.CodeUnauthorized},
		{"extranonce2 size", user, job.JobID, share{e2: []byte{1, 2, 3}, ntime: job.Time}, stratum.CodeOther},
		{"unknown job", user, "ffffff", good, stratum.CodeJobNotFound},
		{"ntime too old", user, job.JobID, share{e2: good.e2, ntime: job.Time - 100000, nonce: good.nonce}, stratum.CodeTimeTooOld},
		{"ntime too new", user, job.JobID, share{e2: good.e2, ntime: uint32(time.Now().Unix()) + 3*3600, nonce: good.nonce}, stratum.CodeTimeTooNew},
		{"version bits without configure", user, job.JobID, share{e2: good.e2, ntime: good.ntime, nonce: good.nonce, vbits: 0x2000, hasVbits: true}, stratum.CodeInvalidVersionMask},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if e := c.submit(tc.worker, tc.job, tc.s); e == nil || e.Code != tc.code {
				t.Fatalf("got %v, want code %d", e, tc.code)
			}
		})
	}
	t.Run("accepted then duplicate", func(t *testing.T) {
		if e := c.submit(user, job.JobID, good); e != nil {
			t.Fatal(e)
		}
		if e := c.submit(user, job.JobID, good); e == nil || e.Code != stratum.CodeDuplicateShare {
			t.Fatalf("got %v, want 22", e)
		}
	})
	t.Run("malformed", func(t *testing.T) {
		_, e := c.call(stratum.MethodSubmit, `[1,2]`)
		if e == nil || e.Code != stratum.CodeOther {
			t.Fatalf("got %v, want 20", e)
		}
		_, e = c.call("mining.nonsense", `[]`)
		if e == nil || e.Code != stratum.CodeIllegalMethod {
			t.Fatalf("got %v, want 26", e)
		}
	})
	t.Run("low difficulty", func(t *testing.T) {
		c := dial(t, tp.addr)
		// Suggested before subscribe: the first job is sent at 1e-5.
		if _, e := c.call(stratum.MethodSuggestDifficulty, `[1e-5]`); e != nil {
			t.Fatal(e)
		}
		job := c.handshake(addr)
		if c.jobDif[0] != 1e-5 {
			t.Fatalf("job difficulty %g", c.jobDif[0])
		}
		hi := target(t, 1e-5)
		low := c.mine(job, []byte{9, 9, 9, 9}, target(t, 1e-8), &hi)
		if e := c.submit(user, job.JobID, low); e == nil || e.Code != stratum.CodeLowDifficulty {
			t.Fatalf("got %v, want 23", e)
		}
	})
	t.Run("version rolling outside mask", func(t *testing.T) {
		c := dial(t, tp.addr)
		if _, e := c.call(stratum.MethodConfigure, `[["version-rolling"],{"version-rolling.mask":"00c00000"}]`); e != nil {
			t.Fatal(e)
		}
		job := c.handshake(addr)
		s := c.mine(job, []byte{7, 7, 7, 7}, target(t, c.jobDif[0]), ptr(netTarget(t, job)))
		s.vbits, s.hasVbits = 0x00002000, true
		if e := c.submit(user, job.JobID, s); e == nil || e.Code != stratum.CodeInvalidVersionMask {
			t.Fatalf("got %v, want 33", e)
		}
	})
}

// TestBlockShare mines a share that is a block: the node takes it, every
// connection gets a clean job within 100 ms and shares on the old job are
// stale.
func TestBlockShare(t *testing.T) {
	tp := newTestPool(t, nil)
	addr := testAddr(3)
	user := addr.String() + ".w"
	c := dial(t, tp.addr)
	other := dial(t, tp.addr)
	job := c.handshake(addr)
	other.handshake(testAddr(4))
	old := c.mine(job, []byte{0, 0, 0, 2}, target(t, c.jobDif[0]), ptr(netTarget(t, job)))

	s := c.mine(job, []byte{0, 0, 0, 1}, netTarget(t, job), nil)
	rival := c.mine(job, []byte{0, 0, 0, 3}, netTarget(t, job), nil)
	oldJob := tp.jobs.Load().latest
	height := tp.d.Node().Tip().Height
	sent := time.Now()
	if e := c.submit(user, job.JobID, s); e != nil {
		t.Fatal(e)
	}
	tip := tp.d.Node().Tip()
	if tip.Height != height+1 || tip.Hash != s.hash {
		t.Fatalf("tip %d %v, want %d %v", tip.Height, tip.Hash, height+1, s.hash)
	}
	for _, cl := range []*client{c, other} {
		for {
			j := cl.waitJobs(len(cl.jobs) + 1)
			if j.PrevHash == s.hash {
				if !j.CleanJobs {
					t.Fatal("job on the new tip without clean_jobs")
				}
				// The race detector slows everything several times over;
				// there the delay is only reported.
				if d := cl.when[len(cl.when)-1].Sub(sent); d > 100*time.Millisecond && !raceEnabled {
					t.Errorf("clean job after %v", d)
				} else {
					t.Logf("clean job after %v", d)
				}
				break
			}
		}
	}
	if e := c.submit(user, job.JobID, old); e == nil || e.Code != stratum.CodeJobNotFound {
		t.Fatalf("share on the old job: %v, want 21", e)
	}
	if got := tp.Stats().Blocks; got != 1 {
		t.Errorf("Blocks = %d", got)
	}
	// A second block at the same height, found on the same job before the
	// clean job arrived, is a side block.
	cn := fuzzConn(tp.Server) // c's connection as its reader would use it
	t.Cleanup(func() { cn.nc.Close() })
	cn.e1 = [Extranonce1Size]byte(c.e1)
	sp := stratum.SubmitParams{Extranonce2: rival.e2, NTime: rival.ntime, Nonce: rival.nonce}
	hdr, err := oldJob.notify.ShareHeader(c.e1, &sp, 0)
	if err != nil {
		t.Fatal(err)
	}
	cn.sub = sp
	cn.submitBlock(oldJob, &hdr, rival.hash)
	if ps := tp.PoolStats(); ps.Blocks != 1 || ps.SideBlocks != 1 || tp.d.Node().Tip().Hash != s.hash {
		t.Errorf("after a rival block: %d blocks, %d side blocks, tip %v", ps.Blocks, ps.SideBlocks, tp.d.Node().Tip().Hash)
	}
}

// TestPPLNSPayouts: the block of the next job pays the window's miners in
// proportion to their shares' difficulty.
func TestPPLNSPayouts(t *testing.T) {
	tp := newTestPool(t, func(c *Config) { c.RefreshInterval = time.Hour })
	a, b := testAddr(5), testAddr(6)
	ca, cb := dial(t, tp.addr), dial(t, tp.addr)
	ja, jb := ca.handshake(a), cb.handshake(b)
	for i := range 3 {
		s := ca.mine(ja, []byte{0, 0, 0, byte(i)}, target(t, ca.jobDif[0]), ptr(netTarget(t, ja)))
		if e := ca.submit(a.String()+".w", ja.JobID, s); e != nil {
			t.Fatal(e)
		}
	}
	s := cb.mine(jb, []byte{0, 0, 0, 9}, target(t, cb.jobDif[0]), ptr(netTarget(t, jb)))
	if e := cb.submit(b.String()+".w", jb.JobID, s); e != nil {
		t.Fatal(e)
	}
	// A refresh job now pays a and b 3:1.
	if err := tp.newJob(false); err != nil {
		t.Fatal(err)
	}
	n := len(ca.jobs)
	j := ca.waitJobs(n + 1)
	if j.CleanJobs {
		t.Fatal("refresh job with clean_jobs")
	}
	blk := ca.mine(j, []byte{1, 0, 0, 0}, netTarget(t, j), nil)
	if e := ca.submit(a.String()+".w", j.JobID, blk); e != nil {
		t.Fatal(e)
	}
	if tp.d.Node().Tip().Hash != blk.hash {
		t.Fatal("block not on the tip")
	}
	reward := chain.CalcBlockSubsidy(1, tp.d.Params())
	ba, bb := tp.d.Node().Account(a).Balance, tp.d.Node().Account(b).Balance
	if ba+bb != reward || ba < 3*bb-3 || ba > 3*bb+3 {
		t.Fatalf("balances %d and %d, want 3:1 of %d", ba, bb, reward)
	}
	if p := tp.d.Node().Account(testAddr(0xee)).Balance; p != 0 {
		t.Errorf("pool address got %d", p)
	}
}

// TestPPLNSEmptyWindow: without shares the pool address is paid.
func TestPPLNSEmptyWindow(t *testing.T) {
	tp := newTestPool(t, nil)
	c := dial(t, tp.addr)
	job := c.handshake(testAddr(7))
	blk := c.mine(job, []byte{1, 0, 0, 0}, netTarget(t, job), nil)
	if e := c.submit(testAddr(7).String()+".w", job.JobID, blk); e != nil {
		t.Fatal(e)
	}
	if p := tp.d.Node().Account(testAddr(0xee)).Balance; p != chain.CalcBlockSubsidy(1, tp.d.Params()) {
		t.Errorf("pool address got %d", p)
	}
}

// TestVardiff: a fast client gets a higher difficulty, sent before the
// next notify; shares on the job sent before keep the old difficulty,
// shares on later jobs need the new one.
func TestVardiff(t *testing.T) {
	const start = 1e-6
	tp := newTestPool(t, func(c *Config) {
		c.StartDifficulty = start
		c.RetargetShares = 4
		c.RefreshInterval = time.Hour
	})
	addr := testAddr(8)
	user := addr.String() + ".w"
	c := dial(t, tp.addr)
	job := c.handshake(addr)
	nt := netTarget(t, job)
	hi := target(t, VardiffMaxStep*start)
	// A share meeting only the old difficulty, kept for later.
	oldOnly := c.mine(job, []byte{0, 0, 1, 0}, target(t, start), &hi)
	for i := range 4 {
		s := c.mine(job, []byte{0, 0, 0, byte(i)}, target(t, start), &nt)
		if e := c.submit(user, job.JobID, s); e != nil {
			t.Fatal(e)
		}
	}
	j := c.waitJobs(2)
	if c.jobDif[1] != VardiffMaxStep*start || c.diffs[len(c.diffs)-1] != VardiffMaxStep*start {
		t.Fatalf("difficulty after 4 fast shares: %v, want %g", c.diffs, VardiffMaxStep*start)
	}
	// The job is re-sent at once as a variant: another id and ntime, so
	// that the miner restarting it finds no share it already sent.
	if j.JobID != job.JobID+".1" || j.Time != job.Time+1 || j.CleanJobs {
		t.Fatalf("re-sent job %s ntime %d clean %v, want %s.1 ntime %d", j.JobID, j.Time, j.CleanJobs, job.JobID, job.Time+1)
	}
	if e := c.submit(user, job.JobID, oldOnly); e != nil {
		t.Fatalf("share at the old difficulty on the job sent before: %v", e)
	}
	if low := c.mine(j, []byte{0, 0, 1, 1}, target(t, start), &hi); c.submit(user, j.JobID, low) == nil {
		t.Fatal("share at the old difficulty on the variant sent at the new one accepted")
	}
	// A fresh job is sent at the new difficulty only.
	if err := tp.newJob(false); err != nil {
		t.Fatal(err)
	}
	j3 := c.waitJobs(3)
	low := c.mine(j3, []byte{0, 0, 2, 0}, target(t, start), &hi)
	if e := c.submit(user, j3.JobID, low); e == nil || e.Code != stratum.CodeLowDifficulty {
		t.Fatalf("old-difficulty share on a new job: %v, want 23", e)
	}
}

// TestVardiffLowersIdle: a connection without shares gets a lower
// difficulty, at most VardiffMaxStep times lower, with the next job.
func TestVardiffLowersIdle(t *testing.T) {
	const start = 1e-4 // below the dev block difficulty, which caps it
	tp := newTestPool(t, func(c *Config) {
		c.StartDifficulty = start
		c.RetargetInterval = 50 * time.Millisecond
		c.RefreshInterval = 100 * time.Millisecond
	})
	c := dial(t, tp.addr)
	c.handshake(testAddr(15))
	j := c.waitJobs(2)
	if j.CleanJobs || c.jobDif[1] != start/VardiffMaxStep {
		t.Fatalf("difficulties %v, want %g then %g", c.jobDif, start, start/VardiffMaxStep)
	}
}

// TestRolledBlock: a version-rolled share that is a block reaches the
// node with the rolled version; the same share with other version bits
// is a different share, not a duplicate.
func TestRolledBlock(t *testing.T) {
	tp := newTestPool(t, nil)
	addr := testAddr(16)
	user := addr.String() + ".w"
	c := dial(t, tp.addr)
	if _, e := c.call(stratum.MethodConfigure, `[["version-rolling"],{"version-rolling.mask":"1fffe000"}]`); e != nil {
		t.Fatal(e)
	}
	job := c.handshake(addr)
	const mask = stratum.DefaultVersionRollingMask
	nt := netTarget(t, job)
	s := c.mineRolled(job, []byte{5, 0, 0, 0}, 0x00006000, mask, target(t, c.jobDif[0]), &nt)
	if e := c.submit(user, job.JobID, s); e != nil {
		t.Fatal(e)
	}
	s.vbits = 0x00008000 // same nonce, other version: another header
	if e := c.submit(user, job.JobID, s); e != nil && e.Code == stratum.CodeDuplicateShare {
		t.Fatal("a share with other version bits counted as a duplicate")
	}
	blk := c.mineRolled(job, []byte{6, 0, 0, 0}, 0x1fffe000, mask, nt, nil)
	if e := c.submit(user, job.JobID, blk); e != nil {
		t.Fatal(e)
	}
	tip := tp.d.Node().Tip()
	if tip.Hash != blk.hash || uint32(tip.Header.Version) != job.Version|0x1fffe000 {
		t.Fatalf("tip %v version %08x, want %v version %08x", tip.Hash, tip.Header.Version, blk.hash, job.Version|0x1fffe000)
	}
}
