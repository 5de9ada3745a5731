package stratum

import (
	"errors"
	"math"
	"math/big"
	"strings"
	"testing"

	"github.com/powmine/powmine/chain"
)

func targetHex(t *testing.T, d float64) string {
	t.Helper()
	h, err := TargetFromDifficulty(d)
	if err != nil {
		t.Fatalf("TargetFromDifficulty(%v): %v", d, err)
	}
	return h.String() // display order = big-endian number
}

func TestTargetFromDifficulty(t *testing.T) {
	one, _ := chain.BigToHash(chain.CompactToBig(0x1d00ffff))
	if got, _ := TargetFromDifficulty(1); got != one || Diff1Target() != one {
		t.Fatalf("difficulty 1 = %s, want bits 0x1d00ffff %s", got, one)
	}
	if DifficultyFromTarget(one) != 1 {
		t.Fatal("DifficultyFromTarget(0x1d00ffff) != 1")
	}
	// Difficulty 2 halves the target exactly; 1/65536 multiplies it by 65536.
	d1 := chain.HashToBig(&one)
	for d, want := range map[float64]*big.Int{
		2:           new(big.Int).Rsh(d1, 1),
		1.0 / 65536: new(big.Int).Lsh(d1, 16),
		65536:       new(big.Int).Rsh(d1, 16),
	} {
		h, err := TargetFromDifficulty(d)
		if err != nil || chain.HashToBig(&h).Cmp(want) != 0 {
			t.Errorf("TargetFromDifficulty(%v) = %s, %v; want %x", d, h, err, want)
		}
	}
	// The notes' table (leading hex of the 64-character target).
	for d, prefix := range map[float64]string{
		0.001: "000003e7fc18000000", 0.01: "00000063ff9c000000", 1: "00000000ffff000000",
		42: "0000000006185b6db6db", 8192: "000000000007fff8000000", 16384: "000000000003fffc000000",
	} {
		if got := targetHex(t, d); !strings.HasPrefix(got, prefix) {
			t.Errorf("target(%v) = %s, want prefix %s", d, got, prefix)
		}
	}
	// 0.01 is taken as the decimal 1/100: floor(diff1 * 100).
	want := new(big.Int).Mul(d1, big.NewInt(100))
	h, _ := TargetFromDifficulty(0.01)
	if chain.HashToBig(&h).Cmp(want) != 0 {
		t.Errorf("target(0.01) is not exactly diff1*100")
	}
	// Tiny difficulties clamp to the largest target.
	if got := targetHex(t, 1e-12); got != strings.Repeat("f", 64) {
		t.Errorf("target(1e-12) = %s", got)
	}
	for _, d := range []float64{0, -1, math.Inf(1), math.NaN(), 1e68} {
		if _, err := TargetFromDifficulty(d); !errors.Is(err, ErrDifficulty) {
			t.Errorf("TargetFromDifficulty(%v) = %v, want ErrDifficulty", d, err)
		}
	}
}

func TestDifficultyRoundTrip(t *testing.T) {
	for _, d := range []float64{1e-9, 0.0001, 0.001, 0.01, 0.5, 1, 3.7, 42, 16383.75, 4.8996e9, 1e15, 1e30} {
		h, err := TargetFromDifficulty(d)
		if err != nil {
			t.Fatal(err)
		}
		back := DifficultyFromTarget(h)
		if math.Abs(back-d)/d > 1e-12 {
			t.Errorf("difficulty %v -> target %s -> %v", d, h, back)
		}
		// A hash equal to the target meets it, one above does not.
		if !HashMeetsTarget(&h, &h) {
			t.Errorf("target %s does not meet itself", h)
		}
		above := chain.HashToBig(&h)
		above.Add(above, big.NewInt(1))
		if a, err := chain.BigToHash(above); err == nil && HashMeetsTarget(&a, &h) {
			t.Errorf("target+1 meets target %s", h)
		}
		if hd := HashDifficulty(h); math.Abs(hd-d)/d > 1e-12 {
			t.Errorf("HashDifficulty(target(%v)) = %v", d, hd)
		}
	}
	if !math.IsInf(HashDifficulty(chain.Hash{}), 1) || !math.IsInf(DifficultyFromTarget(chain.Hash{}), 1) {
		t.Error("zero hash/target difficulty is not +Inf")
	}
}

func TestHashMeetsTargetNoAllocs(t *testing.T) {
	target, _ := TargetFromDifficulty(1)
	hash := chain.Hash{31: 0x01}
	if allocs := testing.AllocsPerRun(100, func() { HashMeetsTarget(&hash, &target) }); allocs != 0 {
		t.Fatalf("%v allocs", allocs)
	}
	if HashMeetsTarget(&hash, &target) {
		t.Fatal("high hash meets difficulty 1")
	}
}
