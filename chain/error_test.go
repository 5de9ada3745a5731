package chain

import (
	"errors"
	"fmt"
	"regexp"
	"testing"
)

func TestErrorCodeString(t *testing.T) {
	tests := []struct {
		in   ErrorCode
		want string
	}{
		{ErrHighHash, "ErrHighHash"},
		{ErrBadTarget, "ErrBadTarget"},
		{ErrTargetAbovePowLimit, "ErrTargetAbovePowLimit"},
		{ErrUnexpectedDifficulty, "ErrUnexpectedDifficulty"},
		{ErrTimeTooOld, "ErrTimeTooOld"},
		{ErrTimeTooNew, "ErrTimeTooNew"},
		{ErrBadPrevBlock, "ErrBadPrevBlock"},
		{ErrBadMerkleRoot, "ErrBadMerkleRoot"},
		{ErrMutatedBlock, "ErrMutatedBlock"},
		{ErrNoTransactions, "ErrNoTransactions"},
		{ErrFirstTxNotCoinbase, "ErrFirstTxNotCoinbase"},
		{ErrMultipleCoinbases, "ErrMultipleCoinbases"},
		{ErrBlockTooBig, "ErrBlockTooBig"},
		{ErrTooManyTransactions, "ErrTooManyTransactions"},
		{ErrDuplicateTx, "ErrDuplicateTx"},
		{ErrBadTxSize, "ErrBadTxSize"},
		{ErrBadExtranonceLen, "ErrBadExtranonceLen"},
		{ErrBadCoinbaseOutputs, "ErrBadCoinbaseOutputs"},
		{ErrAmountOverflow, "ErrAmountOverflow"},
		{ErrBadSignature, "ErrBadSignature"},
		{ErrBadCoinbaseHeight, "ErrBadCoinbaseHeight"},
		{ErrInsufficientBalance, "ErrInsufficientBalance"},
		{ErrBadSequence, "ErrBadSequence"},
		{ErrBadCoinbaseValue, "ErrBadCoinbaseValue"},
		{ErrInvalidAncestorBlock, "ErrInvalidAncestorBlock"},
		{ErrStakeDisabled, "ErrStakeDisabled"},
		{ErrDepositTooSmall, "ErrDepositTooSmall"},
		{ErrValidatorExists, "ErrValidatorExists"},
		{ErrTooManyValidators, "ErrTooManyValidators"},
		{ErrUnknownValidator, "ErrUnknownValidator"},
		{ErrNotValidatorOwner, "ErrNotValidatorOwner"},
		{ErrValidatorExiting, "ErrValidatorExiting"},
		{ErrBadVote, "ErrBadVote"},
		{ErrInvalidEvidence, "ErrInvalidEvidence"},
		{ErrTooManyVotes, "ErrTooManyVotes"},
		{ErrTooManySlashes, "ErrTooManySlashes"},
		{ErrUnknownCheckpoint, "ErrUnknownCheckpoint"},
		{ErrSourceNotJustified, "ErrSourceNotJustified"},
		{ErrDuplicateVote, "ErrDuplicateVote"},
		{ErrSlashedValidator, "ErrSlashedValidator"},
		{ErrInactiveValidator, "ErrInactiveValidator"},
		{ErrBadSeal, "ErrBadSeal"},
		{ErrNotProofOfStake, "ErrNotProofOfStake"},
		{ErrStakeBelowMinimum, "ErrStakeBelowMinimum"},
		{ErrWithdrawPending, "ErrWithdrawPending"},
		{-1, "Unknown ErrorCode (-1)"},
		{0xffff, "Unknown ErrorCode (65535)"},
	}
	// Every defined code must appear above, so a new code cannot be added
	// without a name.
	if n := len(tests) - 2; n != int(numErrorCodes) {
		t.Fatalf("table covers %d codes, package defines %d", n, int(numErrorCodes))
	}
	for _, tt := range tests {
		if got := tt.in.String(); got != tt.want {
			t.Errorf("ErrorCode(%d).String() = %q, want %q", int(tt.in), got, tt.want)
		}
	}
}

func TestRuleErrorAs(t *testing.T) {
	err := fmt.Errorf("processing header: %w", ruleError(ErrTimeTooOld, "time %d", 5))
	var rerr RuleError
	if !errors.As(err, &rerr) {
		t.Fatalf("errors.As did not find the RuleError in %v", err)
	}
	if rerr.Code != ErrTimeTooOld {
		t.Errorf("Code = %v, want ErrTimeTooOld", rerr.Code)
	}
	if got, want := rerr.Error(), "chain: time 5"; got != want {
		t.Errorf("Error() = %q, want %q", got, want)
	}
	if got, want := AssertError("x").Error(), "chain: assertion failed: x"; got != want {
		t.Errorf("AssertError = %q, want %q", got, want)
	}
}

// wantRuleError fails unless err is a RuleError with the given code.
func wantRuleError(t *testing.T, err error, code ErrorCode) {
	t.Helper()
	var rerr RuleError
	if !errors.As(err, &rerr) {
		t.Fatalf("got error %v, want a RuleError with code %v", err, code)
	}
	if rerr.Code != code {
		t.Fatalf("got code %v (%v), want %v", rerr.Code, err, code)
	}
}

// TestRejectReason checks BIP22's submitblock reasons: Bitcoin Core's
// strings for the rules it has, and a reason of the same shape for
// every code.
func TestRejectReason(t *testing.T) {
	core := map[ErrorCode]string{
		ErrHighHash:             "high-hash",
		ErrUnexpectedDifficulty: "bad-diffbits",
		ErrTimeTooOld:           "time-too-old",
		ErrTimeTooNew:           "time-too-new",
		ErrBadMerkleRoot:        "bad-txnmrklroot",
		ErrFirstTxNotCoinbase:   "bad-cb-missing",
		ErrMultipleCoinbases:    "bad-cb-multiple",
		ErrBlockTooBig:          "bad-blk-length",
		ErrDuplicateTx:          "bad-txns-duplicate",
		ErrBadCoinbaseHeight:    "bad-cb-height",
		ErrBadCoinbaseValue:     "bad-cb-amount",
		ErrInvalidAncestorBlock: "bad-prevblk",
	}
	for c, want := range core {
		if got := c.RejectReason(); got != want {
			t.Errorf("%v.RejectReason() = %q, want Core's %q", c, got, want)
		}
	}
	shape := regexp.MustCompile(`^[a-z]+(-[a-z0-9]+)+$`)
	for c := ErrorCode(0); c < numErrorCodes; c++ {
		if r := c.RejectReason(); !shape.MatchString(r) {
			t.Errorf("%v.RejectReason() = %q, not a BIP22 reason", c, r)
		}
	}
	if got := ErrorCode(-1).RejectReason(); got != "rejected" {
		t.Errorf("unknown code: %q", got)
	}
}
