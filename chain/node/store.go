package node

import (
	"fmt"
	"maps"
	"slices"
	"sync"

	"github.com/powmine/powmine/chain"
	"github.com/powmine/powmine/chain/storage"
)

// Store persists the node's state, as the records of chain/storage. The
// node calls Commit once per change
// of its state, each call one atomic unit: an accepted block, one
// connected block, one disconnected block, or a batch of status changes.
// An implementation must apply a Batch entirely or not at all (one bbolt
// Update per Commit), so that after a crash the stored tip, index, undo
// data and accounts always agree. The node keeps the index and the
// account state in memory and reads blocks and undo records back only to
// connect a side branch or disconnect a block.
//
// The node serializes its calls to Load, Undo and Commit (it holds its
// write lock around them). Block is also called by Node.Block, outside
// the node's locks, concurrently with the others: it must be safe for
// concurrent use with every method, and must not wait for a Commit in
// progress if reads are not to wait behind writes (bbolt's read
// transactions do not). MemStore and chain/store's DB are safe for
// concurrent use.
type Store interface {
	// Load returns everything stored, or a nil Snapshot for an empty
	// store. The node calls it once, from New.
	Load() (*storage.Snapshot, error)

	// Block returns the stored block with the given hash, or an error
	// wrapping storage.ErrNotFound. The node does not modify the result.
	Block(hash chain.Hash) (*chain.Block, error)

	// BlockSeals sets seals[i] to the seal of the stored block hashes[i]
	// (the slices have one length), or fails with an error wrapping
	// storage.ErrNotFound when one is not stored. The node asks only for
	// blocks that have a seal (every stored block of a proof-of-stake
	// chain but genesis), so an implementation may take the last
	// chain.SealSize bytes of the block's encoding without decoding the
	// rest. Like Block it is called outside the node's locks, and must
	// be safe for concurrent use with every method.
	BlockSeals(hashes []chain.Hash, seals []chain.BlockSeal) error

	// Undo returns the undo record of a connected block, or an error
	// wrapping storage.ErrNotFound.
	Undo(hash chain.Hash) (*storage.Undo, error)

	// Commit applies b atomically. The node does not modify b or anything
	// it points to afterwards, so an implementation may keep references.
	Commit(b *storage.Batch) error
}

// MemStore is a Store that keeps everything in memory, for tests and
// for nodes that need no persistence. It is safe for concurrent use.
type MemStore struct {
	mu       sync.Mutex
	blocks   map[chain.Hash]*chain.Block
	index    map[chain.Hash]storage.IndexEntry
	undo     map[chain.Hash]*storage.Undo
	accounts map[chain.Address]chain.Account
	vals     map[chain.PublicKey]chain.Validator
	finality map[string][]byte
	tip      *chain.Hash
	commits  int
}

var _ Store = (*MemStore)(nil)

// NewMemStore returns an empty MemStore.
func NewMemStore() *MemStore {
	return &MemStore{
		blocks:   make(map[chain.Hash]*chain.Block),
		index:    make(map[chain.Hash]storage.IndexEntry),
		undo:     make(map[chain.Hash]*storage.Undo),
		accounts: make(map[chain.Address]chain.Account),
		vals:     make(map[chain.PublicKey]chain.Validator),
		finality: make(map[string][]byte),
	}
}

// Load implements Store.
func (s *MemStore) Load() (*storage.Snapshot, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.tip == nil {
		return nil, nil
	}
	snap := &storage.Snapshot{Tip: *s.tip}
	snap.Index = slices.Collect(maps.Values(s.index))
	for a, acc := range s.accounts {
		snap.Accounts = append(snap.Accounts, storage.AccountEntry{Address: a, Account: acc})
	}
	for k, v := range s.vals {
		snap.Validators = append(snap.Validators, storage.ValidatorEntry{Key: k, Validator: v})
	}
	for k, v := range s.finality {
		snap.Finality = append(snap.Finality, storage.FinalityEntry{Key: k, Value: v})
	}
	return snap, nil
}

// Block implements Store.
func (s *MemStore) Block(hash chain.Hash) (*chain.Block, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if b, ok := s.blocks[hash]; ok {
		return b, nil
	}
	return nil, fmt.Errorf("%w: block %v", storage.ErrNotFound, hash)
}

// BlockSeals implements Store; a stored block without a seal is an
// error.
func (s *MemStore) BlockSeals(hashes []chain.Hash, seals []chain.BlockSeal) error {
	if len(seals) != len(hashes) {
		return fmt.Errorf("node: %d seals for %d blocks", len(seals), len(hashes))
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for i, h := range hashes {
		b, ok := s.blocks[h]
		switch {
		case !ok:
			return fmt.Errorf("%w: block %v", storage.ErrNotFound, h)
		case b.Seal == nil:
			return fmt.Errorf("node: block %v has no seal", h)
		}
		seals[i] = *b.Seal
	}
	return nil
}

// Undo implements Store.
func (s *MemStore) Undo(hash chain.Hash) (*storage.Undo, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if u, ok := s.undo[hash]; ok {
		return u, nil
	}
	return nil, fmt.Errorf("%w: undo of block %v", storage.ErrNotFound, hash)
}

// Commit implements Store.
func (s *MemStore) Commit(b *storage.Batch) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, blk := range b.Blocks {
		s.blocks[blk.Hash()] = blk
	}
	for _, e := range b.Index {
		s.index[e.Hash] = e
	}
	for _, u := range b.PutUndo {
		s.undo[u.Hash] = u.Undo
	}
	for _, h := range b.DeleteUndo {
		delete(s.undo, h)
	}
	applyEntries(s.accounts, b.Accounts)
	applyValidators(s.vals, b.Validators)
	applyFinality(s.finality, b.Finality)
	if b.Tip != nil {
		tip := *b.Tip
		s.tip = &tip
	}
	s.commits++
	return nil
}

// Commits returns the number of Commit calls so far.
func (s *MemStore) Commits() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.commits
}
