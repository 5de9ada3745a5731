package chain

import "testing"

func TestCalcBlockSubsidy(t *testing.T) {
	p := &MainNetParams
	tests := []struct {
		height int64
		want   uint64
	}{
		{-1, 0},
		{0, 5_000_000_000},
		{209_999, 5_000_000_000},
		{210_000, 2_500_000_000},
		{420_000, 1_250_000_000},
		{630_000, 625_000_000},
		{840_000, 312_500_000},
		{210_000 * 32, 1},        // 5e9 >> 32 = 1
		{210_000 * 33, 0},        // 5e9 >> 33 = 0
		{210_000*64 - 1, 0},      // last height before the shift limit
		{210_000 * 64, 0},        // Core: zero from the 64th halving on
		{1 << 62, 0},             // no shift overflow
		{9223372036854775807, 0}, // max int64
	}
	for _, tt := range tests {
		if got := CalcBlockSubsidy(tt.height, p); got != tt.want {
			t.Errorf("CalcBlockSubsidy(%d) = %d, want %d", tt.height, got, tt.want)
		}
	}

	// A subsidy that would still be non-zero after 63 shifts must still
	// drop to zero at the 64th halving.
	q := MainNetParams
	q.InitialSubsidy, q.SubsidyHalvingInterval = ^uint64(0), 10
	if got := CalcBlockSubsidy(639, &q); got != 1 {
		t.Errorf("63 halvings of 2^64-1 = %d, want 1", got)
	}
	if got := CalcBlockSubsidy(640, &q); got != 0 {
		t.Errorf("64 halvings = %d, want 0", got)
	}
	q.SubsidyHalvingInterval = 0
	if got := CalcBlockSubsidy(1e9, &q); got != q.InitialSubsidy {
		t.Errorf("no halving: %d", got)
	}
}

// TestSubsidyLimit follows Bitcoin Core's subsidy_limit_test
// (src/test/validation_tests.cpp): the subsidies of all blocks sum to
// 2,099,999,997,690,000 base units, just under 21 million coins.
func TestSubsidyLimit(t *testing.T) {
	var sum uint64
	for h := int64(0); h < 14_000_000; h += 1000 {
		s := CalcBlockSubsidy(h, &MainNetParams)
		if s > 50*BaseUnitsPerCoin {
			t.Fatalf("subsidy %d at height %d", s, h)
		}
		sum += s * 1000
	}
	if sum != 2_099_999_997_690_000 {
		t.Errorf("total subsidy %d, want 2099999997690000", sum)
	}
}
