package mempool

import (
	"cmp"
	"math/bits"
)

// FeeRate is a fee per size in base units per 1,000 serialized bytes.
type FeeRate uint64

// FeeRateOf returns fee per size bytes as a FeeRate, rounded down and
// capped at the largest FeeRate. A size of 0 or less yields the largest.
func FeeRateOf(fee uint64, size int) FeeRate {
	if size <= 0 {
		return ^FeeRate(0)
	}
	hi, lo := bits.Mul64(fee, 1000)
	if hi >= uint64(size) {
		return ^FeeRate(0)
	}
	q, _ := bits.Div64(hi, lo, uint64(size))
	return FeeRate(q)
}

// Covers reports whether fee for size bytes pays at least rate, exactly
// (no rounding): fee*1000 >= rate*size.
func (rate FeeRate) Covers(fee uint64, size int) bool {
	ph, pl := bits.Mul64(fee, 1000)
	rh, rl := bits.Mul64(uint64(rate), uint64(size))
	return ph > rh || (ph == rh && pl >= rl)
}

// cmpFeeRate compares the exact fee rates feeA/sizeA and feeB/sizeB: -1,
// 0 or +1. Sizes must be positive.
func cmpFeeRate(feeA uint64, sizeA int, feeB uint64, sizeB int) int {
	ah, al := bits.Mul64(feeA, uint64(sizeB))
	bh, bl := bits.Mul64(feeB, uint64(sizeA))
	if ah != bh {
		return cmp.Compare(ah, bh)
	}
	return cmp.Compare(al, bl)
}
