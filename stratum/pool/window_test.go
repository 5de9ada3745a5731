package pool

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"math"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// windowOf returns a window of n shares of addresses tag 1..3.
func windowOf(n int) *pplns {
	p := newPPLNS()
	for i := range n {
		p.add(testAddr(byte(1+i%3)), float64(i+1)/8)
	}
	return p
}

// resum replaces a window file's checksum with the right one.
func resum(b []byte) []byte {
	body := b[:len(b)-sha256.Size]
	sum := sha256.Sum256(body)
	return append(slices.Clone(body), sum[:]...)
}

func TestWindowFileRoundTrip(t *testing.T) {
	for _, n := range []int{0, 1, 100} {
		p := windowOf(n)
		shares, err := unmarshalWindow(p.marshal())
		if err != nil {
			t.Fatalf("%d shares: %v", n, err)
		}
		q := newPPLNS()
		for _, s := range shares {
			q.add(s.addr, s.diff)
		}
		if got, want := q.payouts(1e9, testAddr(9)), p.payouts(1e9, testAddr(9)); !slices.Equal(got, want) {
			t.Errorf("%d shares: payouts %v after the round trip, want %v", n, got, want)
		}
	}
}

func TestWindowFileErrors(t *testing.T) {
	good := windowOf(3).marshal()
	share := func(i int) []byte { return good[windowHeaderSize+i*windowShareSize:] }
	withDiff := func(d float64) []byte {
		b := slices.Clone(good)
		binary.LittleEndian.PutUint64(b[windowHeaderSize+20:], math.Float64bits(d))
		return resum(b)
	}
	withCount := func(n uint32) []byte {
		b := slices.Clone(good)
		binary.LittleEndian.PutUint32(b[len(windowMagic):], n)
		return resum(b)
	}
	flipped := slices.Clone(good)
	flipped[len(flipped)/2] ^= 1
	for name, b := range map[string][]byte{
		"empty":            nil,
		"other magic":      resum(append([]byte("powmine-pplns-2\n"), good[len(windowMagic):]...)),
		"flipped byte":     flipped,
		"truncated":        good[:len(good)-1],
		"truncated, resum": resum(good[:len(good)-1]),
		"count too high":   withCount(4),
		"count over limit": withCount(MaxWindowShares + 1),
		"zero difficulty":  withDiff(0),
		"negative":         withDiff(-1),
		"NaN":              withDiff(math.NaN()),
		"infinite":         withDiff(math.Inf(1)),
		"extra share":      resum(slices.Concat(good[:len(good)-sha256.Size], share(0)[:windowShareSize], make([]byte, sha256.Size))),
	} {
		if _, err := unmarshalWindow(b); !errors.Is(err, ErrWindowFile) {
			t.Errorf("%s: %v, want ErrWindowFile", name, err)
		}
	}
}

// FuzzWindowFile: decoding never panics, and what decodes encodes back
// to the same bytes.
func FuzzWindowFile(f *testing.F) {
	f.Add(windowOf(0).marshal())
	f.Add(windowOf(5).marshal())
	f.Fuzz(func(t *testing.T, b []byte) {
		shares, err := unmarshalWindow(b)
		if err != nil {
			return
		}
		p := newPPLNS()
		for _, s := range shares {
			p.add(s.addr, s.diff)
		}
		if got := p.marshal(); string(got) != string(b) {
			t.Fatalf("re-encoded %x, want %x", got, b)
		}
	})
}

// TestWindowFileRestart: the window a server had when it stopped is the
// window of the next one on the same file; a bad file stops New with an
// error naming it.
func TestWindowFileRestart(t *testing.T) {
	d := newTestDaemon(t)
	path := filepath.Join(t.TempDir(), "pplns.dat")
	run := func() (*Server, func() error) {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		s, err := New(Config{Node: d, PoolAddress: testAddr(0xee), Listener: ln, WindowFile: path})
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		go func() { done <- s.Run(ctx) }()
		return s, func() error { cancel(); return <-done }
	}
	s, stop := run()
	for i := range 10 {
		s.pplns.add(testAddr(byte(1+i%2)), 0.5)
	}
	want := s.pplns.payouts(1e9, testAddr(9))
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	s2, stop2 := run()
	if got := s2.pplns.payouts(1e9, testAddr(9)); !slices.Equal(got, want) {
		t.Errorf("payouts after a restart %v, want %v", got, want)
	}
	if err := stop2(); err != nil {
		t.Fatal(err)
	}

	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	raw[len(raw)-1] ^= 1
	if err := os.WriteFile(path, raw, 0o600); err != nil {
		t.Fatal(err)
	}
	_, err = New(Config{Node: d, PoolAddress: testAddr(0xee), WindowFile: path})
	if !errors.Is(err, ErrWindowFile) || !strings.Contains(err.Error(), path) {
		t.Fatalf("New with a corrupt window file: %v", err)
	}
}
