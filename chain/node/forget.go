package node

import (
	"errors"
	"fmt"
	"time"

	"github.com/powmine/powmine/chain"
	"github.com/powmine/powmine/chain/storage"
)

// Limits of forgotten header branches (see ForgetHeaders).
const (
	// MaxForgotten bounds the roots of forgotten header branches that
	// ProcessHeaders refuses: a new one pushes out the oldest.
	MaxForgotten = 1024
	// ForgetWindow is how long ProcessHeaders refuses the root of a
	// forgotten branch as a header.
	ForgetWindow = 10 * time.Minute
)

var (
	// ErrNotHeaderOnly: ForgetHeaders was asked to forget a node whose
	// block is stored (a block whose proof-of-stake seal failed
	// included): only header-only nodes are forgotten.
	ErrNotHeaderOnly = errors.New("node: block stored, not header-only")

	// ErrForgottenHeader: ProcessHeaders met the root of a branch that
	// ForgetHeaders dropped less than ForgetWindow ago; that header and
	// the ones after it were not added. It is no rule error: the branch
	// may be honest after all, and comes back with its blocks.
	ErrForgottenHeader = errors.New("node: header of a forgotten branch")
)

// ForgetHeaders removes the header-only node hash and every descendant
// of it (all header-only: a block is stored only once its parent's is)
// from the index, and returns how many nodes it removed: what sync does
// when no peer serves the block of hash, so that BestHeader and
// MissingBlocks move to the next heaviest header chain instead of
// waiting for blocks that never come. Like header-only nodes themselves
// this is in memory only. An unknown hash removes nothing (0, nil); a
// node whose block is stored is never removed (ErrNotHeaderOnly).
//
// The removed headers may come back: their blocks are taken as any
// block is (ProcessBlock), and after ForgetWindow their headers too. For
// ForgetWindow, and while it is among the last MaxForgotten forgotten
// roots, ProcessHeaders refuses the header hash (ErrForgottenHeader), so
// a peer that sends the same headers again cannot make the node fetch
// and forget them in a loop. It walks the whole index, as eviction does,
// and is safe for concurrent use.
func (n *Node) ForgetHeaders(hash chain.Hash) (int, error) {
	n.writeMu.Lock()
	defer n.writeMu.Unlock()
	root := n.index[hash]
	if root == nil {
		return 0, nil
	}
	if root.status&storage.StatusDataStored != 0 {
		return 0, fmt.Errorf("%w: %v", ErrNotHeaderOnly, hash)
	}
	var gone []*blockNode
	for _, x := range n.index {
		if x.status&storage.StatusDataStored == 0 && onChainOf(x, root) {
			gone = append(gone, x)
		}
	}
	n.forgotten.add(hash, n.cfg.Now().Add(ForgetWindow), true)
	n.dropHeaders(gone)
	n.log.Info("header branch forgotten", "root", hash, "height", root.height, "forgotten", len(gone), "bestHeader", n.bestHeader.hash)
	return len(gone), nil
}

// refusedUntil reports whether forgotten (the roots of forgotten header
// branches, each with the time until which it is refused) refuses hash at
// now.
func refusedUntil(forgotten *hashRing[time.Time], hash chain.Hash, now time.Time) bool {
	until, ok := forgotten.get(hash)
	return ok && now.Before(until)
}
