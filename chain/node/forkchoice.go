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

// bestCandidate returns the tip the node should follow: the heaviest
// candidate (see heavier) the finalizer does not veto, or the current tip
// when no candidate beats it. It is the single place fork choice happens.
func (n *Node) bestCandidate() *blockNode {
	tip := n.view.tip()
	best := tip
	for c := range n.candidates {
		if !heavier(c, best) || c.status.KnownInvalid() {
			continue
		}
		if fork := n.view.findFork(c); fork != tip && n.cfg.Finalizer != nil &&
			!n.cfg.Finalizer.AllowReorg(fork.info(), tip.info(), c.info()) {
			continue
		}
		best = c
	}
	return best
}
