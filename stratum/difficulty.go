package stratum

import (
	"fmt"
	"math"
	"math/big"
	"strconv"

	"github.com/powmine/powmine/chain"
)

// Share difficulty as Bitcoin pools define it: difficulty 1 is the target
// 0x00000000ffff0000...0000 (0xffff * 2^208, compact 0x1d00ffff, ckpool's
// and cgminer's truediffone), and the target of difficulty d is
// floor(diff1 / d). A hash meets a target when, read as a little-endian
// 256-bit number, it is not above it.
//
// Conversions to targets use exact rational arithmetic; do them once per
// difficulty change and compare each share's hash with HashMeetsTarget.

var (
	// diff1Target is the difficulty-1 target, 0xffff * 2^208.
	diff1Target = new(big.Int).Lsh(big.NewInt(0xffff), 208)
	// maxTarget is 2^256 - 1, the largest target a hash can be compared
	// with.
	maxTarget = new(big.Int).Sub(new(big.Int).Lsh(big.NewInt(1), 256), big.NewInt(1))
	// diff1Float is diff1Target as a float64 (exact).
	diff1Float = math.Ldexp(0xffff, 208)
)

// Diff1Target returns the difficulty-1 target, 0xffff * 2^208, in digest
// byte order.
func Diff1Target() chain.Hash {
	h, _ := chain.BigToHash(diff1Target) // fits in 256 bits
	return h
}

// TargetFromDifficulty returns floor(diff1 / d) in digest byte order (the
// order of a header hash, for HashMeetsTarget). d is taken at the exact
// value of its shortest decimal form, the text a set_difficulty carries
// (0.01 is 1/100, not the nearest float64), so that a server and a client
// that both use this function agree to the last bit. A target above
// 2^256-1 (d below about 2.3e-10) is clamped to 2^256-1, which every hash
// meets. d must be finite and positive, and small enough that the target
// is not zero (d up to about 2.7e67); otherwise the error wraps
// ErrDifficulty.
func TargetFromDifficulty(d float64) (chain.Hash, error) {
	if !(d > 0) || math.IsInf(d, 0) {
		return chain.Hash{}, fmt.Errorf("%w: %v", ErrDifficulty, d)
	}
	r, ok := new(big.Rat).SetString(strconv.FormatFloat(d, 'g', -1, 64))
	if !ok {
		return chain.Hash{}, fmt.Errorf("%w: %v", ErrDifficulty, d)
	}
	t := new(big.Int).Mul(diff1Target, r.Denom())
	t.Quo(t, r.Num())
	if t.Sign() == 0 {
		return chain.Hash{}, fmt.Errorf("%w: %v gives a zero target", ErrDifficulty, d)
	}
	if t.Cmp(maxTarget) > 0 {
		t.Set(maxTarget)
	}
	h, _ := chain.BigToHash(t) // in range
	return h, nil
}

// DifficultyFromTarget returns diff1 / target, rounded to the nearest
// float64; +Inf for a zero target.
func DifficultyFromTarget(target chain.Hash) float64 {
	t := chain.HashToBig(&target)
	if t.Sign() == 0 {
		return math.Inf(1)
	}
	f, _ := new(big.Rat).SetFrac(diff1Target, t).Float64()
	return f
}

// HashDifficulty returns the share difficulty of a header hash, diff1 / H
// with H the hash read as a little-endian number: the highest difficulty
// whose target the hash meets. It is a float64 approximation (relative
// error below 1e-14) meant for statistics and logs, cheap enough for every
// share; +Inf for a zero hash. Accept shares with HashMeetsTarget.
func HashDifficulty(hash chain.Hash) float64 {
	var h float64
	for i := chain.HashSize - 1; i >= 0; i-- {
		h = h*256 + float64(hash[i])
	}
	if h == 0 {
		return math.Inf(1)
	}
	return diff1Float / h
}

// HashMeetsTarget reports whether hash, read as a little-endian 256-bit
// number, is at most target (also little-endian, as TargetFromDifficulty
// returns it). It compares bytes from the most significant end and does
// not allocate.
func HashMeetsTarget(hash, target *chain.Hash) bool {
	for i := chain.HashSize - 1; i >= 0; i-- {
		if hash[i] != target[i] {
			return hash[i] < target[i]
		}
	}
	return true
}
