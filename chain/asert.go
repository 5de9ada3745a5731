package chain

import (
	"math/big"
	"strconv"
	"time"
)

// DifficultyAlgorithm selects the rule that sets the bits of each new
// header (see HeaderContext.NextBits).
type DifficultyAlgorithm uint8

const (
	// DifficultyRetarget is Bitcoin's rule: the bits stay fixed for
	// RetargetInterval blocks and then RetargetBits adjusts them. It is
	// the zero value, so a Params without the field set gets it.
	DifficultyRetarget DifficultyAlgorithm = iota

	// DifficultyASERT is Bitcoin Cash's aserti3-2d: every header's target
	// follows from the anchor block's (Params.ASERTAnchor) by how far the
	// chain is ahead of or behind its ideal schedule. See ASERTBits.
	DifficultyASERT
)

// String returns the algorithm's name: "retarget", "asert" or
// "DifficultyAlgorithm(n)" for an unknown value.
func (a DifficultyAlgorithm) String() string {
	switch a {
	case DifficultyRetarget:
		return "retarget"
	case DifficultyASERT:
		return "asert"
	}
	return "DifficultyAlgorithm(" + strconv.Itoa(int(a)) + ")"
}

// ASERTAnchor is the block ASERT measures from. Its target is the target
// of a chain that is exactly on schedule.
type ASERTAnchor struct {
	// Height is the anchor block's height. Every header ASERT sets bits
	// for must be above it.
	Height int64

	// Bits is the anchor block's own compact target.
	Bits uint32

	// ParentTime is the timestamp of the anchor block's parent, as the
	// specification's absolute formulation requires. A genesis anchor has
	// no parent: DevParams then uses the genesis timestamp minus
	// TargetSpacing, the parent an on-schedule chain would have had, so
	// that block 1 keeps the genesis target when its parent (genesis) is
	// on time. (Bitcoin Cash Node's GetNextASERTWorkRequired falls back
	// to the genesis timestamp itself, which makes block 1 harder by a
	// factor of 2^(spacing/halfLife); the specification's test vectors
	// never anchor at genesis.)
	ParentTime int64
}

// asertMaxShift bounds the integer part of the ASERT exponent. Any anchor
// target in [1, 2^256) multiplied by 2^shift (shift >= asertMaxShift) is
// at or above 2^256, and divided by it is zero, so clamping the exponent
// to +-asertMaxShift whole powers of two changes no result.
const asertMaxShift = 300

// ASERTBits returns the compact target of the header that follows a
// parent, by the ASERT difficulty adjustment algorithm aserti3-2d of the
// Bitcoin Cash upgrade of 2020-11-15 ("ASERT Difficulty Adjustment
// Algorithm (aserti3-2d)", spec/2020-11-15-asert.md of bitcoincash.org),
// with the integer arithmetic of its reference implementation (Bitcoin
// Cash Node's CalculateASERT, src/pow.cpp):
//
//	exponent = ((timeDelta - spacing*(heightDelta+1)) * 2^16) / halfLife
//	target   = anchorTarget * 2^(exponent/2^16)
//
// where spacing is p.TargetSpacing and halfLife p.ASERTHalfLife, both in
// seconds, and the division truncates toward zero. The arguments are,
// following the specification:
//
//   - anchorBits: the anchor block's compact target;
//   - timeDelta: the parent's timestamp minus the timestamp of the anchor
//     block's parent (ASERTAnchor.ParentTime);
//   - heightDelta: the parent's height minus the anchor block's height,
//     so 0 for the anchor's child. The "+1" above makes the schedule count
//     the new block.
//
// 2^(exponent/2^16) is computed as 2^(exponent>>16), an arithmetic (floor)
// shift, times the specification's cubic approximation of 2^x on [0, 1)
// in 16-bit fixed point, frac = exponent & 0xffff:
//
//	factor = 65536 + ((195766423245049*frac + 971821376*frac^2 +
//	                   5127*frac^3 + 2^47) >> 48)
//
// (relative error under 0.013%). The target is multiplied by factor, then
// shifted by (exponent>>16) - 16 bits, raised to 1 if it became 0, capped
// at p.PowLimit and encoded with BigToCompact.
//
// The reference implementation works in 256 bits and so requires
// p.PowLimit < 2^224, heightDelta >= 0, an anchor target in [1, PowLimit]
// and |timeDelta - spacing*heightDelta| < 2^47. Inside those bounds
// ASERTBits returns exactly its results. Outside them it computes the same
// formula with unbounded integers and never panics or overflows: an
// easier limit such as DevParams' 2^255-1 is fine, an anchor target of 0
// counts as 1 and one above PowLimit as PowLimit (anchorBits decodes as
// Core decodes nBits, its sign and overflow flags ignored), far-future
// deltas yield PowLimit and far-past ones a target of 1.
//
// p.ASERTHalfLife must be at least one second; ASERTBits panics otherwise
// (CheckHeaderContext reports such params with an AssertError first). It
// is safe for concurrent use.
func ASERTBits(p *Params, anchorBits uint32, timeDelta, heightDelta int64) uint32 {
	return BigToCompact(asertTarget(p, anchorBits, timeDelta, heightDelta))
}

// asertTarget is ASERTBits before the compact encoding.
func asertTarget(p *Params, anchorBits uint32, timeDelta, heightDelta int64) *big.Int {
	halfLife := int64(p.ASERTHalfLife / time.Second)
	if halfLife < 1 {
		panic("chain: ASERTBits needs an ASERTHalfLife of at least one second")
	}
	spacing := int64(p.TargetSpacing / time.Second)

	target, _, _ := DecodeCompact(anchorBits)
	if target.Sign() == 0 {
		target.SetInt64(1)
	} else if target.Cmp(p.PowLimit) > 0 {
		target.Set(p.PowLimit)
	}

	exponent := asertExponent(timeDelta, heightDelta, spacing, halfLife)
	shifts := exponent >> 16 // floor, also for negative exponents
	frac := uint64(exponent & 0xffff)
	// frac < 2^16, so the sum stays below 2^64 (about 1.843e19).
	factor := 65536 + (195766423245049*frac+971821376*frac*frac+5127*frac*frac*frac+1<<47)>>48
	target.Mul(target, new(big.Int).SetUint64(factor))

	if shifts -= 16; shifts <= 0 {
		target.Rsh(target, uint(-shifts))
	} else {
		target.Lsh(target, uint(shifts))
	}
	if target.Sign() == 0 {
		target.SetInt64(1) // 0 is not a valid target, 1 is
	} else if target.Cmp(p.PowLimit) > 0 {
		target.Set(p.PowLimit)
	}
	return target
}

// asertExponent returns ((timeDelta - spacing*(heightDelta+1)) * 2^16) /
// halfLife with truncated division, clamped to +-asertMaxShift<<16. It
// uses int64 arithmetic when nothing can overflow (every real chain) and
// math/big otherwise.
func asertExponent(timeDelta, heightDelta, spacing, halfLife int64) int64 {
	const limit = asertMaxShift << 16
	// |a| < 2^40 and |b| < 2^40 keep (a - b) * 2^16 below 2^57.
	const small = 1 << 40
	if heightDelta > -small && heightDelta < small && spacing >= 0 && spacing < 1<<20 &&
		timeDelta > -small && timeDelta < small {
		if sched := spacing * (heightDelta + 1); sched > -small && sched < small {
			return min(max((timeDelta-sched)*65536/halfLife, -limit), limit)
		}
	}
	e := big.NewInt(heightDelta)
	e.Add(e, bigOne)
	e.Mul(e, big.NewInt(spacing))
	e.Sub(big.NewInt(timeDelta), e)
	e.Lsh(e, 16)
	e.Quo(e, big.NewInt(halfLife)) // truncates toward zero, as C++ does
	switch {
	case e.Cmp(big.NewInt(limit)) > 0:
		return limit
	case e.Cmp(big.NewInt(-limit)) < 0:
		return -limit
	}
	return e.Int64()
}
