package storage

import (
	"errors"

	"github.com/powmine/powmine/chain"
)

// ErrNotFound is returned (wrapped) by a store for a block or undo record
// it does not hold.
var ErrNotFound = errors.New("storage: not found")

// BlockStatus is a bit field describing what the node knows about a block.
type BlockStatus uint8

// The status bits.
const (
	// StatusDataStored: the block's body is in the store.
	StatusDataStored BlockStatus = 1 << iota

	// StatusValid: the block was connected at least once, so it passed
	// every rule including the account-state ones.
	StatusValid

	// StatusValidateFailed: the block itself broke a rule when it was
	// connected.
	StatusValidateFailed

	// StatusInvalidAncestor: one of the block's ancestors is invalid.
	StatusInvalidAncestor

	// statusInvalidMask covers both invalid bits.
	statusInvalidMask = StatusValidateFailed | StatusInvalidAncestor
)

// KnownInvalid reports whether the block or one of its ancestors is known
// to break a rule.
func (s BlockStatus) KnownInvalid() bool { return s&statusInvalidMask != 0 }

// IndexEntry is the stored form of one block index node: key it by
// (Height, Hash) and a cursor walk returns parents before children. The
// chainwork is not stored; the node recomputes it from the headers.
type IndexEntry struct {
	Hash   chain.Hash
	Height int64
	Header chain.Header
	Status BlockStatus
	Seq    uint64 // first-seen order, the tie-break at equal work
}

// AccountEntry is the state of one address, as stored and as undone.
type AccountEntry struct {
	Address chain.Address
	Account chain.Account // the zero value means "absent": delete the entry
}

// ValidatorEntry is the state of one validator key, as stored and as
// undone.
type ValidatorEntry struct {
	Key       chain.PublicKey
	Validator chain.Validator // the zero value means "absent": delete the entry
}

// Undo is what disconnecting a block needs to restore the state before it:
// the previous state of every account, validator and finality record the
// block touched, in
// the order the block first touched them. Restoring them in any order
// gives the same state.
type Undo struct {
	Accounts   []AccountEntry
	Validators []ValidatorEntry
	Finality   []FinalityEntry
}

// UndoEntry is the undo record of the block with hash Hash.
type UndoEntry struct {
	Hash chain.Hash
	Undo *Undo
}

// Batch is one atomic change of the stored state. Apply in this order:
// Blocks (insert or overwrite), Index (insert or overwrite), PutUndo, DeleteUndo, Accounts
// (a zero Account deletes the entry), Validators (a zero Validator deletes
// the entry), Finality (an empty Value deletes the record), then Tip when
// it is non-nil.
//
//   - accepting a block: Blocks and Index hold it;
//   - connecting: Index (its status now includes StatusValid), PutUndo,
//     the touched Accounts, Validators and Finality records and the new
//     Tip;
//   - disconnecting: DeleteUndo, the restored Accounts, Validators and
//     Finality records and the new Tip;
//   - marking blocks invalid: Index only;
//   - replacing a proof-of-stake block's seal, which its hash does not
//     cover (chain/node's reseal): Blocks only, the same hash again.
type Batch struct {
	Blocks     []*chain.Block
	Index      []IndexEntry
	PutUndo    []UndoEntry
	DeleteUndo []chain.Hash
	Accounts   []AccountEntry
	Validators []ValidatorEntry
	Finality   []FinalityEntry
	Tip        *chain.Hash
}

// Snapshot is everything a store holds but blocks and undo records.
type Snapshot struct {
	Index      []IndexEntry // any order
	Accounts   []AccountEntry
	Validators []ValidatorEntry // any order
	Finality   []FinalityEntry  // any order
	Tip        chain.Hash
}
