package node

import (
	"bytes"
	"crypto/ed25519"
	"maps"
	"testing"
	"time"

	"github.com/powmine/powmine/chain"
	"github.com/powmine/powmine/chain/pos"
	"github.com/powmine/powmine/chain/storage"
)

// sealedWith returns c.block(parent, height, slot, priv, slot's epoch)
// with txs after its coinbase and the coinbase paying pay, sealed again:
// a second pay makes a second block of the same slot.
func (c *posChain) sealedWith(parent chain.Hash, height int64, slot uint64, priv ed25519.PrivateKey, pay uint64, txs ...chain.Transaction) *chain.Block {
	c.tb.Helper()
	epoch := slot / uint64(c.p.EpochLength)
	b := c.block(parent, height, slot, priv, epoch)
	b.Transactions[0].Coinbase.Outputs[0].Amount = pay
	b.Transactions = append(b.Transactions, txs...)
	b.Header.MerkleRoot, _ = b.MerkleRoot()
	return c.withSeal(b, priv, slot, epoch)
}

// signedHeader returns the signed header of b's seal.
func signedHeader(t *testing.T, b *chain.Block) chain.SignedHeader {
	var s pos.Seal
	if err := s.UnmarshalBinary(b.Seal[:]); err != nil {
		t.Fatal(err)
	}
	return s.Header(b.Hash())
}

// watch returns a SealWatch of c's node's validators.
func (c *posChain) watch() *SealWatch {
	return NewSealWatch(c.p, func(k chain.PublicKey) bool { return c.n.Validator(k) != (chain.Validator{}) })
}

// posState is the state a slash changes: accounts, validators and the
// finality records (slashed keys, beacon).
type posState struct {
	accounts   map[chain.Address]chain.Account
	validators map[chain.PublicKey]chain.Validator
	finality   map[string][]byte
}

func (c *posChain) state() posState {
	c.n.mu.RLock()
	defer c.n.mu.RUnlock()
	return posState{maps.Clone(c.n.accounts), maps.Clone(c.n.validators), maps.Clone(c.n.finality)}
}

func (s posState) equal(o posState) bool {
	return maps.Equal(s.accounts, o.accounts) && maps.Equal(s.validators, o.validators) &&
		maps.EqualFunc(s.finality, o.finality, bytes.Equal)
}

// TestSealWatch: the watch reports an equivocation once, when it has seen
// two blocks of one slot sealed by one registered proposer with valid
// signatures, whether the node connects the second or not; it ignores a
// bad signature, an unregistered key, a block shown again and slots
// outside its window.
func TestSealWatch(t *testing.T) {
	c := newPosChain(t)
	c.at(5)
	w := c.watch()
	g := c.n.Tip().Hash
	a := c.sealedWith(g, 1, 2, c.priv, 1)
	b := c.sealedWith(g, 1, 2, c.priv, 2)
	forged := c.sealedWith(g, 1, 2, c.priv, 3)
	forged.Seal[chain.SealSize-1] ^= 1
	stranger := c.sealedWith(g, 1, 2, posKey(7), 1)
	stranger2 := c.sealedWith(g, 1, 2, posKey(7), 2)
	now := c.now
	for name, blk := range map[string]*chain.Block{"bad signature": forged, "unregistered": stranger} {
		if _, ok := w.Observe(blk, now); ok {
			t.Fatalf("%s: reported", name)
		}
	}
	if _, ok := w.Observe(stranger2, now); ok {
		t.Fatal("two seals of an unregistered key reported")
	}
	if _, err := c.n.ProcessBlock(a); err != nil {
		t.Fatal(err)
	}
	for range 2 {
		if _, ok := w.Observe(a, now); ok {
			t.Fatal("one block reported")
		}
	}
	if _, ok := w.Observe(forged, now); ok {
		t.Fatal("a forged second seal reported")
	}
	// b is not connected (a holds slot 2 at height 1 and came first);
	// the watch does not care.
	c.n.ProcessBlock(b)
	ev, ok := w.Observe(b, now)
	if !ok || ev.Verify(c.p.GenesisHash) != nil || ev.Proposer() != pubOf(c.priv) || ev.A.Slot != 2 {
		t.Fatalf("equivocation not reported: %v %+v", ok, ev)
	}
	if want := chain.NewProposerEvidence(signedHeader(t, a), signedHeader(t, b)); ev != want {
		t.Fatal("evidence is not the two blocks' signed headers")
	}
	if _, ok := w.Observe(b, now); ok {
		t.Fatal("reported twice")
	}
	// Outside the window: a slot too old, a slot too far ahead.
	old, ahead := c.now.Add(SealWatchSlots*c.p.SlotDuration), c.now.Add(-5*c.p.SlotDuration) // slots 517 and 0
	w2 := c.watch()
	for name, at := range map[string]time.Time{"old": old, "ahead": ahead} {
		w2.Observe(a, at)
		if _, ok := w2.Observe(b, at); ok {
			t.Fatalf("%s slot reported", name)
		}
	}
	if NewSealWatch(&chain.DevParams, nil) != nil {
		t.Fatal("a watch on a proof-of-work chain")
	}
	var none *SealWatch
	if _, ok := none.Observe(a, now); ok {
		t.Fatal("nil watch reported")
	}
}

// TestSealWatchBound: at most MaxSealsPerSlot proposers are remembered in
// one slot, and slots older than SealWatchSlots are forgotten.
func TestSealWatchBound(t *testing.T) {
	c := newPosChain(t)
	c.at(SealWatchSlots + 10)
	w := NewSealWatch(c.p, func(chain.PublicKey) bool { return true })
	g := c.n.Tip().Hash
	for i := range MaxSealsPerSlot + 2 {
		w.Observe(c.sealedWith(g, 1, 20, posKey(10+i), 1), c.now)
	}
	if n := len(w.slots[20]); n != MaxSealsPerSlot {
		t.Fatalf("%d seals remembered in one slot, want %d", n, MaxSealsPerSlot)
	}
	// Twenty slots later slot 20 is out of the window: it goes once
	// the watch holds more slots than the window.
	later := c.now.Add(20 * c.p.SlotDuration)
	for slot := uint64(21); slot <= SealWatchSlots+31; slot++ {
		w.Observe(c.sealedWith(g, 1, slot, c.priv, 1), later)
	}
	if len(w.slots) > SealWatchSlots+1 {
		t.Fatalf("%d slots remembered, want at most %d", len(w.slots), SealWatchSlots+1)
	}
	if w.slots[20] != nil {
		t.Fatal("a slot outside the window kept")
	}
}

// TestProposerSlash: an equivocation the watch reports becomes a proposer
// slash that a block connects: the proposer is marked slashed and ends at
// the next epoch, the reporter gets Stake/SlashReporterShareDenom, the
// rest is burned; the same evidence is refused afterwards (typed, state
// unchanged); disconnecting the block restores the state exactly.
func TestProposerSlash(t *testing.T) {
	c := newPosChain(t)
	c.at(10)
	w := c.watch()
	g := c.n.Tip().Hash
	a := c.sealedWith(g, 1, 1, c.priv, 1)
	b := c.sealedWith(g, 1, 1, c.priv, 2)
	for _, blk := range []*chain.Block{a, b} {
		c.n.ProcessBlock(blk)
	}
	w.Observe(a, c.now)
	ev, ok := w.Observe(b, c.now)
	if !ok {
		t.Fatal("no evidence")
	}
	reporter := pubOf(posKey(3)).Address()
	tx := chain.Transaction{ProposerSlash: &chain.ProposerSlash{Evidence: ev, Reporter: reporter}}
	if err := chain.CheckTransactionSanity(&tx, c.p); err != nil {
		t.Fatal(err)
	}
	if err := c.n.CheckFinalityTx(&tx); err != nil {
		t.Fatal(err)
	}
	tip := c.n.Tip()
	key := pubOf(c.priv)
	val := c.n.Validator(key)
	before := c.state()
	blk := c.sealedWith(tip.Hash, tip.Height+1, 2, c.priv, 1, tx)
	if _, err := c.n.ProcessBlock(blk); err != nil {
		t.Fatal(err)
	}
	if c.n.Tip().Hash != blk.Hash() {
		t.Fatal("the block with the slash is not the tip")
	}
	after := c.state()
	share := val.Stake / c.p.SlashReporterShareDenom
	if share == 0 || after.accounts[reporter].Balance != share {
		t.Fatalf("reporter has %d, want %d", after.accounts[reporter].Balance, share)
	}
	next := c.p.Epoch(tip.Height+1) + 1
	if v := c.n.Validator(key); v.ExitEpoch != next || v.Stake != val.Stake {
		t.Fatalf("slashed validator %+v, want exit at epoch %d", v, next)
	}
	if after.finality[storage.SlashedKey(key)] == nil {
		t.Fatal("no slashed record")
	}
	// The same evidence again, a fresh report of it, and a vote slash of
	// the same validator: each refused, nothing changes.
	again := tx
	again.ProposerSlash = &chain.ProposerSlash{Evidence: ev, Reporter: pubOf(posKey(4)).Address()}
	va, vb := chain.Vote{Source: chain.Checkpoint{Epoch: 0}, Target: chain.Checkpoint{Epoch: 1, Hash: chain.Hash{1}}}, chain.Vote{Source: chain.Checkpoint{Epoch: 0}, Target: chain.Checkpoint{Epoch: 1, Hash: chain.Hash{2}}}
	va.Sign(c.priv, c.p.GenesisHash)
	vb.Sign(c.priv, c.p.GenesisHash)
	voteSlash := chain.Transaction{Slash: &chain.Slash{Evidence: chain.NewEvidence(va, vb), Reporter: reporter}}
	for name, x := range map[string]*chain.Transaction{"replay": &tx, "other reporter": &again, "vote slash": &voteSlash} {
		if err := chain.CheckTransactionSanity(x, c.p); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		wantCode(t, c.n.CheckFinalityTx(x), chain.ErrSlashedValidator)
	}
	// A block replaying it on the tip is refused with the typed error
	// (slot 3: epoch 1, where the validator is still active).
	_, err := c.n.ProcessBlock(c.sealedWith(blk.Hash(), tip.Height+2, 3, c.priv, 1, again))
	wantCode(t, err, chain.ErrSlashedValidator)
	if !c.state().equal(after) || c.n.Tip().Hash != blk.Hash() {
		t.Fatal("a refused replay changed the state")
	}
	// Undo: disconnecting the block restores the state exactly.
	c.n.writeMu.Lock()
	err = c.n.disconnectTip()
	c.n.writeMu.Unlock()
	if err != nil {
		t.Fatal(err)
	}
	if !c.state().equal(before) {
		t.Fatal("undo did not restore the state")
	}
	if !c.n.Validator(key).ActiveAt(2) || c.n.Account(reporter).Balance != 0 {
		t.Fatal("undo left the slash")
	}
}

// TestProposerSlashRefused: evidence against an unregistered key is
// refused with ErrUnknownValidator, on a proof-of-work chain with
// ErrNotProofOfStake, and bad evidence (two slots, two proposers, the
// same header twice, a bad signature, non-canonical order) with
// ErrInvalidEvidence or ErrBadSignature; nothing changes.
func TestProposerSlashRefused(t *testing.T) {
	c := newPosChain(t)
	c.at(10)
	seal := func(priv ed25519.PrivateKey, slot uint64, h chain.Hash) chain.SignedHeader {
		m := chain.SealMessage(c.p.GenesisHash, slot, h)
		return chain.SignedHeader{HeaderHash: h, Slot: slot, Proposer: pubOf(priv), Signature: chain.Signature(ed25519.Sign(priv, m[:]))}
	}
	slash := func(ev chain.ProposerEvidence) chain.Transaction {
		return chain.Transaction{ProposerSlash: &chain.ProposerSlash{Evidence: ev, Reporter: pubOf(posKey(3)).Address()}}
	}
	good := chain.NewProposerEvidence(seal(c.priv, 4, chain.Hash{1}), seal(c.priv, 4, chain.Hash{2}))
	badSig := good
	badSig.B.Signature[1] ^= 1
	before := c.state()
	for _, tc := range []struct {
		name string
		ev   chain.ProposerEvidence
		want chain.ErrorCode
	}{
		{"two slots", chain.NewProposerEvidence(seal(c.priv, 4, chain.Hash{1}), seal(c.priv, 5, chain.Hash{2})), chain.ErrInvalidEvidence},
		{"two proposers", chain.NewProposerEvidence(seal(c.priv, 4, chain.Hash{1}), seal(posKey(3), 4, chain.Hash{2})), chain.ErrInvalidEvidence},
		{"same header twice", chain.ProposerEvidence{A: good.A, B: good.A}, chain.ErrInvalidEvidence},
		{"not canonical", chain.ProposerEvidence{A: good.B, B: good.A}, chain.ErrInvalidEvidence},
		{"bad signature", badSig, chain.ErrBadSignature},
	} {
		tx := slash(tc.ev)
		wantCode(t, chain.CheckTransactionSanity(&tx, c.p), tc.want)
		tip := c.n.Tip()
		_, err := c.n.ProcessBlock(c.sealedWith(tip.Hash, tip.Height+1, 1, c.priv, 1, tx))
		wantCode(t, err, tc.want)
	}
	unknown := slash(chain.NewProposerEvidence(seal(posKey(5), 4, chain.Hash{1}), seal(posKey(5), 4, chain.Hash{2})))
	if err := chain.CheckTransactionSanity(&unknown, c.p); err != nil {
		t.Fatal(err)
	}
	wantCode(t, c.n.CheckFinalityTx(&unknown), chain.ErrUnknownValidator)
	_, err := c.n.ProcessBlock(c.sealedWith(c.n.Tip().Hash, 1, 1, c.priv, 1, unknown))
	wantCode(t, err, chain.ErrUnknownValidator)
	if !c.state().equal(before) || c.n.Tip().Height != 0 {
		t.Fatal("a refused proposer slash changed the state")
	}
	// A hybrid (proof-of-work) chain has no seals: the slash is refused
	// before any state is read.
	h := newHarness(t, false, Config{})
	tx := slash(good)
	_, err = h.process(h.next(h.genesis, 3, tx))
	wantCode(t, err, chain.ErrNotProofOfStake)
}
