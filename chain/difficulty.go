package chain

import (
	"math/big"
)

// Compact ("nBits") layout: the top byte is the size in bytes of the
// number, the low 23 bits are the mantissa, and bit 0x00800000 is a sign
// bit. value = mantissa * 256^(size-3).
const (
	compactSignBit  = 0x00800000
	compactMantissa = 0x007fffff
)

var (
	bigOne = big.NewInt(1)
	// oneLsh256 is 2^256, the numerator of the work formula.
	oneLsh256 = new(big.Int).Lsh(bigOne, 256)
	// mask256 is 2^256 - 1, used to reduce values modulo 2^256 as Core's
	// arith_uint256 does.
	mask256 = new(big.Int).Sub(oneLsh256, bigOne)
)

// DecodeCompact decodes a compact target exactly as Bitcoin Core's
// arith_uint256::SetCompact does and reports Core's two flags:
//
//   - negative: the mantissa left after the shift is non-zero and the sign
//     bit 0x00800000 is set. Encodings whose mantissa shifts down to zero
//     are not negative even with the sign bit set.
//   - overflow: the value does not fit in 256 bits (size > 34, or size > 33
//     with a mantissa above 0xff, or size > 32 with one above 0xffff).
//
// target is the magnitude Core holds: it is never negative (the sign bit is
// reported, not applied) and is reduced modulo 2^256 when overflow is set.
// A caller must reject negative and overflowing targets before using it, as
// CheckProofOfWork and CalcWork do.
func DecodeCompact(bits uint32) (target *big.Int, negative, overflow bool) {
	be, negative, overflow := decodeCompact(bits)
	return new(big.Int).SetBytes(be[:]), negative, overflow
}

// decodeCompact is DecodeCompact with the target as a 256-bit big-endian
// number, so that hot paths need no big.Int.
func decodeCompact(bits uint32) (target [HashSize]byte, negative, overflow bool) {
	size := int(bits >> 24)
	word := bits & compactMantissa
	if size <= 3 {
		word >>= 8 * (3 - size)
		size = 3
	}
	// value = word << 8*(size-3): byte k of word (k=0 least significant)
	// lands at big-endian index 34-size-k; bytes shifted past the top of
	// 256 bits are dropped, as in Core.
	for k := range 3 {
		if i := 34 - size - k; i >= 0 && i < HashSize {
			target[i] = byte(word >> (8 * k))
		}
	}
	negative = word != 0 && bits&compactSignBit != 0
	overflow = word != 0 && (size > 34 || (word > 0xff && size > 33) || (word > 0xffff && size > 32))
	return target, negative, overflow
}

// CompactToBig decodes a compact target the way btcd does: the sign bit
// makes the result negative (when the shifted mantissa is non-zero) and
// oversized values are returned in full, without reduction modulo 2^256.
// Use DecodeCompact when Core's negative and overflow flags are needed.
func CompactToBig(bits uint32) *big.Int {
	size := bits >> 24
	word := bits & compactMantissa
	n := new(big.Int)
	if size <= 3 {
		n.SetUint64(uint64(word >> (8 * (3 - size))))
	} else {
		n.SetUint64(uint64(word))
		n.Lsh(n, uint(8*(size-3)))
	}
	if bits&compactSignBit != 0 {
		n.Neg(n)
	}
	return n
}

// BigToCompact encodes n in compact form as Core's GetCompact does: the
// mantissa keeps the top three significant bytes (lower bits are dropped)
// and never has the sign bit set for a positive value; a negative n sets the
// sign bit. Zero encodes as 0. n must be narrower than 255 bytes (any
// 256-bit target is); wider values do not have a compact form.
func BigToCompact(n *big.Int) uint32 {
	if n.Sign() == 0 {
		return 0
	}
	size := uint32((n.BitLen() + 7) / 8)
	// In both branches the value fits in three bytes, so its lowest
	// big.Word (which holds |n|) is all of it.
	var mantissa uint32
	if size <= 3 {
		mantissa = uint32(n.Bits()[0]) << (8 * (3 - size))
	} else {
		t := new(big.Int).Abs(n)
		mantissa = uint32(t.Rsh(t, uint(8*(size-3))).Bits()[0])
	}
	// The mantissa is read as signed: move a set top bit into the size.
	if mantissa&compactSignBit != 0 {
		mantissa >>= 8
		size++
	}
	compact := size<<24 | mantissa
	if n.Sign() < 0 {
		compact |= compactSignBit
	}
	return compact
}

// CalcWork returns the expected number of hashes needed to find a header
// meeting bits: 2^256 / (target + 1), in integer arithmetic (Core's
// GetBlockProof). It returns 0 for a negative, zero or overflowing target.
func CalcWork(bits uint32) *big.Int {
	target, negative, overflow := DecodeCompact(bits)
	if negative || overflow || target.Sign() == 0 {
		return new(big.Int)
	}
	target.Add(target, bigOne)
	return target.Quo(oneLsh256, target)
}

// RetargetBits computes the compact target of the first block of a new
// difficulty period, as Bitcoin Core's CalculateNextWorkRequired does.
// lastBits and lastTime belong to the last block of the ending period (the
// new block's parent, height k*RetargetInterval-1); firstTime is the time of
// the first block of that period (height k*RetargetInterval-RetargetInterval).
// The measured span therefore covers RetargetInterval-1 block intervals;
// this off-by-one is part of the consensus rule and is kept.
//
// The span is clamped to [TargetTimespan/factor, TargetTimespan*factor],
// the old target is multiplied by it and divided by TargetTimespan (multiply
// first; arithmetic modulo 2^256 as in Core), capped at p.PowLimit and
// encoded. With p.NoRetargeting, lastBits is returned unchanged.
func RetargetBits(p *Params, lastBits uint32, firstTime, lastTime int64) uint32 {
	if p.NoRetargeting {
		return lastBits
	}
	timespan := p.targetTimespanSeconds()
	minSpan := timespan / p.RetargetAdjustmentFactor
	maxSpan := timespan * p.RetargetAdjustmentFactor
	actual := min(max(lastTime-firstTime, minSpan), maxSpan)

	// Core decodes lastBits ignoring its flags; so do we.
	target, _, _ := DecodeCompact(lastBits)
	target.Mul(target, big.NewInt(actual))
	target.And(target, mask256)
	target.Quo(target, big.NewInt(timespan))
	if target.Cmp(p.PowLimit) > 0 {
		target.Set(p.PowLimit)
	}
	return BigToCompact(target)
}
