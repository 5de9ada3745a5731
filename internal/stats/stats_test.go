package stats

import (
	"math"
	"testing"
)

// TestChiSquareP checks the upper tail against closed forms and the 5%
// critical values of the chi-square distribution (the tables of the
// NIST/SEMATECH e-Handbook 1.3.6.7.4 give them to three decimals).
func TestChiSquareP(t *testing.T) {
	tests := []struct {
		stat float64
		df   int
		want float64
	}{
		{2, 2, math.Exp(-1)},   // df 2: exp(-x/2)
		{30, 2, math.Exp(-15)}, // continued-fraction branch
		{0.5, 2, math.Exp(-0.25)},
		{3.841458820694124, 1, 0.05},
		{6.634896601021214, 1, 0.01},
		{18.307038053275146, 10, 0.05},
		{30.14352720564616, 19, 0.05},
		{124.34211340400407, 100, 0.05},
		{135.80672317102676, 100, 0.01},
		{1, 1, math.Erfc(math.Sqrt(0.5))}, // df 1: erfc(sqrt(x/2))
		{0.01, 1, math.Erfc(math.Sqrt(0.005))},
	}
	for _, tt := range tests {
		got := ChiSquareP(tt.stat, tt.df)
		if math.Abs(got-tt.want) > 1e-5*tt.want {
			t.Errorf("ChiSquareP(%v, %d) = %.6g, want %.6g", tt.stat, tt.df, got, tt.want)
		}
	}
	if ChiSquareP(0, 3) != 1 || ChiSquareP(math.Inf(1), 3) != 0 || !math.IsNaN(ChiSquareP(1, 0)) {
		t.Error("edge cases")
	}
}

func TestChiSquare(t *testing.T) {
	stat, df := ChiSquare([]uint64{10, 20, 30, 0}, []uint64{1, 2, 3, 0})
	if stat != 0 || df != 2 {
		t.Fatalf("perfect fit: %v, %d", stat, df)
	}
	// Expected 30, 30: (40−30)²/30 + (20−30)²/30.
	stat, df = ChiSquare([]uint64{40, 20}, []uint64{5, 5})
	if math.Abs(stat-200.0/30) > 1e-12 || df != 1 {
		t.Fatalf("got %v, %d", stat, df)
	}
	if stat, _ := ChiSquare([]uint64{1, 1}, []uint64{1, 0}); !math.IsInf(stat, 1) {
		t.Fatal("count in a zero-weight category")
	}
	if _, df := ChiSquare([]uint64{1}, []uint64{1, 2}); df != -1 {
		t.Fatal("length mismatch")
	}
}
