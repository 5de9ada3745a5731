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
}

// String returns the constant's name, or "Unknown ErrorCode (n)".
func (e ErrorCode) String() string {
	if e >= 0 && e < numErrorCodes {
		return errorCodeStrings[e]
	}
	return fmt.Sprintf("Unknown ErrorCode (%d)", int(e))
}

// RuleError reports that a header breaks a consensus rule. It means "invalid
// by consensus" (the sender may be penalised), as opposed to an I/O failure
// or an AssertError.
type RuleError struct {
	Code        ErrorCode // which rule was broken
	Description string    // human-readable detail
}

// Error implements the error interface.
func (e RuleError) Error() string {
	return e.Description
}

// ruleError builds a RuleError; it is the only constructor the package uses.
func ruleError(code ErrorCode, format string, args ...any) RuleError {
	return RuleError{Code: code, Description: "chain: " + fmt.Sprintf(format, args...)}
}

// AssertError reports a broken precondition on the caller's side, such as an
// incomplete HeaderContext. It says nothing about the header's validity.
type AssertError string

// Error implements the error interface.
func (e AssertError) Error() string {
	return "chain: assertion failed: " + string(e)
}
