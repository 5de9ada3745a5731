package node

import (
	"crypto/ed25519"
	"math"
	"testing"
	"time"

	"github.com/powmine/powmine/chain"
	"github.com/powmine/powmine/chain/pos"
)

// The proof-of-stake fork-choice tests use three validators: V0, the
// genesis validator (10 coins), and V1 (20 coins) and V2 (10 coins),
// which V0's owner deposits at height 1, active from epoch 1: 40 coins,
// so no single vote justifies (3·20 < 2·40) and V0 with V2 neither.

// posStakes are the deposits of V1 and V2.
var posStakes = [3]uint64{0, 20 * coin, 10 * coin}

// blockTxs returns a block on parent (at height) for slot holding txs
// after its coinbase, sealed by priv with its reveal for revealEpoch.
func (c *posChain) blockTxs(parent chain.Hash, height int64, slot uint64, priv ed25519.PrivateKey, revealEpoch uint64, txs ...chain.Transaction) *chain.Block {
	c.tb.Helper()
	start := pos.SlotStart(time.Unix(posGenesisTime, 0), c.p.SlotDuration, slot)
	b := &chain.Block{
		Header: chain.Header{Version: 1, PrevBlock: parent, Timestamp: uint32(start.Unix()), Bits: c.p.PowLimitBits},
		Transactions: append([]chain.Transaction{{Coinbase: &chain.Coinbase{
			Height: uint32(height), Outputs: []chain.Output{{Address: pubOf(priv).Address(), Amount: 1}},
		}}}, txs...),
	}
	b.Header.MerkleRoot, _ = b.MerkleRoot()
	return c.withSeal(b, priv, slot, revealEpoch)
}

// propose returns the elected proposer's block for slot on c's tip,
// holding txs, and processes it on c: c builds a branch.
func (c *posChain) propose(slot uint64, txs ...chain.Transaction) *chain.Block {
	c.tb.Helper()
	info, err := c.n.Proposer(slot)
	if err != nil {
		c.tb.Fatal(err)
	}
	var priv ed25519.PrivateKey
	for i := range posStakes {
		if pubOf(posKey(i)) == info.Proposer {
			priv = posKey(i)
		}
	}
	tip := c.n.Tip()
	b := c.blockTxs(tip.Hash, tip.Height+1, slot, priv, slot/uint64(c.p.EpochLength), txs...)
	if _, err := c.n.ProcessBlock(b); err != nil {
		c.tb.Fatalf("slot %d: %v", slot, err)
	}
	c.checkAttest()
	return b
}

// checkAttest checks that the attestation recorded on the tip, which the
// node computed from its parent's and the block's changes, is the one the
// whole state gives.
func (c *posChain) checkAttest() {
	c.tb.Helper()
	c.n.mu.RLock()
	defer c.n.mu.RUnlock()
	tip := c.n.view.tip()
	want := attestationOf(c.n.finality, c.p.Epoch(tip.height), tip.justified)
	if !tip.justifiedKnown || tip.attest != want {
		c.tb.Fatalf("tip at height %d: attestation %+v (known %v), the state gives %+v", tip.height, tip.attest, tip.justifiedKnown, want)
	}
}

// vote returns validator i's vote from source to target.
func (c *posChain) vote(i int, source, target chain.Checkpoint) chain.Transaction {
	c.tb.Helper()
	v := chain.Vote{Source: source, Target: target}
	if err := v.Sign(posKey(i), c.p.GenesisHash); err != nil {
		c.tb.Fatal(err)
	}
	return chain.Transaction{Vote: &v}
}

// mustProcess processes blocks on c's node, in order.
func (c *posChain) mustProcess(blocks ...*chain.Block) {
	c.tb.Helper()
	for _, b := range blocks {
		if _, err := c.n.ProcessBlock(b); err != nil {
			c.tb.Fatalf("block at height %d: %v", b.Transactions[0].Coinbase.Height, err)
		}
		c.checkAttest()
	}
}

// wantTip checks that c's tip is b.
func (c *posChain) wantTip(b *chain.Block) {
	c.tb.Helper()
	if got := c.n.Tip(); got.Hash != b.Hash() {
		c.tb.Fatalf("tip %v at height %d, want %v at height %d", got.Hash, got.Height, b.Hash(), b.Transactions[0].Coinbase.Height)
	}
}

// attestOf returns the recorded attestation of b on c's node and whether
// it is known.
func (c *posChain) attestOf(b *chain.Block) (attestation, bool) {
	c.n.mu.RLock()
	defer c.n.mu.RUnlock()
	x := c.n.index[b.Hash()]
	return x.attest, x.justifiedKnown
}

// posForkChain returns a proof-of-stake chain whose clock is at slot 100,
// and block 1 (slot 1), which holds the deposits of V1 and V2.
func posForkChain(tb testing.TB) (*posChain, *chain.Block) {
	tb.Helper()
	c := newPosChain(tb)
	c.at(100)
	var txs []chain.Transaction
	for i := 1; i < len(posStakes); i++ {
		txs = append(txs, c.deposit(i, posStakes[i], uint64(i-1)))
	}
	return c, c.propose(1, txs...)
}

// builder returns a chain that has processed prefix, to build a branch
// on it with propose.
func (c *posChain) builder(prefix ...*chain.Block) *posChain {
	c.tb.Helper()
	b := newPosChain(c.tb)
	b.now = c.now
	b.mustProcess(prefix...)
	return b
}

// cpOf returns the checkpoint of b, which opens an epoch.
func (c *posChain) cpOf(b *chain.Block) chain.Checkpoint {
	c.tb.Helper()
	height := int64(b.Transactions[0].Coinbase.Height)
	if !c.p.IsEpochBoundary(height) {
		c.tb.Fatalf("block at height %d opens no epoch", height)
	}
	return chain.Checkpoint{Epoch: c.p.Epoch(height), Hash: b.Hash()}
}

// TestPoSForkChoiceAttestingStake: in pure proof of stake, at equal
// justified epochs, the branch whose votes carry more stake wins over a
// longer one, whichever arrives first; at equal stake the longer wins;
// a branch tried for its votes that turns out weaker is left again; and
// after a restart the tip's attesting stake is known.
func TestPoSForkChoiceAttestingStake(t *testing.T) {
	c, b1 := posForkChain(t)
	g := chain.Checkpoint{Epoch: 0, Hash: c.p.GenesisHash}

	// Branch A: a2 (its checkpoint of epoch 1), a3 with V1's vote for it
	// (20 coins, not two thirds of 40).
	ba := c.builder(b1)
	a2 := ba.propose(2)
	a3 := ba.propose(3, ba.vote(1, g, ba.cpOf(a2)))
	// Branch B: four blocks, no votes.
	bb := c.builder(b1)
	var branchB []*chain.Block
	for slot := uint64(4); slot <= 7; slot++ {
		branchB = append(branchB, bb.propose(slot))
	}

	// A first, then B: the node stays on A.
	c.mustProcess(a2, a3)
	c.wantTip(a3)
	if a, known := c.attestOf(a3); !known || a != (attestation{epoch: 1, stake: [2]uint64{20 * coin, 0}}) {
		t.Fatalf("a3's attestation %+v, known %v", a, known)
	}
	c.mustProcess(branchB...)
	c.wantTip(a3)
	if a, known := c.attestOf(branchB[3]); !known || a != (attestation{epoch: 2}) {
		t.Fatalf("the longer branch was not tried: %+v, known %v", a, known)
	}
	if j := c.n.Finality().Justified.Epoch; j != 0 {
		t.Fatalf("justified epoch %d: the test wants equal justified epochs", j)
	}

	// B first, then A: the node reorganizes onto the shorter A.
	bFirst, _ := posForkChain(t)
	bFirst.mustProcess(branchB...)
	bFirst.wantTip(branchB[3])
	bFirst.mustProcess(a2)
	bFirst.wantTip(branchB[3])
	bFirst.mustProcess(a3)
	bFirst.wantTip(a3)

	// Branch C: as much stake as A (V0 and V2, 10 coins each) and one
	// block more: the longer wins, whichever comes first.
	bc := c.builder(b1)
	c2 := bc.propose(8)
	c3 := bc.propose(9, bc.vote(0, g, bc.cpOf(c2)), bc.vote(2, g, bc.cpOf(c2)))
	c4 := bc.propose(10)
	c.mustProcess(c2, c3, c4)
	c.wantTip(c4)
	cFirst, _ := posForkChain(t)
	cFirst.mustProcess(c2, c3, c4, a2, a3)
	cFirst.wantTip(c4)

	// Branch E: no votes, five blocks, into epoch 3. A's vote for epoch
	// 1 outweighs E's blocks while E is in epoch 2, where a block still
	// counts votes for epoch 1; E's first block of epoch 3, where none
	// does, leaves A stale with no stake above that epoch: E wins on
	// length.
	be := c.builder(b1)
	var branchE []*chain.Block
	for slot := uint64(20); slot <= 24; slot++ {
		branchE = append(branchE, be.propose(slot))
	}
	eLast, _ := posForkChain(t)
	eLast.mustProcess(a2, a3)
	eLast.mustProcess(branchE[:4]...)
	eLast.wantTip(a3)
	eLast.mustProcess(branchE[4])
	eLast.wantTip(branchE[4])

	// Branch D on bFirst (tip a3): d3 carries a vote, so it is tried,
	// and holds less stake (V2's 10 coins): the node goes back to a3.
	// d4, one block more than a3 and no vote, is tried (it competes with
	// the tip on length) and goes back too.
	bd := c.builder(b1)
	d2 := bd.propose(11)
	d3 := bd.propose(12, bd.vote(2, g, bd.cpOf(d2)))
	d4 := bd.propose(13)
	bFirst.mustProcess(d2)
	bFirst.wantTip(a3)
	bFirst.mustProcess(d3)
	bFirst.wantTip(a3)
	if a, known := bFirst.attestOf(d3); !known || a != (attestation{epoch: 1, stake: [2]uint64{10 * coin, 0}}) {
		t.Fatalf("d3 was not tried: %+v, known %v", a, known)
	}
	bFirst.mustProcess(d4)
	bFirst.wantTip(a3)
	if _, known := bFirst.attestOf(d4); !known {
		t.Fatal("d4 was not tried")
	}

	// After a restart the tip's attestation is known, from the stored
	// state; the node extends A and leaves the longer branches, which it
	// tries once (their bodies are unknown), where they are.
	bFirst.n = bFirst.open()
	if a, known := bFirst.attestOf(a3); !known || a != (attestation{epoch: 1, stake: [2]uint64{20 * coin, 0}}) {
		t.Fatalf("after the restart a3's attestation %+v, known %v", a, known)
	}
	a4 := ba.propose(14)
	bFirst.mustProcess(a4)
	bFirst.wantTip(a4)
	if a, _ := bFirst.attestOf(a4); a != (attestation{epoch: 2, stake: [2]uint64{0, 20 * coin}}) {
		t.Fatalf("a4's attestation %+v", a)
	}

	// j4, beside a4, adds V2's vote for A's checkpoint of epoch 1: 30
	// coins justify it, so j4 wins on the justified epoch, and the votes
	// for epoch 1 no longer count as attesting stake.
	bj := c.builder(b1, a2, a3)
	j4 := bj.propose(30, bj.vote(2, g, bj.cpOf(a2)))
	bFirst.mustProcess(j4)
	bFirst.wantTip(j4)
	if j := bFirst.n.Finality().Justified.Epoch; j != 1 {
		t.Fatalf("justified epoch %d, want 1", j)
	}
	if a, _ := bFirst.attestOf(j4); a != (attestation{epoch: 2}) {
		t.Fatalf("j4's attestation %+v", a)
	}
}

// TestHybridForkChoiceIgnoresVotes: on a hybrid chain the vote stake of
// a branch does not count: at equal justified epochs the branch with
// more work wins over one with a vote.
func TestHybridForkChoiceIgnoresVotes(t *testing.T) {
	h := newHarness(t, false, Config{})
	blocks := stakedChain(h)
	g, cp1 := h.genesisCP(), h.cpOf(blocks[5])
	voted := h.next(blocks[5], 3, h.vote(0, g, cp1))
	heavy := h.branch(blocks[5], 2, 2, 1)
	h.mustProcess(voted)
	h.mustProcess(heavy...)
	h.wantTip(heavy[1])
	if h.node.Finality().Justified.Epoch != 0 {
		t.Fatal("the test wants equal justified epochs")
	}
	h2 := newHarness(t, false, Config{})
	h2.blocks = h.blocks
	h2.mustProcess(blocks[1:]...)
	h2.mustProcess(heavy...)
	h2.mustProcess(voted)
	h2.wantTip(heavy[1])
}

// TestAttestationFrom: the stake of the targets from an epoch on, the
// targets an attestation holds (its epoch and the one before), and the
// saturation of the estimate's largest stakes.
func TestAttestationFrom(t *testing.T) {
	a := attestation{epoch: 5, stake: [2]uint64{3, 4}}
	for w, want := range map[uint64]uint64{0: 7, 4: 7, 5: 3, 6: 0} {
		if got := a.from(w); got != want {
			t.Errorf("from(%d) = %d, want %d", w, got, want)
		}
	}
	if got := (attestation{epoch: 0, stake: [2]uint64{3, 4}}).from(0); got != 3 {
		t.Errorf("epoch 0 has no epoch before it: from(0) = %d, want 3", got)
	}
	top := attestation{epoch: 2, stake: [2]uint64{math.MaxUint64, math.MaxUint64}}
	if got := top.from(1); got != math.MaxUint64 {
		t.Errorf("saturated sum %d", got)
	}
}
