package node

// Finalizer lets a finality rule (a proof-of-stake checkpoint, an
// operator's checkpoint) constrain fork choice. Fork choice itself is
// fixed: among the chains whose blocks are all stored and not known
// invalid, the node follows the one whose tip has the most cumulative
// work, and at equal work the one whose tip it saw first; length never
// counts. Before it switches to a branch that requires disconnecting
// blocks, it asks the Finalizer, and a veto removes that branch from
// consideration until the next block arrives: the node then takes the
// best branch that is not vetoed, or stays where it is. Extending the
// current tip is never vetoed.
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
	for c := range n.candidates {
		if !n.better(c, best) || c.status.KnownInvalid() {
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
// as far as the node knows it: b's own, known true, when b was connected
// at least once; else that of its nearest ancestor that was, known false
// (a lower bound: the justified epoch never decreases along a chain).
func justifiedOf(b *blockNode) (epoch uint64, known bool) {
	for x := b; x != nil; x = x.parent {
		if x.justifiedKnown {
			return x.justified, x == b
		}
	}
	return 0, false
}

// justifiedEstimate is the justified epoch fork choice uses for b: the
// known one, or for a block never connected the higher of its lower
// bound and the tip's, so that an unknown branch competes with the tip on
// work and is tried; once connected, its epoch is known (see the package
// doc).
func (n *Node) justifiedEstimate(b *blockNode) uint64 {
	j, known := justifiedOf(b)
	if known {
		return j
	}
	tipJ, _ := justifiedOf(n.view.tip())
	return max(j, tipJ)
}

// better reports whether a should be followed rather than b: the higher
// justified epoch first (justifiedEstimate), then the heavier chain
// (heavier: most work, then first seen). With stake disabled every
// justified epoch is 0 and this is heavier.
func (n *Node) better(a, b *blockNode) bool {
	if ja, jb := n.justifiedEstimate(a), n.justifiedEstimate(b); ja != jb {
		return ja > jb
	}
	return heavier(a, b)
}
