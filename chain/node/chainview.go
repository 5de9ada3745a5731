package node

import "github.com/powmine/powmine/chain"

// chainView is a flat view of one branch of the block index, genesis to
// tip, so that "node at height h" and "is this node on the branch" take
// O(1) (btcd's chainView). It is not safe for concurrent use; Node guards
// it with its mutex.
//
//	genesis -> 1 -> 2 -> 3 -> 4a -> 5a      <- view (tip 5a)
//	                     \-> 4b -> 5b -> 6b <- a side branch
//
// FindFork(6b) is block 3, where the side branch leaves the view.
type chainView struct {
	nodes []*blockNode
}

// tip returns the last node of the view, or nil when it is empty.
func (v *chainView) tip() *blockNode {
	if len(v.nodes) == 0 {
		return nil
	}
	return v.nodes[len(v.nodes)-1]
}

// setTip makes the view the branch ending at n (nil empties it). Only the
// part above the fork point with the old branch is rewritten.
func (v *chainView) setTip(n *blockNode) {
	if n == nil {
		v.nodes = v.nodes[:0]
		return
	}
	need := int(n.height) + 1
	if cap(v.nodes) < need {
		grown := make([]*blockNode, len(v.nodes), need+need/8+16)
		copy(grown, v.nodes)
		v.nodes = grown
	}
	for i := len(v.nodes); i < need; i++ {
		v.nodes = append(v.nodes, nil)
	}
	clear(v.nodes[need:])
	v.nodes = v.nodes[:need]
	for walk := n; walk != nil && v.nodes[walk.height] != walk; walk = walk.parent {
		v.nodes[walk.height] = walk
	}
}

// nodeByHeight returns the view's node at height, or nil.
func (v *chainView) nodeByHeight(height int64) *blockNode {
	if height < 0 || height >= int64(len(v.nodes)) {
		return nil
	}
	return v.nodes[height]
}

// contains reports whether n is on the view.
func (v *chainView) contains(n *blockNode) bool {
	return n != nil && v.nodeByHeight(n.height) == n
}

// findFork returns the last node the branch ending at n shares with the
// view: n itself when the view contains it, nil when they share nothing.
func (v *chainView) findFork(n *blockNode) *blockNode {
	if n == nil {
		return nil
	}
	if tipHeight := int64(len(v.nodes)) - 1; n.height > tipHeight {
		n = n.Ancestor(tipHeight)
	}
	for n != nil && !v.contains(n) {
		n = n.parent
	}
	return n
}

// locator returns a block locator for the view's tip: the hashes of the
// last 10 blocks, then ever larger steps back (doubling), always ending at
// genesis, as Bitcoin's getheaders expects.
func (v *chainView) locator() []chain.Hash {
	tip := v.tip()
	if tip == nil {
		return nil
	}
	var hashes []chain.Hash
	step := int64(1)
	for h := tip.height; ; h -= step {
		if h < 0 {
			h = 0
		}
		hashes = append(hashes, v.nodes[h].hash)
		if h == 0 {
			break
		}
		if len(hashes) >= 10 {
			step *= 2
		}
	}
	return hashes
}
