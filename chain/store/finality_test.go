package store

import (
	"bytes"
	"errors"
	"slices"
	"testing"

	"github.com/powmine/powmine/chain"
	"github.com/powmine/powmine/chain/node"
	"github.com/powmine/powmine/chain/storage"
)

// TestUndoFinalityFormat: an undo record with finality entries
// round-trips in the finality format (with or without validator
// entries), and its decoder is strict.
func TestUndoFinalityFormat(t *testing.T) {
	for _, vals := range [][]storage.ValidatorEntry{nil, {{Key: chain.PublicKey{2}, Validator: chain.Validator{Owner: addr(1), Stake: 5, ActivationEpoch: 1}}}} {
		u := &storage.Undo{
			Accounts:   []storage.AccountEntry{{Address: addr(0), Account: chain.Account{Balance: 5, Sequence: 2}}},
			Validators: vals,
			Finality: []storage.FinalityEntry{
				{Key: storage.JustifiedKey(3)},
				{Key: storage.VoteKey(3, chain.PublicKey{9}), Value: storage.EncodeVoteSource(chain.Checkpoint{Epoch: 2, Hash: chain.Hash{4}})},
			},
		}
		enc := appendUndo(nil, u)
		if enc[0] != undoFinalityFormat {
			t.Fatalf("format %d, want %d", enc[0], undoFinalityFormat)
		}
		got, err := decodeUndo(enc)
		if err != nil || !slices.Equal(got.Accounts, u.Accounts) || !slices.Equal(got.Validators, u.Validators) ||
			!slices.EqualFunc(got.Finality, u.Finality, func(a, b storage.FinalityEntry) bool { return a.Key == b.Key && bytes.Equal(a.Value, b.Value) }) {
			t.Fatalf("finality undo came back as %+v, %v", got, err)
		}
		for n := 1; n < len(enc); n++ {
			if _, err := decodeUndo(enc[:n]); err == nil {
				t.Fatalf("undo cut at %d decodes", n)
			}
		}
		if _, err := decodeUndo(append(bytes.Clone(enc), 0)); !errors.Is(err, errTrailing) {
			t.Fatalf("trailing byte: %v", err)
		}
	}
	// The finality format with no finality entries is not canonical.
	noFin := appendUndo(nil, &storage.Undo{Validators: []storage.ValidatorEntry{{Key: chain.PublicKey{1}}}})
	noFin[0] = undoFinalityFormat
	if _, err := decodeUndo(append(noFin, 0)); !errors.Is(err, errNonCanonical) {
		t.Fatalf("finality format without entries: %v", err)
	}
}

// vote returns validator v's vote (account 100+v's key) from source to
// target, signed for c's network.
func (c *testChain) vote(v int, source, target chain.Checkpoint) chain.Transaction {
	c.tb.Helper()
	vt := chain.Vote{Source: source, Target: target}
	if err := vt.Sign(testKey(100+v), c.p.GenesisHash); err != nil {
		c.tb.Fatal(err)
	}
	return chain.Transaction{Vote: &vt}
}

// finalityScenario: three validators deposit at height 1; votes justify
// epoch 1 and 2 (finalizing 1) on branch a; validator 2 is slashed; a
// lighter branch b from height 6 carries other votes; a heavier branch
// c from height 10 has no votes (epoch 2 not justified there).
func (c *testChain) finalityScenario() *scenario {
	g := c.genesis
	gcp := chain.Checkpoint{Epoch: 0, Hash: g.Hash()}
	b1 := c.next(g, 10, 0, deposit(c.tb, 0, 0, 10*chain.BaseUnitsPerCoin, 0, 0),
		deposit(c.tb, 1, 1, 10*chain.BaseUnitsPerCoin, 0, 0), deposit(c.tb, 2, 2, 10*chain.BaseUnitsPerCoin, 0, 0))
	blocks := []*chain.Block{b1}
	p := b1
	for range 4 { // heights 2..5
		p = c.next(p, 10, 0)
		blocks = append(blocks, p)
	}
	cp1 := chain.Checkpoint{Epoch: 1, Hash: p.Hash()}
	b6 := c.next(p, 10, 0, c.vote(0, gcp, cp1), c.vote(1, gcp, cp1))
	side := c.next(p, 11, 0, c.vote(2, gcp, cp1)) // lighter: never connected
	blocks = append(blocks, b6, side)
	p = b6
	for range 4 { // heights 7..10
		p = c.next(p, 10, 0)
		blocks = append(blocks, p)
	}
	cp2 := chain.Checkpoint{Epoch: 2, Hash: p.Hash()}
	a1, a2 := c.vote(2, gcp, chain.Checkpoint{Epoch: 3, Hash: chain.Hash{1}}), c.vote(2, cp1, chain.Checkpoint{Epoch: 3, Hash: chain.Hash{2}})
	slash := chain.Transaction{Slash: &chain.Slash{Evidence: chain.NewEvidence(*a1.Vote, *a2.Vote), Reporter: addr(3)}}
	b11 := c.next(p, 10, 0, c.vote(0, cp1, cp2), c.vote(1, cp1, cp2), slash)
	blocks = append(blocks, b11)
	// Branch c from height 10, two blocks: heavier than b11 alone.
	q := c.next(p, 12, 0)
	q2 := c.next(q, 12, 0)
	blocks = append(blocks, q, q2)
	s := &scenario{blocks: blocks}
	for _, i := range []int{0, 1, 2, 3, 10, 11, 12} {
		s.addrs = append(s.addrs, addr(i))
	}
	return s
}

// TestFinalityReopenReindex runs the finality scenario on a DB and on a
// MemStore, and checks that the finality state (and the accounts, with
// rewards and the slash) agree, after a restart, and after a reindex.
// Branch c is heavier than b11 but justifies less: the node tries it and
// comes back, undoing and redoing b11's votes and slash.
func TestFinalityReopenReindex(t *testing.T) {
	c := newTestChain(t, "finality", 4)
	s := c.finalityScenario()
	b11 := s.blocks[len(s.blocks)-3]
	want := runScenario(t, c, s, node.NewMemStore())
	if info := want.Finality(); info.Justified.Epoch != 2 || info.Finalized.Epoch != 1 || want.Tip().Hash != b11.Hash() {
		t.Fatalf("after the scenario: %+v, tip %v", info, want.Tip().Hash)
	}
	db, path := openTemp(t, c)
	got := runScenario(t, c, s, db)
	wantSameNode(t, want, got, c, s, false)
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	db, again := reopen(t, c, path)
	wantSameNode(t, want, again, c, s, false)
	// The reopened node goes on from its stored records.
	b := c.next(b11, 10, 0)
	b2 := c.next(b, 10, 0)
	for _, n := range []*node.Node{want, again} {
		for _, blk := range []*chain.Block{b, b2} {
			if _, err := n.ProcessBlock(blk); err != nil {
				t.Fatal(err)
			}
		}
	}
	s.blocks = append(s.blocks, b, b2)
	wantSameNode(t, want, again, c, s, false)
	if len(mustLoad(t, db).Finality) == 0 {
		t.Fatal("no finality records stored")
	}

	re, err := node.Reindex(c.config(nil), db)
	if err != nil {
		t.Fatal(err)
	}
	wantSameNode(t, want, re, c, s, true)
}

// TestFinalityCommitFailure fails the commit of a block whose votes
// justify a checkpoint at each stage of the bbolt transaction (as a kill
// would interrupt it): after reopening, the store holds the state before
// the block, finality included, and the block then connects normally.
func TestFinalityCommitFailure(t *testing.T) {
	c := newTestChain(t, "finality-crash", 4)
	s := c.finalityScenario()
	pre := &scenario{blocks: s.blocks[:5], addrs: s.addrs} // up to height 5
	b6 := s.blocks[5]
	want := runScenario(t, c, pre, node.NewMemStore())
	for _, stage := range []string{"blocks", "undo", "accounts", "validators", "finality", "tip"} {
		db, path := openTemp(t, c)
		n := runScenario(t, c, pre, db)
		db.commitHook = func(s string) error {
			if s == stage {
				return errors.New("injected at " + s)
			}
			return nil
		}
		if _, err := n.ProcessBlock(b6); err == nil {
			t.Fatalf("%s: ProcessBlock succeeded through a failing commit", stage)
		}
		db.commitHook = nil
		if err := db.Close(); err != nil {
			t.Fatal(err)
		}
		_, again := reopen(t, c, path)
		wantSameNode(t, want, again, c, pre, false)
		if _, err := again.ProcessBlock(b6); err != nil {
			t.Fatalf("%s: %v", stage, err)
		}
		if info := again.Finality(); info.Justified.Epoch != 1 {
			t.Fatalf("%s: after the retry %+v", stage, info)
		}
	}
}
