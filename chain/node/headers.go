package node

import (
	"errors"
	"fmt"
	"time"

	"github.com/powmine/powmine/chain"
	"github.com/powmine/powmine/chain/pos"
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

	// ErrSealsRequired: ProcessHeaders was called on a proof-of-stake
	// chain, whose headers are taken only with their blocks' seals
	// (ProcessSealedHeaders); nothing was added.
	ErrSealsRequired = errors.New("node: proof-of-stake headers need their seals")

	// ErrUnregisteredProposer: ProcessSealedHeaders met a header sealed
	// by a key not registered at the tip; it and the headers after it
	// were not added. It is no rule error and proves no fault: a node
	// behind (syncing from genesis, say) lacks the validators deposited
	// on the blocks it has not connected yet, and once they are
	// connected the header may pass.
	ErrUnregisteredProposer = errors.New("node: header sealed by a key not registered at the tip")
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
// as Bitcoin Core's ProcessNewBlockHeaders does for headers-first sync,
// on a proof-of-work chain; on a proof-of-stake chain it adds nothing
// and fails with ErrSealsRequired (see ProcessSealedHeaders).
// hs must form a chain (each header the parent of the next) whose first
// header's parent is in the index; otherwise nothing is added and the
// error wraps ErrUnconnectedHeaders. Each header gets, in order, the
// proof-of-work check (chain.CheckHeaderSanity, for every header before
// any is added), then the checks of a block's header against its parent:
// a parent known invalid yields chain.ErrInvalidAncestorBlock
// ("bad-prevblk"), then chain.CheckHeaderContext (bits, median time
// past, future limit). Headers already in the index are skipped; one
// known invalid (in the index, or remembered as refused) yields an error
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
// that is heavier than the honest one (cheap on a low-work chain)
// becomes BestHeader, whose blocks never come: sync, finding no peer
// that serves them, drops it with ForgetHeaders, and BestHeader moves to
// the next heaviest chain. The eviction walks the whole index, at most
// once per call.
//
// It is safe for concurrent use: the proof of work is checked without
// locks, the rest under the write lock, and the new nodes are shown to
// readers at once at the end.
func (n *Node) ProcessHeaders(hs []chain.Header) (HeadersResult, error) {
	if n.params.Consensus == chain.ConsensusPoS {
		return HeadersResult{}, ErrSealsRequired
	}
	return n.processHeaders(hs, nil)
}

// ProcessSealedHeaders is ProcessHeaders on a proof-of-stake chain
// (Params.Consensus == chain.ConsensusPoS; elsewhere it fails with
// ErrNotPoS): seals[i] is the seal of hs[i]'s block, which the block
// hash does not cover, so a header costs what its seal costs. A
// proof-of-stake header carries no work: each gets, instead of the
// proof-of-work check, the checks its own fields allow
// (checkHeaderSlot): its time must be the start of a slot (slot k
// starts at the genesis time plus k·SlotDuration, rounded down to the
// second, as a block's seal requires), the earliest slot its time and
// its ancestors' times allow must be after its parent's, else
// chain.ErrBadSeal, and must have started (within chain/pos's
// MaxClockSkew), else chain.ErrTimeTooNew. So a branch holds at most one
// header per slot since its fork. Then its seal gets the checks that
// precheckSeal makes of a side-branch block, which need no state of the
// header's branch: the seal decodes (for every header before any is
// added); its key is registered at the tip (in any status), else
// processing stops with ErrUnregisteredProposer, which is no rule error
// (the headers before it stay added); the header's time is its seal
// slot's start, and that slot is after the parent's (parentSlotBound)
// and has started; and the seal is signed by the key it names, with
// that key's reveal for the slot's epoch. A seal that fails is refused
// with a chain.ErrBadSeal RuleError (chain.ErrTimeTooNew for a slot to
// come), which is never remembered: the seal is not covered by the hash,
// so the same header with its honest seal is taken later. Which
// validator is elected for the slot needs the state of the header's
// branch: that is checked when its block is connected, as for any block.
// So made-up header chains are no longer free: each header needs the
// signature of a key registered at the tip, and a forged one is refused
// at once. What is left is a registered key sealing slots it was not
// elected for: its chain is refused when its first block is connected,
// or, when its blocks never come, forgotten as ProcessHeaders describes
// (ForgetHeaders).
//
// The signatures and reveals are checked without locks and before any
// header is added, for the headers after those the index holds already,
// up to the first sealed by a key not registered at the tip: the
// signatures in one batch, each distinct reveal (a proposer's, once per
// epoch) once (see chain/pos's VerifySeals); a header the index or the
// validators changed for meanwhile is checked alone under the write
// lock. The rest is as
// ProcessHeaders: header-only nodes, in memory, bounded by
// MaxHeaderOnly; the seals are not kept (the block brings its own, which
// is checked again). It is safe for concurrent use.
func (n *Node) ProcessSealedHeaders(hs []chain.Header, seals []chain.BlockSeal) (HeadersResult, error) {
	if n.params.Consensus != chain.ConsensusPoS {
		return HeadersResult{}, ErrNotPoS
	}
	if len(seals) != len(hs) {
		return HeadersResult{}, fmt.Errorf("node: %d headers with %d seals", len(hs), len(seals))
	}
	return n.processHeaders(hs, seals)
}

// processHeaders is ProcessHeaders, and ProcessSealedHeaders with seals
// (nil on a proof-of-work chain).
func (n *Node) processHeaders(hs []chain.Header, seals []chain.BlockSeal) (HeadersResult, error) {
	var res HeadersResult
	if len(hs) == 0 {
		return res, nil
	}
	sealed := n.params.Consensus == chain.ConsensusPoS
	hashes := make([]chain.Hash, len(hs))
	var decoded []pos.Seal
	if sealed {
		decoded = make([]pos.Seal, len(hs))
	}
	for i := range hs {
		hashes[i] = hs[i].Hash()
		if i > 0 && hs[i].PrevBlock != hashes[i-1] {
			return res, fmt.Errorf("%w: header %d (%v) does not extend header %d (%v)",
				ErrUnconnectedHeaders, i, hashes[i], i-1, hashes[i-1])
		}
		if sealed {
			// No work to check: the bits are fixed. The seal stands
			// for it; its rules run against the parent below.
			if err := chain.CheckHeaderSanity(&hs[i], n.params); err != nil {
				return res, err
			}
			if err := decoded[i].UnmarshalBinary(seals[i][:]); err != nil {
				return res, sealError(hashes[i], err)
			}
		} else if err := chain.CheckProofOfWork(hashes[i], hs[i].Bits, n.params.PowLimit); err != nil {
			return res, err
		}
	}
	var pre sealsChecked
	if sealed {
		pre = n.checkSealsAhead(decoded, hashes)
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
		if sealed {
			if err = checkHeaderSlot(&hs[i], hash, parent, n.params, now); err != nil {
				err = n.reject(hash, err)
				break
			}
			if err = n.checkHeaderSeal(&decoded[i], &hs[i], hash, parent, now, i, &pre); err != nil {
				break // never remembered: the hash does not cover the seal
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

// sealsChecked is what checkSealsAhead found of a list of sealed
// headers: the seals of headers from to upTo are good (signature and
// reveal), and when bad >= 0 the seal of header bad failed with badErr.
type sealsChecked struct {
	from, upTo int
	bad        int
	badErr     error
}

// checkSealsAhead checks, without holding a lock but briefly mu
// (shared), the signatures and reveals of the seals (decoded[i] of the
// header whose hash is hashes[i]) that processHeaders will need: after
// the leading headers the index holds, up to the first sealed by a key
// not registered at the tip, in one call of verifySealsAlone.
func (n *Node) checkSealsAhead(decoded []pos.Seal, hashes []chain.Hash) sealsChecked {
	from, to := 0, len(decoded)
	n.mu.RLock()
	for from < to && n.index[hashes[from]] != nil {
		from++
	}
	for i := from; i < to; i++ {
		if _, ok := n.validators[decoded[i].Proposer]; !ok {
			to = i
			break
		}
	}
	n.mu.RUnlock()
	pre := sealsChecked{from: from, upTo: to, bad: -1}
	if i, err := n.verifySealsAlone(decoded[from:to], hashes[from:to]); err != nil {
		pre.upTo, pre.bad, pre.badErr = from+max(i, 0), from+max(i, 0), err
	}
	return pre
}

// checkHeaderSeal checks the seal s of header h (hash, the i-th of the
// list pre was found for) on parent, as ProcessSealedHeaders describes:
// sealAlone, then the signature and reveal, from pre when it checked
// them, else alone. The caller holds writeMu.
func (n *Node) checkHeaderSeal(s *pos.Seal, h *chain.Header, hash chain.Hash, parent *blockNode, now time.Time, i int, pre *sealsChecked) error {
	registered, err := n.sealAlone(s, h, hash, parent, now)
	switch {
	case err != nil:
		return headerSlotError(hash, err)
	case !registered:
		return fmt.Errorf("%w: header %v sealed by %v", ErrUnregisteredProposer, hash, s.Proposer)
	case i >= pre.from && i < pre.upTo:
		return nil
	case i == pre.bad:
		return pre.badErr
	}
	_, err = n.verifySealsAlone([]pos.Seal{*s}, []chain.Hash{hash})
	return err
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
	nodes := n.mainChainAfter(locator, limit)
	if len(nodes) == 0 {
		return nil
	}
	out := make([]chain.Header, len(nodes))
	for i, node := range nodes {
		out[i] = node.header
	}
	return out
}

// MainChainSealedHeaders is MainChainHeaders on a proof-of-stake chain
// (elsewhere it fails with ErrNotPoS), with seals[i] the seal of hs[i]'s
// block, read from the Store (Store.BlockSeals: one read, without
// decoding the blocks): the answer to a peer's request for sealed
// headers (see ProcessSealedHeaders). The headers are taken under the
// read lock, the seals after it; a Store error is returned as it is. It
// is safe for concurrent use.
func (n *Node) MainChainSealedHeaders(locator []chain.Hash, limit int) (hs []chain.Header, seals []chain.BlockSeal, err error) {
	if n.params.Consensus != chain.ConsensusPoS {
		return nil, nil, ErrNotPoS
	}
	n.mu.RLock()
	nodes := n.mainChainAfter(locator, limit)
	hs = make([]chain.Header, len(nodes))
	hashes := make([]chain.Hash, len(nodes))
	for i, node := range nodes {
		hs[i], hashes[i] = node.header, node.hash
	}
	n.mu.RUnlock()
	if len(hs) == 0 {
		return nil, nil, nil
	}
	seals = make([]chain.BlockSeal, len(hs))
	if err := n.store.BlockSeals(hashes, seals); err != nil {
		return nil, nil, err
	}
	return hs, seals, nil
}

// mainChainAfter returns up to limit nodes of the best chain that
// follow the first locator hash found on it (genesis when none is): a
// part of the view, to copy before mu is released. The caller holds mu
// (shared).
func (n *Node) mainChainAfter(locator []chain.Hash, limit int) []*blockNode {
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
	return n.view.nodes[from+1 : end]
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
