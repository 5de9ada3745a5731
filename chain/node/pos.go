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
//   - the proposer schedule of a block: the validators electable, in the
//     parent's state, in the block's stake epoch (its height's, at least
//     1, the epoch the genesis validator starts in), by key, with their
//     stakes: active for chain.ElectionDelayEpochs epochs already, so that a
//     depositor cannot grind its key or amount against a seed it knows;
//     the slot epochs of chain/pos are slots / EpochLength; the seed is
//     the beacon value at the end of slot epoch e−2.
//
// A seal's checks (VerifySeal's, and the header's Timestamp being its
// slot's start rounded down to the second) fail with a chain.RuleError of
// code chain.ErrBadSeal that wraps chain/pos's RuleError, whose code
// (ErrFutureSlot, ErrSlotNotAfterParent, ErrWrongProposer,
// ErrBadSealSignature, ErrBadReveal, ErrMalformed) says which.
//
// The seal is not covered by the block hash, so a bad seal never
// condemns the hash: the right seal may still come. ProcessBlock checks
// the seal of a block that extends the tip in full before it stores
// anything, and refuses a bad one without remembering the hash. A block
// on another branch gets the checks that need no chain state before it
// is stored, refused the same way (precheckSeal: the seal decodes, its
// slot is the header's, after the parent's and started, and it is signed,
// with a valid reveal, by the key it names), so a forged signature never
// gets stored; which validator is elected needs the state before the
// block, so a seal by the wrong validator is caught when the block is
// connected, like its transactions. If
// it fails then (chain.ErrBadSeal), the failure is kept in memory only
// (sealFailures): the block is not marked validate-failed, its
// descendants are not marked invalid-ancestor, the hash is not put in the
// remembered refusals (reject never remembers ErrBadSeal), and nothing is
// written. Until another copy passes, the block counts as if only its
// header were known: its branch is no candidate for the tip, blocks on
// it wait as orphans or stay stored without being candidates,
// MissingBlocks lists it and BlockInfo shows it without
// StatusDataStored, so sync and gossip (whose message ids cover the
// seal, see chain/p2p) fetch it again. Another copy is checked against
// the state kept from the failure (the parent's beacon and active
// validators, for the MaxSealStates most recent failures): a bad seal
// costs one seal check and writes nothing; a good one replaces the
// stored block (body and seal: the stored body is kept, the hash commits
// to it) in one Store.Commit, and fork choice runs again. After a
// restart the failure is forgotten: the block is a stored block again,
// checked again if its branch is tried. The transactions, and everything
// else the hash covers, still condemn the hash as for a proof-of-work
// block.
//
// Headers-first sync takes proof-of-stake headers only with their
// blocks' seals (ProcessSealedHeaders; a header alone costs nothing to
// make): each seal gets precheckSeal's checks for a side-branch block
// before its header is added (sealAlone, then the signature and the
// reveal, for a whole answer at once: the signatures in one batch, each
// distinct reveal once), and a bad one is refused the same way
// (chain.ErrBadSeal, the hash not remembered, so the header with its
// honest seal is taken later). A key not registered at the tip stops the
// headers without refusing them (ErrUnregisteredProposer): a node behind
// lacks the validators deposited on the blocks it has not connected yet.
// Which validator is elected is checked when the block is connected, as
// for a side-branch block; the block's own seal is checked again then.
//
// The gap left: a side-branch block whose copy sealed by the wrong
// validator came first and is stored, but not connected, is a duplicate
// to the honest copy until its branch is tried and its seal fails; then
// it is fetched again. And a made-up side branch, or header chain, costs
// a forger a key registered at the tip, sealing slots it was not elected
// for, until its first block is connected (or, for headers whose blocks
// never come, until sync forgets them, see ForgetHeaders).
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

// electable reports whether the election of a block in stakeEpoch may
// draw validator v of key k, active in stakeEpoch: active for
// chain.ElectionDelayEpochs already, or the genesis validator (active
// from epoch 1 and drawn from the start: there is no one else).
func electable(k chain.PublicKey, v chain.Validator, p *chain.Params, stakeEpoch uint64) bool {
	return v.ActivationEpoch+chain.ElectionDelayEpochs <= stakeEpoch || (k == p.GenesisValidator && v.ActivationEpoch == 1)
}

// schedule returns the proposer schedule of slot epoch e for the block at
// height, from validators (the parent's state) and seed: the validators
// electable in the block's stake epoch, by key, with their stakes; the
// active ones when none is (so that the chain cannot stall in the gap
// between the last electable validator's exit and a newer one's delay,
// where the lever that chain.ElectionDelayEpochs takes away comes back).
// A validator weighs chain.Validator.ElectionStakeAt.
func schedule(validators map[chain.PublicKey]chain.Validator, p *chain.Params, height int64, e uint64, seed chain.Hash) (*pos.Schedule, error) {
	stakeEpoch := max(p.Epoch(height), 1)
	keys, active := make([]chain.PublicKey, 0, len(validators)), make([]chain.PublicKey, 0, len(validators))
	for k, v := range validators {
		if !v.ActiveAt(stakeEpoch) {
			continue
		}
		active = append(active, k)
		if electable(k, v, p, stakeEpoch) {
			keys = append(keys, k)
		}
	}
	if len(keys) == 0 {
		keys = active
	}
	slices.SortFunc(keys, func(a, b chain.PublicKey) int { return bytes.Compare(a[:], b[:]) })
	stakes := make([]uint64, len(keys))
	for i, k := range keys {
		stakes[i] = validators[k].ElectionStakeAt(stakeEpoch)
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
// (checkSeal) when b extends the tip; else what needs no state of b's
// branch (sealAlone, then the seal's signature and reveal, see
// verifySealsAlone; which validator is elected needs the state before
// the block, known only once its branch is connected): the seal decodes,
// its key is registered at the tip (in any status), the header's time is
// its slot's start, the slot is after the parent's (the earliest slot
// the parent's time allows, parentSlotBound; 0 when the parent is
// unknown) and has started, and the seal is consistent with itself:
// signed by the key it names, with that key's reveal for the slot's
// epoch. So a copy of a side-branch block with a forged signature is
// refused before it is stored, as at the tip, and a block sent early may
// come again in its slot. The registration check keeps a key made in
// seconds from making the node try a branch (a reorganization down to
// its fork point and back) for free: a side branch forks above the
// finalized checkpoint, so its proposers are nearly always registered at
// the tip too; a block sealed by a key registered on its own branch
// alone is refused (ErrWrongProposer), not remembered, and may come
// again once the node follows that branch. It costs one map lookup and
// one seal check. A sealed header gets the same checks
// (ProcessSealedHeaders). The caller holds mu (shared).
func (n *Node) precheckSeal(b *chain.Block) error {
	if b.Header.PrevBlock == n.view.tip().hash {
		return n.checkSealAtTip(b)
	}
	hash := b.Hash()
	if b.Seal == nil {
		return ruleErr(chain.ErrBadSeal, "block %v has no proposer seal", hash)
	}
	var s pos.Seal
	if err := s.UnmarshalBinary(b.Seal[:]); err != nil {
		return sealError(hash, err)
	}
	registered, err := n.sealAlone(&s, &b.Header, hash, n.index[b.Header.PrevBlock], n.cfg.Now())
	switch {
	case err != nil:
		return sealError(hash, err)
	case !registered:
		return sealError(hash, pos.RuleError{Code: pos.ErrWrongProposer,
			Description: fmt.Sprintf("seal by %v, a key not registered at the tip", s.Proposer)})
	}
	_, err = n.verifySealsAlone([]pos.Seal{s}, []chain.Hash{hash})
	return err
}

// sealAlone checks the seal s of header h, whose hash is hash, as far as
// no state of h's branch is needed, but for the seal's signature and
// reveal (verifySealsAlone): registered reports whether s's key is
// registered at the tip (in any status; when it is not, nothing else is
// checked); then h's time must be the start of s's slot, and the slot
// after the earliest slot parent can be in (parentSlotBound; parent is
// nil when unknown) and started by now plus chain/pos's MaxClockSkew.
// The errors are a chain.ErrBadSeal RuleError for the time, chain/pos's
// ErrSlotNotAfterParent and ErrFutureSlot RuleErrors for the slot (for
// the caller to wrap), and a plain error for bad slot rules in the
// params. The caller holds mu (shared) or writeMu.
func (n *Node) sealAlone(s *pos.Seal, h *chain.Header, hash chain.Hash, parent *blockNode, now time.Time) (registered bool, err error) {
	if _, ok := n.validators[s.Proposer]; !ok {
		return false, nil
	}
	rules := slotRules(n.params, parentSlotBound(n.params, parent), now)
	if err := rules.Check(); err != nil {
		return true, err
	}
	if start := pos.SlotStart(rules.GenesisTime, rules.SlotDuration, s.Slot).Unix(); int64(h.Timestamp) != start {
		return true, ruleErr(chain.ErrBadSeal, "block %v has time %d, its seal's slot %d starts at %d",
			hash, h.Timestamp, s.Slot, start)
	}
	return true, rules.CheckSlot(s.Slot)
}

// verifySealsAlone checks that each of seals, seals[i] of the block whose
// hash is hashes[i], is signed by the key it names and carries that
// key's reveal for its slot's epoch (chain/pos's VerifySeals: the
// signatures in one batch, each distinct reveal once). It returns the
// index of the first that fails with a chain.ErrBadSeal RuleError, or
// -1 and nil. It needs no lock.
func (n *Node) verifySealsAlone(seals []pos.Seal, hashes []chain.Hash) (int, error) {
	i, err := pos.VerifySeals(n.params.GenesisHash, seals, hashes, uint64(max(n.params.EpochLength, 0)))
	if err == nil || i < 0 {
		return i, err
	}
	return i, sealError(hashes[i], err)
}

// MaxSealStates bounds the parent states the node keeps for blocks whose
// seal failed (see sealFailures): each holds the validators active in
// the block's stake epoch, at most Params.MaxValidators, so with the dev
// chain's 128 about 10 KB, 10 MB in all.
const MaxSealStates = 1024

// sealState is the state before a block whose seal failed when it was
// connected, as checkSeal reads it: the beacon record and the validators
// active in the block's stake epoch. It lets another seal for the same
// block be checked in full without connecting its branch again.
type sealState struct {
	beacon     []byte // storage.BeaconKey's record; nil: the genesis state
	validators map[chain.PublicKey]chain.Validator
}

// get reads the beacon record, as checkSeal's get.
func (s *sealState) get(k string) []byte {
	if k == storage.BeaconKey {
		return s.beacon
	}
	return nil
}

// sealFailures holds, in memory only, the stored blocks whose seal failed
// when they were connected. Such a block is not condemned: it is
// neither validate-failed nor remembered, its descendants are not
// invalid-ancestor; it is treated as if only its header were known (its
// branch is no candidate for the tip, its children wait as orphans) until
// a copy with another seal passes (Node.reseal). The parent states of the
// MaxSealStates most recent failures are kept; an older failure keeps its
// entry without one. It is not safe for concurrent use: the Node writes
// it holding writeMu and mu, and reads it holding either.
type sealFailures struct {
	states map[*blockNode]*sealState // nil value: state dropped
	order  []*blockNode              // failures with a state, oldest first; may hold removed ones
	held   int                       // states not nil
}

// add records that node's seal failed, with the state before it,
// dropping the oldest state when MaxSealStates are held.
func (f *sealFailures) add(node *blockNode, st *sealState) {
	if f.states == nil {
		f.states = make(map[*blockNode]*sealState)
	}
	if len(f.order) >= 2*MaxSealStates { // forget the removed ones
		f.order = slices.DeleteFunc(f.order, func(x *blockNode) bool { return f.states[x] == nil })
	}
	for f.held >= MaxSealStates && len(f.order) > 0 {
		oldest := f.order[0]
		f.order = f.order[1:]
		if f.states[oldest] != nil {
			f.states[oldest] = nil
			f.held--
		}
	}
	f.remove(node)
	f.states[node] = st
	f.held++
	f.order = append(f.order, node)
}

// remove forgets node's failure, if any.
func (f *sealFailures) remove(node *blockNode) {
	if f.states[node] != nil {
		f.held--
	}
	delete(f.states, node)
}

// has reports whether node's seal failed.
func (f *sealFailures) has(node *blockNode) bool {
	_, ok := f.states[node]
	return ok
}

// blocks reports whether x or one of its ancestors failed its seal.
func (f *sealFailures) blocks(x *blockNode) bool {
	for failed := range f.states {
		if x.height >= failed.height && x.Ancestor(failed.height) == failed {
			return true
		}
	}
	return false
}

// markSealFailed records that node's seal failed when it was connected on
// its parent, the tip: in memory only, with the tip's state for another
// seal (see sealFailures). Its branch leaves the candidates and its
// parent becomes one again; nothing is stored, nothing is marked invalid.
func (n *Node) markSealFailed(node *blockNode) {
	var st *sealState
	if node.parent == n.view.tip() {
		stakeEpoch := max(n.params.Epoch(node.height), 1)
		st = &sealState{beacon: bytes.Clone(n.finality[storage.BeaconKey]), validators: make(map[chain.PublicKey]chain.Validator)}
		for k, v := range n.validators {
			if v.ActiveAt(stakeEpoch) {
				st.validators[k] = v
			}
		}
	}
	n.mu.Lock()
	n.sealFails.add(node, st)
	n.mu.Unlock()
	for c := range n.candidates {
		if c.height >= node.height && c.Ancestor(node.height) == node {
			delete(n.candidates, c)
		}
	}
	if p := node.parent; p != nil && p.status&storage.StatusDataStored != 0 && !p.status.KnownInvalid() && !n.sealFails.blocks(p) {
		n.candidates[p] = struct{}{}
	}
}

// reseal handles b, a copy of node's block, whose seal failed when it was
// connected, with another seal: the stored body is kept (the hash commits
// to it) and only b's seal is taken. With the state kept for node, the
// seal is checked in full first, and a bad one is refused with
// chain.ErrBadSeal and nothing stored; so each copy costs one seal check
// at most. A seal that passes (or one that cannot be checked, the state
// having been dropped) replaces the stored block in one Store.Commit;
// then node's branch is a candidate again, the orphans waiting for node
// are accepted, and fork choice runs, connecting the branch if it is the
// best. The caller holds writeMu.
func (n *Node) reseal(node *blockNode, b *chain.Block, res *Result) error {
	stored, err := n.store.Block(node.hash)
	if err != nil {
		return fmt.Errorf("node: reseal block %v: %w", node.hash, err)
	}
	if b.Seal != nil && stored.Seal != nil && *b.Seal == *stored.Seal {
		return ruleErr(chain.ErrBadSeal, "block %v: this seal failed already", node.hash)
	}
	nb := &chain.Block{Header: stored.Header, Transactions: stored.Transactions, Seal: b.Seal}
	if st := n.sealFails.states[node]; st != nil {
		if _, err := checkSeal(st.get, st.validators, nb, node.height, n.params, n.cfg.Now()); err != nil {
			return err
		}
	}
	if err := n.store.Commit(&storage.Batch{Blocks: []*chain.Block{nb}}); err != nil {
		return fmt.Errorf("node: reseal block %v: %w", node.hash, err)
	}
	n.mu.Lock()
	n.sealFails.remove(node)
	n.mu.Unlock()
	n.log.Debug("block sealed again", "hash", node.hash, "height", node.height)
	for _, x := range n.index {
		if x.height >= node.height && x.Ancestor(node.height) == node &&
			x.status&storage.StatusDataStored != 0 && !x.status.KnownInvalid() && !n.sealFails.blocks(x) {
			n.candidates[x] = struct{}{}
		}
	}
	return n.acceptOrphansAndActivate(node, res)
}

// headerSlots returns the slots whose start, rounded down to the second
// as checkSeal requires of a block's time, is ts: first to last, several
// when slots are shorter than a second (a header's time then does not
// say which), else one. ok is false when no slot starts then.
func headerSlots(p *chain.Params, ts uint32) (first, last uint64, ok bool) {
	g, t := slotZero(p), time.Unix(int64(ts), 0)
	last = pos.Slot(g, p.SlotDuration, t.Add(time.Second-1))
	if pos.SlotStart(g, p.SlotDuration, last).Unix() != int64(ts) {
		return 0, 0, false
	}
	first = pos.Slot(g, p.SlotDuration, t)
	if pos.SlotStart(g, p.SlotDuration, first).Before(t) {
		first++
	}
	return first, last, true
}

// sameTime counts b and its ancestors whose time is ts, up to limit.
func sameTime(b *blockNode, ts uint32, limit uint64) uint64 {
	var n uint64
	for x := b; x != nil && n < limit && x.header.Timestamp == ts; x = x.parent {
		n++
	}
	return n
}

// earliestSlot returns the earliest slot a block of time ts on parent can
// be in, given the times of parent and its ancestors alone: each block's
// slot is after its parent's, so the blocks of one second (several when
// slots are shorter than a second) take that second's slots in order.
// ok is false when ts starts no slot, or when the ancestors of that
// second leave it none.
func earliestSlot(p *chain.Params, ts uint32, parent *blockNode) (slot uint64, ok bool) {
	first, last, ok := headerSlots(p, ts)
	if !ok {
		return 0, false
	}
	slot = first + sameTime(parent, ts, last-first+1)
	return slot, slot <= last
}

// parentSlotBound returns the earliest slot parent can be in (0 for
// genesis, or when parent is unknown): what a child's slot must be after,
// when the parent's seal is not at hand.
func parentSlotBound(p *chain.Params, parent *blockNode) uint64 {
	if parent == nil || parent.height == 0 {
		return 0
	}
	slot, _ := earliestSlot(p, parent.header.Timestamp, parent.parent)
	return slot
}

// checkHeaderSlot checks what a proof-of-stake header, with the given
// hash, allows without its seal: its time is the start of a slot, the
// earliest slot its time and its ancestors' times allow (earliestSlot)
// is after its parent's (parentSlotBound; with slots of a second or more
// a time is one slot, and this is exact), and that slot has started by
// the clock now plus pos.MaxClockSkew. So a branch holds at most one
// header per slot. The first two fail with a chain.ErrBadSeal RuleError
// (wrapping chain/pos's ErrSlotNotAfterParent for the second), the third
// with chain.ErrTimeTooNew wrapping chain/pos's ErrFutureSlot: the header
// may pass later, so it is not remembered as refused. The header's seal
// is checked after it (ProcessSealedHeaders).
func checkHeaderSlot(h *chain.Header, hash chain.Hash, parent *blockNode, p *chain.Params, now time.Time) error {
	slot, ok := earliestSlot(p, h.Timestamp, parent)
	if _, _, starts := headerSlots(p, h.Timestamp); !starts {
		return ruleErr(chain.ErrBadSeal, "header %v has time %d, no slot's start", hash, h.Timestamp)
	}
	var err error
	if !ok {
		err = pos.RuleError{Code: pos.ErrSlotNotAfterParent,
			Description: fmt.Sprintf("every slot starting at time %d is taken by the header's ancestors", h.Timestamp)}
	} else {
		err = slotRules(p, parentSlotBound(p, parent), now).CheckSlot(slot)
	}
	if err == nil {
		return nil
	}
	return headerSlotError(hash, err)
}

// headerSlotError wraps a refusal of header hash: a chain/pos
// ErrFutureSlot as chain.ErrTimeTooNew (the header may pass once its slot
// has come, so it is neither remembered nor a fault), another chain/pos
// RuleError as chain.ErrBadSeal (sealError); other errors are returned
// as they are.
func headerSlotError(hash chain.Hash, err error) error {
	var perr pos.RuleError
	if errors.As(err, &perr) && perr.Code == pos.ErrFutureSlot {
		return chain.RuleError{Code: chain.ErrTimeTooNew, Description: fmt.Sprintf("node: header %v: %v", hash, err), Err: perr}
	}
	return sealError(hash, err)
}
