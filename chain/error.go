package chain

import "fmt"

// ErrorCode identifies a kind of consensus rule violation. Callers test for
// it with errors.As and a *RuleError (or RuleError value), never by matching
// the message.
type ErrorCode int

// These constants name the rules the checks in this package enforce.
const (
	// ErrHighHash indicates that the header's hash is numerically above
	// the target its own bits claim, so it does not carry the proof of
	// work it says it does.
	ErrHighHash ErrorCode = iota

	// ErrBadTarget indicates that the header's bits decode to a target
	// that is negative, zero or wider than 256 bits.
	ErrBadTarget

	// ErrTargetAbovePowLimit indicates that the header's target is easier
	// than the network's proof-of-work limit.
	ErrTargetAbovePowLimit

	// ErrUnexpectedDifficulty indicates that the header's bits differ from
	// the value the difficulty rules require at its height: the retarget
	// result at a period boundary, the parent's bits elsewhere.
	ErrUnexpectedDifficulty

	// ErrTimeTooOld indicates that the header's timestamp is not later
	// than the median time of the blocks before it.
	ErrTimeTooOld

	// ErrTimeTooNew indicates that the header's timestamp is too far
	// ahead of the local clock. This rejection is temporary: the same
	// header may be acceptable later, so it must not be recorded as
	// permanently invalid.
	ErrTimeTooNew

	// ErrBadPrevBlock indicates that the header's previous-block hash is
	// not the hash of the parent it was checked against.
	ErrBadPrevBlock

	// ErrBadMerkleRoot indicates that the merkle root of the block's
	// transactions differs from the one in its header. The body is not the
	// one the header commits to; the header itself may be fine, so the
	// block hash must not be recorded as invalid.
	ErrBadMerkleRoot

	// ErrMutatedBlock indicates that the transaction list has the header's
	// merkle root only because of the duplicate-hash weakness of Bitcoin's
	// tree (CVE-2012-2459): two identical hashes were paired at some level,
	// as in [1,2,3,3] posing as [1,2,3]. Like ErrBadMerkleRoot it condemns
	// this body, not the header: the honest body may still arrive.
	ErrMutatedBlock

	// ErrNoTransactions indicates a block without any transaction; every
	// block needs at least its coinbase.
	ErrNoTransactions

	// ErrFirstTxNotCoinbase indicates that the block's first transaction
	// is not a coinbase.
	ErrFirstTxNotCoinbase

	// ErrMultipleCoinbases indicates a coinbase after the first position.
	ErrMultipleCoinbases

	// ErrBlockTooBig indicates a block whose serialization is longer than
	// MaxBlockSize.
	ErrBlockTooBig

	// ErrTooManyTransactions indicates a block with more than
	// MaxTxPerBlock transactions.
	ErrTooManyTransactions

	// ErrDuplicateTx indicates two transactions with the same id in a
	// block whose merkle root matches without mutation.
	ErrDuplicateTx

	// ErrBadTxSize indicates a transaction whose serialization is longer
	// than MaxTxSize or exactly 64 bytes long (the size of an inner merkle
	// node, which such a transaction could impersonate).
	ErrBadTxSize

	// ErrBadExtranonceLen indicates a coinbase extranonce longer than
	// MaxExtranonceSize.
	ErrBadExtranonceLen

	// ErrBadCoinbaseOutputs indicates a coinbase with no outputs or more
	// than MaxCoinbaseOutputs.
	ErrBadCoinbaseOutputs

	// ErrAmountOverflow indicates amounts whose sum does not fit in a
	// uint64: a transfer's amount plus fee, a coinbase's outputs, or the
	// fees of a block.
	ErrAmountOverflow

	// ErrBadSignature indicates a transfer whose signature does not verify
	// under its sender's public key.
	ErrBadSignature

	// ErrBadCoinbaseHeight indicates a coinbase whose height field is not
	// the height of the block that carries it.
	ErrBadCoinbaseHeight

	// ErrInsufficientBalance indicates a transfer whose sender's balance,
	// after the block's earlier transactions, is below its amount plus fee.
	ErrInsufficientBalance

	// ErrBadSequence indicates a transfer whose sequence number is not its
	// sender's next one: a replay, a gap, or two transfers of one sender in
	// a block without consecutive sequence numbers in block order.
	ErrBadSequence

	// ErrBadCoinbaseValue indicates a coinbase whose outputs pay more than
	// the block subsidy plus the block's fees.
	ErrBadCoinbaseValue

	// ErrInvalidAncestorBlock indicates a block that extends a block
	// already known to be invalid.
	ErrInvalidAncestorBlock

	// ErrStakeDisabled indicates a deposit or withdraw on a network whose
	// Params do not enable stake (EpochLength 0).
	ErrStakeDisabled

	// ErrDepositTooSmall indicates a deposit below Params.MinDeposit.
	ErrDepositTooSmall

	// ErrValidatorExists indicates a deposit for a validator key that is
	// already registered (active, pending or waiting for its unlock).
	ErrValidatorExists

	// ErrTooManyValidators indicates a deposit that would register more
	// than Params.MaxValidators validator keys.
	ErrTooManyValidators

	// ErrUnknownValidator indicates a withdraw, a vote or slashing
	// evidence for a validator key that is not registered.
	ErrUnknownValidator

	// ErrNotValidatorOwner indicates a withdraw signed by an account other
	// than the one that deposited the validator's stake.
	ErrNotValidatorOwner

	// ErrValidatorExiting indicates a withdraw for a validator that has
	// already asked to leave.
	ErrValidatorExiting

	// ErrBadVote indicates a vote whose source epoch is not below its
	// target epoch.
	ErrBadVote

	// ErrInvalidEvidence indicates slashing evidence that proves no
	// offence: a malformed vote, votes of two validators, votes out of
	// canonical order (or the same vote twice), or a pair that is neither
	// a double nor a surround vote.
	ErrInvalidEvidence

	// ErrTooManyVotes indicates a block with more than
	// Params.MaxVotesPerBlock votes.
	ErrTooManyVotes

	// ErrTooManySlashes indicates a block with more than
	// Params.MaxSlashesPerBlock slashes.
	ErrTooManySlashes

	// ErrUnknownCheckpoint indicates a vote whose target is not the
	// checkpoint of its epoch on the block's branch (the block at height
	// epoch·EpochLength, an ancestor of or equal to the block), or whose
	// target epoch is neither the block's epoch nor the one before (votes
	// older than that can no longer be counted).
	ErrUnknownCheckpoint

	// ErrSourceNotJustified indicates a vote whose source checkpoint is
	// not justified on the block's branch.
	ErrSourceNotJustified

	// ErrDuplicateVote indicates a vote from a validator already counted
	// for that target epoch on the block's branch.
	ErrDuplicateVote

	// ErrSlashedValidator indicates a vote from a slashed validator, or
	// evidence against a validator slashed already: evidence is accepted
	// once.
	ErrSlashedValidator

	// ErrInactiveValidator indicates a vote from a registered validator
	// that is not active in the vote's target epoch.
	ErrInactiveValidator

	// ErrBadSeal indicates a block whose proposer seal is missing on a
	// proof-of-stake chain, present on a proof-of-work chain, or refused
	// by the seal rules (see chain/pos: the slot, the elected proposer,
	// the signature and the reveal); the node's error wraps chain/pos's
	// RuleError, whose code says which.
	ErrBadSeal

	// ErrNotProofOfStake indicates a proposer slash on a chain whose
	// blocks carry no seals (Params.Consensus is not ConsensusPoS): there
	// is no proposer to accuse.
	ErrNotProofOfStake

	// ErrStakeBelowMinimum indicates a partial withdraw that would leave
	// its validator less than Params.MinDeposit of stake.
	ErrStakeBelowMinimum

	// ErrWithdrawPending indicates a partial withdraw for a validator
	// whose previous partial withdraw is still locked (not yet paid
	// back): a validator has at most one pending.
	ErrWithdrawPending

	// numErrorCodes is the number of codes above; keep it last.
	numErrorCodes
)

var errorCodeStrings = [...]string{
	ErrHighHash:             "ErrHighHash",
	ErrBadTarget:            "ErrBadTarget",
	ErrTargetAbovePowLimit:  "ErrTargetAbovePowLimit",
	ErrUnexpectedDifficulty: "ErrUnexpectedDifficulty",
	ErrTimeTooOld:           "ErrTimeTooOld",
	ErrTimeTooNew:           "ErrTimeTooNew",
	ErrBadPrevBlock:         "ErrBadPrevBlock",
	ErrBadMerkleRoot:        "ErrBadMerkleRoot",
	ErrMutatedBlock:         "ErrMutatedBlock",
	ErrNoTransactions:       "ErrNoTransactions",
	ErrFirstTxNotCoinbase:   "ErrFirstTxNotCoinbase",
	ErrMultipleCoinbases:    "ErrMultipleCoinbases",
	ErrBlockTooBig:          "ErrBlockTooBig",
	ErrTooManyTransactions:  "ErrTooManyTransactions",
	ErrDuplicateTx:          "ErrDuplicateTx",
	ErrBadTxSize:            "ErrBadTxSize",
	ErrBadExtranonceLen:     "ErrBadExtranonceLen",
	ErrBadCoinbaseOutputs:   "ErrBadCoinbaseOutputs",
	ErrAmountOverflow:       "ErrAmountOverflow",
	ErrBadSignature:         "ErrBadSignature",
	ErrBadCoinbaseHeight:    "ErrBadCoinbaseHeight",
	ErrInsufficientBalance:  "ErrInsufficientBalance",
	ErrBadSequence:          "ErrBadSequence",
	ErrBadCoinbaseValue:     "ErrBadCoinbaseValue",
	ErrInvalidAncestorBlock: "ErrInvalidAncestorBlock",
	ErrStakeDisabled:        "ErrStakeDisabled",
	ErrDepositTooSmall:      "ErrDepositTooSmall",
	ErrValidatorExists:      "ErrValidatorExists",
	ErrTooManyValidators:    "ErrTooManyValidators",
	ErrUnknownValidator:     "ErrUnknownValidator",
	ErrNotValidatorOwner:    "ErrNotValidatorOwner",
	ErrValidatorExiting:     "ErrValidatorExiting",
	ErrBadVote:              "ErrBadVote",
	ErrInvalidEvidence:      "ErrInvalidEvidence",
	ErrTooManyVotes:         "ErrTooManyVotes",
	ErrTooManySlashes:       "ErrTooManySlashes",
	ErrUnknownCheckpoint:    "ErrUnknownCheckpoint",
	ErrSourceNotJustified:   "ErrSourceNotJustified",
	ErrDuplicateVote:        "ErrDuplicateVote",
	ErrSlashedValidator:     "ErrSlashedValidator",
	ErrInactiveValidator:    "ErrInactiveValidator",
	ErrBadSeal:              "ErrBadSeal",
	ErrNotProofOfStake:      "ErrNotProofOfStake",
	ErrStakeBelowMinimum:    "ErrStakeBelowMinimum",
	ErrWithdrawPending:      "ErrWithdrawPending",
}

// rejectReasons are the reasons submitblock gives (BIP22), Bitcoin Core's
// strings (src/validation.cpp) where Core has the rule, and strings in
// the same style for the rules of account transfers, which Core has not.
var rejectReasons = [...]string{
	ErrHighHash:             "high-hash",
	ErrBadTarget:            "bad-diffbits",
	ErrTargetAbovePowLimit:  "bad-diffbits",
	ErrUnexpectedDifficulty: "bad-diffbits",
	ErrTimeTooOld:           "time-too-old",
	ErrTimeTooNew:           "time-too-new",
	ErrBadPrevBlock:         "bad-prevblk",
	ErrBadMerkleRoot:        "bad-txnmrklroot",
	ErrMutatedBlock:         "bad-txns-duplicate",
	ErrNoTransactions:       "bad-blk-length",
	ErrFirstTxNotCoinbase:   "bad-cb-missing",
	ErrMultipleCoinbases:    "bad-cb-multiple",
	ErrBlockTooBig:          "bad-blk-length",
	ErrTooManyTransactions:  "bad-blk-length",
	ErrDuplicateTx:          "bad-txns-duplicate",
	ErrBadTxSize:            "bad-txns-oversize",
	ErrBadExtranonceLen:     "bad-cb-length",
	ErrBadCoinbaseOutputs:   "bad-cb-outputs",
	ErrAmountOverflow:       "bad-txns-txouttotal-toolarge",
	ErrBadSignature:         "bad-txns-signature",
	ErrBadCoinbaseHeight:    "bad-cb-height",
	ErrInsufficientBalance:  "bad-txns-in-belowout",
	ErrBadSequence:          "bad-txns-sequence",
	ErrBadCoinbaseValue:     "bad-cb-amount",
	ErrInvalidAncestorBlock: "bad-prevblk",
	ErrStakeDisabled:        "bad-stake-disabled",
	ErrDepositTooSmall:      "bad-deposit-toosmall",
	ErrValidatorExists:      "bad-validator-exists",
	ErrTooManyValidators:    "bad-validators-toomany",
	ErrUnknownValidator:     "bad-validator-unknown",
	ErrNotValidatorOwner:    "bad-validator-owner",
	ErrValidatorExiting:     "bad-validator-exiting",
	ErrBadVote:              "bad-vote",
	ErrInvalidEvidence:      "bad-evidence",
	ErrTooManyVotes:         "bad-blk-votes",
	ErrTooManySlashes:       "bad-blk-slashes",
	ErrUnknownCheckpoint:    "bad-vote-checkpoint",
	ErrSourceNotJustified:   "bad-vote-source",
	ErrDuplicateVote:        "bad-vote-duplicate",
	ErrSlashedValidator:     "bad-validator-slashed",
	ErrInactiveValidator:    "bad-validator-inactive",
	ErrBadSeal:              "bad-seal",
	ErrNotProofOfStake:      "bad-proposer-slash-pow",
	ErrStakeBelowMinimum:    "bad-withdraw-belowmin",
	ErrWithdrawPending:      "bad-withdraw-pending",
}

// RejectReason returns the short reason a node gives for a block that
// breaks the rule, as submitblock answers it (BIP22): Bitcoin Core's
// string where Core has the rule ("high-hash", "bad-diffbits",
// "bad-cb-amount", "bad-prevblk", ...), one in its style otherwise, and
// "rejected" for an unknown code.
func (e ErrorCode) RejectReason() string {
	if e >= 0 && e < numErrorCodes {
		return rejectReasons[e]
	}
	return "rejected"
}

// String returns the constant's name, or "Unknown ErrorCode (n)".
func (e ErrorCode) String() string {
	if e >= 0 && e < numErrorCodes {
		return errorCodeStrings[e]
	}
	return fmt.Sprintf("Unknown ErrorCode (%d)", int(e))
}

// RuleError reports that a header, block or transaction breaks a consensus
// rule. It means "invalid by consensus" (the sender may be penalised), as
// opposed to an I/O failure, a malformed encoding or an AssertError.
type RuleError struct {
	Code        ErrorCode // which rule was broken
	Description string    // human-readable detail

	// Err is the error of another package's rules behind this one, or
	// nil: with ErrBadSeal, chain/pos's RuleError, which errors.As finds
	// through Unwrap.
	Err error
}

// Unwrap returns Err.
func (e RuleError) Unwrap() error { return e.Err }

// Error implements the error interface.
func (e RuleError) Error() string {
	return e.Description
}

// ruleError builds a RuleError; it is the only constructor the package uses.
func ruleError(code ErrorCode, format string, args ...any) RuleError {
	return RuleError{Code: code, Description: "chain: " + fmt.Sprintf(format, args...)}
}

// AssertError reports a broken precondition on the caller's side, such as an
// incomplete HeaderContext or a Transaction with no body. It says nothing
// about the validity of the header or block.
type AssertError string

// Error implements the error interface.
func (e AssertError) Error() string {
	return "chain: assertion failed: " + string(e)
}
