package storage

import "testing"

func TestKnownInvalid(t *testing.T) {
	tests := []struct {
		name   string
		status BlockStatus
		want   bool
	}{
		{"none", 0, false},
		{"stored", StatusDataStored, false},
		{"valid", StatusDataStored | StatusValid, false},
		{"validate failed", StatusDataStored | StatusValidateFailed, true},
		{"invalid ancestor", StatusInvalidAncestor, true},
		{"both", StatusValidateFailed | StatusInvalidAncestor, true},
	}
	for _, tt := range tests {
		if got := tt.status.KnownInvalid(); got != tt.want {
			t.Errorf("%s: KnownInvalid() = %v, want %v", tt.name, got, tt.want)
		}
	}
}
