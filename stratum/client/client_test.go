package client

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"regexp"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/powmine/powmine/chain"
	"github.com/powmine/powmine/miner"
	"github.com/powmine/powmine/stratum"
	"github.com/powmine/powmine/stratum/client/clienttest"
)

// waitTimeout bounds every wait of these tests.
const waitTimeout = 20 * time.Second

// harness is a client mining on fake pools.
type harness struct {
	t       *testing.T
	client  *Client
	results chan ShareResult
}

// startClient runs a one-thread miner and a client on urls until the
// test ends.
func startClient(t *testing.T, urls []string, tweak func(*Config)) *harness {
	t.Helper()
	m, err := miner.New(miner.Config{Threads: 1})
	if err != nil {
		t.Fatal(err)
	}
	h := &harness{t: t, results: make(chan ShareResult, 1<<16)}
	cfg := Config{
		URLs:       urls,
		User:       "addr.worker",
		Password:   "x",
		Miner:      m,
		MinBackoff: 10 * time.Millisecond,
		MaxBackoff: 50 * time.Millisecond,
		OnShare: func(r ShareResult) {
			select {
			case h.results <- r:
			default:
			}
		},
	}
	if tweak != nil {
		tweak(&cfg)
	}
	if h.client, err = New(cfg); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Go(func() { m.Run(ctx) })
	wg.Go(func() {
		if err := h.client.Run(ctx); err != nil {
			t.Errorf("Run: %v", err)
		}
	})
	t.Cleanup(func() { cancel(); wg.Wait() })
	return h
}

func newPool(t *testing.T, cfg clienttest.Config) *clienttest.Pool {
	t.Helper()
	p, err := clienttest.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(p.Close)
	return p
}

// nextSubmit returns the pool's next judged submit matching keep.
func nextSubmit(t *testing.T, p *clienttest.Pool, keep func(clienttest.Submit) bool) clienttest.Submit {
	t.Helper()
	deadline := time.After(waitTimeout)
	for {
		select {
		case s := <-p.Submits():
			if keep == nil || keep(s) {
				return s
			}
		case <-deadline:
			t.Fatal("no share reached the pool in time")
		}
	}
}

// nextResult returns the client's next share result matching keep.
func (h *harness) nextResult(keep func(ShareResult) bool) ShareResult {
	h.t.Helper()
	deadline := time.After(waitTimeout)
	for {
		select {
		case r := <-h.results:
			if keep == nil || keep(r) {
				return r
			}
		case <-deadline:
			h.t.Fatal("no share result in time")
		}
	}
}

func accepted(s clienttest.Submit) bool { return s.Err == nil }

func TestHandshakeAndAcceptedShares(t *testing.T) {
	pool := newPool(t, clienttest.Config{})
	h := startClient(t, []string{pool.URL()}, nil)
	for i := range 5 {
		s := nextSubmit(t, pool, nil)
		if s.Err != nil {
			t.Fatalf("share %d rejected: %v", i, s.Err)
		}
		if len(s.Params.Extranonce2) != 4 || s.Params.HasVersionBits || s.Params.Worker != "addr.worker" {
			t.Fatalf("share %d: bad params %+v", i, s.Params)
		}
		if s.Params.NTime != s.Header.Timestamp || s.Params.Nonce != s.Header.Nonce {
			t.Fatalf("share %d: ntime/nonce differ from the header", i)
		}
	}
	c := pool.Conns()[0]
	want := []string{stratum.MethodConfigure, stratum.MethodSubscribe, stratum.MethodAuthorize, stratum.MethodExtranonceSubscribe}
	if got := c.Methods()[:4]; !slices.Equal(got, want) {
		t.Fatalf("handshake %v, want %v", got, want)
	}
	if sub := c.Subscribe(); sub.UserAgent != DefaultUserAgent || sub.SessionID != "" {
		t.Fatalf("subscribe %+v", sub)
	}
	var r ShareResult
	for range 5 {
		r = h.nextResult(nil)
		if !r.Accepted {
			t.Fatalf("result %+v", r)
		}
	}
	if r.AcceptedTotal != 5 || r.SubmittedTotal != 5 {
		t.Fatalf("totals %d/%d", r.AcceptedTotal, r.SubmittedTotal)
	}
	if line := r.Line("21.30 MH/s"); line != "accepted: 5/5 (100.00%), 21.30 MH/s yay!!!" {
		t.Fatalf("line %q", line)
	}
}

func TestRejectReason(t *testing.T) {
	pool := newPool(t, clienttest.Config{})
	pool.RejectShares(stratum.NewError(stratum.CodeDuplicateShare, ""))
	h := startClient(t, []string{pool.URL()}, nil)
	r := h.nextResult(nil)
	if r.Accepted || r.Reason != "duplicate share" {
		t.Fatalf("result %+v", r)
	}
	if !regexp.MustCompile(`^accepted: 0/\d+ \(0\.00%\), 1\.00 MH/s booooo \(duplicate share\)$`).MatchString(r.Line("1.00 MH/s")) {
		t.Fatalf("line %q", r.Line("1.00 MH/s"))
	}
	pool.RejectShares(nil)
	r = h.nextResult(func(r ShareResult) bool { return r.Accepted })
	if st := h.client.Stats(); st.Rejected == 0 || st.Accepted == 0 || r.AcceptedTotal == 0 || r.SubmittedTotal <= r.AcceptedTotal {
		t.Fatalf("stats %+v, last %+v", st, r)
	}
}

func TestCleanJobsSwitches(t *testing.T) {
	pool := newPool(t, clienttest.Config{})
	startClient(t, []string{pool.URL()}, nil)
	first := nextSubmit(t, pool, accepted).Params.JobID
	second := pool.Notify(true)
	nextSubmit(t, pool, func(s clienttest.Submit) bool { return s.Params.JobID == second })
	for range 10 {
		s := nextSubmit(t, pool, nil)
		if s.Params.JobID != second || s.Err != nil {
			t.Fatalf("after the switch from job %s: share of job %s (%v)", first, s.Params.JobID, s.Err)
		}
	}
}

func TestSetDifficultyAppliesAtNextJob(t *testing.T) {
	const low, high = 1.0 / (1 << 18), 1.0 / (1 << 14)
	pool := newPool(t, clienttest.Config{Difficulty: low})
	startClient(t, []string{pool.URL()}, nil)
	job := nextSubmit(t, pool, accepted).Params.JobID
	pool.SetDifficulty(high)
	// Shares of the current job keep the old target: with 1/16 of them
	// above the new one, three in a row above it would be a fluke.
	below := false
	for range 3 {
		s := nextSubmit(t, pool, func(s clienttest.Submit) bool { return s.Params.JobID == job })
		hash := s.Header.Hash()
		below = below || stratum.HashDifficulty(hash) < high
	}
	if !below {
		t.Fatal("the new difficulty applied before the next job")
	}
	next := pool.Notify(false)
	for range 3 {
		s := nextSubmit(t, pool, func(s clienttest.Submit) bool { return s.Params.JobID == next })
		hash := s.Header.Hash()
		if s.Err != nil || stratum.HashDifficulty(hash) < high {
			t.Fatalf("share of the new job: difficulty %g, want %g (%v)", stratum.HashDifficulty(hash), high, s.Err)
		}
	}
}

func TestSetExtranonce(t *testing.T) {
	pool := newPool(t, clienttest.Config{})
	startClient(t, []string{pool.URL()}, nil)
	nextSubmit(t, pool, accepted)
	pool.SetExtranonce([]byte{0xaa, 0xbb, 0xcc}, 8)
	next := pool.Notify(false)
	for range 3 {
		s := nextSubmit(t, pool, func(s clienttest.Submit) bool { return s.Params.JobID == next })
		if s.Err != nil || len(s.Params.Extranonce2) != 8 {
			t.Fatalf("share after set_extranonce: extranonce2 %x, %v", s.Params.Extranonce2, s.Err)
		}
	}
}

func TestReconnectResumesSession(t *testing.T) {
	pool := newPool(t, clienttest.Config{})
	h := startClient(t, []string{pool.URL()}, nil)
	nextSubmit(t, pool, accepted)
	pool.DropAll()
	s := nextSubmit(t, pool, func(s clienttest.Submit) bool { return s.Conn == 1 })
	if s.Err != nil {
		t.Fatalf("share after reconnecting: %v", s.Err)
	}
	conns := pool.Conns()
	if sub := conns[1].Subscribe(); sub.SessionID != fmt.Sprintf("sub%x", conns[0].Extranonce1()) {
		t.Fatalf("resume id %q", sub.SessionID)
	}
	if !bytes.Equal(conns[0].Extranonce1(), conns[1].Extranonce1()) {
		t.Fatal("session not resumed")
	}
	if st := h.client.Stats(); st.Connects != 2 {
		t.Fatalf("stats %+v", st)
	}
}

func TestFailover(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	dead := "stratum+tcp://" + ln.Addr().String()
	ln.Close()
	pool := newPool(t, clienttest.Config{})
	startClient(t, []string{dead, pool.URL()}, nil)
	if s := nextSubmit(t, pool, nil); s.Err != nil {
		t.Fatal(s.Err)
	}
}

func TestFailoverOnRefusedAuthorize(t *testing.T) {
	refusing := newPool(t, clienttest.Config{RefuseAuthorize: true})
	pool := newPool(t, clienttest.Config{})
	startClient(t, []string{refusing.URL(), pool.URL()}, nil)
	if s := nextSubmit(t, pool, nil); s.Err != nil {
		t.Fatal(s.Err)
	}
}

func TestVersionRolling(t *testing.T) {
	pool := newPool(t, clienttest.Config{VersionMask: 0x1fffe000})
	startClient(t, []string{pool.URL()}, nil)
	for range 5 {
		s := nextSubmit(t, pool, nil)
		if s.Err != nil || !s.Params.HasVersionBits || s.Params.VersionBits&^0x1fffe000 != 0 {
			t.Fatalf("share %+v: %v", s.Params, s.Err)
		}
	}
}

func TestNoVersionRolling(t *testing.T) {
	pool := newPool(t, clienttest.Config{VersionMask: 0x1fffe000})
	startClient(t, []string{pool.URL()}, func(c *Config) { c.NoVersionRolling = true })
	if s := nextSubmit(t, pool, nil); s.Err != nil || s.Params.HasVersionBits {
		t.Fatalf("share %+v: %v", s.Params, s.Err)
	}
	if m := pool.Conns()[0].Methods(); m[0] != stratum.MethodSubscribe {
		t.Fatalf("methods %v", m)
	}
}

func TestMalformedMessageReconnects(t *testing.T) {
	for _, line := range []string{
		"{not json",
		"GET / HTTP/1.1",
		`{"id":null,"method":"mining.notify","params":[1]}`,
		`{"id":null,"method":"mining.set_difficulty","params":[-1]}`,
	} {
		t.Run(line, func(t *testing.T) {
			pool := newPool(t, clienttest.Config{})
			startClient(t, []string{pool.URL()}, nil)
			nextSubmit(t, pool, accepted)
			pool.Send(line)
			if s := nextSubmit(t, pool, func(s clienttest.Submit) bool { return s.Conn == 1 }); s.Err != nil {
				t.Fatal(s.Err)
			}
		})
	}
}

// TestRollMapping checks that every roll's header is the header the pool
// rebuilds from the submit params, with and without version rolling.
func TestRollMapping(t *testing.T) {
	for _, mask := range []uint32{0, 0x1fffe000} {
		j := &job{
			notify: stratum.NotifyParams{
				JobID: "7", Coinb1: []byte{1, 2, 3}, Coinb2: []byte{4, 5}, Version: 0x20000000,
				Bits: 0x1d00ffff, Time: 1700000000, MerkleBranch: []chain.Hash{{1}, {2}},
			},
			extranonce1: []byte{9, 9, 9, 9},
			e2size:      4,
			mask:        mask,
		}
		w := j.work()
		versions := map[int32]bool{}
		for _, n := range []uint64{0, 1, 2, 3, 0xffff, 0x10000, 0x12345, 0x1234567890} {
			hdr := w.Header
			if n != 0 {
				hdr = w.Roll(w.Header, n)
			}
			hdr.Nonce = 0xdeadbeef
			p := j.submitParams("u", &miner.Share{Work: w, Roll: n, Header: hdr})
			got, err := j.notify.ShareHeader(j.extranonce1, &p, mask)
			if err != nil || got != hdr {
				t.Fatalf("mask %08x roll %d: rebuilt header differs (%v)", mask, n, err)
			}
			if p.HasVersionBits != (mask != 0) || p.VersionBits&^mask != 0 {
				t.Fatalf("mask %08x roll %d: version bits %08x", mask, n, p.VersionBits)
			}
			wantE2 := n
			if mask != 0 {
				wantE2 >>= 16
			}
			if binary.LittleEndian.Uint32(p.Extranonce2) != uint32(wantE2) {
				t.Fatalf("mask %08x roll %d: extranonce2 %x", mask, n, p.Extranonce2)
			}
			versions[hdr.Version] = true
		}
		if mask != 0 && len(versions) < 5 {
			t.Fatalf("version rolling produced only %d versions", len(versions))
		}
	}
}

func TestConfigErrors(t *testing.T) {
	m, _ := miner.New(miner.Config{Threads: 1})
	for _, cfg := range []Config{
		{User: "u", Miner: m},
		{URLs: []string{"stratum+tcp://h:1"}, Miner: m},
		{URLs: []string{"stratum+tcp://h:1"}, User: "u"},
		{URLs: []string{"http://h:1"}, User: "u", Miner: m},
		{URLs: []string{"stratum+tcp://h"}, User: "u", Miner: m},
	} {
		if _, err := New(cfg); !errors.Is(err, ErrConfig) {
			t.Errorf("%+v: got %v, want ErrConfig", cfg, err)
		}
	}
}

func TestBackoffBounded(t *testing.T) {
	c := &Client{cfg: Config{MinBackoff: time.Second, MaxBackoff: 8 * time.Second}}
	for fails := 1; fails < 100; fails++ {
		want := min(time.Second<<min(fails-1, 10), 8*time.Second)
		if d := c.backoff(fails); d < want/2 || d > want {
			t.Fatalf("backoff(%d) = %v, want in [%v, %v]", fails, d, want/2, want)
		}
	}
}

// TestResentJobKeepsPosition: a pool that sends the current job again
// (same id, no clean_jobs) after a difficulty change gets no share twice:
// the client goes on past what it searched instead of restarting the job
// at extranonce2 0 and nonce 0.
func TestResentJobKeepsPosition(t *testing.T) {
	const diff = 1.0 / (1 << 14)
	pool := newPool(t, clienttest.Config{Difficulty: diff})
	startClient(t, []string{pool.URL()}, nil)
	type key struct {
		e2           string
		ntime, nonce uint32
	}
	seen := map[key]bool{}
	record := func(s clienttest.Submit) {
		t.Helper()
		k := key{string(s.Params.Extranonce2), s.Params.NTime, s.Params.Nonce}
		if seen[k] {
			t.Fatalf("share %x/%08x/%08x of job %s sent twice", k.e2, k.ntime, k.nonce, s.Params.JobID)
		}
		seen[k] = true
	}
	first := nextSubmit(t, pool, accepted)
	record(first)
	job := first.Params.JobID
	onJob := func(s clienttest.Submit) bool { return s.Params.JobID == job }
	for range 5 {
		record(nextSubmit(t, pool, onJob))
	}
	for range 3 {
		pool.SetDifficulty(diff)
		if id := pool.Resend(); id != job {
			t.Fatalf("re-sent job %s, want %s", id, job)
		}
		for range 5 {
			record(nextSubmit(t, pool, onJob))
		}
	}
}
