package node

import (
	"crypto/ed25519"
	"encoding/binary"
	"errors"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/powmine/powmine/chain"
	"github.com/powmine/powmine/chain/pos"
	"github.com/powmine/powmine/chain/storage"
)

// posChain is a proof-of-stake test chain: one genesis validator, slots
// of a second, slot epochs of two slots, and a clock the test moves.
type posChain struct {
	tb    testing.TB
	p     *chain.Params
	g     *chain.Block
	priv  ed25519.PrivateKey
	store *MemStore
	now   time.Time
	n     *Node
}

const posGenesisTime = 1_800_000_000

func posKey(i int) ed25519.PrivateKey {
	var seed [ed25519.SeedSize]byte
	binary.LittleEndian.PutUint64(seed[:], uint64(i)+100)
	return ed25519.NewKeyFromSeed(seed[:])
}

func pubOf(priv ed25519.PrivateKey) chain.PublicKey {
	return chain.PublicKey(priv.Public().(ed25519.PublicKey))
}

func newPosChain(tb testing.TB) *posChain {
	tb.Helper()
	priv := posKey(0)
	g := chain.DevPoSGenesisTemplate(posGenesisTime, pubOf(priv))
	p, err := chain.DevPoSParamsFor(g)
	if err != nil {
		tb.Fatal(err)
	}
	p.SlotDuration = time.Second
	p.EpochLength = 2
	c := &posChain{tb: tb, p: &p, g: g, priv: priv, store: NewMemStore(), now: time.Unix(posGenesisTime, 0)}
	c.n = c.open()
	return c
}

func (c *posChain) open() *Node {
	c.tb.Helper()
	n, err := New(Config{Params: c.p, Genesis: c.g, Store: c.store, Now: func() time.Time { return c.now }})
	if err != nil {
		c.tb.Fatal(err)
	}
	return n
}

// block returns a block on parent (at height) for slot, stamped with the
// slot's start and sealed by priv with its reveal for revealEpoch.
func (c *posChain) block(parent chain.Hash, height int64, slot uint64, priv ed25519.PrivateKey, revealEpoch uint64) *chain.Block {
	c.tb.Helper()
	return c.blockTxs(parent, height, slot, priv, revealEpoch)
}

// good returns the elected proposer's block for slot on the tip.
func (c *posChain) good(slot uint64, txs ...chain.Transaction) *chain.Block {
	tip := c.n.Tip()
	return c.blockTxs(tip.Hash, tip.Height+1, slot, c.priv, slot/uint64(c.p.EpochLength), txs...)
}

// deposit returns the deposit of amount by the genesis validator's owner
// (c.priv) for validator key posKey(i), with the owner's sequence.
func (c *posChain) deposit(i int, amount, sequence uint64) chain.Transaction {
	c.tb.Helper()
	d := chain.Deposit{From: pubOf(c.priv), Validator: pubOf(posKey(i)), Amount: amount, Sequence: sequence}
	if err := d.Sign(c.priv, posKey(i), c.p.GenesisHash); err != nil {
		c.tb.Fatal(err)
	}
	return chain.Transaction{Deposit: &d}
}

func (c *posChain) at(slot uint64) {
	c.now = pos.SlotStart(time.Unix(posGenesisTime, 0), c.p.SlotDuration, slot)
}

// wantPosCode checks that err is an ErrBadSeal RuleError wrapping
// chain/pos's code.
func wantPosCode(tb testing.TB, err error, code pos.ErrorCode) {
	tb.Helper()
	var rerr chain.RuleError
	var perr pos.RuleError
	if !errors.As(err, &rerr) || rerr.Code != chain.ErrBadSeal || !errors.As(err, &perr) || perr.Code != code {
		tb.Fatalf("error %v, want ErrBadSeal wrapping %v", err, code)
	}
}

func TestPoSGenesisValidator(t *testing.T) {
	c := newPosChain(t)
	v := c.n.Validator(pubOf(c.priv))
	if v.Stake != c.p.MinDeposit || v.Owner != pubOf(c.priv).Address() || !v.ActiveAt(1) {
		t.Fatalf("genesis validator %+v", v)
	}
	info, err := c.n.Proposer(1)
	if err != nil || info.Proposer != pubOf(c.priv) {
		t.Fatalf("proposer of slot 1: %+v, %v", info, err)
	}
}

func TestPoSSealRules(t *testing.T) {
	c := newPosChain(t)
	c.at(3)
	other := posKey(1)

	// Before the tip's state changes: each bad seal is refused with its
	// code, and nothing is stored.
	tip := c.n.Tip()
	future := c.good(9)
	if _, err := c.n.ProcessBlock(future); err == nil {
		t.Fatal("future slot accepted")
	} else {
		wantPosCode(t, err, pos.ErrFutureSlot)
	}
	_, err := c.n.ProcessBlock(c.block(tip.Hash, 1, 2, other, 1))
	wantPosCode(t, err, pos.ErrWrongProposer)
	badSig := c.good(2)
	badSig.Seal[chain.SealSize-1] ^= 1
	_, err = c.n.ProcessBlock(badSig)
	wantPosCode(t, err, pos.ErrBadSealSignature)
	_, err = c.n.ProcessBlock(c.block(tip.Hash, 1, 2, c.priv, 0)) // slot 2 is in epoch 1
	wantPosCode(t, err, pos.ErrBadReveal)
	late := c.good(2)
	late.Header.Timestamp++
	late.Header.MerkleRoot, _ = late.MerkleRoot()
	if _, err := c.n.ProcessBlock(late); err == nil {
		t.Fatal("timestamp off its slot accepted")
	}

	// The block with the bad signature was not condemned: its honest
	// seal connects.
	honest := c.good(2)
	if honest.Hash() != badSig.Hash() {
		t.Fatal("test bug: the honest block differs")
	}
	if _, err := c.n.ProcessBlock(honest); err != nil {
		t.Fatal(err)
	}
	_, err = c.n.ProcessBlock(c.good(2))
	if err == nil {
		t.Fatal("a second block of slot 2 on slot 2 accepted")
	}
	wantPosCode(t, err, pos.ErrSlotNotAfterParent)

	// The future block is accepted in its slot.
	c.at(9)
	if c.n.Tip().Hash != honest.Hash() {
		t.Fatal("tip moved")
	}
	future = c.good(9)
	if _, err := c.n.ProcessBlock(future); err != nil {
		t.Fatalf("in its slot: %v", err)
	}
}

func TestPoSBeaconConnectUndoPersist(t *testing.T) {
	c := newPosChain(t)
	c.at(20)
	genesis := c.n.Tip().Hash
	// Branch A: slots 1, 2, 5, 8 (missed slots, epochs 0, 1, 2, 4).
	for _, slot := range []uint64{1, 2, 5, 8} {
		b := c.good(slot)
		if _, err := c.n.ProcessBlock(b); err != nil {
			t.Fatalf("slot %d: %v", slot, err)
		}
	}
	beaconA := c.n.finality[storage.BeaconKey]
	be, err := storage.DecodeBeacon(beaconA)
	if err != nil || be.Slot != 8 || be.Epoch != 4 || be.Valid != 2 || be.Ends[0].Epoch != 2 || be.Ends[1].Epoch != 1 {
		t.Fatalf("beacon after branch A: %+v, %v", be, err)
	}

	// Branch B from genesis, longer: the node reorganizes and the beacon
	// is B's, computed from genesis.
	parent, height := genesis, int64(0)
	for _, slot := range []uint64{3, 4, 6, 7, 9} {
		height++
		blk := c.block(parent, height, slot, c.priv, slot/2)
		if _, err := c.n.ProcessBlock(blk); err != nil {
			t.Fatalf("branch B slot %d: %v", slot, err)
		}
		parent = blk.Hash()
	}
	if c.n.Tip().Hash != parent {
		t.Fatalf("tip %v, want branch B's %v", c.n.Tip().Hash, parent)
	}
	be, _ = storage.DecodeBeacon(c.n.finality[storage.BeaconKey])
	if be.Slot != 9 || be.Epoch != 4 {
		t.Fatalf("beacon after the reorganization: %+v", be)
	}
	beaconB := c.n.finality[storage.BeaconKey]

	// The beacon is in the store: a node opened on it has the same.
	n2 := c.open()
	if got := n2.finality[storage.BeaconKey]; string(got) != string(beaconB) {
		t.Fatal("beacon not restored from the store")
	}
	if string(beaconA) == string(beaconB) {
		t.Fatal("two branches gave one beacon")
	}
}

func TestPoSSeedFor(t *testing.T) {
	g := chain.Hash{1}
	m := func(i byte) chain.Hash { return chain.Hash{i} }
	b := storage.Beacon{Slot: 50, Epoch: 10, Mix: m(10), Ends: [2]storage.EpochMix{{Epoch: 9, Mix: m(9)}, {Epoch: 7, Mix: m(7)}}, Valid: 2}
	for _, c := range []struct {
		e    uint64
		want chain.Hash
	}{{0, g}, {1, g}, {10, m(7)}, {11, m(9)}, {12, m(10)}, {40, m(10)}} {
		if got := seedFor(b, c.e, g); got != c.want {
			t.Errorf("epoch %d: seed %v, want %v", c.e, got, c.want)
		}
	}
	b.Valid = 1
	if got := seedFor(b, 10, g); got != g {
		t.Errorf("one end, epoch 10: seed %v, want genesis", got)
	}
}

func TestPoSHeaders(t *testing.T) {
	c := newPosChain(t)
	c.at(5)
	b := c.good(1)
	if _, err := c.n.ProcessHeaders([]chain.Header{b.Header}); !errors.Is(err, ErrSealsRequired) {
		t.Fatalf("a proof-of-stake header without its seal: %v, want ErrSealsRequired", err)
	}
	if _, err := c.n.ProcessSealedHeaders([]chain.Header{b.Header}, nil); err == nil {
		t.Fatal("a header without a seal taken")
	}
	if _, err := c.n.ProcessSealedHeaders(sealedHeaders(b)); err != nil {
		t.Fatalf("a proof-of-stake header (no work) with its seal: %v", err)
	}
	h := b.Header
	h.Bits = 0x1e03ffff
	var rerr chain.RuleError
	if _, err := c.n.ProcessSealedHeaders([]chain.Header{h}, []chain.BlockSeal{*b.Seal}); !errors.As(err, &rerr) || rerr.Code != chain.ErrUnexpectedDifficulty {
		t.Fatalf("bits off the limit: error %v, want ErrUnexpectedDifficulty", err)
	}
}

// withSeal returns a copy of b, sealed by priv for slot with its reveal
// for revealEpoch: the same block hash, another seal.
func (c *posChain) withSeal(b *chain.Block, priv ed25519.PrivateKey, slot, revealEpoch uint64) *chain.Block {
	c.tb.Helper()
	reveal, err := pos.NewReveal(priv, c.p.GenesisHash, revealEpoch)
	if err != nil {
		c.tb.Fatal(err)
	}
	s, err := pos.NewSeal(priv, c.p.GenesisHash, slot, b.Hash(), reveal)
	if err != nil {
		c.tb.Fatal(err)
	}
	enc, _ := s.MarshalBinary()
	cp := *b
	cp.Seal = (*chain.BlockSeal)(enc)
	return &cp
}

// badSignature returns a copy of b whose seal's signature is wrong.
func badSignature(b *chain.Block) *chain.Block {
	cp := *b
	seal := *b.Seal
	seal[chain.SealSize-1] ^= 1
	cp.Seal = &seal
	return &cp
}

// TestPoSForgedSealSideBranch: a side-branch block sent first with a
// forged seal is refused with ErrBadSeal when its branch is connected,
// but its hash is not condemned: the honest copy, sent after it, is
// accepted and the node reorganizes onto the heavier branch, also when
// the node restarted in between; after a restart nothing of the forged
// copy remains. Another bad copy costs a seal check and no store write.
func TestPoSForgedSealSideBranch(t *testing.T) {
	for _, tc := range []struct {
		name  string
		forge func(c *posChain, honest *chain.Block) *chain.Block
		code  pos.ErrorCode
		// stored: the forged copy passes the checks made before a
		// side-branch block is stored (its seal is consistent with
		// itself) and fails when its branch is connected.
		stored bool
	}{
		{"wrong signature", func(_ *posChain, b *chain.Block) *chain.Block { return badSignature(b) }, pos.ErrBadSealSignature, false},
		{"other validator", func(c *posChain, b *chain.Block) *chain.Block { return c.withSeal(b, posKey(1), 3, 1) }, pos.ErrWrongProposer, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for _, restart := range []bool{false, true} {
				c := newPosChain(t)
				c.at(10)
				genesis := c.n.Tip().Hash
				a1 := c.good(1, c.deposit(1, c.p.MinDeposit, 0)) // registers posKey(1) at the tip
				if _, err := c.n.ProcessBlock(a1); err != nil {
					t.Fatal(err)
				}
				b1 := c.block(genesis, 1, 2, c.priv, 1)
				if res, err := c.n.ProcessBlock(b1); err != nil || res.MainChain {
					t.Fatalf("b1: %+v, %v", res, err)
				}
				b2 := c.block(b1.Hash(), 2, 3, c.priv, 1)
				forged := tc.forge(c, b2)
				if forged.Hash() != b2.Hash() || *forged.Seal == *b2.Seal {
					t.Fatal("test bug: the forged copy differs in hash or not in seal")
				}
				_, err := c.n.ProcessBlock(forged)
				wantPosCode(t, err, tc.code)
				if c.n.Tip().Hash != a1.Hash() {
					t.Fatalf("tip %v, want a1 back", c.n.Tip().Hash)
				}
				if info, ok := c.n.BlockInfo(b2.Hash()); ok != tc.stored || info.Status.KnownInvalid() || info.Status&storage.StatusDataStored != 0 {
					t.Fatalf("forged b2: %+v, in the index %v; want %v, not invalid, wanted again", info, ok, tc.stored)
				}
				if _, err := c.n.Block(b2.Hash()); !errors.Is(err, storage.ErrNotFound) {
					t.Fatalf("the forged b2 is served: %v", err)
				}
				// Another bad copy: one seal check, nothing written.
				commits := c.store.Commits()
				other := badSignature(b2)
				other.Seal[chain.SealSize-2] ^= 1
				_, err = c.n.ProcessBlock(other)
				wantPosCode(t, err, pos.ErrBadSealSignature)
				_, err = c.n.ProcessBlock(forged)
				if !errors.As(err, new(chain.RuleError)) {
					t.Fatalf("the same forged copy again: %v", err)
				}
				if c.store.Commits() != commits {
					t.Fatal("a bad copy wrote to the store")
				}
				if restart {
					c.n = c.open()
				}
				res, err := c.n.ProcessBlock(b2)
				if err != nil || !res.MainChain {
					t.Fatalf("honest b2 after the forged one: %+v, %v", res, err)
				}
				if c.n.Tip().Hash != b2.Hash() {
					t.Fatalf("tip %v, want b2", c.n.Tip().Hash)
				}
				// After a restart the node holds the honest copy.
				c.n = c.open()
				if c.n.Tip().Hash != b2.Hash() {
					t.Fatalf("after a restart: tip %v, want b2", c.n.Tip().Hash)
				}
				stored, err := c.n.Block(b2.Hash())
				if err != nil || *stored.Seal != *b2.Seal {
					t.Fatalf("stored b2 after a restart: %v, seal honest %v", err, err == nil && *stored.Seal == *b2.Seal)
				}
				if info, _ := c.n.BlockInfo(b2.Hash()); info.Status&storage.StatusValid == 0 {
					t.Fatalf("b2 status %v", info.Status)
				}
			}
		})
	}
}

// TestPoSSealFailureSparesDescendants: when a side branch is connected
// and its first block's seal fails, neither it nor the blocks stored on it
// are marked invalid; blocks arriving on it wait (the branch is no
// candidate, MissingBlocks asks for the block again), and the honest
// copy connects the whole branch.
func TestPoSSealFailureSparesDescendants(t *testing.T) {
	c := newPosChain(t)
	c.at(20)
	genesis := c.n.Tip().Hash
	if _, err := c.n.ProcessBlock(c.good(1, c.deposit(1, c.p.MinDeposit, 0))); err != nil { // registers posKey(1)
		t.Fatal(err)
	}
	c.propose(2) // by the elected key: posKey(1) is active from epoch 1
	c.propose(3)
	mainTip := c.n.Tip().Hash
	b := []*chain.Block{c.block(genesis, 1, 4, c.priv, 2)}
	for i, slot := range []uint64{5, 6, 7, 8} {
		b = append(b, c.block(b[i].Hash(), int64(i+2), slot, c.priv, slot/2))
	}
	// Sealed by a validator that is not b1's proposer: consistent with
	// itself, so stored on its side branch.
	if _, err := c.n.ProcessBlock(c.withSeal(b[0], posKey(1), 4, 2)); err != nil {
		t.Fatalf("forged b1 on a side branch (not connected): %v", err)
	}
	for _, blk := range b[1:3] {
		if _, err := c.n.ProcessBlock(blk); err != nil {
			t.Fatal(err)
		}
	}
	// b4 makes the branch the heaviest: connecting it fails at b1.
	if _, err := c.n.ProcessBlock(b[3]); err != nil {
		t.Logf("b4: %v", err)
	}
	if c.n.Tip().Hash != mainTip {
		t.Fatalf("tip %v, want the main chain's", c.n.Tip().Hash)
	}
	for i, blk := range b[:4] {
		info, ok := c.n.BlockInfo(blk.Hash())
		if !ok || info.Status.KnownInvalid() {
			t.Fatalf("b%d: %+v, %v; want not invalid", i+1, info, ok)
		}
	}
	if got := c.n.MissingBlocks(10); len(got) == 0 || got[0] != b[0].Hash() {
		t.Fatalf("MissingBlocks %v, want b1 first", got)
	}
	commits := c.store.Commits()
	res, err := c.n.ProcessBlock(b[4]) // on a branch that waits for a seal
	if err != nil || res.MainChain {
		t.Fatalf("b5: %+v, %v", res, err)
	}
	if c.n.Tip().Hash != mainTip || c.store.Commits() > commits+1 {
		t.Fatalf("b5 moved the tip or was connected: %d commits", c.store.Commits()-commits)
	}
	// The honest b1: the branch connects, b5 included.
	res, err = c.n.ProcessBlock(b[0])
	if err != nil || !res.MainChain {
		t.Fatalf("honest b1: %+v, %v", res, err)
	}
	if c.n.Tip().Hash != b[4].Hash() {
		t.Fatalf("tip %v, want b5", c.n.Tip().Hash)
	}
}

// TestPoSBadSealNotStored: a bad seal on a block that extends the tip,
// and one that is not consistent with itself on a side branch (bad
// signature or reveal, time off its slot, slot not after the parent's),
// is refused before anything is stored, and the hash stays open.
func TestPoSBadSealNotStored(t *testing.T) {
	c := newPosChain(t)
	c.at(5)
	genesis := c.n.Tip().Hash
	honest := c.good(1)
	commits := c.store.Commits()
	_, err := c.n.ProcessBlock(badSignature(honest))
	wantPosCode(t, err, pos.ErrBadSealSignature)
	if _, ok := c.n.BlockInfo(honest.Hash()); ok || c.store.Commits() != commits {
		t.Fatal("a block with a bad seal at the tip was stored")
	}
	if _, err := c.n.ProcessBlock(honest); err != nil {
		t.Fatal(err)
	}

	side := c.block(genesis, 1, 2, c.priv, 1)
	badReveal := c.withSeal(side, c.priv, 2, 0) // slot 2 is in epoch 1
	offSlot := c.withSeal(side, c.priv, 3, 1)   // the header says slot 2
	onSide := c.block(side.Hash(), 2, 3, c.priv, 1)
	commits = c.store.Commits()
	_, err = c.n.ProcessBlock(badSignature(side))
	wantPosCode(t, err, pos.ErrBadSealSignature)
	_, err = c.n.ProcessBlock(badReveal)
	wantPosCode(t, err, pos.ErrBadReveal)
	if _, err := c.n.ProcessBlock(offSlot); !errors.As(err, new(chain.RuleError)) {
		t.Fatalf("a seal of another slot than the header's: %v", err)
	}
	// A seal by a key not registered at the tip: refused, not stored.
	_, err = c.n.ProcessBlock(c.withSeal(side, posKey(5), 2, 1))
	wantPosCode(t, err, pos.ErrWrongProposer)
	if _, ok := c.n.BlockInfo(side.Hash()); ok || c.store.Commits() != commits {
		t.Fatal("a side-branch block with a bad seal was stored")
	}
	if _, err := c.n.ProcessBlock(side); err != nil {
		t.Fatal(err)
	}
	_, err = c.n.ProcessBlock(c.block(side.Hash(), 2, 2, c.priv, 1)) // the parent's slot
	wantPosCode(t, err, pos.ErrSlotNotAfterParent)
	if _, err := c.n.ProcessBlock(onSide); err != nil {
		t.Fatal(err)
	}
}

// posHeader returns a header on parent for slot, stamped with the
// slot's start; extra makes headers of one slot differ.
func (c *posChain) posHeader(parent chain.Hash, slot uint64, extra uint32) chain.Header {
	start := pos.SlotStart(time.Unix(posGenesisTime, 0), c.p.SlotDuration, slot)
	return chain.Header{Version: 1, PrevBlock: parent, Timestamp: uint32(start.Unix()), Bits: c.p.PowLimitBits, Nonce: extra}
}

// sealHeader returns priv's seal of h for slot, with its reveal for the
// slot's epoch.
func (c *posChain) sealHeader(h *chain.Header, priv ed25519.PrivateKey, slot uint64) chain.BlockSeal {
	c.tb.Helper()
	return *c.withSeal(&chain.Block{Header: *h}, priv, slot, slot/uint64(c.p.EpochLength)).Seal
}

// sealedHeader returns posHeader(parent, slot, extra) and its seal by
// the genesis validator.
func (c *posChain) sealedHeader(parent chain.Hash, slot uint64, extra uint32) (chain.Header, chain.BlockSeal) {
	h := c.posHeader(parent, slot, extra)
	return h, c.sealHeader(&h, c.priv, slot)
}

// sealedRun returns headers on parent for slots, each on the one before,
// sealed by the genesis validator.
func (c *posChain) sealedRun(parent chain.Hash, extra uint32, slots ...uint64) ([]chain.Header, []chain.BlockSeal) {
	var hs []chain.Header
	var seals []chain.BlockSeal
	for _, slot := range slots {
		h, s := c.sealedHeader(parent, slot, extra)
		hs, seals = append(hs, h), append(seals, s)
		parent = h.Hash()
	}
	return hs, seals
}

// sealedHeaders returns the headers of blocks and their seals.
func sealedHeaders(blocks ...*chain.Block) ([]chain.Header, []chain.BlockSeal) {
	hs := make([]chain.Header, len(blocks))
	seals := make([]chain.BlockSeal, len(blocks))
	for i, b := range blocks {
		hs[i], seals[i] = b.Header, *b.Seal
	}
	return hs, seals
}

// one is a single header with its seal, as ProcessSealedHeaders takes it.
func one(h chain.Header, s chain.BlockSeal) ([]chain.Header, []chain.BlockSeal) {
	return []chain.Header{h}, []chain.BlockSeal{s}
}

// TestPoSHeaderSlots: a proof-of-stake header's time must be a slot's
// start, after its parent's slot, and not in a slot to come; the last
// refusal is temporary.
func TestPoSHeaderSlots(t *testing.T) {
	c := newPosChain(t)
	c.p.SlotDuration = 2 * time.Second // odd seconds start no slot
	c.at(5)
	genesis := c.n.Tip().Hash
	h1, s1 := c.sealedHeader(genesis, 3, 0)
	if _, err := c.n.ProcessSealedHeaders(one(h1, s1)); err != nil {
		t.Fatal(err)
	}
	var rerr chain.RuleError
	var perr pos.RuleError

	off, offSeal := c.sealedHeader(genesis, 1, 1)
	off.Timestamp++
	_, err := c.n.ProcessSealedHeaders(one(off, offSeal))
	if !errors.As(err, &rerr) || rerr.Code != chain.ErrBadSeal {
		t.Fatalf("time between two slots' starts: %v, want ErrBadSeal", err)
	}

	_, err = c.n.ProcessSealedHeaders(one(c.sealedHeader(h1.Hash(), 3, 1)))
	wantPosCode(t, err, pos.ErrSlotNotAfterParent)

	future, futureSeal := c.sealedHeader(h1.Hash(), 7, 0)
	_, err = c.n.ProcessSealedHeaders(one(future, futureSeal))
	if !errors.As(err, &rerr) || rerr.Code != chain.ErrTimeTooNew || !errors.As(err, &perr) || perr.Code != pos.ErrFutureSlot {
		t.Fatalf("future slot: %v, want ErrTimeTooNew wrapping ErrFutureSlot", err)
	}
	c.at(7)
	if _, err := c.n.ProcessSealedHeaders(one(future, futureSeal)); err != nil {
		t.Fatalf("the same header in its slot: %v", err)
	}
}

// TestPoSHeaderSubSecondSlots: with slots shorter than a second several
// slots start within one second (500 ms slots: 0 and 1 at second 0, 2
// and 3 at second 1), so a header's time does not say which; the headers
// of one second take its slots in order, and no more of them pass.
func TestPoSHeaderSubSecondSlots(t *testing.T) {
	c := newPosChain(t)
	c.p.SlotDuration = 500 * time.Millisecond
	c.at(3)
	genesis := c.n.Tip().Hash
	hs, seals := c.sealedRun(genesis, 0, 1, 2, 3) // slot 1 is the genesis second's second
	h1, h2, h3 := hs[0], hs[1], hs[2]
	if h2.Timestamp != h3.Timestamp || h1.Timestamp+1 != h2.Timestamp {
		t.Fatalf("slots 1, 2 and 3 start at %d, %d and %d", h1.Timestamp, h2.Timestamp, h3.Timestamp)
	}
	if _, err := c.n.ProcessSealedHeaders(hs, seals); err != nil {
		t.Fatalf("consecutive slots within one second: %v", err)
	}
	// A third header in second 1, and a second sibling of h1 in second 0
	// after it, find no slot left.
	for i, parent := range []struct {
		hash chain.Hash
		slot uint64
	}{{h3.Hash(), 3}, {h1.Hash(), 1}} {
		_, err := c.n.ProcessSealedHeaders(one(c.sealedHeader(parent.hash, parent.slot, 1)))
		if err == nil {
			t.Fatalf("header %d: accepted in a second whose slots are taken", i)
		}
		wantPosCode(t, err, pos.ErrSlotNotAfterParent)
	}
	// A sibling of h3 in second 1 (h2 took slot 2, so it is slot 3) passes.
	if _, err := c.n.ProcessSealedHeaders(one(c.sealedHeader(h2.Hash(), 3, 2))); err != nil {
		t.Fatalf("a sibling in the second's last slot: %v", err)
	}
}

// TestPoSHeaderFlood: header chains made up by the thousand (sealed by
// a registered key, for slots it was not all elected for) fill the
// header-only bound, yet an honest chain's headers still get in (they
// evict the branches off the best header's chain) and its blocks sync.
func TestPoSHeaderFlood(t *testing.T) {
	c := newPosChain(t)
	c.at(100)
	c.n.maxHeaderOnly = 50
	genesis := c.n.Tip().Hash
	for fork := range uint32(100) {
		hs, seals := c.sealedRun(genesis, fork+1, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10)
		if _, err := c.n.ProcessSealedHeaders(hs, seals); err != nil && !errors.Is(err, ErrTooManyHeaders) {
			t.Fatalf("fork %d: %v", fork, err)
		}
	}
	if c.n.headerOnly == 0 || c.n.headerOnly > c.n.maxHeaderOnly {
		t.Fatalf("%d header-only nodes after the flood, bound %d", c.n.headerOnly, c.n.maxHeaderOnly)
	}

	// The honest chain: 40 blocks, one per slot, headers first.
	var blocks []*chain.Block
	parent := genesis
	for slot := uint64(1); slot <= 40; slot++ {
		b := c.block(parent, int64(slot), slot, c.priv, slot/uint64(c.p.EpochLength))
		blocks = append(blocks, b)
		parent = b.Hash()
	}
	for i := 0; i < len(blocks); i += 10 {
		if _, err := c.n.ProcessSealedHeaders(sealedHeaders(blocks[i : i+10]...)); err != nil {
			t.Fatalf("honest headers %d to %d: %v", i+1, i+10, err)
		}
	}
	if c.n.BestHeader().Hash != parent {
		t.Fatalf("best header %v, want the honest tip", c.n.BestHeader().Hash)
	}
	for {
		missing := c.n.MissingBlocks(16)
		if len(missing) == 0 {
			break
		}
		for _, h := range missing {
			b := blocks[slices.IndexFunc(blocks, func(b *chain.Block) bool { return b.Hash() == h })]
			if _, err := c.n.ProcessBlock(b); err != nil && !errors.Is(err, ErrDuplicate) {
				t.Fatal(err)
			}
		}
	}
	if c.n.Tip().Hash != parent || c.n.headerOnly > c.n.maxHeaderOnly {
		t.Fatalf("tip %v, want the honest one; %d header-only nodes", c.n.Tip().Hash, c.n.headerOnly)
	}
}

// TestPoSResealConcurrent: copies of a block whose seal failed, good and
// bad, arrive at once while readers look at it (run with -race): the
// good one wins once, the others are refused or duplicates, and the node
// ends on the block's branch.
func TestPoSResealConcurrent(t *testing.T) {
	c := newPosChain(t)
	c.at(10)
	genesis := c.n.Tip().Hash
	if _, err := c.n.ProcessBlock(c.good(1)); err != nil {
		t.Fatal(err)
	}
	b1 := c.block(genesis, 1, 2, c.priv, 1)
	if _, err := c.n.ProcessBlock(b1); err != nil {
		t.Fatal(err)
	}
	b2 := c.block(b1.Hash(), 2, 3, c.priv, 1)
	_, err := c.n.ProcessBlock(c.withSeal(b2, posKey(1), 3, 1))
	wantPosCode(t, err, pos.ErrWrongProposer)
	copies := []*chain.Block{b2, c.withSeal(b2, posKey(2), 3, 1), badSignature(b2), b2, c.withSeal(b2, posKey(3), 3, 1)}
	var wg sync.WaitGroup
	errs := make([]error, len(copies))
	for i, b := range copies {
		wg.Go(func() { _, errs[i] = c.n.ProcessBlock(b) })
	}
	for range 2 {
		wg.Go(func() {
			for range 50 {
				c.n.BlockInfo(b2.Hash())
				c.n.MissingBlocks(4)
				_, _ = c.n.Block(b2.Hash())
				c.n.ChainTips()
			}
		})
	}
	wg.Wait()
	var accepted int
	for i, err := range errs {
		switch {
		case err == nil:
			accepted++
		case errors.Is(err, ErrDuplicate), errors.As(err, new(chain.RuleError)):
		default:
			t.Errorf("copy %d: %v", i, err)
		}
	}
	if accepted != 1 || c.n.Tip().Hash != b2.Hash() {
		t.Fatalf("%d copies accepted, tip %v; want 1 and b2", accepted, c.n.Tip().Hash)
	}
	if stored, err := c.n.Block(b2.Hash()); err != nil || *stored.Seal != *b2.Seal {
		t.Fatalf("stored b2: %v", err)
	}
}

// TestPoSElectionDelay: a validator that deposits is active from the
// next stake epoch (its votes count), but the election draws it only
// ElectionDelayEpochs epochs later, when the seeds of its slots were
// unknown at its deposit; with the same stake as the genesis validator
// it is then drawn soon.
func TestPoSElectionDelay(t *testing.T) {
	c := newPosChain(t)
	c.at(1)
	if _, err := c.n.ProcessBlock(c.good(1, c.deposit(1, c.p.MinDeposit, 0))); err != nil {
		t.Fatal(err)
	}
	newcomer := pubOf(posKey(1))
	v := c.n.Validator(newcomer)
	if v.ActivationEpoch != 1 {
		t.Fatalf("validator %+v, want active from epoch 1", v)
	}
	for slot := uint64(2); ; slot++ {
		tip := c.n.Tip()
		if tip.Height > 40 {
			t.Fatalf("the new validator was never drawn up to height %d", tip.Height)
		}
		stakeEpoch := max(c.p.Epoch(tip.Height+1), 1)
		if !v.ActiveAt(stakeEpoch) {
			t.Fatalf("validator %+v not active in stake epoch %d", v, stakeEpoch)
		}
		info, err := c.n.Proposer(slot)
		if err != nil {
			t.Fatal(err)
		}
		if info.Proposer == newcomer {
			// 3: the seed of the first slot epoch it may be drawn in must
			// be the mix at the end of an epoch after the deposit's.
			if stakeEpoch < v.ActivationEpoch+3 {
				t.Fatalf("slot %d (stake epoch %d): the validator active from epoch %d is drawn before its delay", slot, stakeEpoch, v.ActivationEpoch)
			}
			t.Logf("first drawn in slot %d, stake epoch %d", slot, stakeEpoch)
			return
		}
		c.at(slot)
		if _, err := c.n.ProcessBlock(c.good(slot)); err != nil {
			t.Fatalf("slot %d: %v", slot, err)
		}
	}
}

// TestScheduleFallsBackToActive: with no validator past its election
// delay, the schedule draws from the active ones rather than stalling
// the chain.
func TestScheduleFallsBackToActive(t *testing.T) {
	c := newPosChain(t)
	k := pubOf(posKey(1))
	validators := map[chain.PublicKey]chain.Validator{
		k:                {Stake: c.p.MinDeposit, ActivationEpoch: 5},
		pubOf(c.priv):    {Stake: c.p.MinDeposit, ActivationEpoch: 1, ExitEpoch: 5},
		pubOf(posKey(2)): {Stake: c.p.MinDeposit, ActivationEpoch: 7},
	}
	height := 5 * c.p.EpochLength
	sched, err := schedule(validators, c.p, height, 9, chain.Hash{1})
	if err != nil {
		t.Fatal(err)
	}
	for slot := uint64(18); slot < 20; slot++ {
		if got := sched.Proposer(slot); got != k {
			t.Fatalf("slot %d: proposer %v, want the only active validator %v", slot, got, k)
		}
	}
}
