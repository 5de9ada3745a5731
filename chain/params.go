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

	// DifficultyAlgorithm chooses how HeaderContext.NextBits sets the
	// bits of each header: Bitcoin's periodic retarget (the zero value)
	// or ASERT.
	DifficultyAlgorithm DifficultyAlgorithm

	// TargetSpacing is the desired time between blocks. Both algorithms
	// use it.
	TargetSpacing time.Duration

	// TargetTimespan is the time one difficulty period should take. Only
	// DifficultyRetarget reads it.
	TargetTimespan time.Duration

	// RetargetInterval is the number of blocks per difficulty period,
	// TargetTimespan / TargetSpacing. Only DifficultyRetarget reads it.
	RetargetInterval int64

	// RetargetAdjustmentFactor bounds one retarget: the measured period is
	// clamped to [TargetTimespan/factor, TargetTimespan*factor]. Only
	// DifficultyRetarget reads it.
	RetargetAdjustmentFactor int64

	// ASERTHalfLife is the time by which a chain must run ahead of (or
	// behind) its schedule for ASERT to halve (or double) the target; at
	// least one second. Only DifficultyASERT reads it.
	ASERTHalfLife time.Duration

	// ASERTAnchor is the block ASERT measures from. Only DifficultyASERT
	// reads it.
	ASERTAnchor ASERTAnchor

	// MedianTimeBlocks is how many previous blocks the median time past
	// is taken over.
	MedianTimeBlocks int

	// MaxFutureBlockTime is how far ahead of the local clock a header's
	// timestamp may be.
	MaxFutureBlockTime time.Duration

	// NoRetargeting keeps the difficulty fixed (regression-test style
	// networks): every header must carry its parent's bits, whatever
	// DifficultyAlgorithm says.
	NoRetargeting bool

	// InitialSubsidy is the block subsidy, in base units, of the blocks
	// before the first halving.
	InitialSubsidy uint64

	// SubsidyHalvingInterval is the number of blocks after which the
	// subsidy halves; 0 means it never does. See CalcBlockSubsidy.
	SubsidyHalvingInterval int64

	// EpochLength is the number of blocks per stake epoch; the block at
	// height e·EpochLength is the first of epoch e. 0 disables stake:
	// deposits and withdraws are refused (ErrStakeDisabled).
	EpochLength int64

	// MinDeposit is the smallest deposit, in base units.
	MinDeposit uint64

	// MaxValidators is the most validator keys registered at once
	// (active, pending activation, or exited and waiting for the unlock).
	MaxValidators int

	// WithdrawDelayEpochs is the number of epochs between a validator's
	// exit and the unlock of its stake, paid back to its owner at the
	// first block of epoch ExitEpoch + WithdrawDelayEpochs; a partial
	// withdraw's amount likewise unlocks at WithdrawEpoch +
	// WithdrawDelayEpochs (on a proof-of-stake chain at least
	// ElectionDelayEpochs after WithdrawEpoch: Validator.UnlockEpoch).
	WithdrawDelayEpochs uint64

	// MaxVotesPerBlock is the most vote transactions one block may carry
	// (ErrTooManyVotes). It bounds the signature checks and the finality
	// work of a block: 1,000 votes connect in well under 100 ms.
	MaxVotesPerBlock int

	// MaxSlashesPerBlock is the most slash transactions one block may
	// carry (ErrTooManySlashes); each costs two signature checks.
	MaxSlashesPerBlock int

	// VoteReward is paid, in base units, to a validator's owner for each
	// of its votes counted toward a link that justifies a checkpoint;
	// it is credited in the block where the checkpoint becomes justified.
	// Validators that do not vote earn nothing.
	VoteReward uint64

	// SlashReporterShareDenom sets the reporter's share of a slashed
	// stake: Stake / SlashReporterShareDenom goes to the slash's
	// Reporter address, the rest is burned. It must be positive when
	// stake is enabled.
	SlashReporterShareDenom uint64

	// Consensus says who makes blocks: miners (ConsensusPoW, the zero
	// value) or the validators elected slot by slot (ConsensusPoS; see
	// DevPoSParamsFor).
	Consensus Consensus

	// SlotDuration is the length of a proposer slot; only ConsensusPoS
	// reads it. Unlike the other durations it need not be whole seconds:
	// a header's Timestamp holds its slot's start rounded down to the
	// second, and the seal holds the slot itself.
	SlotDuration time.Duration

	// GenesisValidator is the validator key registered by the genesis
	// block of a ConsensusPoS chain (see DevPoSParamsFor); zero on
	// proof-of-work chains.
	GenesisValidator PublicKey

	// GenesisHeader is the header of block 0 and GenesisHash its hash.
	GenesisHeader Header
	GenesisHash   Hash

	// GenesisBlock is block 0 in full, its Header equal to GenesisHeader,
	// for a node that starts a chain from it. It is nil for networks
	// whose genesis block has no encoding in this package's format:
	// MainNetParams only describes Bitcoin's headers.
	GenesisBlock *Block
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

// Development network constants; see DevParams.
const (
	// devGenesisTime is the dev genesis timestamp, 2025-01-01 00:00:00 UTC.
	devGenesisTime = 1735689600

	// devGenesisBits is the dev genesis target, 0x03ffff * 2^216, just
	// under 2^234: about 2^22 (4.2 million) hashes per block.
	devGenesisBits = 0x1e03ffff

	// devTargetSpacing is the dev network's block interval.
	devTargetSpacing = 5 * time.Second
)

// devPowLimit is 2^255 - 1, the regression-test limit: a header with its
// bits needs two hashes on average.
var devPowLimit = new(big.Int).Sub(new(big.Int).Lsh(bigOne, 255), bigOne)

// devGenesisBlock is DevParams' block 0. Its coinbase pays the subsidy to
// the zero address, whose key nobody has: finding an ed25519 public key
// whose double SHA-256 starts with 20 zero bytes is a 160-bit preimage
// search. The nonce is the first one, counting from 0, that meets
// devGenesisBits.
var devGenesisBlock = Block{
	Header: Header{
		Version:   1,
		PrevBlock: Hash{},
		// c749be4daa21c823c1602ca8077eb469993ab609cefaa591b3b86b5a198e30c3
		MerkleRoot: Hash{
			0xc3, 0x30, 0x8e, 0x19, 0x5a, 0x6b, 0xb8, 0xb3,
			0x91, 0xa5, 0xfa, 0xce, 0x09, 0xb6, 0x3a, 0x99,
			0x69, 0xb4, 0x7e, 0x07, 0xa8, 0x2c, 0x60, 0xc1,
			0x23, 0xc8, 0x21, 0xaa, 0x4d, 0xbe, 0x49, 0xc7,
		},
		Timestamp: devGenesisTime,
		Bits:      devGenesisBits,
		Nonce:     655221,
	},
	Transactions: []Transaction{{Coinbase: &Coinbase{
		Height:     0,
		Extranonce: []byte("powmine dev genesis"),
		Outputs:    []Output{{Address: Address{}, Amount: 50 * BaseUnitsPerCoin}},
	}}},
}

// DevParams are the rules of a local development chain ("dev"), made for
// a few CPU cores: blocks every 5 seconds, difficulty set per block by
// ASERT (see ASERTBits) with a half-life of 2 minutes, so that it follows
// the hash rate within minutes. Its genesis target takes about 2^22 hashes
// (about 1.4 s at the portable kernel's 3 MH/s, a tenth of that with SIMD
// kernels); ASERT then raises or lowers it. The limit is regression-test
// easy (2^255 - 1), so that a chain left idle for a long time eases back
// to near-instant blocks and catches up quickly. Stake is enabled with
// epochs of 50 blocks, a 10-coin minimum deposit, at most 128 validators
// and an unlock 2 epochs after exit. Everything else (median time, future
// limit, subsidy) is mainnet's. Treat it as read-only.
//
// The ASERT anchor is the genesis block: height 0, its bits, and, since
// genesis has no parent, a parent time of the genesis time minus
// TargetSpacing (see ASERTAnchor.ParentTime). The Bitcoin retarget fields
// (TargetTimespan, RetargetInterval, RetargetAdjustmentFactor) are zero:
// nothing reads them under ASERT, and RetargetBits must not be called with
// DevParams.
var DevParams = Params{
	Name:                "dev",
	PowLimit:            devPowLimit,
	PowLimitBits:        0x207fffff,
	DifficultyAlgorithm: DifficultyASERT,
	TargetSpacing:       devTargetSpacing,
	ASERTHalfLife:       2 * time.Minute,
	ASERTAnchor: ASERTAnchor{
		Height:     0,
		Bits:       devGenesisBits,
		ParentTime: devGenesisTime - int64(devTargetSpacing/time.Second),
	},
	MedianTimeBlocks:        11,
	MaxFutureBlockTime:      2 * time.Hour,
	InitialSubsidy:          50 * BaseUnitsPerCoin,
	SubsidyHalvingInterval:  210_000,
	EpochLength:             50,
	MinDeposit:              10 * BaseUnitsPerCoin,
	MaxValidators:           128,
	WithdrawDelayEpochs:     2,
	MaxVotesPerBlock:        1024,
	MaxSlashesPerBlock:      16,
	VoteReward:              BaseUnitsPerCoin / 100,
	SlashReporterShareDenom: 16,
	GenesisHeader:           devGenesisBlock.Header,
	// 000001329322049fc03dd621b79b02f40c1b064b19b65286193c501c2aae7419
	GenesisHash: Hash{
		0x19, 0x74, 0xae, 0x2a, 0x1c, 0x50, 0x3c, 0x19,
		0x86, 0x52, 0xb6, 0x19, 0x4b, 0x06, 0x1b, 0x0c,
		0xf4, 0x02, 0x9b, 0xb7, 0x21, 0xd6, 0x3d, 0xc0,
		0x9f, 0x04, 0x22, 0x93, 0x32, 0x01, 0x00, 0x00,
	},
	GenesisBlock: &devGenesisBlock,
}
