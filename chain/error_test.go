package chain

import (
	"errors"
	"fmt"
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
