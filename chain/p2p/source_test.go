package p2p

import (
	"testing"

	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/powmine/powmine/chain"
)

// TestSourceSetBound: the first source recorded stays; past the bound
// the oldest entries are forgotten, one for each new one.
func TestSourceSetBound(t *testing.T) {
	const limit = 4
	s := newSourceSet(limit)
	s.record(chain.Hash{0}, "a")
	s.record(chain.Hash{0}, "b")
	if p, ok := s.get(chain.Hash{0}); !ok || p != "a" {
		t.Fatalf("source %q, %v; want the first one", p, ok)
	}
	for i := 1; i < 2*limit+1; i++ {
		s.record(chain.Hash{byte(i)}, peer.ID(rune('a'+i)))
	}
	for i := range 2*limit + 1 {
		_, ok := s.get(chain.Hash{byte(i)})
		if want := i > limit; ok != want {
			t.Errorf("block %d known %v, want %v", i, ok, want)
		}
	}
	if len(s.from) != limit {
		t.Fatalf("%d sources held, want %d", len(s.from), limit)
	}
}

// TestBlockSource: a block gossiped from a to b has a as its source at
// b, and a itself as its source at a, which recorded it as its own;
// a block never seen has none.
func TestBlockSource(t *testing.T) {
	p := &chain.DevParams
	a, b := newTestNode(t, p), newTestNode(t, p)
	connect(t, a, b)
	waitFor(t, "mesh", func() bool { return meshed(a, b) && meshed(b, a) })
	blk := testBlock(t, p, 7, 1, true)
	a.RecordLocalBlock(blk.Hash())
	a.PublishBlock(blk)
	waitFor(t, "block", func() bool { return b.fake.has(blk.Hash(), false) })
	if src, ok := b.BlockSource(blk.Hash()); !ok || src != a.ID() {
		t.Fatalf("source at b %v, %v; want a %v", src, ok, a.ID())
	}
	if src, ok := a.BlockSource(blk.Hash()); !ok || src != a.ID() {
		t.Fatalf("source at a %v, %v; want a itself", src, ok)
	}
	if src, ok := b.BlockSource(chain.Hash{1, 2, 3}); ok {
		t.Fatalf("unknown block has source %v", src)
	}
}
