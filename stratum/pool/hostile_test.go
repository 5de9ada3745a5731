package pool

import (
	"context"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/powmine/powmine/chain"
	"github.com/powmine/powmine/stratum"
)

// Bounds of TestHostileClients, per unit of what the attack leaves in the
// pool's heap: a connection that sent lines of 15 KB (its reader's
// buffer grows to the longest line) with its client's end in this
// process, and a tracked worker (statistics with a 60-bucket hashrate
// window, its name, its map entry).
const (
	hostileConnBytes   = 40 << 10
	hostileWorkerBytes = 2 << 10
	// hostileSlackBytes absorbs what the heap holds apart from the attack
	// (GC timing, the honest client's notifies).
	hostileSlackBytes = 4 << 20
)

// TestHostileClients runs the memory attacks of the "hostile input" issue
// on 127.0.0.1 while an honest miner submits shares, and checks that the
// pool's live heap (after GC) and its own counters stay within stated
// bounds and that every honest share is accepted:
//   - names: connections authorize MaxWorkersPerConn users of 15 KB
//     (refused) and MaxWorkersPerConn valid ones each: the heap grows by
//     at most hostileConnBytes a connection and hostileWorkerBytes a
//     tracked worker (before the fix: 32 x 15 KB a connection, kept until
//     the worker was evicted), and getpoolworkers and a scrape stay
//     bounded;
//   - sessions: connections submit thousands of accepted shares each and
//     close: each saved session costs at most maxSessionSize (before: the
//     whole duplicate map), all of them at most MaxSessionBytes;
//   - churn: subscribe/close cycles, many times MaxSessions, from the same
//     IP: the sessions with accepted shares stay resumable, by their id
//     only.
func TestHostileClients(t *testing.T) {
	nameConns, sessionConns, sharesPerConn, churn := 200, 40, 4096, 1000
	if raceEnabled || testing.Short() {
		nameConns, sessionConns, sharesPerConn, churn = 40, 10, 1024, 300
	}
	const maxSessions = 200
	tp := newTestPool(t, func(c *Config) {
		c.RefreshInterval = time.Hour
		c.RetargetShares, c.RetargetInterval = 1<<30, time.Hour // the difficulty stays at 1e-9
		c.WindowDifficulty = 1e-6                               // a small PPLNS window: its ring is not under test
		c.MaxSessions = maxSessions
	})
	honest := dial(t, tp.addr)
	honest.handshake(testAddr(50))
	honestUser := testAddr(50).String() + ".honest"
	if e := honest.authorize(honestUser); e != nil {
		t.Fatal(e)
	}
	honestShares := 0
	// during submits honest shares until every attacker goroutine has
	// returned, then fails the test on the first attacker error.
	during := func(phase string, attackers int, attack func(i int) error) {
		t.Helper()
		errs := make(chan error, attackers)
		var wg sync.WaitGroup
		for i := range attackers {
			wg.Go(func() { errs <- attack(i) })
		}
		done := make(chan struct{})
		go func() { wg.Wait(); close(done) }()
		accepted := 0
		for running := true; running; {
			select {
			case <-done:
				running = false
			case <-time.After(5 * time.Millisecond):
			}
			job := honest.jobs[len(honest.jobs)-1]
			nt := netTarget(t, job)
			honestShares++
			e2 := binary.BigEndian.AppendUint32(nil, uint32(honestShares))
			s := honest.mine(job, e2, target(t, honest.jobDif[len(honest.jobDif)-1]), &nt)
			if e := honest.submit(honestUser, job.JobID, s); e != nil {
				t.Fatalf("%s: honest share rejected: %v", phase, e)
			}
			accepted++
		}
		close(errs)
		for err := range errs {
			if err != nil {
				t.Fatalf("%s: %v", phase, err)
			}
		}
		t.Logf("%s: %d honest shares accepted during the attack", phase, accepted)
	}
	liveHeap := func() int64 {
		runtime.GC()
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		return int64(ms.HeapAlloc)
	}
	check := func(what string, grew, bound int64) {
		t.Helper()
		t.Logf("%s: heap %+.1f MB, bound %.1f MB", what, float64(grew)/(1<<20), float64(bound)/(1<<20))
		if grew > bound {
			t.Errorf("%s: the heap grew by %d bytes, over the bound of %d", what, grew, bound)
		}
	}

	// Names.
	before := liveHeap()
	workersBefore := tp.PoolStats().Workers
	conns := make([]net.Conn, nameConns)
	defer func() {
		for _, nc := range conns {
			if nc != nil {
				nc.Close()
			}
		}
	}()
	during("names", nameConns, func(i int) error {
		nc, err := attackNames(tp.addr, i)
		conns[i] = nc
		return err
	})
	workers := tp.PoolStats().Workers - workersBefore
	if want := nameConns * MaxWorkersPerConn; workers != want {
		t.Errorf("%d workers tracked, want the %d valid ones", workers, want)
	}
	check("names", liveHeap()-before, int64(nameConns*hostileConnBytes+workers*hostileWorkerBytes+hostileSlackBytes))
	for _, w := range tp.WorkerStats() {
		if len(w.Worker) > MaxUserLength {
			t.Fatalf("worker %.60s... of %d bytes tracked", w.Worker, len(w.Worker))
		}
	}
	reply, err := tp.getPoolWorkers(context.Background(), nil)
	if err != nil {
		t.Fatal(err)
	}
	js, _ := json.Marshal(reply)
	if n := len(reply.([]WorkerInfo)); n != MaxRPCWorkers || len(js) > MaxRPCWorkers<<10 {
		t.Errorf("getpoolworkers: %d workers in %d bytes, want %d in at most %d", n, len(js), MaxRPCWorkers, MaxRPCWorkers<<10)
	}
	reg := prometheus.NewPedanticRegistry()
	reg.MustRegister(tp.Server)
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatalf("scrape: %v", err)
	}
	labelBytes := 0
	for _, mf := range mfs {
		for _, m := range mf.GetMetric() {
			for _, l := range m.GetLabel() {
				labelBytes += len(l.GetValue())
			}
		}
	}
	if bound := DefaultMaxTrackedWorkers*MaxUserLength + 1<<10; labelBytes > bound {
		t.Errorf("a scrape holds %d bytes of labels, over %d", labelBytes, bound)
	}
	for i, nc := range conns {
		nc.Close()
		conns[i] = nil
	}

	// Sessions.
	waitFor(t, func() bool { return tp.Stats().Conns == 1 })
	before = liveHeap()
	ids := make([]string, sessionConns)
	e1s := make([][]byte, sessionConns)
	during("sessions", sessionConns, func(i int) error {
		var err error
		ids[i], e1s[i], err = attackShares(tp.addr, testAddr(52).String()+fmt.Sprintf(".s%d", i), sharesPerConn)
		return err
	})
	waitFor(t, func() bool { // every attacker's session saved, worked
		tp.sessions.mu.Lock()
		defer tp.sessions.mu.Unlock()
		return tp.sessions.worked.Len() == sessionConns
	})
	tp.sessions.mu.Lock()
	kept := tp.sessions.bytes
	for _, ss := range tp.sessions.byID {
		if len(ss.shares) > MaxSessionShares || ss.size > maxSessionSize(tp.cfg.MaxJobs) {
			t.Errorf("a saved session keeps %d shares in %d bytes", len(ss.shares), ss.size)
		}
	}
	tp.sessions.mu.Unlock()
	if kept > tp.cfg.MaxSessionBytes {
		t.Errorf("saved sessions cost %d bytes, over MaxSessionBytes %d", kept, tp.cfg.MaxSessionBytes)
	}
	check("sessions", liveHeap()-before, int64(sessionConns*maxSessionSize(tp.cfg.MaxJobs)+hostileSlackBytes))

	// Churn.
	before = liveHeap()
	const churners = 4
	during("churn", churners, func(i int) error {
		for range churn / churners {
			if _, err := subscribeOnce(tp.addr, ""); err != nil {
				return err
			}
		}
		return nil
	})
	waitFor(t, func() bool { return tp.sessions.len() == maxSessions })
	check("churn", liveHeap()-before, int64(maxSessions*maxSessionSize(tp.cfg.MaxJobs)+hostileSlackBytes))
	for i, id := range ids {
		guess := hex.EncodeToString(e1s[i])
		if got, err := subscribeOnce(tp.addr, guess); err != nil || got.SubscriptionID == id || string(got.Extranonce1) == string(e1s[i]) {
			t.Fatalf("session %d taken over by its extranonce1 %s (%v)", i, guess, err)
		}
		if got, err := subscribeOnce(tp.addr, id); err != nil || got.SubscriptionID != id || string(got.Extranonce1) != string(e1s[i]) {
			t.Fatalf("session %d with accepted shares lost to churn (%v)", i, err)
		}
	}
}

// hostileDial connects and returns the connection and its reader.
func hostileDial(addr string) (net.Conn, *stratum.Reader, error) {
	nc, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		return nil, nil, err
	}
	nc.SetDeadline(time.Now().Add(30 * time.Second))
	return nc, stratum.NewReader(nc), nil
}

// readResponses reads until the responses to ids 1..n have arrived and
// returns how many were errors; fn, if set, sees every message.
func readResponses(rd *stratum.Reader, n int, fn func(*stratum.Message) error) (errs int, err error) {
	for got := 0; got < n; {
		line, err := rd.ReadLine()
		if err != nil {
			return errs, fmt.Errorf("after %d of %d responses: %w", got, n, err)
		}
		m, err := stratum.ParseMessage(line)
		if err != nil {
			return errs, err
		}
		if fn != nil {
			if err := fn(&m); err != nil {
				return errs, err
			}
		}
		if m.Kind() != stratum.KindResponse {
			continue
		}
		got++
		if m.ResponseError() != nil {
			errs++
		}
	}
	return errs, nil
}

// attackNames subscribes, then authorizes MaxWorkersPerConn users of
// 15 KB and as many valid ones, pipelined; it returns the connection,
// open, once every answer has come: the long ones refused, the others
// accepted.
func attackNames(addr string, i int) (net.Conn, error) {
	nc, rd, err := hostileDial(addr)
	if err != nil {
		return nil, err
	}
	payout := testAddr(51).String()
	var b strings.Builder
	b.WriteString(`{"id":1,"method":"mining.subscribe","params":["hostile"]}` + "\n")
	id := 1
	for k := range MaxWorkersPerConn {
		id++
		fmt.Fprintf(&b, `{"id":%d,"method":"mining.authorize","params":["%s.%s%04d%02d","x"]}`+"\n", id, payout, strings.Repeat("x", 15<<10), i, k)
		id++
		fmt.Fprintf(&b, `{"id":%d,"method":"mining.authorize","params":["%s.w%04d-%02d","x"]}`+"\n", id, payout, i, k)
	}
	go nc.Write([]byte(b.String())) // read while writing: the answers must not back up
	errs, err := readResponses(rd, id, nil)
	if err == nil && errs != MaxWorkersPerConn {
		err = fmt.Errorf("%d of %d authorizations refused, want the %d long ones", errs, id-1, MaxWorkersPerConn)
	}
	return nc, err
}

// attackShares subscribes, authorizes as user and submits n valid
// shares (none a block) on its first job, pipelined, then closes. It
// returns the session id and extranonce1 it was given.
func attackShares(addr, user string, n int) (id string, e1 []byte, err error) {
	nc, rd, err := hostileDial(addr)
	if err != nil {
		return "", nil, err
	}
	defer nc.Close()
	fmt.Fprintf(nc, `{"id":1,"method":"mining.subscribe","params":["hostile"]}`+"\n"+`{"id":2,"method":"mining.authorize","params":[%q,"x"]}`+"\n", user)
	var sub stratum.SubscribeResult
	var job *stratum.NotifyParams
	var diff float64
	for job == nil {
		line, err := rd.ReadLine()
		if err != nil {
			return "", nil, err
		}
		m, err := stratum.ParseMessage(line)
		if err != nil {
			return "", nil, err
		}
		switch {
		case m.Kind() == stratum.KindResponse && string(m.ID) == "1":
			err = sub.Decode(m.Result)
		case m.Kind() == stratum.KindResponse && m.ResponseError() != nil:
			err = m.ResponseError()
		case m.Method == stratum.MethodSetDifficulty:
			var p stratum.SetDifficultyParams
			err = p.Decode(m.Params)
			diff = p.Difficulty
		case m.Method == stratum.MethodNotify:
			job = new(stratum.NotifyParams)
			err = job.Decode(m.Params)
		}
		if err != nil {
			return "", nil, err
		}
	}
	shareTarget, err := stratum.TargetFromDifficulty(diff)
	if err != nil {
		return "", nil, err
	}
	blockTarget, err := chain.BigToHash(chain.CompactToBig(job.Bits))
	if err != nil {
		return "", nil, err
	}
	sp := stratum.SubmitParams{Worker: user, JobID: job.JobID, Extranonce2: []byte{1, 2, 3, 4}, NTime: job.Time}
	hdr, err := job.ShareHeader(sub.Extranonce1, &sp, 0)
	if err != nil {
		return "", nil, err
	}
	var lines [][]byte
	for nonce := uint32(0); len(lines) < n; nonce++ {
		hdr.Nonce = nonce
		h := hdr.Hash()
		if !stratum.HashMeetsTarget(&h, &shareTarget) || stratum.HashMeetsTarget(&h, &blockTarget) {
			continue
		}
		sp.Nonce = nonce
		lines = append(lines, fmt.Appendf(nil, `{"id":%d,"method":"mining.submit","params":%s}`+"\n", 3+len(lines), sp.AppendParams(nil)))
	}
	werr := make(chan error, 1)
	go func() {
		for k := 0; k < len(lines); k += 256 {
			var batch []byte
			for _, l := range lines[k:min(k+256, len(lines))] {
				batch = append(batch, l...)
			}
			if _, err := nc.Write(batch); err != nil {
				werr <- err
				return
			}
		}
		werr <- nil
	}()
	// The responses to authorize (2) and to the n shares.
	errs, err := readResponses(rd, n+1, nil)
	if err := errors.Join(err, <-werr); err != nil {
		return "", nil, err
	}
	if errs != 0 {
		return "", nil, fmt.Errorf("%d of %d shares rejected", errs, n)
	}
	return sub.SubscriptionID, sub.Extranonce1, nil
}

// subscribeOnce connects, subscribes asking to resume session (""
// for none), and closes.
func subscribeOnce(addr, session string) (stratum.SubscribeResult, error) {
	var r stratum.SubscribeResult
	nc, rd, err := hostileDial(addr)
	if err != nil {
		return r, err
	}
	defer nc.Close()
	p := stratum.SubscribeParams{UserAgent: "hostile", SessionID: session}
	if _, err := nc.Write(stratum.AppendRequest(nil, json.RawMessage("1"), &p)); err != nil {
		return r, err
	}
	_, err = readResponses(rd, 1, func(m *stratum.Message) error {
		if m.Kind() == stratum.KindResponse {
			return r.Decode(m.Result)
		}
		return nil
	})
	return r, err
}
