package chain

import (
	"math/big"
	"time"
)

// Params holds the consensus parameters of one network. Durations are
// time.Duration values that must be whole seconds, since header timestamps
// are in seconds; the rules convert them with integer division.
//
// A Params value is read-only once in use; copy it (p := MainNetParams) to
// derive a variant for tests.
type Params struct {
	// Name is a short human-readable network name such as "mainnet".
	Name string

	// PowLimit is the highest (easiest) target a header may have.
	PowLimit *big.Int

	// PowLimitBits is PowLimit in compact form. Compact encoding drops low
	// bits, so it decodes to a value at or below PowLimit.
	PowLimitBits uint32

	// TargetTimespan is the time one difficulty period should take.
	TargetTimespan time.Duration

	// TargetSpacing is the desired time between blocks.
	TargetSpacing time.Duration

	// RetargetInterval is the number of blocks per difficulty period,
	// TargetTimespan / TargetSpacing.
	RetargetInterval int64

	// RetargetAdjustmentFactor bounds one retarget: the measured period is
	// clamped to [TargetTimespan/factor, TargetTimespan*factor].
	RetargetAdjustmentFactor int64

	// MedianTimeBlocks is how many previous blocks the median time past
	// is taken over.
	MedianTimeBlocks int

	// MaxFutureBlockTime is how far ahead of the local clock a header's
	// timestamp may be.
	MaxFutureBlockTime time.Duration

	// NoRetargeting keeps the difficulty fixed (regression-test style
	// networks): every header must carry its parent's bits.
	NoRetargeting bool

	// InitialSubsidy is the block subsidy, in base units, of the blocks
	// before the first halving.
	InitialSubsidy uint64

	// SubsidyHalvingInterval is the number of blocks after which the
	// subsidy halves; 0 means it never does. See CalcBlockSubsidy.
	SubsidyHalvingInterval int64

	// GenesisHeader is the header of block 0 and GenesisHash its hash.
	GenesisHeader Header
	GenesisHash   Hash
}

// targetTimespanSeconds returns TargetTimespan in whole seconds.
func (p *Params) targetTimespanSeconds() int64 {
	return int64(p.TargetTimespan / time.Second)
}

// mainPowLimit is 2^224 - 1, mainnet's proof-of-work limit.
var mainPowLimit = new(big.Int).Sub(new(big.Int).Lsh(bigOne, 224), bigOne)

// mainGenesisHeader is the header of Bitcoin's block 0 (Core
// src/kernel/chainparams.cpp).
var mainGenesisHeader = Header{
	Version:   1,
	PrevBlock: Hash{},
	// 4a5e1e4baab89f3a32518a88c31bc87f618f76673e2cc77ab2127b7afdeda33b
	MerkleRoot: Hash{
		0x3b, 0xa3, 0xed, 0xfd, 0x7a, 0x7b, 0x12, 0xb2,
		0x7a, 0xc7, 0x2c, 0x3e, 0x67, 0x76, 0x8f, 0x61,
		0x7f, 0xc8, 0x1b, 0xc3, 0x88, 0x8a, 0x51, 0x32,
		0x3a, 0x9f, 0xb8, 0xaa, 0x4b, 0x1e, 0x5e, 0x4a,
	},
	Timestamp: 1231006505, // 2009-01-03 18:15:05 UTC
	Bits:      0x1d00ffff,
	Nonce:     2083236893,
}

// MainNetParams are Bitcoin mainnet's header rules. Treat it as read-only.
var MainNetParams = Params{
	Name:                     "mainnet",
	PowLimit:                 mainPowLimit,
	PowLimitBits:             0x1d00ffff,
	TargetTimespan:           14 * 24 * time.Hour,
	TargetSpacing:            10 * time.Minute,
	RetargetInterval:         2016,
	RetargetAdjustmentFactor: 4,
	MedianTimeBlocks:         11,
	MaxFutureBlockTime:       2 * time.Hour,
	InitialSubsidy:           50 * BaseUnitsPerCoin,
	SubsidyHalvingInterval:   210_000,
	GenesisHeader:            mainGenesisHeader,
	// 000000000019d6689c085ae165831e934ff763ae46a2a6c172b3f1b60a8ce26f
	GenesisHash: Hash{
		0x6f, 0xe2, 0x8c, 0x0a, 0xb6, 0xf1, 0xb3, 0x72,
		0xc1, 0xa6, 0xa2, 0x46, 0xae, 0x63, 0xf7, 0x4f,
		0x93, 0x1e, 0x83, 0x65, 0xe1, 0x5a, 0x08, 0x9c,
		0x68, 0xd6, 0x19, 0x00, 0x00, 0x00, 0x00, 0x00,
	},
}
