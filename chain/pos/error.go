package pos

import (
	"fmt"

	"github.com/powmine/powmine/chain"
)

// ErrorCode identifies why a vote, a piece of slashing evidence or a
// validator set was refused. Callers test for it with errors.As and a
// RuleError, never by matching the message.
type ErrorCode int

// These constants name the rules this package enforces.
const (
	// ErrMalformed indicates an encoding that does not decode (wrong
	// length, unknown version) or a vote whose source epoch is not below
	// its target epoch.
	ErrMalformed ErrorCode = iota

	// ErrBadSignature indicates a vote whose signature is not its
	// validator's valid signature over the vote's signing message.
	ErrBadSignature

	// ErrUnknownValidator indicates a vote or evidence from a key that is
	// not in the validator set.
	ErrUnknownValidator

	// ErrUnknownCheckpoint indicates a vote whose source or target is not
	// a checkpoint of the chain the Finality follows (its Config.Lookup
	// said no).
	ErrUnknownCheckpoint

	// ErrSourceNotJustified indicates a vote whose source checkpoint is not
	// justified.
	ErrSourceNotJustified

	// ErrDuplicateVote indicates a vote with the same validator, source and
	// target as one already counted: a replay.
	ErrDuplicateVote

	// ErrSlashableVote indicates a correctly signed vote that, together
	// with a vote of the same validator already counted, breaks a Casper
	// slashing condition (a double or a surround vote). The vote is not
	// counted; AddVote returns the Evidence that proves the offence.
	ErrSlashableVote

	// ErrSlashedValidator indicates a vote or evidence for a validator
	// already slashed: its votes no longer count, and evidence against it
	// is accepted once.
	ErrSlashedValidator

	// ErrInvalidEvidence indicates slashing evidence that does not prove
	// an offence: different validators, a bad signature, a pair that is
	// not slashable, or a pair not in canonical order.
	ErrInvalidEvidence

	// ErrBadValidatorSet indicates a validator set that cannot be used: no
	// stake, a zero stake, a duplicate key, or a total stake so large that
	// the two-thirds test could overflow.
	ErrBadValidatorSet

	// ErrFutureSlot indicates a pure-PoS block whose slot has not started
	// on the verifier's clock, even allowing MaxClockSkew.
	ErrFutureSlot

	// ErrSlotNotAfterParent indicates a pure-PoS block whose slot is not
	// later than its parent's.
	ErrSlotNotAfterParent

	// ErrWrongProposer indicates a seal by a validator that is not the
	// elected proposer of its slot.
	ErrWrongProposer

	// ErrBadReveal indicates a seal whose reveal is not the proposer's
	// valid ECVRF proof for the slot's epoch: a forged election proof.
	ErrBadReveal

	// ErrBadSealSignature indicates a seal whose signature is not the
	// proposer's valid signature over the seal's signing message.
	ErrBadSealSignature

	numErrorCodes
)

var errorCodeNames = [numErrorCodes]string{
	ErrMalformed:          "ErrMalformed",
	ErrBadSignature:       "ErrBadSignature",
	ErrUnknownValidator:   "ErrUnknownValidator",
	ErrUnknownCheckpoint:  "ErrUnknownCheckpoint",
	ErrSourceNotJustified: "ErrSourceNotJustified",
	ErrDuplicateVote:      "ErrDuplicateVote",
	ErrSlashableVote:      "ErrSlashableVote",
	ErrSlashedValidator:   "ErrSlashedValidator",
	ErrInvalidEvidence:    "ErrInvalidEvidence",
	ErrBadValidatorSet:    "ErrBadValidatorSet",
	ErrFutureSlot:         "ErrFutureSlot",
	ErrSlotNotAfterParent: "ErrSlotNotAfterParent",
	ErrWrongProposer:      "ErrWrongProposer",
	ErrBadReveal:          "ErrBadReveal",
	ErrBadSealSignature:   "ErrBadSealSignature",
}

// String returns the constant's name, or "Unknown ErrorCode (n)".
func (e ErrorCode) String() string {
	if e >= 0 && e < numErrorCodes {
		return errorCodeNames[e]
	}
	return fmt.Sprintf("Unknown ErrorCode (%d)", int(e))
}

// RuleError is the error every refusal of this package returns.
type RuleError struct {
	Code        ErrorCode
	Description string

	// Evidence is set only with ErrSlashableVote: the refused vote and the
	// counted vote it conflicts with, in canonical order, ready for
	// Finality.AddEvidence or for gossip.
	Evidence *chain.Evidence
}

// Error returns the description with the package prefix.
func (e RuleError) Error() string { return "pos: " + e.Description }

// ruleError builds a RuleError.
func ruleError(code ErrorCode, format string, args ...any) RuleError {
	return RuleError{Code: code, Description: fmt.Sprintf(format, args...)}
}
