package mempool

import (
	"fmt"

	"github.com/powmine/powmine/chain"
)

// RejectReason says why a transfer was kept out of the pool.
type RejectReason uint8

// The reject reasons.
const (
	// RejectMalformed: not a well-formed transfer (a coinbase, a
	// transaction with no or two bodies, an amount plus fee that
	// overflows).
	RejectMalformed RejectReason = iota + 1

	// RejectDuplicate: a transfer with the same id is already pending.
	RejectDuplicate

	// RejectBadSignature: the signature does not verify
	// (chain.ErrBadSignature).
	RejectBadSignature

	// RejectStaleSequence: the sequence is below the sender's next one at
	// the tip: it was used already, the transfer can never be mined.
	RejectStaleSequence

	// RejectSequenceGap: the sequence is beyond the next one after the
	// sender's pending transfers; an earlier one is missing.
	RejectSequenceGap

	// RejectSequenceConflict: a pending transfer of the same sender
	// already has this sequence.
	RejectSequenceConflict

	// RejectInsufficientFunds: the sender's balance at the tip does not
	// cover amount plus fee of the pending transfers and this one.
	RejectInsufficientFunds

	// RejectFeeTooLow: the fee rate is below Config.MinFeeRate.
	RejectFeeTooLow

	// RejectPoolFull: the pool is full and the transfer's fee rate is not
	// high enough to evict others.
	RejectPoolFull

	// RejectTooLarge: the transfer is larger than chain.MaxTxSize or than
	// the whole pool (Config.MaxPoolBytes).
	RejectTooLarge

	// RejectStake: a deposit or withdraw that the validator set at the
	// tip refuses (a registered key, a full set counting the pending
	// deposits, an unknown validator, another owner, a validator already
	// exiting), that names the validator key of another pending stake
	// transaction, or that the pool cannot check because its Chain is no
	// StakeChain.
	RejectStake

	// RejectFinality: a vote or slash the pool does not admit: its chain
	// checks no finality transactions (no FinalityChain), the validator
	// is not registered, the vote's target epoch is older than the
	// previous epoch, the validator already has a vote for that target
	// epoch (or the accused a slash) pending, or the tip's state refuses
	// it for good (a vote already counted, a slashed or inactive
	// validator).
	RejectFinality

	// numRejectReasons is the number of reasons plus one; keep it last.
	numRejectReasons
)

var rejectReasonStrings = [...]string{
	RejectMalformed:         "malformed",
	RejectDuplicate:         "duplicate",
	RejectBadSignature:      "bad-signature",
	RejectStaleSequence:     "stale-sequence",
	RejectSequenceGap:       "sequence-gap",
	RejectSequenceConflict:  "sequence-conflict",
	RejectInsufficientFunds: "insufficient-funds",
	RejectFeeTooLow:         "fee-too-low",
	RejectPoolFull:          "pool-full",
	RejectTooLarge:          "too-large",
	RejectStake:             "stake",
	RejectFinality:          "finality",
}

// String returns a short kebab-case name such as "fee-too-low", fit for
// an RPC reply, or "RejectReason(n)".
func (r RejectReason) String() string {
	if r > 0 && r < numRejectReasons {
		return rejectReasonStrings[r]
	}
	return fmt.Sprintf("RejectReason(%d)", uint8(r))
}

// RejectError reports why a transfer was not added to the pool.
type RejectError struct {
	Reason      RejectReason
	ID          chain.Hash // the transfer's id; zero for a malformed one
	Description string     // human-readable detail

	// Err is the underlying error, such as the chain.RuleError of
	// chain.CheckTransactionSanity; can be nil.
	Err error
}

// Error implements the error interface.
func (e *RejectError) Error() string {
	return "mempool: reject " + e.ID.String() + ": " + e.Reason.String() + ": " + e.Description
}

// Unwrap returns Err.
func (e *RejectError) Unwrap() error { return e.Err }

// reject builds a RejectError; it is the package's only constructor.
func reject(reason RejectReason, id chain.Hash, err error, format string, args ...any) *RejectError {
	return &RejectError{Reason: reason, ID: id, Err: err, Description: fmt.Sprintf(format, args...)}
}
