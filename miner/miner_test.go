package miner

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/powmine/powmine/chain"
	"github.com/powmine/powmine/hash/sha256d"
)

// easyTarget returns a target that about one nonce in 2^(8*zeroBytes) meets.
func easyTarget(zeroBytes int) chain.Hash {
	var t chain.Hash
	for i := range t {
		t[i] = 0xff
	}
	for i := 0; i < zeroBytes; i++ {
		t[31-i] = 0
	}
	return t
}

// stdHash hashes a header with crypto/sha256, independently of the miner.
func stdHash(t *testing.T, h chain.Header) chain.Hash {
	b, err := h.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	first := sha256.Sum256(b)
	return chain.Hash(sha256.Sum256(first[:]))
}

func meets(h, target chain.Hash) bool {
	hh, tt := [32]byte(h), [32]byte(target)
	return sha256d.HashMeetsTarget(&hh, &tt)
}

// start runs a miner until the test ends and returns it.
func start(t testing.TB, cfg Config, tweak func(*Miner)) (*Miner, context.CancelFunc, chan error) {
	t.Helper()
	m, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if tweak != nil {
		tweak(m)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- m.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		<-done
	})
	return m, cancel, done
}

func collect(t testing.TB, m *Miner, n int) []Share {
	t.Helper()
	var out []Share
	timeout := time.After(30 * time.Second)
	for len(out) < n {
		select {
		case s := <-m.Shares():
			out = append(out, s)
		case <-timeout:
			t.Fatalf("only %d of %d shares in 30 s", len(out), n)
		}
	}
	return out
}

func TestSharesAreValidAndDistinct(t *testing.T) {
	work := &Work{ID: "w1", Header: chain.Header{Version: 4, Timestamp: 1700000000, Bits: 0x207fffff}, Target: easyTarget(1)}
	work.Header.MerkleRoot[0] = 0x42
	m, _, _ := start(t, Config{Threads: 2, Kernel: sha256d.Generic()}, nil)
	m.SetWork(work)
	shares := collect(t, m, 200)
	seen := map[uint32]bool{}
	for _, s := range shares {
		if s.Work != work || s.Roll != 0 {
			t.Fatalf("share from work %v roll %d", s.Work.ID, s.Roll)
		}
		h := s.Header
		h.Nonce = 0
		if h != work.Header {
			t.Fatalf("share header %+v differs from work header beyond the nonce", s.Header)
		}
		if got := stdHash(t, s.Header); got != s.Hash || !meets(got, work.Target) {
			t.Fatalf("share nonce %d: hash %x (reported %x) does not meet target", s.Header.Nonce, got, s.Hash)
		}
		if seen[s.Header.Nonce] {
			t.Fatalf("nonce %d found twice: worker ranges overlap", s.Header.Nonce)
		}
		seen[s.Header.Nonce] = true
	}
}

// TestRollsWhenNonceSpaceExhausted shrinks the nonce space per header so
// that rolling happens within the test.
func TestRollsWhenNonceSpaceExhausted(t *testing.T) {
	work := &Work{
		ID:     "roll",
		Header: chain.Header{Version: 1, Timestamp: 1},
		Target: easyTarget(1),
		Roll: func(base chain.Header, n uint64) chain.Header {
			binary.LittleEndian.PutUint64(base.MerkleRoot[:], n) // as an extranonce would
			return base
		},
	}
	m, _, _ := start(t, Config{Threads: 2, Kernel: sha256d.Generic()}, func(m *Miner) {
		m.chunkBits, m.rollBits = 10, 12
	})
	m.SetWork(work)
	shares := collect(t, m, 150)
	type key struct {
		roll  uint64
		nonce uint32
	}
	seen := map[key]bool{}
	maxRoll := uint64(0)
	for _, s := range shares {
		if s.Header.Nonce >= 1<<12 {
			t.Fatalf("nonce %d beyond the shrunk nonce space", s.Header.Nonce)
		}
		if got := binary.LittleEndian.Uint64(s.Header.MerkleRoot[:]); got != s.Roll {
			t.Fatalf("share roll %d but header rolled to %d", s.Roll, got)
		}
		if got := stdHash(t, s.Header); got != s.Hash || !meets(got, work.Target) {
			t.Fatalf("invalid share at roll %d nonce %d", s.Roll, s.Header.Nonce)
		}
		k := key{s.Roll, s.Header.Nonce}
		if seen[k] {
			t.Fatalf("share %+v found twice", k)
		}
		seen[k] = true
		maxRoll = max(maxRoll, s.Roll)
	}
	if maxRoll < 2 {
		t.Fatalf("header never rolled (max roll %d)", maxRoll)
	}
}

func TestDefaultRollMovesTimestamp(t *testing.T) {
	w := &Work{Header: chain.Header{Timestamp: 100}}
	if got := w.header(7).Timestamp; got != 107 {
		t.Fatalf("roll 7 timestamp %d, want 107", got)
	}
}

func TestSwitchWork(t *testing.T) {
	impossible := chain.Hash{}
	first := &Work{ID: "old", Header: chain.Header{Version: 1}, Target: impossible}
	second := &Work{ID: "new", Header: chain.Header{Version: 2}, Target: easyTarget(1)}
	m, _, _ := start(t, Config{Threads: 2, Kernel: sha256d.Generic()}, nil)
	m.SetWork(first)
	time.Sleep(20 * time.Millisecond)
	m.SetWork(second)
	for _, s := range collect(t, m, 20) {
		if s.Work != second {
			t.Fatalf("share from %q after the switch", s.Work.ID)
		}
	}
}

func TestRunStopsAndClosesShares(t *testing.T) {
	m, cancel, done := start(t, Config{Threads: 2, Kernel: sha256d.Generic()}, nil)
	m.SetWork(&Work{Target: chain.Hash{}})
	time.Sleep(10 * time.Millisecond)
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("Run returned %v", err)
		}
		done <- nil // for the cleanup
	case <-time.After(5 * time.Second):
		t.Fatal("Run did not return after cancel")
	}
	if _, ok := <-m.Shares(); ok {
		t.Fatal("Shares channel still open after Run returned")
	}
	if m.Run(context.Background()) == nil {
		t.Fatal("second Run succeeded")
	}
}

func TestConfigErrors(t *testing.T) {
	if _, err := New(Config{Threads: -1}); !errors.Is(err, ErrThreads) {
		t.Fatalf("negative threads: %v", err)
	}
	if _, err := New(Config{CPUs: []int{1 << 20}}); !errors.Is(err, ErrAffinity) {
		t.Fatalf("bad CPU: %v", err)
	}
	m, err := New(Config{})
	if err != nil {
		t.Fatal(err)
	}
	if m.Threads() < 1 || m.Kernel() == nil || !m.Kernel().Supported() {
		t.Fatalf("defaults: %d threads, kernel %v", m.Threads(), m.Kernel())
	}
}

func TestPinnedWorkers(t *testing.T) {
	if !affinitySupported {
		t.Skip("CPU affinity is Linux only")
	}
	m, _, _ := start(t, Config{Threads: 2, CPUs: []int{0}, Kernel: sha256d.Generic()}, nil)
	m.SetWork(&Work{Target: easyTarget(1)})
	collect(t, m, 5)
}

func TestMeter(t *testing.T) {
	var mt meter
	t0 := time.Unix(1000, 0)
	if r := mt.rates(); r.Total != 0 || r.Hashes != 0 {
		t.Fatalf("empty meter: %+v", r)
	}
	// A burst in the first five samples falls out of the window.
	n := rateWindow + 5
	for i := range n {
		burst := uint64(0)
		if i >= 5 {
			burst = 1_000_000
		}
		mt.add(t0.Add(time.Duration(i)*time.Second), []uint64{uint64(i)*100 + burst, uint64(i) * 300})
	}
	r := mt.rates()
	if !slices.Equal(r.PerWorker, []float64{100, 300}) || r.Total != 400 || r.Hashes != uint64(n-1)*400+1_000_000 {
		t.Fatalf("rates %+v", r)
	}
}
