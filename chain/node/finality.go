package node

import (
	"bytes"
	"math/bits"
	"slices"
	"time"

	"github.com/powmine/powmine/chain"
	"github.com/powmine/powmine/chain/storage"
)

// The finality state (Casper FFG over the PoW chain, see the package doc)
// is a set of storage.FinalityEntry records, kept in a map from key to
// value like the accounts and the validators: connectDelta computes a
// block's changes and their undo, connectBlock and disconnectTip apply
// them in memory after the store has committed them in the block's own
// transaction.

// finalityCtx is what connectDelta needs to check votes: the records and
// the hashes of the branch's checkpoints.
type finalityCtx struct {
	// records is the finality state before the block; only read.
	records map[string][]byte

	// checkpoint returns the hash of the checkpoint of epoch e on the
	// block's branch: the block at height e·EpochLength, an ancestor of
	// or equal to the block. It is called only for e·EpochLength at most
	// the block's height.
	checkpoint func(e uint64) chain.Hash

	// genesis is the genesis hash: the checkpoint of epoch 0, justified
	// and finalized by definition.
	genesis chain.Hash

	// now is the node's clock, for the slot rules of a proof-of-stake
	// block's seal.
	now time.Time
}

// getFin returns the record as the block has left it so far (nil when
// absent).
func (d *stateDelta) getFin(records map[string][]byte, key string) []byte {
	if v, ok := d.nextFin[key]; ok {
		return v
	}
	return records[key]
}

// setFin records the record's new value (nil deletes it), remembering its
// old one on first touch.
func (d *stateDelta) setFin(records map[string][]byte, key string, v []byte) {
	if _, ok := d.nextFin[key]; !ok {
		d.undo.Finality = append(d.undo.Finality, storage.FinalityEntry{Key: key, Value: records[key]})
	}
	d.nextFin[key] = v
}

// finalityEntries returns the new records in first-touch order.
func (d *stateDelta) finalityEntries() []storage.FinalityEntry {
	out := make([]storage.FinalityEntry, len(d.undo.Finality))
	for i, e := range d.undo.Finality {
		out[i] = storage.FinalityEntry{Key: e.Key, Value: d.nextFin[e.Key]}
	}
	return out
}

// applyFinality writes entries into records, deleting empty ones.
func applyFinality(records map[string][]byte, entries []storage.FinalityEntry) {
	for _, e := range entries {
		if len(e.Value) == 0 {
			delete(records, e.Key)
		} else {
			records[e.Key] = e.Value
		}
	}
}

// finalityMeta returns the justified and finalized checkpoints of the
// state get reads (the genesis checkpoint for both when there is no meta
// record).
func finalityMeta(get func(string) []byte, genesis chain.Hash) storage.FinalityMeta {
	if v := get(storage.FinalityMetaKey); v != nil {
		if m, err := storage.DecodeFinalityMeta(v); err == nil {
			return m
		}
	}
	root := chain.Checkpoint{Epoch: 0, Hash: genesis}
	return storage.FinalityMeta{Justified: root, Finalized: root}
}

// isJustified reports whether c is justified on the branch whose state
// get reads.
func isJustified(get func(string) []byte, c chain.Checkpoint, genesis chain.Hash) bool {
	if c.Epoch == 0 {
		return c.Hash == genesis
	}
	v := get(storage.JustifiedKey(c.Epoch))
	return v != nil && bytes.Equal(v, c.Hash[:])
}

// epochTotal returns the stake of the validators active in epoch e, from
// validators (the state before the block; the set of an epoch never
// changes once the epoch has begun). It is cached in the delta.
func (d *stateDelta) epochTotal(validators map[chain.PublicKey]chain.Validator, e uint64) uint64 {
	if t, ok := d.totals[e]; ok {
		return t
	}
	var total uint64
	for _, v := range validators {
		if v.ActiveAt(e) {
			total += v.StakeAt(e) // stakes are coins that exist: no overflow
		}
	}
	d.totals[e] = total
	return total
}

// supermajority reports whether stake is two thirds of total or more,
// 3·stake ≥ 2·total, computed exactly in 128 bits.
func supermajority(stake, total uint64) bool {
	h1, l1 := bits.Mul64(stake, 3)
	h2, l2 := bits.Mul64(total, 2)
	return h1 > h2 || (h1 == h2 && l1 >= l2)
}

// pruneFinality deletes, at the first block of epoch e, the vote and link
// records of target epochs before e−1: no vote for them is valid any
// more.
func (d *stateDelta) pruneFinality(records map[string][]byte, e uint64) {
	if e < 2 {
		return
	}
	for key := range records {
		kind, epoch, _, ok := storage.FinalityRecordKind(key)
		if ok && (kind == 'v' || kind == 'l') && epoch+1 < e {
			d.setFin(records, key, nil)
		}
	}
}

// countVote checks the vote in transaction i of the block at height
// against the state and counts it. The checks, each with its
// chain.RuleError code:
//
//   - the validator is registered (ErrUnknownValidator), active in the
//     target epoch (ErrInactiveValidator) and not slashed
//     (ErrSlashedValidator);
//   - the target epoch is the block's epoch or the one before, and the
//     target hash is the branch's checkpoint of that epoch
//     (ErrUnknownCheckpoint);
//   - the source is justified on the branch (ErrSourceNotJustified);
//   - no vote of the validator was counted for that target epoch on the
//     branch (ErrDuplicateVote).
//
// A counted vote adds the validator's stake to the link source→target.
// When that link first reaches two thirds of the target epoch's total
// stake, the target is justified (and the source finalized when the
// target is its direct child), and every vote counted on the link pays
// p.VoteReward to its validator's owner; a vote counted on a link that
// has already justified its target is paid at once.
func (d *stateDelta) countVote(fc *finalityCtx, validators map[chain.PublicKey]chain.Validator, accounts map[chain.Address]chain.Account,
	v *chain.Vote, height int64, i int, p *chain.Params) error {
	epoch := p.Epoch(height)
	val, ok := validators[v.Validator]
	get := func(k string) []byte { return d.getFin(fc.records, k) }
	switch {
	case !ok:
		return ruleErr(chain.ErrUnknownValidator, "block at height %d: transaction %d is a vote of unknown validator %v", height, i, v.Validator)
	case !val.ActiveAt(v.Target.Epoch):
		return ruleErr(chain.ErrInactiveValidator, "block at height %d: transaction %d is a vote of validator %v, not active in epoch %d",
			height, i, v.Validator, v.Target.Epoch)
	case get(storage.SlashedKey(v.Validator)) != nil:
		return ruleErr(chain.ErrSlashedValidator, "block at height %d: transaction %d is a vote of slashed validator %v", height, i, v.Validator)
	case v.Target.Epoch > epoch || v.Target.Epoch+1 < epoch:
		return ruleErr(chain.ErrUnknownCheckpoint, "block at height %d (epoch %d): transaction %d votes for target epoch %d, want %d or %d",
			height, epoch, i, v.Target.Epoch, epoch-min(epoch, 1), epoch)
	case fc.checkpoint(v.Target.Epoch) != v.Target.Hash:
		return ruleErr(chain.ErrUnknownCheckpoint, "block at height %d: transaction %d votes for target %v, not this branch's checkpoint",
			height, i, v.Target)
	case !isJustified(get, v.Source, fc.genesis):
		return ruleErr(chain.ErrSourceNotJustified, "block at height %d: transaction %d votes from source %v, not justified on this branch",
			height, i, v.Source)
	case get(storage.VoteKey(v.Target.Epoch, v.Validator)) != nil:
		return ruleErr(chain.ErrDuplicateVote, "block at height %d: transaction %d: validator %v already voted for target epoch %d",
			height, i, v.Validator, v.Target.Epoch)
	}
	d.setFin(fc.records, storage.VoteKey(v.Target.Epoch, v.Validator), storage.EncodeVoteSource(v.Source))
	linkKey := storage.LinkKey(v.Target.Epoch, v.Source.Epoch)
	var support uint64
	if old := get(linkKey); old != nil {
		support, _ = storage.DecodeStake(old)
	}
	total := d.epochTotal(validators, v.Target.Epoch)
	before := supermajority(support, total) && support > 0
	support += val.StakeAt(v.Target.Epoch)
	d.setFin(fc.records, linkKey, storage.EncodeStake(support))
	switch {
	case before:
		// The link justified its target already: pay this vote.
		d.issued += p.VoteReward
		return d.credit(accounts, val.Owner, p.VoteReward, height)
	case !supermajority(support, total):
		return nil
	}
	// The link justifies its target now.
	d.setFin(fc.records, storage.JustifiedKey(v.Target.Epoch), v.Target.Hash[:])
	meta := finalityMeta(get, fc.genesis)
	if v.Target.Epoch > meta.Justified.Epoch {
		meta.Justified = v.Target
	}
	if v.Target.Epoch == v.Source.Epoch+1 && v.Source.Epoch > meta.Finalized.Epoch {
		meta.Finalized = v.Source
	}
	d.setFin(fc.records, storage.FinalityMetaKey, meta.Encode())
	return d.payLink(fc, validators, accounts, v.Target.Epoch, v.Source, height, p)
}

// payLink pays p.VoteReward to the owner of every validator whose vote
// for target epoch from source is counted, in the order of the
// validator keys.
func (d *stateDelta) payLink(fc *finalityCtx, validators map[chain.PublicKey]chain.Validator, accounts map[chain.Address]chain.Account,
	target uint64, source chain.Checkpoint, height int64, p *chain.Params) error {
	if p.VoteReward == 0 {
		return nil
	}
	var voters []chain.PublicKey
	seen := make(map[string]bool)
	visit := func(key string) {
		if seen[key] {
			return
		}
		seen[key] = true
		kind, epoch, k, ok := storage.FinalityRecordKind(key)
		if !ok || kind != 'v' || epoch != target {
			return
		}
		if s, err := storage.DecodeVoteSource(d.getFin(fc.records, key)); err == nil && s == source {
			voters = append(voters, k)
		}
	}
	for key := range d.nextFin {
		visit(key)
	}
	for key := range fc.records {
		visit(key)
	}
	slices.SortFunc(voters, func(a, b chain.PublicKey) int { return bytes.Compare(a[:], b[:]) })
	for _, k := range voters {
		d.issued += p.VoteReward
		if err := d.credit(accounts, validators[k].Owner, p.VoteReward, height); err != nil {
			return err
		}
	}
	return nil
}

// applySlash checks the slash or proposer slash tx, transaction i of the
// block at height, against the state and applies it: ErrUnknownValidator
// when the accused (a double or surround voter, or a proposer that sealed
// two blocks for one slot) is not registered, ErrSlashedValidator when it
// was slashed already (evidence is accepted once per validator, whatever
// its kind). The evidence itself was verified by chain.CheckBlockSanity. The validator is marked slashed (its later votes
// are refused), it leaves the set at the next epoch (its stake still
// weighs in the current one, whose totals must not change), Stake /
// p.SlashReporterShareDenom is credited to the reporter now, and the rest
// is burned: unlockStakes pays nothing back for a slashed validator.
func (d *stateDelta) applySlash(fc *finalityCtx, validators map[chain.PublicKey]chain.Validator, accounts map[chain.Address]chain.Account,
	tx *chain.Transaction, height int64, i int, p *chain.Params) error {
	key, _ := tx.Accused()
	reporter, _ := tx.SlashReporter()
	val := d.getValidator(validators, key)
	if val == (chain.Validator{}) {
		return ruleErr(chain.ErrUnknownValidator, "block at height %d: transaction %d slashes unknown validator %v", height, i, key)
	}
	if d.getFin(fc.records, storage.SlashedKey(key)) != nil {
		return ruleErr(chain.ErrSlashedValidator, "block at height %d: transaction %d slashes validator %v, slashed already", height, i, key)
	}
	d.setFin(fc.records, storage.SlashedKey(key), storage.SlashedValue)
	next := p.Epoch(height) + 1
	if val.ExitEpoch == 0 || val.ExitEpoch > next {
		val.ExitEpoch = next
		d.setValidator(validators, key, val)
	}
	if p.SlashReporterShareDenom == 0 {
		return nil
	}
	share := val.Stake / p.SlashReporterShareDenom
	d.issued += share
	return d.credit(accounts, reporter, share, height)
}

// finalityCtx returns the context connectDelta needs to connect node's
// block on top of the tip.
func (n *Node) finalityCtx(node *blockNode) *finalityCtx {
	length := uint64(max(n.params.EpochLength, 1))
	return &finalityCtx{
		records: n.finality,
		checkpoint: func(e uint64) chain.Hash {
			h := int64(e * length)
			if h == node.height {
				return node.hash
			}
			if a := node.parent.Ancestor(h); a != nil {
				return a.hash
			}
			return chain.Hash{}
		},
		genesis: n.params.GenesisHash,
		now:     n.cfg.Now(),
	}
}

// FinalityInfo is the finality state of the best chain (see
// Node.Finality).
type FinalityInfo struct {
	// Epoch is the tip's epoch.
	Epoch uint64

	// Justified is the justified checkpoint of the highest epoch on the
	// best chain, Finalized the finalized one (both the genesis
	// checkpoint, epoch 0, until votes justify another). The heights are
	// their blocks' heights, Epoch·EpochLength.
	Justified, Finalized             chain.Checkpoint
	JustifiedHeight, FinalizedHeight int64

	// EpochVoted is the stake of the votes counted on the best chain for
	// the checkpoint of the tip's epoch, EpochStake the stake of the
	// validators active in that epoch: the checkpoint is justified once
	// 3·EpochVoted ≥ 2·EpochStake with votes from a justified source.
	EpochVoted, EpochStake uint64
}

// FinalityStallLag is how many epochs the tip's epoch may run ahead of
// the finalized checkpoint's before finality counts as stalled: with
// every validator online the lag is 2 (the previous checkpoint
// justified, the one before it finalized, until the tip's epoch gathers
// its votes), 3 while the votes for an epoch's checkpoint land in the
// next epoch's blocks.
const FinalityStallLag = 3

// Lag returns how many epochs the tip's epoch is past the finalized
// checkpoint's.
func (f FinalityInfo) Lag() uint64 { return f.Epoch - min(f.Finalized.Epoch, f.Epoch) }

// Stalled reports whether finality has stalled: validators hold stake in
// the tip's epoch (a chain nobody stakes on has no finality to stall)
// and the lag is above FinalityStallLag, which takes votes of less than
// two thirds of the stake for more than one epoch.
func (f FinalityInfo) Stalled() bool { return f.EpochStake > 0 && f.Lag() > FinalityStallLag }

// Finality returns the finality state of the best chain. It is safe for
// concurrent use.
func (n *Node) Finality() FinalityInfo {
	n.mu.RLock()
	defer n.mu.RUnlock()
	return n.finalityInfoLocked()
}

// finalityInfoLocked is Finality with n.mu held.
func (n *Node) finalityInfoLocked() FinalityInfo {
	get := func(k string) []byte { return n.finality[k] }
	meta := finalityMeta(get, n.params.GenesisHash)
	info := FinalityInfo{
		Epoch:     n.params.Epoch(n.view.tip().height),
		Justified: meta.Justified,
		Finalized: meta.Finalized,
	}
	length := uint64(max(n.params.EpochLength, 0))
	info.JustifiedHeight = int64(meta.Justified.Epoch * length)
	info.FinalizedHeight = int64(meta.Finalized.Epoch * length)
	for key, v := range n.finality {
		kind, epoch, _, ok := storage.FinalityRecordKind(key)
		if ok && kind == 'l' && epoch == info.Epoch {
			s, _ := storage.DecodeStake(v)
			info.EpochVoted += s
		}
	}
	for _, v := range n.validators {
		if v.ActiveAt(info.Epoch) {
			info.EpochStake += v.StakeAt(info.Epoch)
		}
	}
	return info
}

// CheckFinalityTx reports whether tx, a vote, a slash or a proposer
// slash that passed chain.CheckTransactionSanity, would be accepted in a
// block extending the tip: countVote's or applySlash's rules, with their chain.RuleError
// codes, against the tip's state. A vote for the checkpoint of an epoch
// that the next block would open is refused (ErrUnknownCheckpoint): that
// block does not exist yet. Any other transaction yields an AssertError.
// Nothing changes. It is safe for concurrent use; mempools and block
// templates call it.
func (n *Node) CheckFinalityTx(tx *chain.Transaction) error {
	if !tx.IsFinality() {
		return chain.AssertError("CheckFinalityTx needs a vote or a slash")
	}
	n.mu.RLock()
	defer n.mu.RUnlock()
	tip := n.view.tip()
	height := tip.height + 1
	length := max(n.params.EpochLength, 1)
	fc := &finalityCtx{
		records: n.finality,
		checkpoint: func(e uint64) chain.Hash {
			if a := tip.Ancestor(int64(e) * length); a != nil {
				return a.hash
			}
			return chain.Hash{}
		},
		genesis: n.params.GenesisHash,
	}
	d := &stateDelta{
		next:    make(map[chain.Address]chain.Account),
		nextVal: make(map[chain.PublicKey]chain.Validator),
		nextFin: make(map[string][]byte),
		totals:  make(map[uint64]uint64, 2),
	}
	if n.params.IsEpochBoundary(height) {
		// As connectDelta does first: a slash of a validator that unlocks
		// in that block is refused there.
		if err := d.unlockStakes(n.validators, n.finality, height, n.params, n.accounts); err != nil {
			return err
		}
	}
	if tx.Vote != nil {
		return d.countVote(fc, n.validators, n.accounts, tx.Vote, height, 0, n.params)
	}
	return d.applySlash(fc, n.validators, n.accounts, tx, height, 0, n.params)
}
