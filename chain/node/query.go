package node

import (
	"cmp"
	"fmt"
	"slices"

	"github.com/powmine/powmine/chain"
	"github.com/powmine/powmine/chain/storage"
)

// Tip returns the tip of the best chain. It is safe for concurrent use.
func (n *Node) Tip() BlockInfo {
	n.mu.RLock()
	defer n.mu.RUnlock()
	return n.view.tip().info()
}

// TipJustified returns the tip, as Tip does, with the justified epoch of
// the chain state at it (0 until votes justify a checkpoint; see
// Finality), read together. It is safe for concurrent use.
func (n *Node) TipJustified() (BlockInfo, uint64) {
	n.mu.RLock()
	defer n.mu.RUnlock()
	tip := n.view.tip()
	j, _ := justifiedOf(tip) // the tip's is always known
	return tip.info(), j
}

// BlockInfo returns what the index knows about the block with the given
// hash, on any branch; a header-only node (see ProcessHeaders) has no
// storage.StatusDataStored, nor has a block whose proof-of-stake seal
// failed (see pos.go): the node wants another copy of it. It is safe for
// concurrent use.
func (n *Node) BlockInfo(hash chain.Hash) (BlockInfo, bool) {
	n.mu.RLock()
	defer n.mu.RUnlock()
	if node := n.index[hash]; node != nil {
		return n.infoOf(node), true
	}
	return BlockInfo{}, false
}

// BlockByHeight returns the block info at height on the best chain. It is
// safe for concurrent use.
func (n *Node) BlockByHeight(height int64) (BlockInfo, bool) {
	n.mu.RLock()
	defer n.mu.RUnlock()
	if node := n.view.nodeByHeight(height); node != nil {
		return node.info(), true
	}
	return BlockInfo{}, false
}

// MainChainHas reports whether the block is on the best chain. It is safe
// for concurrent use.
func (n *Node) MainChainHas(hash chain.Hash) bool {
	n.mu.RLock()
	defer n.mu.RUnlock()
	return n.view.contains(n.index[hash])
}

// Block returns a stored block from the Store, without waiting for a
// change in progress, whose blocks are committed before the index shows
// them (it takes the read lock only to look the block up). A block whose
// proof-of-stake seal failed is not served (an error wrapping
// storage.ErrNotFound), so that the node does not hand a forged seal to
// its peers. It is safe for concurrent use; the result must not be
// modified.
func (n *Node) Block(hash chain.Hash) (*chain.Block, error) {
	n.mu.RLock()
	failed := n.sealFails.has(n.index[hash])
	n.mu.RUnlock()
	if failed {
		return nil, fmt.Errorf("%w: block %v: its seal failed", storage.ErrNotFound, hash)
	}
	return n.store.Block(hash)
}

// Account returns the state of an address at the tip (the zero Account
// for an unused one). It is safe for concurrent use.
func (n *Node) Account(a chain.Address) chain.Account {
	n.mu.RLock()
	defer n.mu.RUnlock()
	return n.accounts[a]
}

// Locator returns a block locator for the tip (see chainView.locator):
// recent hashes first, then exponentially spaced ones, ending at genesis.
// It is safe for concurrent use.
func (n *Node) Locator() []chain.Hash {
	n.mu.RLock()
	defer n.mu.RUnlock()
	return n.view.locator()
}

// NextHeaderContext returns the chain.HeaderContext of a block extending
// the tip, for block templates: its NextBits are the bits the block must
// carry and its MedianTime the time it must exceed. It is safe for
// concurrent use.
func (n *Node) NextHeaderContext() chain.HeaderContext {
	n.mu.RLock()
	defer n.mu.RUnlock()
	return headerContext(n.view.tip(), n.params)
}

// OrphanCount returns the number of blocks in the orphan pool. It is safe
// for concurrent use.
func (n *Node) OrphanCount() int {
	n.mu.RLock()
	defer n.mu.RUnlock()
	return n.orphans.len()
}

// ChainTip is a block with no children in the index: the tip of the best
// chain or of a side branch, which may be header-only (its Status lacks
// storage.StatusDataStored; getchaintips says "headers-only").
type ChainTip struct {
	BlockInfo
	// BranchLen is the number of blocks from the tip down to the best
	// chain (0 for the active tip).
	BranchLen int64
	// Active is true for the tip of the best chain.
	Active bool
	// RevertsFinalized is true for a branch that forks from the best
	// chain below its finalized checkpoint: the node refuses to follow
	// it, whatever its work (getchaintips says "invalid-finality").
	RevertsFinalized bool
}

// ChainTips returns every branch tip the index knows, the active one
// first, then by height, highest first. It walks the whole index, so it is
// meant for operators (getchaintips), not hot paths. It is safe for
// concurrent use.
func (n *Node) ChainTips() []ChainTip {
	n.mu.RLock()
	defer n.mu.RUnlock()
	hasChild := make(map[*blockNode]bool, len(n.index))
	for _, b := range n.index {
		if b.parent != nil {
			hasChild[b.parent] = true
		}
	}
	tip := n.view.tip()
	finalized := n.finalizedHeight()
	tips := []ChainTip{{BlockInfo: tip.info(), Active: true}}
	for _, b := range n.index {
		if hasChild[b] || b == tip {
			continue
		}
		fork := b
		for !n.view.contains(fork) {
			fork = fork.parent
		}
		tips = append(tips, ChainTip{BlockInfo: n.infoOf(b), BranchLen: b.height - fork.height, RevertsFinalized: fork.height < finalized})
	}
	slices.SortStableFunc(tips[1:], func(a, b ChainTip) int { return cmp.Compare(b.Height, a.Height) })
	return tips
}

// infoOf returns node's BlockInfo as the read methods show it: a block
// whose proof-of-stake seal failed without storage.StatusDataStored, as
// if only its header were known (see pos.go). The caller holds mu
// (shared) or writeMu.
func (n *Node) infoOf(node *blockNode) BlockInfo {
	info := node.info()
	if n.sealFails.has(node) {
		info.Status &^= storage.StatusDataStored
	}
	return info
}
