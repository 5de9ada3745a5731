package node

import (
	"math/big"

	"github.com/powmine/powmine/chain"
	"github.com/powmine/powmine/chain/storage"
)

// blockNode is one header of the block index, with its block stored
// (StatusDataStored) or header-only (see Node.ProcessHeaders). Nodes are
// created once and never removed, but header-only ones that a full index
// evicts (Node.evictHeaders); every field but status and seq is
// immutable after creation. status, and seq (set again when the block of
// a header-only node arrives), are written by a change holding
// Node.writeMu and Node.mu, read under either. Fields are ordered to
// limit padding.
type blockNode struct {
	parent *blockNode // nil only for genesis
	skip   *blockNode // ancestor at skipHeight(height), for fast Ancestor

	// workSum is the chainwork up to and including this block: the sum of
	// chain.CalcWork over the chain from genesis. Never modified.
	workSum *big.Int

	height int64
	seq    uint64 // first-seen order; lower wins among equal work

	header chain.Header
	hash   chain.Hash
	status storage.BlockStatus

	// attest is the attesting stake of the chain state after connecting
	// this block (see attestation; proof-of-stake chains only, zero on
	// others), valid when justifiedKnown.
	attest attestation

	// justified is the justified epoch of the chain state after
	// connecting this block, valid when justifiedKnown: set when the
	// block is connected or becomes the tip by a disconnect (and for the
	// tip at load), never stored.
	justified      uint64
	justifiedKnown bool

	// votes is what the node knows of the votes in the block's body, for
	// the attesting-stake estimate of a block never connected: set when
	// the block is accepted, unknown for a block loaded from the store.
	votes bodyVotes
}

// newBlockNode returns the node of header h, whose parent is parent (nil
// for genesis).
func newBlockNode(h *chain.Header, hash chain.Hash, parent *blockNode, seq uint64) *blockNode {
	n := &blockNode{parent: parent, header: *h, hash: hash, seq: seq}
	work := chain.CalcWork(h.Bits)
	if parent != nil {
		n.height = parent.height + 1
		work.Add(work, parent.workSum)
		n.skip = parent.Ancestor(skipHeight(n.height))
	}
	n.workSum = work
	return n
}

// invertLowestOne clears the lowest set bit of n.
func invertLowestOne(n int64) int64 { return n & (n - 1) }

// skipHeight returns the height the skip pointer of a node at height
// points to, Bitcoin Core's GetSkipHeight: any height below works, and
// this choice makes Ancestor take O(log n) steps.
func skipHeight(height int64) int64 {
	if height < 2 {
		return 0
	}
	if height&1 != 0 {
		return invertLowestOne(invertLowestOne(height-1)) + 1
	}
	return invertLowestOne(height)
}

// Ancestor returns the ancestor of n at height, n itself at its own
// height, or nil for a height outside [0, n.height]. It follows skip
// pointers (Core's CBlockIndex::GetAncestor).
func (n *blockNode) Ancestor(height int64) *blockNode {
	if height < 0 || height > n.height {
		return nil
	}
	walk := n
	for walk.height > height {
		hs := skipHeight(walk.height)
		hsPrev := skipHeight(walk.height - 1)
		if walk.skip != nil && (hs == height || (hs > height && !(hsPrev < hs-2 && hsPrev >= height))) {
			walk = walk.skip
		} else {
			walk = walk.parent
		}
	}
	return walk
}

// heavier is the fork-choice order (Bitcoin Core's
// CBlockIndexWorkComparator): more chainwork wins and, at equal work, the
// block seen first (lower sequence number). It never looks at length.
func heavier(a, b *blockNode) bool {
	if c := a.workSum.Cmp(b.workSum); c != 0 {
		return c > 0
	}
	return a.seq < b.seq
}

// headerContext gathers what chain.CheckHeaderContext needs to know about
// the chain ending at parent.
func headerContext(parent *blockNode, p *chain.Params) chain.HeaderContext {
	c := chain.HeaderContext{
		PrevHash:   parent.hash,
		PrevHeight: parent.height,
		PrevBits:   parent.header.Bits,
		PrevTime:   int64(parent.header.Timestamp),
	}
	if next := parent.height + 1; !p.NoRetargeting && p.RetargetInterval > 0 && next%p.RetargetInterval == 0 {
		if first := parent.Ancestor(next - p.RetargetInterval); first != nil {
			c.PeriodStartTime = int64(first.header.Timestamp)
		}
	}
	var times [16]int64
	ts := times[:0]
	for walk := parent; walk != nil && len(ts) < min(p.MedianTimeBlocks, len(times)); walk = walk.parent {
		ts = append(ts, int64(walk.header.Timestamp))
	}
	c.MedianTime = chain.MedianTimePast(ts)
	return c
}

// BlockInfo describes one block of the index, as the node's queries and
// the Finalizer see it. Work is the chainwork up to and including the
// block; do not modify it.
type BlockInfo struct {
	Hash   chain.Hash
	Height int64
	Header chain.Header
	Work   *big.Int
	Status storage.BlockStatus
}

// info returns the node's BlockInfo; status is read under the caller's lock.
func (n *blockNode) info() BlockInfo {
	return BlockInfo{Hash: n.hash, Height: n.height, Header: n.header, Work: n.workSum, Status: n.status}
}
