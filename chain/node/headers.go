package node

import (
	"errors"
	"fmt"

	"github.com/powmine/powmine/chain"
	"github.com/powmine/powmine/chain/storage"
)

// MaxHeaderOnly bounds the header-only nodes of the index (headers whose
// block the node does not have yet), about 250 bytes each, so 25 MB at
// most. When a new header finds it reached, ProcessHeaders first evicts
// the header-only nodes off the chains of BestHeader and of the header's
// parent (see ProcessHeaders); if that frees nothing, it refuses the
// header with ErrTooManyHeaders until blocks arrive for those it holds.
const MaxHeaderOnly = 100_000

// Errors of ProcessHeaders that are no rule errors.
var (
	// ErrUnconnectedHeaders: the first header's parent is not in the
	// index, or the headers do not form a chain (each the parent of the
	// next). A peer answering a locator with such headers misbehaves.
	ErrUnconnectedHeaders = errors.New("node: unconnected headers")

	// ErrTooManyHeaders: the index holds MaxHeaderOnly header-only nodes
	// already, all on the chain of BestHeader or of the header's parent;
	// the header was not added.
	ErrTooManyHeaders = errors.New("node: too many header-only nodes")
)

// HeadersResult is what ProcessHeaders did with a list of headers.
type HeadersResult struct {
	// Added is how many headers were new to the index.
	Added int

	// Last is the index node of the last header processed without error
	// (known or added): with no error, the last header of the list.
	Last BlockInfo
}

// ProcessHeaders adds headers to the block index without their blocks,
// as Bitcoin Core's ProcessNewBlockHeaders does for headers-first sync.
// hs must form a chain (each header the parent of the next) whose first
// header's parent is in the index; otherwise nothing is added and the
// error wraps ErrUnconnectedHeaders. Each header gets, in order, the
// proof-of-work check (chain.CheckHeaderSanity, for every header before
// any is added), then the checks of a block's header against its parent:
// a parent known invalid yields chain.ErrInvalidAncestorBlock
// ("bad-prevblk"), then chain.CheckHeaderContext (bits, median time past,
// future limit). Headers already in the index are skipped; one known
// invalid (in the index, or remembered as refused) yields an error
// wrapping ErrDuplicate and ErrKnownInvalid; the root of a branch
// forgotten lately (see ForgetHeaders) yields ErrForgottenHeader, which
// is no rule error. Processing stops at the first error; the headers
// before it stay added. A header that breaks a rule is remembered as a
// refused block is (see the package comment).
//
// New headers become header-only index nodes (no StatusDataStored): they
// count in BestHeader, MissingBlocks, BlockInfo and ChainTips, but never
// in fork choice, since a branch becomes a candidate for the tip only
// once all its blocks are stored; ProcessBlock attaches a block to its
// header-only node. Header-only nodes are kept in memory only, never
// written to the Store: after a restart the node has none, and sync
// fetches the headers again.
//
// In proof of stake (Params.Consensus == chain.ConsensusPoS) a header
// carries no work, and its seal comes with its block, so a header costs
// nothing to make. It gets the checks its own fields allow instead
// (checkHeaderSlot): its time must be the start of a slot (slot k starts
// at the genesis time plus k·SlotDuration, rounded down to the second, as
// a block's seal requires), that slot must be after its parent's, else
// chain.ErrBadSeal, and must have started (within chain/pos's
// MaxClockSkew), else chain.ErrTimeTooNew, which is not remembered. So a
// branch holds at most one header per slot since its fork: made-up
// chains cannot run ahead of the clock.
//
// At most MaxHeaderOnly header-only nodes are held. The rule when a new
// header finds them all taken: the node evicts, once per call, every
// header-only node that is on neither the chain of BestHeader nor the
// chain the header extends (invalid ones included: a header extending a
// stored invalid block is refused by its parent), and only if that
// frees nothing is the header refused with an error wrapping
// ErrTooManyHeaders. Evicted headers are merely forgotten (sync fetches
// them again if they matter). So headers off the best chain, however
// many, cannot keep an honest chain's headers out: the branch sync works
// towards, and the one it is adding to, always stay. A made-up chain
// that is heavier than the honest one (cheap on a low-work chain; in
// proof of stake, a header in every slot since its fork outweighs an
// honest chain that missed slots) becomes BestHeader, whose blocks never
// come: sync, finding no peer that serves them, drops it with
// ForgetHeaders, and BestHeader moves to the next heaviest chain. The
// eviction walks the whole index, at most once per call.
//
// It is safe for concurrent use: the proof of work is checked without
// locks, the rest under the write lock, and the new nodes are shown to
// readers at once at the end.
func (n *Node) ProcessHeaders(hs []chain.Header) (HeadersResult, error) {
	var res HeadersResult
	if len(hs) == 0 {
		return res, nil
	}
	hashes := make([]chain.Hash, len(hs))
	for i := range hs {
		hashes[i] = hs[i].Hash()
		if i > 0 && hs[i].PrevBlock != hashes[i-1] {
			return res, fmt.Errorf("%w: header %d (%v) does not extend header %d (%v)",
				ErrUnconnectedHeaders, i, hashes[i], i-1, hashes[i-1])
		}
		if n.params.Consensus == chain.ConsensusPoS {
			// No work to check: the bits are fixed, and the seals come
			// with the blocks. The slot rules run against the parent
			// below (checkHeaderSlot).
			if err := chain.CheckHeaderSanity(&hs[i], n.params); err != nil {
				return res, err
			}
		} else if err := chain.CheckProofOfWork(hashes[i], hs[i].Bits, n.params.PowLimit); err != nil {
			return res, err
		}
	}

	n.writeMu.Lock()
	defer n.writeMu.Unlock()
	// The index changes only under writeMu: read it without mu.
	parent := n.index[hs[0].PrevBlock]
	if parent == nil {
		if code, ok := n.rejected.get(hs[0].PrevBlock); ok {
			return res, n.reject(hashes[0], ruleErr(chain.ErrInvalidAncestorBlock,
				"header %v extends block %v, refused (%v)", hashes[0], hs[0].PrevBlock, code.RejectReason()))
		}
		return res, fmt.Errorf("%w: parent %v of header %v is unknown", ErrUnconnectedHeaders, hs[0].PrevBlock, hashes[0])
	}
	now := n.cfg.Now()
	var (
		added []*blockNode
		err   error
		swept bool // evictHeaders ran: once per call at most
	)
	for i := range hs {
		hash := hashes[i]
		if known := n.index[hash]; known != nil {
			if known.status.KnownInvalid() {
				err = fmt.Errorf("%w: %w: header %v", ErrDuplicate, ErrKnownInvalid, hash)
				break
			}
			parent = known
			continue
		}
		if code, ok := n.rejected.get(hash); ok {
			err = fmt.Errorf("%w: %w: header %v was refused (%v)", ErrDuplicate, ErrKnownInvalid, hash, code.RejectReason())
			break
		}
		if refusedUntil(n.forgotten, hash, now) {
			err = fmt.Errorf("%w: %v", ErrForgottenHeader, hash)
			break
		}
		if parent.status.KnownInvalid() {
			err = n.reject(hash, ruleErr(chain.ErrInvalidAncestorBlock, "header %v extends invalid block %v", hash, parent.hash))
			break
		}
		ctx := headerContext(parent, n.params)
		if err = chain.CheckHeaderContext(&hs[i], n.params, &ctx, now); err != nil {
			err = n.reject(hash, err)
			break
		}
		if n.params.Consensus == chain.ConsensusPoS {
			if err = checkHeaderSlot(&hs[i], hash, parent, n.params, now); err != nil {
				err = n.reject(hash, err)
				break
			}
		}
		if n.headerOnly+len(added) >= n.maxHeaderOnly && !swept {
			swept = true
			n.evictHeaders(parent)
		}
		if n.headerOnly+len(added) >= n.maxHeaderOnly {
			err = fmt.Errorf("%w: %d held, header %v refused", ErrTooManyHeaders, n.maxHeaderOnly, hash)
			break
		}
		node := newBlockNode(&hs[i], hash, parent, n.takeSeq())
		added = append(added, node)
		parent = node
	}
	if len(added) > 0 {
		n.mu.Lock()
		for _, node := range added {
			n.index[node.hash] = node
		}
		n.headerOnly += len(added)
		if last := added[len(added)-1]; heavier(last, n.bestHeader) {
			n.bestHeader = last
		}
		n.mu.Unlock()
		n.log.Debug("headers added", "added", len(added), "last", parent.hash, "height", parent.height)
	}
	res.Added = len(added)
	res.Last = parent.info()
	return res, err
}

// BestHeader returns the heaviest node of the index that is not known
// invalid, header-only or not (Core's pindexBestHeader): the tip sync
// works towards. It is at least as heavy as Tip. It is safe for
// concurrent use.
func (n *Node) BestHeader() BlockInfo {
	n.mu.RLock()
	defer n.mu.RUnlock()
	return n.bestHeader.info()
}

// MissingBlocks returns the hashes of the blocks the node lacks on the
// chain of BestHeader: those after its last ancestor whose block is
// stored, in height order, at most limit. A block whose proof-of-stake
// seal failed counts as lacking (see pos.go): another copy may carry the
// right seal. Each block's parent comes before it, so handing the blocks
// to ProcessBlock in this order connects them. It is safe for concurrent
// use.
func (n *Node) MissingBlocks(limit int) []chain.Hash {
	n.mu.RLock()
	defer n.mu.RUnlock()
	return n.missingOn(n.bestHeader, limit)
}

// MissingBlocksTo is MissingBlocks on the chain of the header tip
// instead of BestHeader's: nil when tip is unknown, known invalid, or on
// a branch that forks below the finalized checkpoint (the node would
// never follow it). Sync uses it for a peer's tip whose chain ranks
// above ours by its justified epoch with less work: BestHeader, chosen
// by work alone (the justified epoch of headers is unknown until their
// blocks connect), does not lead there. It is safe for concurrent use.
func (n *Node) MissingBlocksTo(tip chain.Hash, limit int) []chain.Hash {
	n.mu.RLock()
	defer n.mu.RUnlock()
	t := n.index[tip]
	if t == nil || t.status.KnownInvalid() || n.view.findFork(t).height < n.finalizedHeight() {
		return nil
	}
	return n.missingOn(t, limit)
}

// missingOn returns the blocks the node lacks on the chain of best (see
// MissingBlocks). The caller holds mu.
func (n *Node) missingOn(best *blockNode, limit int) []chain.Hash {
	if limit <= 0 || best.status&storage.StatusDataStored != 0 && !n.sealFails.blocks(best) {
		return nil
	}
	// Every node of the best chain has its block; above the fork a side
	// branch may have some.
	first := n.view.findFork(best).height + 1
	for first < best.height && n.hasBlock(best.Ancestor(first)) {
		first++
	}
	last := min(best.height, first+int64(limit)-1)
	out := make([]chain.Hash, last-first+1)
	for walk := best.Ancestor(last); walk != nil && walk.height >= first; walk = walk.parent {
		out[walk.height-first] = walk.hash
	}
	return out
}

// HeaderLocator returns a block locator for BestHeader, as Locator does
// for the tip, so that a peer answering it with headers continues after
// the headers the node has. It is safe for concurrent use.
func (n *Node) HeaderLocator() []chain.Hash {
	n.mu.RLock()
	defer n.mu.RUnlock()
	best := n.bestHeader
	var hashes []chain.Hash
	step := int64(1)
	for h := best.height; ; h -= step {
		h = max(h, 0)
		hashes = append(hashes, best.Ancestor(h).hash)
		if h == 0 {
			return hashes
		}
		if len(hashes) >= 10 {
			step *= 2
		}
	}
}

// MainChainHeaders returns up to limit headers of the best chain that
// follow the first locator hash found on it (genesis when none is), in
// order: the answer to a peer's request for headers. It is safe for
// concurrent use.
func (n *Node) MainChainHeaders(locator []chain.Hash, limit int) []chain.Header {
	n.mu.RLock()
	defer n.mu.RUnlock()
	var from int64
	for _, h := range locator {
		if node := n.index[h]; n.view.contains(node) {
			from = node.height
			break
		}
	}
	end := min(int64(len(n.view.nodes)), from+1+int64(max(limit, 0)))
	if end <= from+1 {
		return nil
	}
	out := make([]chain.Header, 0, end-from-1)
	for _, node := range n.view.nodes[from+1 : end] {
		out = append(out, node.header)
	}
	return out
}

// heaviestHeader returns the heaviest node of the index that is not
// known invalid, for bestHeader after a block or header was marked
// invalid. It walks the whole index; the caller holds writeMu.
func (n *Node) heaviestHeader() *blockNode {
	best := n.view.tip()
	for _, node := range n.index {
		if !node.status.KnownInvalid() && heavier(node, best) {
			best = node
		}
	}
	return best
}

// hasBlock reports whether x's block is stored and its seal did not fail.
// The caller holds mu (shared) or writeMu.
func (n *Node) hasBlock(x *blockNode) bool {
	return x.status&storage.StatusDataStored != 0 && !n.sealFails.has(x)
}

// evictHeaders removes from the index the header-only nodes that are on
// neither the chain of BestHeader nor that of keep (the node a header
// being added extends), known invalid or not, to make room under
// MaxHeaderOnly (see ProcessHeaders). Every descendant of such a node is
// header-only and goes with it, so what stays is a tree. It walks the
// whole index; the caller holds writeMu.
func (n *Node) evictHeaders(keep *blockNode) {
	var gone []*blockNode
	for _, x := range n.index {
		if x.status&storage.StatusDataStored == 0 && !onChainOf(n.bestHeader, x) && !onChainOf(keep, x) {
			gone = append(gone, x)
		}
	}
	if n.dropHeaders(gone) {
		n.log.Debug("header-only nodes evicted", "evicted", len(gone), "bestHeader", n.bestHeader.hash)
	}
}

// dropHeaders removes the header-only nodes gone from the index, a set
// closed under descendants (so what stays is a tree), for evictHeaders
// and ForgetHeaders. When BestHeader is among them, the heaviest node
// left takes its place. It reports whether it removed any; the caller
// holds writeMu.
func (n *Node) dropHeaders(gone []*blockNode) bool {
	if len(gone) == 0 {
		return false
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	for _, x := range gone {
		delete(n.index, x.hash)
	}
	n.headerOnly -= len(gone)
	if n.index[n.bestHeader.hash] != n.bestHeader {
		n.bestHeader = n.heaviestHeader()
	}
	return true
}

// onChainOf reports whether x is tip or one of its ancestors.
func onChainOf(tip, x *blockNode) bool {
	return x.height <= tip.height && tip.Ancestor(x.height) == x
}
