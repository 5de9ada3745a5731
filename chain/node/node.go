package node

import (
	"cmp"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"time"

	"github.com/powmine/powmine/chain"
	"github.com/powmine/powmine/chain/storage"
)

// ErrDuplicate is returned (wrapped) by ProcessBlock for a block the node
// already has in its index or its orphan pool.
var ErrDuplicate = errors.New("node: duplicate block")

// ErrKnownInvalid is wrapped, beside ErrDuplicate, by ProcessBlock's error
// for a block the node already holds as invalid or remembers refusing
// (Core's submitblock answers "duplicate-invalid").
var ErrKnownInvalid = errors.New("known invalid")

// Config configures a Node. New validates it.
type Config struct {
	// Params are the consensus rules. This field is required; the Params
	// must not be modified while the node runs.
	Params *chain.Params

	// Genesis is block 0. Its hash must be Params.GenesisHash. Its coinbase
	// outputs are the initial allocation: they are credited without the
	// subsidy limit, and its proof of work is not checked. This field is
	// required, also when the store already holds the chain.
	Genesis *chain.Block

	// Store persists the chain. Can be nil: a new MemStore is used.
	Store Store

	// Finalizer can veto reorganizations (see Finalizer). Can be nil:
	// the heaviest valid chain always wins.
	Finalizer Finalizer

	// Notify receives one Event per connected and per disconnected block,
	// in the order they happened, from the goroutine whose call caused
	// them, after the node's lock is released. Deliveries never overlap.
	// It may call the Node's read methods (Tip, Account, ...) but not
	// ProcessBlock, which would deadlock. Can be nil.
	Notify func(Event)

	// Now is the clock for the future-timestamp rule and orphan expiry.
	// Can be nil: time.Now.
	Now func() time.Time

	// MaxOrphans and MaxOrphanBytes bound the orphan pool; 0 selects
	// MaxOrphans and MaxOrphanBytes (the constants).
	MaxOrphans     int
	MaxOrphanBytes int

	// Logger receives debug and warning records. Can be nil: discard.
	Logger *slog.Logger
}

// EventKind says what happened to a block.
type EventKind uint8

// The event kinds.
const (
	// BlockConnected: the block became the new tip.
	BlockConnected EventKind = iota + 1

	// BlockDisconnected: the block was the tip and its parent is now; its
	// transfers may go back to a mempool.
	BlockDisconnected
)

// String returns "connected" or "disconnected".
func (k EventKind) String() string {
	switch k {
	case BlockConnected:
		return "connected"
	case BlockDisconnected:
		return "disconnected"
	}
	return fmt.Sprintf("EventKind(%d)", uint8(k))
}

// Event reports one block connected to or disconnected from the tip.
// Block must not be modified.
type Event struct {
	Kind   EventKind
	Hash   chain.Hash
	Height int64
	Block  *chain.Block
}

// Result is what ProcessBlock did with a block.
type Result struct {
	// Hash is the block's hash.
	Hash chain.Hash

	// Orphan is true when the parent is unknown or header-only: the
	// block waits in the orphan pool and is processed when its parent's
	// block arrives.
	Orphan bool

	// MainChain is true when the block is on the best chain after the
	// call; false for a block kept on a side branch.
	MainChain bool

	// Disconnected holds the transfers of every block the call
	// disconnected, in reverse order of disconnection (so the lowest
	// block first, in block order), for a mempool to re-add. Some may also
	// be in the new chain; a mempool drops those by their sequence number.
	Disconnected []chain.Transaction
}

// Node is the heart of a full node: the block index with every known
// block, the best chain (most cumulative work, first seen at equal work),
// the account state at its tip, undo data for every connected block and
// the orphan pool. It validates blocks, reorganizes when a heavier valid
// branch appears, and persists every change through a Store.
//
// All methods are safe for concurrent use. Changes are made one at a time
// under a write lock held across their Store commits; the read methods
// take a separate read lock that a change holds only while it applies
// what it has committed, so reads never wait for a commit. See the
// package comment's Concurrency section.
type Node struct {
	// Immutable after New.
	cfg    Config
	params *chain.Params
	store  Store
	log    *slog.Logger

	// notifyMu guards notifyTurn. Each ProcessBlock call with events takes
	// a ticket under writeMu and delivers them when notifyTurn reaches it,
	// so deliveries keep the order of the changes and never overlap. No
	// lock is held while Notify runs, so it may call the read methods:
	// neither writeMu nor mu is held while waiting for a turn.
	notifyMu   sync.Mutex
	notifyCond sync.Cond
	notifyTurn uint64

	// writeMu serializes the changes: ProcessBlock runs under it after
	// the sanity checks, and every Store call but Node.Block's is made
	// with it held (a Commit may wait for an fsync). It guards the fields
	// below it that only a change uses. Lock order: writeMu, then mu.
	writeMu    sync.Mutex
	candidates map[*blockNode]struct{} // leaves of the valid, stored tree (and a few inner nodes)
	nextSeq    uint64
	nextTicket uint64 // the next delivery ticket, see notifyMu

	// Scratch of the ProcessBlock call in progress.
	pending      []Event
	disconnected []*chain.Block

	// mu guards what the read methods see: the fields below it and the
	// status of every blockNode. Only a change modifies them, holding
	// writeMu and taking mu briefly, after the Store has committed what it
	// applies, never across a Store call; so a change reads them without
	// mu, and readers take it shared and never wait for a commit.
	mu       sync.RWMutex
	index    map[chain.Hash]*blockNode
	view     chainView
	accounts map[chain.Address]chain.Account
	// validators is the validator set at the tip: every registered key,
	// active, pending or waiting for its unlock (see ValidatorSet).
	validators map[chain.PublicKey]chain.Validator
	// finality is the finality state at the tip, as records keyed like
	// storage.FinalityEntry (see finality.go).
	finality map[string][]byte
	orphans  *orphanPool
	rejected *rejectedSet // blocks refused before storage, for a rule that condemns them
	// forgotten holds the roots of header branches ForgetHeaders dropped,
	// which ProcessHeaders refuses for a while; guarded by writeMu.
	forgotten *hashRing[time.Time]
	// bestHeader is the heaviest index node not known invalid (see
	// BestHeader); headerOnly counts the index nodes without
	// StatusDataStored, at most MaxHeaderOnly (see ProcessHeaders).
	bestHeader *blockNode
	headerOnly int
	// maxHeaderOnly is MaxHeaderOnly; tests lower it.
	maxHeaderOnly int
	// sealFails holds the blocks whose proof-of-stake seal failed when
	// they were connected (see sealFailures in pos.go).
	sealFails sealFailures

	// lastFinalityVeto is the last candidate refused for reverting a
	// finalized block, so that the refusal is logged once per candidate.
	// Only the write lock's holder uses it.
	lastFinalityVeto *blockNode
}

// New returns a node on the chain in cfg.Store, or, for an empty store, a
// new chain holding only cfg.Genesis. It connects any stored branch that
// is heavier than the stored tip.
func New(cfg Config) (*Node, error) {
	if cfg.Params == nil {
		return nil, errors.New("node: Config.Params is required")
	}
	if cfg.Genesis == nil {
		return nil, errors.New("node: Config.Genesis is required")
	}
	if cfg.Store == nil {
		cfg.Store = NewMemStore()
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.MaxOrphans == 0 {
		cfg.MaxOrphans = MaxOrphans
	}
	if cfg.MaxOrphanBytes == 0 {
		cfg.MaxOrphanBytes = MaxOrphanBytes
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	n := &Node{
		cfg:        cfg,
		params:     cfg.Params,
		store:      cfg.Store,
		log:        cfg.Logger.With("component", "node"),
		index:      make(map[chain.Hash]*blockNode),
		candidates: make(map[*blockNode]struct{}),
		accounts:   make(map[chain.Address]chain.Account),
		validators: make(map[chain.PublicKey]chain.Validator),
		finality:   make(map[string][]byte),
		orphans:    newOrphanPool(cfg.MaxOrphans, cfg.MaxOrphanBytes),
		rejected:   newHashRing[chain.ErrorCode](MaxRejected),
		forgotten:  newHashRing[time.Time](MaxForgotten),

		maxHeaderOnly: MaxHeaderOnly,
	}
	n.notifyCond.L = &n.notifyMu
	snap, err := n.store.Load()
	if err != nil {
		return nil, fmt.Errorf("node: load: %w", err)
	}
	if snap == nil {
		err = n.initGenesis()
	} else {
		err = n.load(snap)
	}
	if err != nil {
		return nil, err
	}
	if err := n.activateBestChain(make(map[*blockNode]error)); err != nil {
		return nil, err
	}
	n.pending, n.disconnected = nil, nil // nobody listens yet
	return n, nil
}

// initGenesis stores and connects the genesis block into an empty store.
func (n *Node) initGenesis() error {
	g := n.cfg.Genesis
	hash := g.Hash()
	if hash != n.params.GenesisHash {
		return fmt.Errorf("node: genesis block hash %v, params want %v", hash, n.params.GenesisHash)
	}
	if err := chain.CheckBlockSanity(g, n.params, chain.BFNoPoWCheck); err != nil {
		return fmt.Errorf("node: genesis block: %w", err)
	}
	if err := chain.CheckCoinbaseHeight(g, 0); err != nil {
		return fmt.Errorf("node: genesis block: %w", err)
	}
	node := newBlockNode(&g.Header, hash, nil, n.takeSeq())
	node.status = storage.StatusDataStored | storage.StatusValid
	fc := &finalityCtx{records: n.finality, checkpoint: func(uint64) chain.Hash { return hash }, genesis: hash}
	d, err := connectDelta(n.accounts, n.validators, fc, g, 0, n.params, false)
	if err != nil {
		return fmt.Errorf("node: genesis block: %w", err)
	}
	batch := &storage.Batch{
		Blocks:     []*chain.Block{g},
		Index:      []storage.IndexEntry{node.entry()},
		PutUndo:    []storage.UndoEntry{{Hash: hash, Undo: &d.undo}},
		Accounts:   d.entries(),
		Validators: d.validatorEntries(),
		Finality:   d.finalityEntries(),
		Tip:        &hash,
	}
	if err := n.store.Commit(batch); err != nil {
		return fmt.Errorf("node: store genesis: %w", err)
	}
	applyEntries(n.accounts, batch.Accounts)
	applyValidators(n.validators, batch.Validators)
	applyFinality(n.finality, batch.Finality)
	n.recordChainState(node)
	n.index[hash] = node
	n.candidates[node] = struct{}{}
	n.view.setTip(node)
	n.bestHeader = node
	return nil
}

// load rebuilds the index, candidates, view and accounts from snap. It
// leaves out the index entries without a body, which older versions
// wrote for the children of invalid blocks without checking their
// headers; the node no longer stores such blocks. Their descendants have
// no body either, and every stored block extends a stored one, so what is
// left is a tree. Reindex removes those entries from the store.
func (n *Node) load(snap *storage.Snapshot) error {
	entries := slices.Clone(snap.Index)
	slices.SortFunc(entries, func(a, b storage.IndexEntry) int { return cmp.Compare(a.Height, b.Height) })
	var bodiless int
	for _, e := range entries {
		if e.Status&storage.StatusDataStored == 0 {
			bodiless++
			continue
		}
		var parent *blockNode
		if e.Height > 0 {
			if parent = n.index[e.Header.PrevBlock]; parent == nil {
				return fmt.Errorf("node: load: block %v at height %d has no parent in the index", e.Hash, e.Height)
			}
		} else if e.Hash != n.params.GenesisHash {
			return fmt.Errorf("node: load: stored genesis %v, params want %v", e.Hash, n.params.GenesisHash)
		}
		node := newBlockNode(&e.Header, e.Hash, parent, e.Seq)
		if node.height != e.Height {
			return fmt.Errorf("node: load: block %v stored at height %d, its parent puts it at %d", e.Hash, e.Height, node.height)
		}
		node.status = e.Status
		n.index[e.Hash] = node
		n.nextSeq = max(n.nextSeq, e.Seq+1)
		if e.Status&storage.StatusDataStored != 0 && !e.Status.KnownInvalid() {
			n.candidates[node] = struct{}{}
		}
	}
	for c := range n.candidates {
		if c.parent != nil {
			delete(n.candidates, c.parent)
		}
	}
	tip := n.index[snap.Tip]
	if tip == nil {
		return fmt.Errorf("node: load: tip %v is not in the index", snap.Tip)
	}
	if n.index[n.params.GenesisHash] == nil {
		return errors.New("node: load: the store has no genesis block")
	}
	n.candidates[tip] = struct{}{}
	n.view.setTip(tip)
	n.bestHeader = n.heaviestHeader()
	applyEntries(n.accounts, snap.Accounts)
	applyValidators(n.validators, snap.Validators)
	applyFinality(n.finality, snap.Finality)
	n.recordChainState(tip)
	if bodiless > 0 {
		n.log.Warn("left out index entries without a body; a reindex removes them from the store", "entries", bodiless)
	}
	return nil
}

// takeSeq returns the next first-seen sequence number.
func (n *Node) takeSeq() uint64 {
	s := n.nextSeq
	n.nextSeq++
	return s
}

// entry returns the node's stored form.
func (b *blockNode) entry() storage.IndexEntry {
	return storage.IndexEntry{Hash: b.hash, Height: b.height, Header: b.header, Status: b.status, Seq: b.seq}
}

// ProcessBlock validates b and adds it to the chain: to the best chain,
// reorganizing when it makes another branch heavier, to a side branch, or
// to the orphan pool when its parent is unknown or header-only (then the
// Result says Orphan). A block whose header is in the index header-only
// (see ProcessHeaders) attaches to that node. Orphans waiting for b are
// processed next, recursively.
//
// A block that breaks a rule yields an error holding a chain.RuleError.
// The checks run in Bitcoin Core's order, described in the package
// comment's Pipeline section: the header's proof of work, its context
// against the parent (ErrInvalidAncestorBlock, "bad-prevblk", when the
// parent is known invalid; ErrUnexpectedDifficulty, ErrTimeTooOld,
// ErrTimeTooNew), the body, the coinbase height; a block failing them is
// not stored, and its hash is remembered (MaxRejected at most) when the
// rule condemns the header. The account-state rules (ErrBadSequence,
// ErrInsufficientBalance, ErrBadCoinbaseValue, ErrAmountOverflow) run
// when the block is connected; a block failing them is marked
// StatusValidateFailed, its stored descendants StatusInvalidAncestor, and
// the node follows the best chain that remains valid. In proof of stake
// the seal is checked before the block is stored (in full when it
// extends the tip) and in full when it is connected; a seal failure
// (chain.ErrBadSeal) never marks or remembers anything, and another copy
// of the block with a good seal is accepted (see pos.go). A known or
// remembered block yields ErrDuplicate. Other errors come from the Store.
//
// b must not be modified afterwards. It is safe for concurrent use; see
// Config.Notify for the events it delivers.
func (n *Node) ProcessBlock(b *chain.Block) (Result, error) {
	hash := b.Hash()
	res := Result{Hash: hash}
	n.mu.RLock()
	dup := n.isKnown(hash)
	resealing := dup == nil && n.sealFails.has(n.index[hash])
	n.mu.RUnlock()
	if dup != nil {
		return res, dup
	}
	if resealing {
		// Another copy of a stored block whose seal failed: the
		// header and body were checked when it was stored, so only
		// the seal is, by processBlock (see reseal).
		return n.finish(b, hash, res)
	}
	// The header first, as Core checks headers before it fetches bodies,
	// so that a block on an invalid parent or with the wrong bits costs
	// no signature check. processBlock checks the context again under
	// the write lock, which alone decides.
	if err := chain.CheckHeaderSanity(&b.Header, n.params); err != nil {
		return res, err
	}
	n.mu.RLock()
	_, err := n.checkHeader(&b.Header, hash)
	n.mu.RUnlock()
	if err != nil {
		n.writeMu.Lock()
		n.reject(hash, err)
		n.writeMu.Unlock()
		return res, err
	}
	// The costly part, signatures included, runs without the lock.
	if err := chain.CheckBlockSanity(b, n.params, chain.BFNone); err != nil {
		return res, err
	}
	if n.params.Consensus == chain.ConsensusPoS {
		// Before anything is stored: the seal is not covered by the
		// hash, so its refusal must not condemn the block (see pos.go).
		n.mu.RLock()
		err := n.precheckSeal(b)
		n.mu.RUnlock()
		if err != nil {
			return res, err
		}
	}
	return n.finish(b, hash, res)
}

// finish is ProcessBlock after the checks made without the write lock:
// processBlock under it, then the Result's transfers and the events.
func (n *Node) finish(b *chain.Block, hash chain.Hash, res Result) (Result, error) {
	n.writeMu.Lock()
	err := n.processBlock(b, hash, &res)
	for i := len(n.disconnected) - 1; i >= 0; i-- {
		res.Disconnected = append(res.Disconnected, n.disconnected[i].Transactions[1:]...)
	}
	events := n.pending
	n.pending, n.disconnected = nil, nil
	if n.cfg.Notify == nil || len(events) == 0 {
		n.writeMu.Unlock()
		return res, err
	}
	ticket := n.nextTicket
	n.nextTicket++
	n.writeMu.Unlock()
	n.deliver(ticket, events)
	return res, err
}

// deliver waits for ticket's turn, passes events to Config.Notify without
// holding any lock, and hands the turn on, also when Notify panics.
func (n *Node) deliver(ticket uint64, events []Event) {
	n.notifyMu.Lock()
	for n.notifyTurn != ticket {
		n.notifyCond.Wait()
	}
	n.notifyMu.Unlock()
	defer func() {
		n.notifyMu.Lock()
		n.notifyTurn++
		n.notifyCond.Broadcast()
		n.notifyMu.Unlock()
	}()
	for _, e := range events {
		n.cfg.Notify(e)
	}
}

// isKnown returns an ErrDuplicate error when the block is in the index
// (with its data, or known invalid), the orphan pool or the remembered
// refusals. A block whose seal failed is no duplicate: another copy may
// carry the right seal. The caller holds mu (shared) or writeMu.
func (n *Node) isKnown(hash chain.Hash) error {
	if node := n.index[hash]; node != nil {
		if node.status.KnownInvalid() {
			return fmt.Errorf("%w: %w: block %v", ErrDuplicate, ErrKnownInvalid, hash)
		}
		if node.status&storage.StatusDataStored != 0 && !n.sealFails.has(node) {
			return fmt.Errorf("%w: block %v", ErrDuplicate, hash)
		}
		// A header-only node, or a block whose seal failed: the block
		// is welcome.
	}
	if n.orphans.has(hash) {
		return fmt.Errorf("%w: block %v is an orphan", ErrDuplicate, hash)
	}
	if code, ok := n.rejected.get(hash); ok {
		return fmt.Errorf("%w: %w: block %v was refused (%v)", ErrDuplicate, ErrKnownInvalid, hash, code.RejectReason())
	}
	return nil
}

// checkHeader checks header h, of the block with the given hash, against
// its parent, as Bitcoin Core's AcceptBlockHeader does after the
// duplicate check: a parent known invalid (in the index, or remembered
// as refused) yields ErrInvalidAncestorBlock; then
// chain.CheckHeaderContext runs against the parent (bits, median time
// past, future limit). It returns the parent, or nil and no error when the
// parent is unknown or header-only, or its seal failed (an orphan until
// the parent's block is stored, or sealed again). It changes nothing; the
// caller holds mu (shared) or writeMu.
func (n *Node) checkHeader(h *chain.Header, hash chain.Hash) (*blockNode, error) {
	if code, ok := n.rejected.get(h.PrevBlock); ok {
		return nil, ruleErr(chain.ErrInvalidAncestorBlock, "block %v extends block %v, refused (%v)",
			hash, h.PrevBlock, code.RejectReason())
	}
	parent := n.index[h.PrevBlock]
	switch {
	case parent == nil:
		return nil, nil
	case parent.status.KnownInvalid():
		return nil, ruleErr(chain.ErrInvalidAncestorBlock, "block %v extends invalid block %v", hash, parent.hash)
	case parent.status&storage.StatusDataStored == 0, n.sealFails.has(parent):
		return nil, nil
	}
	ctx := headerContext(parent, n.params)
	if err := chain.CheckHeaderContext(h, n.params, &ctx, n.cfg.Now()); err != nil {
		return nil, err
	}
	return parent, nil
}

// reject handles a block that checkHeader or the coinbase height check
// refused with err, and returns err. When err condemns the block hash (a
// RuleError but chain.ErrTimeTooNew, which may pass later, and
// chain.ErrBadSeal, which the hash does not cover), the hash is
// remembered, and the orphans waiting for the block, and theirs, leave the
// pool and are remembered as ErrInvalidAncestorBlock. The caller holds
// writeMu.
func (n *Node) reject(hash chain.Hash, err error) error {
	var rerr chain.RuleError
	if !errors.As(err, &rerr) || rerr.Code == chain.ErrTimeTooNew || rerr.Code == chain.ErrBadSeal {
		return err
	}
	n.mu.Lock()
	n.rejected.add(hash, rerr.Code, false)
	var dropped int
	for queue := []chain.Hash{hash}; len(queue) > 0; {
		parent := queue[0]
		queue = queue[1:]
		for _, ob := range n.orphans.takeChildren(parent) {
			obHash := ob.Hash()
			n.rejected.add(obHash, chain.ErrInvalidAncestorBlock, false)
			queue = append(queue, obHash)
			dropped++
		}
	}
	n.mu.Unlock()
	n.log.Debug("block refused", "hash", hash, "err", err, "orphans", dropped)
	return err
}

// processBlock is ProcessBlock after the sanity checks, with writeMu held.
func (n *Node) processBlock(b *chain.Block, hash chain.Hash, res *Result) error {
	if err := n.isKnown(hash); err != nil {
		return err // another goroutine was faster
	}
	if node := n.index[hash]; node != nil && n.sealFails.has(node) {
		return n.reseal(node, b, res)
	}
	parent, err := n.checkHeader(&b.Header, hash)
	if err != nil {
		return n.reject(hash, err)
	}
	if parent == nil {
		n.mu.Lock()
		n.orphans.add(b, hash, n.cfg.Now())
		n.mu.Unlock()
		res.Orphan = true
		n.log.Debug("orphan block", "hash", hash, "parent", b.Header.PrevBlock)
		return nil
	}
	node, err := n.acceptBlock(b, hash, parent)
	if err != nil {
		return err
	}
	return n.acceptOrphansAndActivate(node, res)
}

// acceptOrphansAndActivate accepts the orphans waiting for node, whose
// block has just been stored, recursively, runs fork choice and reports
// what became of node in res, or the rule it failed. The caller holds
// writeMu.
func (n *Node) acceptOrphansAndActivate(node *blockNode, res *Result) error {
	// Orphans waiting for this block, and for theirs: each meets its
	// parent's header context now, before it is stored.
	queue := []*blockNode{node}
	for len(queue) > 0 {
		p := queue[0]
		queue = queue[1:]
		n.mu.Lock()
		children := n.orphans.takeChildren(p.hash)
		n.mu.Unlock()
		for _, ob := range children {
			obHash := ob.Hash()
			child, err := n.acceptOrphan(ob, obHash, p)
			if err != nil {
				n.log.Debug("orphan rejected", "hash", obHash, "err", err)
				continue
			}
			queue = append(queue, child)
		}
	}

	failures := make(map[*blockNode]error)
	if err := n.activateBestChain(failures); err != nil {
		return err
	}
	res.MainChain = n.view.contains(node)
	switch {
	case failures[node] != nil:
		return failures[node]
	case node.status.KnownInvalid():
		return ruleErr(chain.ErrInvalidAncestorBlock, "block %v extends an invalid block", node.hash)
	}
	return nil
}

// acceptOrphan checks the header of an orphan against parent, which has
// just been stored, and accepts it (see acceptBlock), or refuses it (see
// reject).
func (n *Node) acceptOrphan(b *chain.Block, hash chain.Hash, parent *blockNode) (*blockNode, error) {
	if _, err := n.checkHeader(&b.Header, hash); err != nil {
		return nil, n.reject(hash, err)
	}
	return n.acceptBlock(b, hash, parent)
}

// acceptBlock checks the coinbase height of b, whose header has passed
// checkHeader against parent, and records b in the index and the store:
// as a new node, or attached to its header-only node, which then takes a
// new sequence number (first seen counts from the block, as Core's
// nSequenceId). It returns the node, or nil and the error that kept the
// block out (a refused block is handled by reject; its header-only node,
// if any, is marked invalid with its descendants).
func (n *Node) acceptBlock(b *chain.Block, hash chain.Hash, parent *blockNode) (*blockNode, error) {
	headerOnly := n.index[hash]
	if err := chain.CheckCoinbaseHeight(b, parent.height+1); err != nil {
		if headerOnly != nil {
			if merr := n.markInvalid(headerOnly); merr != nil {
				return nil, merr
			}
		}
		return nil, n.reject(hash, err)
	}
	node := headerOnly
	if node == nil {
		node = newBlockNode(&b.Header, hash, parent, n.takeSeq())
	}
	e := node.entry()
	e.Status |= storage.StatusDataStored
	if headerOnly != nil {
		e.Seq = n.takeSeq()
	}
	if err := n.store.Commit(&storage.Batch{Blocks: []*chain.Block{b}, Index: []storage.IndexEntry{e}}); err != nil {
		return nil, err
	}
	n.mu.Lock()
	node.status, node.seq, node.votes = e.Status, e.Seq, votesIn(b)
	if headerOnly != nil {
		n.headerOnly--
	} else {
		n.index[hash] = node
		if heavier(node, n.bestHeader) {
			n.bestHeader = node
		}
	}
	n.mu.Unlock()
	if !n.sealFails.blocks(node) { // else its branch waits for a seal
		n.candidates[node] = struct{}{}
		delete(n.candidates, parent)
	}
	return node, nil
}

// activateBestChain moves the tip to the best candidate, disconnecting
// and connecting blocks one at a time, until the tip is the best valid
// chain. A block that fails a rule while being connected is marked
// invalid (its error goes into failures) and the choice is made again
// among what remains valid: the node may return to its old branch or
// settle on a valid prefix of the new one. Other errors stop it.
func (n *Node) activateBestChain(failures map[*blockNode]error) error {
	for {
		best := n.bestCandidate()
		if best == n.view.tip() {
			return nil
		}
		fork := n.view.findFork(best)
		if fork != n.view.tip() {
			n.log.Info("reorganize", "from", n.view.tip().hash, "to", best.hash, "fork", fork.hash,
				"disconnect", n.view.tip().height-fork.height, "connect", best.height-fork.height)
		}
		for n.view.tip() != fork {
			if err := n.disconnectTip(); err != nil {
				return err
			}
		}
		path := make([]*blockNode, best.height-fork.height)
		for w := best; w != fork; w = w.parent {
			path[w.height-fork.height-1] = w
		}
		for _, node := range path {
			err := n.connectBlock(node)
			if err == nil {
				continue
			}
			var rerr chain.RuleError
			if !errors.As(err, &rerr) {
				return err
			}
			failures[node] = err
			if rerr.Code == chain.ErrBadSeal {
				// The hash does not cover the seal: another copy
				// may carry the right one (see pos.go).
				n.log.Info("block seal failed", "hash", node.hash, "height", node.height, "err", err)
				n.markSealFailed(node)
				break
			}
			n.log.Warn("block failed validation", "hash", node.hash, "height", node.height, "err", err)
			if err := n.markInvalid(node); err != nil {
				return err
			}
			break
		}
	}
}

// connectBlock validates node's block against the account state and makes
// it the tip; node's parent must be the tip.
func (n *Node) connectBlock(node *blockNode) error {
	if node.parent != n.view.tip() {
		return chain.AssertError("connectBlock: block does not extend the tip")
	}
	b, err := n.store.Block(node.hash)
	if err != nil {
		return fmt.Errorf("node: connect block %v: %w", node.hash, err)
	}
	d, err := connectDelta(n.accounts, n.validators, n.finalityCtx(node), b, node.height, n.params, true)
	if err != nil {
		return err
	}
	status := node.status | storage.StatusValid
	e := node.entry()
	e.Status = status
	tip := node.hash
	batch := &storage.Batch{
		Index:      []storage.IndexEntry{e},
		PutUndo:    []storage.UndoEntry{{Hash: node.hash, Undo: &d.undo}},
		Accounts:   d.entries(),
		Validators: d.validatorEntries(),
		Finality:   d.finalityEntries(),
		Tip:        &tip,
	}
	if err := n.store.Commit(batch); err != nil {
		return fmt.Errorf("node: connect block %v: %w", node.hash, err)
	}
	n.mu.Lock()
	node.status = status
	applyEntries(n.accounts, batch.Accounts)
	applyValidators(n.validators, batch.Validators)
	applyFinality(n.finality, batch.Finality)
	n.recordConnected(node, d.undo.Finality, batch.Finality)
	n.view.setTip(node)
	n.mu.Unlock()
	n.pending = append(n.pending, Event{Kind: BlockConnected, Hash: node.hash, Height: node.height, Block: b})
	return nil
}

// disconnectTip restores the state before the tip block and makes its
// parent the tip.
func (n *Node) disconnectTip() error {
	tip := n.view.tip()
	if tip.parent == nil {
		return chain.AssertError("disconnectTip: cannot disconnect the genesis block")
	}
	b, err := n.store.Block(tip.hash)
	if err != nil {
		return fmt.Errorf("node: disconnect block %v: %w", tip.hash, err)
	}
	u, err := n.store.Undo(tip.hash)
	if err != nil {
		return fmt.Errorf("node: disconnect block %v: %w", tip.hash, err)
	}
	parent := tip.parent.hash
	batch := &storage.Batch{DeleteUndo: []chain.Hash{tip.hash}, Accounts: u.Accounts, Validators: u.Validators, Finality: u.Finality, Tip: &parent}
	if err := n.store.Commit(batch); err != nil {
		return fmt.Errorf("node: disconnect block %v: %w", tip.hash, err)
	}
	n.mu.Lock()
	applyEntries(n.accounts, u.Accounts)
	applyValidators(n.validators, u.Validators)
	applyFinality(n.finality, u.Finality)
	n.recordChainState(tip.parent)
	n.view.setTip(tip.parent)
	n.mu.Unlock()
	n.disconnected = append(n.disconnected, b)
	n.pending = append(n.pending, Event{Kind: BlockDisconnected, Hash: tip.hash, Height: tip.height, Block: b})
	return nil
}

// markInvalid marks failed StatusValidateFailed and its descendants
// StatusInvalidAncestor, in memory and, for those whose block is stored,
// in the store, and drops them from the candidates. failed's parent
// becomes a candidate again if its block is stored. BestHeader moves off
// the invalid branch.
func (n *Node) markInvalid(failed *blockNode) error {
	changed := []*blockNode{failed}
	status := []storage.BlockStatus{failed.status | storage.StatusValidateFailed}
	for _, x := range n.index {
		if x.height > failed.height && x.status&storage.StatusInvalidAncestor == 0 && x.Ancestor(failed.height) == failed {
			changed = append(changed, x)
			status = append(status, x.status|storage.StatusInvalidAncestor)
		}
	}
	batch := &storage.Batch{}
	for i, x := range changed {
		if x.status&storage.StatusDataStored == 0 {
			continue // header-only: memory only
		}
		e := x.entry()
		e.Status = status[i]
		batch.Index = append(batch.Index, e)
	}
	if len(batch.Index) > 0 {
		if err := n.store.Commit(batch); err != nil {
			return fmt.Errorf("node: mark block %v invalid: %w", failed.hash, err)
		}
	}
	n.mu.Lock()
	for i, x := range changed {
		x.status = status[i]
		n.sealFails.remove(x)
	}
	if n.bestHeader.status.KnownInvalid() {
		n.bestHeader = n.heaviestHeader()
	}
	n.mu.Unlock()
	for _, x := range changed {
		delete(n.candidates, x)
	}
	if p := failed.parent; p != nil && !p.status.KnownInvalid() && p.status&storage.StatusDataStored != 0 && !n.sealFails.blocks(p) {
		n.candidates[p] = struct{}{}
	}
	return nil
}
