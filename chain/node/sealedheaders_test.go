package node

import (
	"crypto/ed25519"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/powmine/powmine/chain"
	"github.com/powmine/powmine/chain/pos"
)

// growingChain returns a proof-of-stake chain whose block 1 deposits
// V1 and V2 (see posForkChain) and whose next blocks, up to slot last,
// come from the elected proposers, the blocks, and the index of the
// first block sealed by V1 or V2, a key the genesis state lacks.
func growingChain(t *testing.T, last uint64) (*posChain, []*chain.Block, int) {
	t.Helper()
	c, b1 := posForkChain(t)
	blocks := []*chain.Block{b1}
	for slot := uint64(2); slot <= last; slot++ {
		blocks = append(blocks, c.propose(slot))
	}
	first := slices.IndexFunc(blocks, func(b *chain.Block) bool { return sealOf(t, b).Proposer != pubOf(c.priv) })
	if first < 0 {
		t.Fatal("test bug: V0 proposed every block")
	}
	return c, blocks, first
}

// sealOf returns b's decoded seal.
func sealOf(tb testing.TB, b *chain.Block) pos.Seal {
	tb.Helper()
	var s pos.Seal
	if err := s.UnmarshalBinary(b.Seal[:]); err != nil {
		tb.Fatal(err)
	}
	return s
}

// fresh returns a node of c's chain holding only genesis, on c's clock.
func (c *posChain) fresh() *posChain {
	c.tb.Helper()
	d := newPosChain(c.tb)
	d.now = c.now
	return d
}

// syncBlocks hands d the blocks it misses towards its best header, from
// blocks, and fails unless its tip is then want.
func (d *posChain) syncBlocks(blocks []*chain.Block, want *chain.Block) {
	d.tb.Helper()
	for {
		missing := d.n.MissingBlocks(16)
		if len(missing) == 0 {
			break
		}
		for _, h := range missing {
			i := slices.IndexFunc(blocks, func(b *chain.Block) bool { return b.Hash() == h })
			if i < 0 {
				d.tb.Fatalf("missing block %v is none of the chain's", h)
			}
			if _, err := d.n.ProcessBlock(blocks[i]); err != nil {
				d.tb.Fatal(err)
			}
		}
	}
	d.wantTip(want)
}

// TestSealedHeadersGrowingValidators: a node that holds only genesis
// takes an honest chain's sealed headers up to the first sealed by a
// validator deposited on the chain (V1 or V2, not registered at its
// tip): that one stops the list with ErrUnregisteredProposer, which is
// no rule error, and the headers before it are added. Once their blocks
// are connected (the deposits register V1 and V2), the same list again
// brings the rest, and the blocks connect to the chain's tip.
func TestSealedHeadersGrowingValidators(t *testing.T) {
	c, blocks, first := growingChain(t, 30)
	d := c.fresh()
	hs, seals := sealedHeaders(blocks...)
	res, err := d.n.ProcessSealedHeaders(hs, seals)
	if !errors.Is(err, ErrUnregisteredProposer) || errors.As(err, new(chain.RuleError)) {
		t.Fatalf("header by a key the tip lacks: %v, want ErrUnregisteredProposer and no rule error", err)
	}
	if res.Added != first || res.Last.Hash != blocks[first-1].Hash() || d.n.BestHeader().Hash != blocks[first-1].Hash() {
		t.Fatalf("%+v, best header %v; want the %d headers before the first by V1 or V2", res, d.n.BestHeader().Hash, first)
	}
	d.syncBlocks(blocks, blocks[first-1])
	res, err = d.n.ProcessSealedHeaders(hs, seals)
	if err != nil || res.Added != len(blocks)-first {
		t.Fatalf("the rest, once the deposits are connected: %+v, %v; want %d added", res, err, len(blocks)-first)
	}
	d.syncBlocks(blocks, blocks[len(blocks)-1])
}

// TestSealedHeadersBadSeal: a header whose seal fails (a forged
// signature or reveal, a seal of another slot than the header's time,
// one that does not decode) is refused with a chain.ErrBadSeal
// RuleError, the headers before it taken; its hash is not remembered as
// refused, so the same header with its honest seal is taken next.
func TestSealedHeadersBadSeal(t *testing.T) {
	c := newPosChain(t)
	c.at(20)
	blocks := c.genesisRun(8)
	const bad = 5
	target := blocks[bad]
	badSig := *badSignature(target).Seal
	badReveal := *c.withSeal(target, c.priv, bad+1, 0).Seal // slot 6 is in epoch 3
	otherSlot := *c.withSeal(target, c.priv, bad+2, (bad+2)/2).Seal
	malformed := *target.Seal
	malformed[0] = pos.SealVersion + 1
	for _, tc := range []struct {
		name  string
		seal  chain.BlockSeal
		code  pos.ErrorCode // -1: none
		added int
	}{
		{"forged signature", badSig, pos.ErrBadSealSignature, bad},
		{"reveal of another epoch", badReveal, pos.ErrBadReveal, 0}, // the headers before it are in the index now
		{"seal of another slot", otherSlot, -1, 0},
		{"malformed", malformed, pos.ErrMalformed, 0},
	} {
		hs, seals := sealedHeaders(blocks...)
		seals[bad] = tc.seal
		res, err := c.n.ProcessSealedHeaders(hs, seals)
		var rerr chain.RuleError
		if !errors.As(err, &rerr) || rerr.Code != chain.ErrBadSeal {
			t.Fatalf("%s: %v, want ErrBadSeal", tc.name, err)
		}
		if tc.code >= 0 {
			wantPosCode(t, err, tc.code)
		}
		if res.Added != tc.added || c.n.BestHeader().Hash != blocks[bad-1].Hash() {
			t.Fatalf("%s: %+v, best header %v; want %d added, up to the header before", tc.name, res, c.n.BestHeader().Hash, tc.added)
		}
		c.n.mu.RLock()
		_, remembered := c.n.rejected.get(target.Hash())
		c.n.mu.RUnlock()
		if remembered {
			t.Fatalf("%s: the header's hash is remembered as refused", tc.name)
		}
	}
	res, err := c.n.ProcessSealedHeaders(sealedHeaders(blocks...))
	if err != nil || res.Added != len(blocks)-bad || c.n.BestHeader().Hash != blocks[len(blocks)-1].Hash() {
		t.Fatalf("the honest seals: %+v, %v; want the rest added", res, err)
	}
	c.syncBlocks(blocks, blocks[len(blocks)-1])
}

// TestSealedHeadersSealSlot: the slot of a header's seal must be the one
// its time starts and come after its parent's: with slots shorter than a
// second a time starts several, and a seal may name one the header's
// ancestors took (refused, chain.ErrBadSeal wrapping
// ErrSlotNotAfterParent) or one to come (chain.ErrTimeTooNew wrapping
// ErrFutureSlot, no fault, taken in its slot), where the header's time
// alone passes.
func TestSealedHeadersSealSlot(t *testing.T) {
	c := newPosChain(t)
	c.p.SlotDuration = 500 * time.Millisecond // second 1: slots 2 and 3
	c.at(3)
	genesis := c.n.Tip().Hash
	h1, s1 := c.sealedHeader(genesis, 2, 0)
	if _, err := c.n.ProcessSealedHeaders(one(h1, s1)); err != nil {
		t.Fatal(err)
	}
	// A child in second 1 takes slot 3; its seal says 2, h1's.
	_, err := c.n.ProcessSealedHeaders(one(c.sealedHeader(h1.Hash(), 2, 1)))
	wantPosCode(t, err, pos.ErrSlotNotAfterParent)
	if _, err := c.n.ProcessSealedHeaders(one(c.sealedHeader(h1.Hash(), 3, 1))); err != nil {
		t.Fatalf("the child in slot 3: %v", err)
	}

	c.p.SlotDuration = 250 * time.Millisecond // second 1: slots 4 to 7
	c.at(4)                                   // slots up to 6 have started, clock skew included
	h, s := c.sealedHeader(genesis, 7, 2)
	_, err = c.n.ProcessSealedHeaders(one(h, s))
	var rerr chain.RuleError
	var perr pos.RuleError
	if !errors.As(err, &rerr) || rerr.Code != chain.ErrTimeTooNew || !errors.As(err, &perr) || perr.Code != pos.ErrFutureSlot {
		t.Fatalf("a seal of a slot to come: %v, want ErrTimeTooNew wrapping ErrFutureSlot", err)
	}
	c.at(7)
	if _, err := c.n.ProcessSealedHeaders(one(h, s)); err != nil {
		t.Fatalf("the same header in its slot: %v", err)
	}
}

// TestSealedHeadersAhead: checkSealsAhead checks the signatures and
// reveals of the headers after those the index holds, up to the first
// by a key not registered at the tip; a header outside them is checked
// alone when it is reached (the index or the validators changed
// meanwhile).
func TestSealedHeadersAhead(t *testing.T) {
	c := newPosChain(t)
	c.at(20)
	blocks := c.genesisRun(6)
	parent := blocks[len(blocks)-1].Hash()
	if _, err := c.n.ProcessSealedHeaders(sealedHeaders(blocks[:2]...)); err != nil {
		t.Fatal(err)
	}
	decoded := make([]pos.Seal, len(blocks)+2)
	hashes := make([]chain.Hash, len(blocks)+2)
	for i, b := range blocks {
		decoded[i], hashes[i] = sealOf(t, b), b.Hash()
	}
	for i, slot := range []uint64{7, 8} { // by a key not registered, then by V0
		h := c.posHeader(parent, slot, 0)
		s := c.sealHeader(&h, []ed25519.PrivateKey{posKey(5), c.priv}[i], slot)
		if err := decoded[len(blocks)+i].UnmarshalBinary(s[:]); err != nil {
			t.Fatal(err)
		}
		hashes[len(blocks)+i] = h.Hash()
		parent = h.Hash()
	}
	if pre := c.n.checkSealsAhead(decoded, hashes); pre.from != 2 || pre.upTo != len(blocks) || pre.bad != -1 {
		t.Fatalf("checked ahead %+v, want from 2 up to %d", pre, len(blocks))
	}
	decoded[4].Signature[0] ^= 1
	if pre := c.n.checkSealsAhead(decoded, hashes); pre.from != 2 || pre.upTo != 4 || pre.bad != 4 || pre.badErr == nil {
		t.Fatalf("checked ahead %+v, want header 4 bad", pre)
	}

	// Alone: a good seal passes, a forged one fails.
	none := sealsChecked{bad: -1}
	prev := c.n.index[hashes[1]]
	honest, forged := sealOf(t, blocks[2]), sealOf(t, blocks[2])
	forged.Signature[0] ^= 1
	c.n.writeMu.Lock()
	good := c.n.checkHeaderSeal(&honest, &blocks[2].Header, hashes[2], prev, c.now, 2, &none)
	bad := c.n.checkHeaderSeal(&forged, &blocks[2].Header, hashes[2], prev, c.now, 2, &none)
	c.n.writeMu.Unlock()
	if good != nil {
		t.Fatalf("a good seal checked alone: %v", good)
	}
	wantPosCode(t, bad, pos.ErrBadSealSignature)
}

// TestSealedHeadersPoW: a proof-of-work chain takes no seals.
func TestSealedHeadersPoW(t *testing.T) {
	h := newHarness(t, true, Config{})
	a := h.branch(h.genesis, 1, 1, 10)
	if _, err := h.node.ProcessSealedHeaders(headersOf(a), make([]chain.BlockSeal, 1)); !errors.Is(err, ErrNotPoS) {
		t.Fatalf("sealed headers on a proof-of-work chain: %v, want ErrNotPoS", err)
	}
	h.mustHeaders(a, 1)
}

// TestMainChainSealedHeaders: the answer to a sealed-headers request is
// the best chain's headers after the locator, each with its block's
// seal from the store; a proof-of-work chain has none.
func TestMainChainSealedHeaders(t *testing.T) {
	c, blocks, _ := growingChain(t, 12)
	for _, tc := range []struct {
		locator []chain.Hash
		limit   int
		want    []*chain.Block
	}{
		{[]chain.Hash{blocks[2].Hash(), c.g.Hash()}, 5, blocks[3:8]},
		{[]chain.Hash{{0x99}}, 100, blocks},
		{[]chain.Hash{blocks[len(blocks)-1].Hash()}, 100, nil},
	} {
		hs, seals, err := c.n.MainChainSealedHeaders(tc.locator, tc.limit)
		wantHs, wantSeals := sealedHeaders(tc.want...)
		if err != nil || !slices.Equal(hs, wantHs) || !slices.Equal(seals, wantSeals) {
			t.Fatalf("after %v: %d headers, %d seals, %v; want %d of each", tc.locator[0], len(hs), len(seals), err, len(tc.want))
		}
	}
	h := newHarness(t, true, Config{})
	if _, _, err := h.node.MainChainSealedHeaders([]chain.Hash{h.genesis.Hash()}, 10); !errors.Is(err, ErrNotPoS) {
		t.Fatalf("a proof-of-work chain: %v, want ErrNotPoS", err)
	}
}

// genesisRun returns n blocks on the tip, in slots 1 to n, sealed by the
// genesis validator (its sole proposer).
func (c *posChain) genesisRun(n uint64) []*chain.Block {
	var blocks []*chain.Block
	parent := c.n.Tip().Hash
	for slot := uint64(1); slot <= n; slot++ {
		b := c.block(parent, int64(slot), slot, c.priv, slot/uint64(c.p.EpochLength))
		blocks = append(blocks, b)
		parent = b.Hash()
	}
	return blocks
}
