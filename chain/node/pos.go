package node

import (
	"bytes"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/powmine/powmine/chain"
	"github.com/powmine/powmine/chain/pos"
	"github.com/powmine/powmine/chain/storage"
)

// Pure proof of stake (Params.Consensus == chain.ConsensusPoS).
//
// chain/node imports chain/pos for its pure rules (the slot rules, the
// election, VerifySeal and Mix): chain/pos depends on chain alone and
// holds no state, so it sits beside chain below the node, as the header
// and transaction rules do. The node owns what those rules need from the
// chain state:
//
//   - the beacon (storage.Beacon), one finality record connected and
//     undone with each block and committed in the block's store
//     transaction, as the finality state is;
//   - the proposer schedule of a block: the validators active, in the
//     parent's state, in the block's stake epoch (its height's, at least
//     1, the epoch the genesis validator starts in), by key, with their
//     stakes; the slot epochs of chain/pos are slots / EpochLength; the
//     seed is the beacon value at the end of slot epoch e−2.
//
// A seal's checks (VerifySeal's, and the header's Timestamp being its
// slot's start rounded down to the second) fail with a chain.RuleError of
// code chain.ErrBadSeal that wraps chain/pos's RuleError, whose code
// (ErrFutureSlot, ErrSlotNotAfterParent, ErrWrongProposer,
// ErrBadSealSignature, ErrBadReveal, ErrMalformed) says which.
//
// The seal is not covered by the block hash, so a block with a bad seal
// must not condemn the hash when the right seal may still come:
// ProcessBlock checks the seal of a block that extends the tip before it
// stores anything, and refuses a bad one without remembering the hash.
// A block on another branch is checked when it is connected, like its
// transactions, and marked invalid if its seal fails then (a known gap:
// a peer can have such a side-branch block refused by sending it first
// with a bad seal).
//
// Fork choice (forkchoice.go, better): the highest justified checkpoint,
// then the most attesting stake (the stake of the votes the branch's
// state counts for the open target epochs above its justified one, see
// the package doc), then the most work, and since every proof-of-stake
// header has the limit bits, every block has the same work: the most
// blocks, each one slot's proposal; then the block seen first. The stake
// step is proof of stake's alone: a hybrid chain goes from the justified
// checkpoint to the work.

// slotZero returns the start of slot 0: the genesis time.
func slotZero(p *chain.Params) time.Time {
	return time.Unix(int64(p.GenesisHeader.Timestamp), 0)
}

// slotRules returns the slot rules of p with the parent's slot and the
// clock now.
func slotRules(p *chain.Params, parentSlot uint64, now time.Time) pos.SlotRules {
	return pos.SlotRules{
		GenesisTime:   slotZero(p),
		SlotDuration:  p.SlotDuration,
		SlotsPerEpoch: uint64(max(p.EpochLength, 0)),
		Now:           now,
		ParentSlot:    parentSlot,
	}
}

// beaconOf returns the beacon state that get reads: the genesis state
// (slot 0, the genesis hash as value) when there is no record.
func beaconOf(get func(string) []byte, genesis chain.Hash) (storage.Beacon, error) {
	v := get(storage.BeaconKey)
	if v == nil {
		return storage.Beacon{Mix: genesis}, nil
	}
	return storage.DecodeBeacon(v)
}

// seedFor returns the beacon value that seeds slot epoch e after state b:
// the value after the last block whose slot epoch is at most e−2, the
// genesis hash when there is none.
func seedFor(b storage.Beacon, e uint64, genesis chain.Hash) chain.Hash {
	if e < 2 {
		return genesis
	}
	if b.Epoch <= e-2 {
		return b.Mix
	}
	for i := range int(b.Valid) {
		if b.Ends[i].Epoch <= e-2 {
			return b.Ends[i].Mix
		}
	}
	return genesis
}

// nextBeacon returns the state after a block of slot (in slot epoch e)
// whose reveal output is out.
func nextBeacon(b storage.Beacon, slot, e uint64, out pos.RevealOutput) storage.Beacon {
	if e > b.Epoch {
		b.Ends[1] = b.Ends[0]
		b.Ends[0] = storage.EpochMix{Epoch: b.Epoch, Mix: b.Mix}
		b.Valid = min(b.Valid+1, 2)
	}
	b.Slot, b.Epoch, b.Mix = slot, e, pos.Mix(b.Mix, out)
	return b
}

// schedule returns the proposer schedule of slot epoch e for the block at
// height, from validators (the parent's state) and seed.
func schedule(validators map[chain.PublicKey]chain.Validator, p *chain.Params, height int64, e uint64, seed chain.Hash) (*pos.Schedule, error) {
	stakeEpoch := max(p.Epoch(height), 1)
	keys := make([]chain.PublicKey, 0, len(validators))
	for k, v := range validators {
		if v.ActiveAt(stakeEpoch) {
			keys = append(keys, k)
		}
	}
	slices.SortFunc(keys, func(a, b chain.PublicKey) int { return bytes.Compare(a[:], b[:]) })
	stakes := make([]uint64, len(keys))
	for i, k := range keys {
		stakes[i] = validators[k].Stake
	}
	return pos.NewSchedule(e, keys, stakes, seed)
}

// sealError wraps a chain/pos refusal of block hash's seal.
func sealError(hash chain.Hash, err error) error {
	var perr pos.RuleError
	if !errors.As(err, &perr) {
		return err
	}
	return chain.RuleError{Code: chain.ErrBadSeal, Description: fmt.Sprintf("node: block %v: %v", hash, err), Err: perr}
}

// checkSeal checks the seal of b, at height, against the state before it
// (validators and the beacon get reads) at the clock now, and returns the
// beacon state after it.
func checkSeal(get func(string) []byte, validators map[chain.PublicKey]chain.Validator, b *chain.Block, height int64, p *chain.Params, now time.Time) (storage.Beacon, error) {
	hash := b.Hash()
	if b.Seal == nil {
		return storage.Beacon{}, ruleErr(chain.ErrBadSeal, "block %v has no proposer seal", hash)
	}
	var s pos.Seal
	if err := s.UnmarshalBinary(b.Seal[:]); err != nil {
		return storage.Beacon{}, sealError(hash, err)
	}
	prev, err := beaconOf(get, p.GenesisHash)
	if err != nil {
		return storage.Beacon{}, err
	}
	rules := slotRules(p, prev.Slot, now)
	if err := rules.Check(); err != nil {
		return storage.Beacon{}, err
	}
	if start := pos.SlotStart(rules.GenesisTime, rules.SlotDuration, s.Slot).Unix(); int64(b.Header.Timestamp) != start {
		return storage.Beacon{}, ruleErr(chain.ErrBadSeal, "block %v has time %d, its seal's slot %d starts at %d",
			hash, b.Header.Timestamp, s.Slot, start)
	}
	e := rules.Epoch(s.Slot)
	sched, err := schedule(validators, p, height, e, seedFor(prev, e, p.GenesisHash))
	if err != nil {
		return storage.Beacon{}, sealError(hash, err)
	}
	out, err := pos.VerifySeal(p.GenesisHash, &s, hash, sched, rules)
	if err != nil {
		return storage.Beacon{}, sealError(hash, err)
	}
	return nextBeacon(prev, s.Slot, e, out), nil
}

// checkSealAtTip checks the seal of b, which extends the tip, against the
// tip's state. The caller holds mu (shared).
func (n *Node) checkSealAtTip(b *chain.Block) error {
	_, err := checkSeal(func(k string) []byte { return n.finality[k] }, n.validators, b, n.view.tip().height+1, n.params, n.cfg.Now())
	return err
}

// ProposerInfo is who may propose a block on the tip in a slot.
type ProposerInfo struct {
	Slot       uint64
	Proposer   chain.PublicKey
	ParentSlot uint64     // the tip's slot (0 at genesis)
	Parent     chain.Hash // the tip
}

// ErrNotPoS is returned by Proposer on a proof-of-work chain.
var ErrNotPoS = errors.New("node: not a proof-of-stake chain")

// Proposer returns the elected proposer of slot for a block on the tip,
// as checkSeal will check it. It fails with ErrNotPoS on a
// proof-of-work chain, and with chain/pos's ErrSlotNotAfterParent
// RuleError when slot is not after the tip's. It is safe for concurrent
// use.
func (n *Node) Proposer(slot uint64) (ProposerInfo, error) {
	if n.params.Consensus != chain.ConsensusPoS {
		return ProposerInfo{}, ErrNotPoS
	}
	n.mu.RLock()
	defer n.mu.RUnlock()
	tip := n.view.tip()
	prev, err := beaconOf(func(k string) []byte { return n.finality[k] }, n.params.GenesisHash)
	if err != nil {
		return ProposerInfo{}, err
	}
	rules := slotRules(n.params, prev.Slot, n.cfg.Now())
	if err := rules.Check(); err != nil {
		return ProposerInfo{}, err
	}
	if slot <= prev.Slot {
		return ProposerInfo{}, pos.RuleError{Code: pos.ErrSlotNotAfterParent,
			Description: fmt.Sprintf("slot %d is not after the tip's slot %d", slot, prev.Slot)}
	}
	e := rules.Epoch(slot)
	sched, err := schedule(n.validators, n.params, tip.height+1, e, seedFor(prev, e, n.params.GenesisHash))
	if err != nil {
		return ProposerInfo{}, err
	}
	return ProposerInfo{Slot: slot, Proposer: sched.Proposer(slot), ParentSlot: prev.Slot, Parent: tip.hash}, nil
}

// precheckSeal checks b's seal before the block is stored: in full
// (checkSeal) when b extends the tip; else only that it decodes and that
// its slot has started, so that a block sent early is refused without
// being stored, and may come again in its slot. The caller holds mu
// (shared).
func (n *Node) precheckSeal(b *chain.Block) error {
	if b.Header.PrevBlock == n.view.tip().hash {
		return n.checkSealAtTip(b)
	}
	if b.Seal == nil {
		return ruleErr(chain.ErrBadSeal, "block %v has no proposer seal", b.Hash())
	}
	var s pos.Seal
	if err := s.UnmarshalBinary(b.Seal[:]); err != nil {
		return sealError(b.Hash(), err)
	}
	rules := slotRules(n.params, 0, n.cfg.Now())
	if err := rules.Check(); err != nil {
		return err
	}
	return sealError(b.Hash(), rules.CheckSlot(s.Slot))
}
