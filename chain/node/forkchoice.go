package node

import (
	"math"
	"math/bits"

	"github.com/powmine/powmine/chain"
	"github.com/powmine/powmine/chain/storage"
)

// Finalizer lets a finality rule (a proof-of-stake checkpoint, an
// operator's checkpoint) constrain fork choice. Fork choice itself is
// fixed: among the chains whose blocks are all stored and not known
// invalid, the node follows the one whose tip has the highest justified
// epoch, then (pure proof of stake only) the most attesting stake, then
// the most cumulative work, and at equal work the one whose tip it saw
// first (see better); length never counts, but in pure proof of stake
// every block has the same work. Before it switches to a branch that
// requires disconnecting blocks, it asks the Finalizer, and a veto
// removes that branch from consideration until the next block arrives:
// the node then takes the best branch that is not vetoed, or stays where
// it is. Extending the current tip is never vetoed.
//
// The node calls AllowReorg with its write lock held, so it must be fast
// and must not call ProcessBlock; it may call the read methods. The BlockInfo values are copies; their
// Work must not be modified.
type Finalizer interface {
	// AllowReorg reports whether the node may reorganize from oldTip to
	// newTip, disconnecting the blocks above fork (the last block both
	// branches share). A rule that never reverts a finalized block at
	// height f returns fork.Height >= f.
	AllowReorg(fork, oldTip, newTip BlockInfo) bool
}

// FinalizerFunc adapts a function to the Finalizer interface.
type FinalizerFunc func(fork, oldTip, newTip BlockInfo) bool

// AllowReorg implements Finalizer.
func (f FinalizerFunc) AllowReorg(fork, oldTip, newTip BlockInfo) bool {
	return f(fork, oldTip, newTip)
}

// bestCandidate returns the tip the node should follow: the best
// candidate (see better) that neither reverts a finalized block nor is
// vetoed by the Finalizer, or the current tip when no candidate beats
// it. It is the single place fork choice happens.
func (n *Node) bestCandidate() *blockNode {
	tip := n.view.tip()
	best := tip
	finalized := n.finalizedHeight()
	w := n.stakeWindow()
	for c := range n.candidates {
		if !n.better(c, best, w) || c.status.KnownInvalid() {
			continue
		}
		fork := n.view.findFork(c)
		if fork.height < finalized {
			if n.lastFinalityVeto != c {
				n.lastFinalityVeto = c
				n.log.Warn("refused a reorganization that reverts a finalized block",
					"tip", c.hash, "height", c.height, "fork", fork.hash, "forkHeight", fork.height, "finalizedHeight", finalized)
			}
			continue
		}
		if fork != tip && n.cfg.Finalizer != nil &&
			!n.cfg.Finalizer.AllowReorg(fork.info(), tip.info(), c.info()) {
			continue
		}
		best = c
	}
	return best
}

// finalizedHeight returns the height of the finalized checkpoint's block
// on the best chain (0, genesis, until votes finalize another).
func (n *Node) finalizedHeight() int64 {
	meta := finalityMeta(func(k string) []byte { return n.finality[k] }, n.params.GenesisHash)
	return int64(meta.Finalized.Epoch) * max(n.params.EpochLength, 0)
}

// justifiedOf returns the justified epoch of the chain state ending at b
// as far as the node knows it: b's own, known true, when the node's
// state was b's at least once (b was connected, or became the tip by a
// disconnect or at load); else that of its nearest ancestor whose state
// was, known false (a lower bound: the justified epoch never decreases
// along a chain).
func justifiedOf(b *blockNode) (epoch uint64, known bool) {
	for x := b; x != nil; x = x.parent {
		if x.justifiedKnown {
			return x.justified, x == b
		}
	}
	return 0, false
}

// justifiedEstimate is the justified epoch fork choice uses for b: the
// known one; for a block never connected, when a block between b and its
// nearest ancestor whose epoch is known (b included) is known to hold a
// vote, b's epoch, the highest its state could justify, so that a branch
// carrying votes is tried whatever its work (only votes justify: a
// lighter branch that would justify more, such as one a sync brings
// towards a peer's tip, is otherwise never connected); else the higher
// of its lower bound and the tip's, so that an unknown branch competes
// with the tip on work and is tried. Once connected, its epoch is known
// (see the package doc).
func (n *Node) justifiedEstimate(b *blockNode) uint64 {
	j, known := justifiedOf(b)
	if known {
		return j
	}
	tipJ, _ := justifiedOf(n.view.tip())
	est := max(j, tipJ)
	for x := b; x != nil && !x.justifiedKnown; x = x.parent {
		if x.votes == votesSome {
			return max(est, n.params.Epoch(b.height))
		}
	}
	return est
}

// better reports whether a should be followed rather than b: the higher
// justified epoch first (justifiedEstimate); on a proof-of-stake chain
// then the higher attesting stake from epoch w on (attestEstimate and
// attestation.from; w is stakeWindow's, one for all the comparisons of a
// choice, so that the order is transitive); then the heavier chain
// (heavier: most work, then first seen; on a proof-of-stake chain every
// block has the same work, so the most blocks). With stake disabled
// every justified epoch is 0 and this is heavier.
func (n *Node) better(a, b *blockNode, w uint64) bool {
	if ja, jb := n.justifiedEstimate(a), n.justifiedEstimate(b); ja != jb {
		return ja > jb
	}
	if n.params.Consensus == chain.ConsensusPoS {
		if x, y := n.attestEstimate(a).from(w), n.attestEstimate(b).from(w); x != y {
			return x > y
		}
	}
	return heavier(a, b)
}

// stakeWindow returns the first target epoch whose votes fork choice
// counts: E−1, where E is the highest epoch of a candidate's block (0
// when E is 0). A block of epoch E counts votes for targets E and E−1
// only, so older votes no longer count on the most advanced branch and
// must not count for a branch that stopped in an earlier epoch, whose
// state still holds them. It is 0 on a chain that is not proof of stake.
func (n *Node) stakeWindow() uint64 {
	if n.params.Consensus != chain.ConsensusPoS {
		return 0
	}
	var top int64
	for c := range n.candidates {
		if !c.status.KnownInvalid() {
			top = max(top, c.height)
		}
	}
	e := n.params.Epoch(top)
	return e - min(e, 1)
}

// attestation is the attesting stake of a proof-of-stake chain state
// after a block of epoch epoch: the stake of the votes the state counts
// for the checkpoints of epoch (stake[0]) and epoch−1 (stake[1]), each
// only when that epoch is above the state's justified epoch (0
// otherwise). Those are the only target epochs whose votes a block of
// epoch still counts: the first block of an epoch prunes the votes of
// older targets (see pruneFinality), so the attesting stake is not
// monotone along a chain.
type attestation struct {
	epoch uint64
	stake [2]uint64
}

// from returns the stake of a's votes for target epochs w and above,
// saturating at the largest uint64.
func (a attestation) from(w uint64) uint64 {
	var sum uint64
	for i, s := range a.stake {
		if uint64(i) <= a.epoch && a.epoch-uint64(i) >= w {
			var carry uint64
			if sum, carry = bits.Add64(sum, s, 0); carry != 0 {
				return math.MaxUint64
			}
		}
	}
	return sum
}

// attestationOf returns the attestation of the chain state records after
// a block of epoch, whose justified epoch is justified: the sum of the
// link stakes (storage.LinkKey) of target epochs epoch and epoch−1 above
// justified.
func attestationOf(records map[string][]byte, epoch, justified uint64) attestation {
	a := attestation{epoch: epoch}
	for key, v := range records {
		kind, target, _, ok := storage.FinalityRecordKind(key)
		if !ok || kind != 'l' || target <= justified || target > epoch || epoch-target > 1 {
			continue
		}
		s, err := storage.DecodeStake(v)
		if err != nil {
			continue
		}
		i := epoch - target
		var carry uint64
		if a.stake[i], carry = bits.Add64(a.stake[i], s, 0); carry != 0 {
			a.stake[i] = math.MaxUint64
		}
	}
	return a
}

// recordChainState records on b, the tip, what fork choice needs of the
// chain state after it, which is the node's state now: its justified
// epoch and, on a proof-of-stake chain, its attestation, computed from
// the whole state. The node calls it when a block becomes the tip
// without being connected (genesis, at load, by a disconnect), so the
// tip's values are always known; it does nothing when b's are known
// already: the state after a block never changes. The caller holds mu.
func (n *Node) recordChainState(b *blockNode) {
	if b.justifiedKnown {
		return
	}
	b.justified = finalityMeta(func(k string) []byte { return n.finality[k] }, n.params.GenesisHash).Justified.Epoch
	if n.params.Consensus == chain.ConsensusPoS {
		b.attest = attestationOf(n.finality, n.params.Epoch(b.height), b.justified)
	}
	b.justifiedKnown = true
}

// recordConnected is recordChainState for b, just connected on its
// parent, whose values are known (the parent was the tip): b's
// attestation follows from the parent's and b's finality changes,
// before and after (storage.FinalityEntry lists of the same keys in the
// same order: the block's undo and its new records), without reading
// the whole state. The caller holds mu.
func (n *Node) recordConnected(b *blockNode, before, after []storage.FinalityEntry) {
	b.justified = finalityMeta(func(k string) []byte { return n.finality[k] }, n.params.GenesisHash).Justified.Epoch
	switch {
	case n.params.Consensus != chain.ConsensusPoS:
	case b.parent.justifiedKnown:
		b.attest = nextAttestation(b.parent.attest, n.params.Epoch(b.height), b.justified, before, after)
	default: // not expected: the tip's values are always known
		b.attest = attestationOf(n.finality, n.params.Epoch(b.height), b.justified)
	}
	b.justifiedKnown = true
}

// nextAttestation returns the attestation after a block of epoch whose
// justified epoch is justified, from its parent's attestation p and the
// block's finality changes (see recordConnected): the parent's stakes of
// the target epochs a block of epoch counts (the first block of an epoch
// pruned the others), plus what the block's votes added to their links,
// with the targets at or below justified left out. The parent counted
// every target above its own justified epoch, which is at most
// justified, so this equals attestationOf on the block's state.
func nextAttestation(p attestation, epoch, justified uint64, before, after []storage.FinalityEntry) attestation {
	a := attestation{epoch: epoch}
	for i, s := range p.stake {
		if t := p.epoch - uint64(i); uint64(i) <= p.epoch && t <= epoch && epoch-t <= 1 {
			a.stake[epoch-t] = s
		}
	}
	for i := range min(len(before), len(after)) {
		kind, t, _, ok := storage.FinalityRecordKind(after[i].Key)
		if !ok || kind != 'l' || after[i].Key != before[i].Key || t > epoch || epoch-t > 1 {
			continue
		}
		var old, now uint64
		if before[i].Value != nil {
			old, _ = storage.DecodeStake(before[i].Value)
		}
		if after[i].Value != nil {
			now, _ = storage.DecodeStake(after[i].Value)
		}
		// A link's stake only grows while its target is open.
		if now > old {
			var carry uint64
			if a.stake[epoch-t], carry = bits.Add64(a.stake[epoch-t], now-old, 0); carry != 0 {
				a.stake[epoch-t] = math.MaxUint64
			}
		}
	}
	for i := range a.stake {
		if uint64(i) > epoch || epoch-uint64(i) <= justified {
			a.stake[i] = 0
		}
	}
	return a
}

// bodyVotes is what the node knows of the votes in a block's body; the
// zero value: nothing, the body was not seen since the node started (the
// block was loaded from the store).
type bodyVotes uint8

const (
	// votesNone: the body holds no vote.
	votesNone bodyVotes = iota + 1
	// votesSome: the body holds at least one vote.
	votesSome
)

// votesIn returns what b's body says about votes.
func votesIn(b *chain.Block) bodyVotes {
	for i := range b.Transactions {
		if b.Transactions[i].Vote != nil {
			return votesSome
		}
	}
	return votesNone
}

// attestEstimate is the attestation fork choice uses for b: the known
// one (see justifiedOf); else, when a block between b and its nearest
// ancestor whose values are known (b included) is known to hold a vote,
// the largest stakes, so that the branch is tried: the stake its votes
// add is known only once they are counted; else the tip's, so that
// the branch competes with the tip on the number of blocks and is tried
// when longer, as with justifiedEstimate. An ancestor's attestation is
// no bound: votes of an epoch that closes unjustified stop counting.
func (n *Node) attestEstimate(b *blockNode) attestation {
	if b.justifiedKnown {
		return b.attest
	}
	for x := b; x != nil && !x.justifiedKnown; x = x.parent {
		if x.votes == votesSome {
			return attestation{epoch: n.params.Epoch(b.height), stake: [2]uint64{math.MaxUint64, math.MaxUint64}}
		}
	}
	return n.view.tip().attest
}
