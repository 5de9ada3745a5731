package chain

import (
	"bytes"
	"math/big"
	"slices"
	"time"
)

// CheckProofOfWork reports whether hash meets the target encoded in bits,
// with the checks of Bitcoin Core's CheckProofOfWork, in this order:
//
//   - ErrBadTarget: bits decode to a negative, overflowing or zero target;
//   - ErrTargetAbovePowLimit: the target is above powLimit;
//   - ErrHighHash: hash, read as a little-endian number, is above the target.
//
// It is safe for concurrent use.
func CheckProofOfWork(hash Hash, bits uint32, powLimit *big.Int) error {
	target, negative, overflow := decodeCompact(bits)
	switch {
	case negative:
		return ruleError(ErrBadTarget, "target of bits %08x is negative", bits)
	case overflow:
		return ruleError(ErrBadTarget, "target of bits %08x overflows 256 bits", bits)
	case target == Hash{}:
		return ruleError(ErrBadTarget, "target of bits %08x is zero", bits)
	case aboveLimit(&target, powLimit):
		return ruleError(ErrTargetAbovePowLimit, "target %x of bits %08x is above the limit %064x", target, bits, powLimit)
	}
	// The hash is a little-endian number; compare it big-endian.
	if be := hash.reversed(); bytes.Compare(be[:], target[:]) > 0 {
		return ruleError(ErrHighHash, "block hash %v is above the target %x of bits %08x", hash, target, bits)
	}
	return nil
}

// aboveLimit reports whether the big-endian 256-bit target exceeds limit.
func aboveLimit(target *[HashSize]byte, limit *big.Int) bool {
	if limit.Sign() < 0 || limit.BitLen() > 8*HashSize {
		return new(big.Int).SetBytes(target[:]).Cmp(limit) > 0
	}
	var l [HashSize]byte
	limit.FillBytes(l[:])
	return bytes.Compare(target[:], l[:]) > 0
}

// CheckHeaderSanity runs the checks that need nothing but the header and
// the network parameters: the proof of work against the header's own bits
// and p.PowLimit (see CheckProofOfWork). Whether those bits are the right
// ones, the timestamp rules and the link to the parent are CheckHeaderContext's
// job. It is safe for concurrent use.
func CheckHeaderSanity(h *Header, p *Params) error {
	return CheckProofOfWork(h.Hash(), h.Bits, p.PowLimit)
}

// MedianTimePast returns the median of times as Bitcoin Core computes the
// median time past: sort and take the element at index len/2. Pass the
// timestamps of the MedianTimeBlocks (11) most recent blocks, fewer near
// genesis; order does not matter and times is not modified. It returns 0
// for an empty slice.
func MedianTimePast(times []int64) int64 {
	if len(times) == 0 {
		return 0
	}
	var buf [16]int64
	sorted := append(buf[:0], times...)
	slices.Sort(sorted)
	return sorted[len(sorted)/2]
}

// HeaderContext is what CheckHeaderContext needs to know about the chain a
// header extends: a few facts about its parent and that parent's ancestors,
// gathered by the caller (usually from its block index).
type HeaderContext struct {
	// PrevHash is the hash of the parent header.
	PrevHash Hash

	// PrevHeight is the height of the parent; it must be at least 0.
	PrevHeight int64

	// PrevBits and PrevTime are the parent's bits and timestamp.
	PrevBits uint32
	PrevTime int64

	// PeriodStartTime is the timestamp of the first block of the parent's
	// difficulty period, at height PrevHeight+1-RetargetInterval. It is
	// read only when PrevHeight+1 is a multiple of RetargetInterval.
	PeriodStartTime int64

	// MedianTime is MedianTimePast over the timestamps of the parent and
	// its ancestors, MedianTimeBlocks blocks in all (fewer near genesis).
	MedianTime int64
}

// NextBits returns the bits a child of the context's parent must carry:
// at heights that are multiples of p.RetargetInterval the result of
// RetargetBits over the ending period, elsewhere (and always with
// p.NoRetargeting) the parent's bits. Bitcoin mainnet has no
// minimum-difficulty exception, so neither does this function.
func (c *HeaderContext) NextBits(p *Params) uint32 {
	if p.NoRetargeting || (c.PrevHeight+1)%p.RetargetInterval != 0 {
		return c.PrevBits
	}
	return RetargetBits(p, c.PrevBits, c.PeriodStartTime, c.PrevTime)
}

// CheckHeaderContext checks header h against the chain it extends, in this
// order:
//
//   - ErrBadPrevBlock: h.PrevBlock is not c.PrevHash;
//   - ErrUnexpectedDifficulty: h.Bits is not c.NextBits(p);
//   - ErrTimeTooOld: h.Timestamp is not after c.MedianTime;
//   - ErrTimeTooNew: h.Timestamp is more than p.MaxFutureBlockTime after
//     now. This one is temporary: do not mark the header invalid for it.
//
// A context with a negative PrevHeight yields an AssertError. Proof of work
// is CheckHeaderSanity's job. Timestamps may go backwards relative to the
// parent; only the median rule applies. It is safe for concurrent use.
func CheckHeaderContext(h *Header, p *Params, c *HeaderContext, now time.Time) error {
	if c.PrevHeight < 0 {
		return AssertError("HeaderContext.PrevHeight is negative")
	}
	height := c.PrevHeight + 1
	if h.PrevBlock != c.PrevHash {
		return ruleError(ErrBadPrevBlock, "header at height %d names previous block %v, want %v",
			height, h.PrevBlock, c.PrevHash)
	}
	if want := c.NextBits(p); h.Bits != want {
		return ruleError(ErrUnexpectedDifficulty, "header at height %d has bits %08x, want %08x",
			height, h.Bits, want)
	}
	t := int64(h.Timestamp)
	if t <= c.MedianTime {
		return ruleError(ErrTimeTooOld, "header at height %d has time %d, not after the median time past %d",
			height, t, c.MedianTime)
	}
	if limit := now.Unix() + int64(p.MaxFutureBlockTime/time.Second); t > limit {
		return ruleError(ErrTimeTooNew, "header at height %d has time %d, more than %v after now (%d)",
			height, t, p.MaxFutureBlockTime, now.Unix())
	}
	return nil
}
