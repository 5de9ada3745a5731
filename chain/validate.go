package chain

import (
	"bytes"
	"errors"
	"fmt"
	"math/big"
	"math/bits"
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
//
// On a ConsensusPoS network no work is checked: the header's bits must be
// PowLimitBits (ErrUnexpectedDifficulty), and its proposer's seal
// (checked by the node, which has the validator set) stands for the work.
func CheckHeaderSanity(h *Header, p *Params) error {
	if p.Consensus == ConsensusPoS {
		if h.Bits != p.PowLimitBits {
			return ruleError(ErrUnexpectedDifficulty, "proof-of-stake header has bits %08x, want %08x", h.Bits, p.PowLimitBits)
		}
		return nil
	}
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
	// read only by DifficultyRetarget, when PrevHeight+1 is a multiple of
	// RetargetInterval. DifficultyASERT needs no more than PrevHeight and
	// PrevTime.
	PeriodStartTime int64

	// MedianTime is MedianTimePast over the timestamps of the parent and
	// its ancestors, MedianTimeBlocks blocks in all (fewer near genesis).
	MedianTime int64
}

// NextBits returns the bits a child of the context's parent must carry.
// With p.NoRetargeting they are always the parent's bits. Otherwise, by
// p.DifficultyAlgorithm:
//
//   - DifficultyRetarget: at heights that are multiples of
//     p.RetargetInterval the result of RetargetBits over the ending
//     period, elsewhere the parent's bits. Bitcoin mainnet has no
//     minimum-difficulty exception, so neither does this function.
//   - DifficultyASERT: ASERTBits from p.ASERTAnchor, with timeDelta =
//     PrevTime - ASERTAnchor.ParentTime and heightDelta = PrevHeight -
//     ASERTAnchor.Height.
//
// The params and context must be ones CheckHeaderContext accepts.
func (c *HeaderContext) NextBits(p *Params) uint32 {
	switch {
	case p.NoRetargeting:
		return c.PrevBits
	case p.DifficultyAlgorithm == DifficultyASERT:
		a := &p.ASERTAnchor
		return ASERTBits(p, a.Bits, c.PrevTime-a.ParentTime, c.PrevHeight-a.Height)
	case (c.PrevHeight+1)%p.RetargetInterval != 0:
		return c.PrevBits
	}
	return RetargetBits(p, c.PrevBits, c.PeriodStartTime, c.PrevTime)
}

// checkNextBitsInputs returns an AssertError when NextBits cannot work on
// p and c: a negative parent height, an unknown algorithm, or for ASERT a
// half-life under one second or a parent below the anchor.
func checkNextBitsInputs(p *Params, c *HeaderContext) error {
	if c.PrevHeight < 0 {
		return AssertError("HeaderContext.PrevHeight is negative")
	}
	if p.NoRetargeting {
		return nil
	}
	switch p.DifficultyAlgorithm {
	case DifficultyRetarget:
		if p.RetargetInterval < 1 || p.TargetTimespan < time.Second || p.RetargetAdjustmentFactor < 1 {
			return AssertError("Params for DifficultyRetarget need RetargetInterval, TargetTimespan and RetargetAdjustmentFactor")
		}
	case DifficultyASERT:
		if p.ASERTHalfLife < time.Second {
			return AssertError("Params.ASERTHalfLife is under one second")
		}
		if c.PrevHeight < p.ASERTAnchor.Height {
			return AssertError("HeaderContext.PrevHeight is below Params.ASERTAnchor.Height")
		}
	default:
		return AssertError("Params.DifficultyAlgorithm is " + p.DifficultyAlgorithm.String())
	}
	return nil
}

// CheckHeaderContext checks header h against the chain it extends, in this
// order:
//
//   - ErrBadPrevBlock: h.PrevBlock is not c.PrevHash;
//   - ErrUnexpectedDifficulty: h.Bits is not c.NextBits(p);
//   - ErrTimeTooOld: h.Timestamp is not after c.MedianTime (on a
//     ConsensusPoS network: is before c.PrevTime, since slots may be
//     shorter than the timestamp's second);
//   - ErrTimeTooNew: h.Timestamp is more than p.MaxFutureBlockTime after
//     now. This one is temporary: do not mark the header invalid for it.
//
// A context with a negative PrevHeight, or params NextBits cannot work with
// (an unknown DifficultyAlgorithm, retarget fields of zero, an ASERT
// half-life under one second, a parent below the ASERT anchor), yields an
// AssertError. Proof of work is CheckHeaderSanity's job. Timestamps may go
// backwards relative to the parent; only the median rule applies. It is
// safe for concurrent use.
func CheckHeaderContext(h *Header, p *Params, c *HeaderContext, now time.Time) error {
	if err := checkNextBitsInputs(p, c); err != nil {
		return err
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
	if p.Consensus == ConsensusPoS {
		// Slots may be shorter than a second: several blocks may share a
		// timestamp (their slots' starts rounded down), which the node
		// checks against the seal's slot.
		if t < c.PrevTime {
			return ruleError(ErrTimeTooOld, "header at height %d has time %d, before its parent's %d", height, t, c.PrevTime)
		}
	} else if t <= c.MedianTime {
		return ruleError(ErrTimeTooOld, "header at height %d has time %d, not after the median time past %d",
			height, t, c.MedianTime)
	}
	if limit := now.Unix() + int64(p.MaxFutureBlockTime/time.Second); t > limit {
		return ruleError(ErrTimeTooNew, "header at height %d has time %d, more than %v after now (%d)",
			height, t, p.MaxFutureBlockTime, now.Unix())
	}
	return nil
}

// BehaviorFlags adjust what the block checks do. Combine them with |.
type BehaviorFlags uint32

const (
	// BFNone runs every check.
	BFNone BehaviorFlags = 0

	// BFNoPoWCheck skips the proof-of-work check, for block templates
	// that are not mined yet.
	BFNoPoWCheck BehaviorFlags = 1 << 0
)

// CheckTransactionSanity runs the checks a transaction needs nothing else
// for, in this order:
//
//   - ErrBadTxSize: the serialization is longer than MaxTxSize or exactly
//     64 bytes long;
//   - coinbase: ErrBadExtranonceLen (longer than MaxExtranonceSize),
//     ErrBadCoinbaseOutputs (none, or more than MaxCoinbaseOutputs),
//     ErrAmountOverflow (the outputs' sum overflows);
//   - transfer: ErrAmountOverflow (Amount + Fee overflows), ErrBadSignature
//     (not signed for the network of p, whose genesis hash the signature
//     covers, under the chain's one signature rule, ZIP-215: see
//     Transfer.Verify and the package doc);
//   - deposit and withdraw: see checkStakeShape, then ErrBadSignature;
//   - vote and slash: ErrStakeDisabled, ErrBadVote (source epoch not
//     below target epoch), ErrInvalidEvidence (evidence that proves no
//     offence), then ErrBadSignature;
//   - proposer slash: ErrStakeDisabled, ErrNotProofOfStake (a chain
//     without seals), ErrInvalidEvidence (see
//     ProposerEvidence.CheckSanity), then ErrBadSignature.
//
// Whether a coinbase may stand where it stands is the block's concern
// (CheckBlockSanity); balances, sequence numbers and the coinbase's value
// need the chain state. A transaction that is not well formed yields an
// AssertError. It is safe for concurrent use.
func CheckTransactionSanity(tx *Transaction, p *Params) error {
	if err := checkTxShape(tx); err != nil {
		return err
	}
	if tx.IsStake() {
		return checkStakeTx(tx, p)
	}
	if tx.IsFinality() {
		return checkFinalityTx(tx, p)
	}
	if t := tx.Transfer; t != nil && !t.Verify(p.GenesisHash) {
		return ruleError(ErrBadSignature, "transfer from %v has an invalid signature", t.From.Address())
	}
	return nil
}

// checkTxShape runs CheckTransactionSanity's checks except the signature.
func checkTxShape(tx *Transaction) error {
	size := tx.SerializeSize()
	switch {
	case size == 0:
		return AssertError("transaction must have exactly one of Coinbase, Transfer, Deposit, Withdraw, Vote, Slash and ProposerSlash")
	case size > MaxTxSize:
		return ruleError(ErrBadTxSize, "transaction of %d bytes exceeds MaxTxSize %d", size, MaxTxSize)
	case size == 2*HashSize:
		return ruleError(ErrBadTxSize, "transaction of %d bytes could pose as an inner merkle node", size)
	}
	if c := tx.Coinbase; c != nil {
		if len(c.Extranonce) > MaxExtranonceSize {
			return ruleError(ErrBadExtranonceLen, "coinbase extranonce of %d bytes exceeds MaxExtranonceSize %d",
				len(c.Extranonce), MaxExtranonceSize)
		}
		if n := len(c.Outputs); n == 0 || n > MaxCoinbaseOutputs {
			return ruleError(ErrBadCoinbaseOutputs, "coinbase has %d outputs, want 1 to %d", n, MaxCoinbaseOutputs)
		}
		var sum uint64
		for i := range c.Outputs {
			var carry uint64
			sum, carry = bits.Add64(sum, c.Outputs[i].Amount, 0)
			if carry != 0 {
				return ruleError(ErrAmountOverflow, "coinbase outputs overflow at output %d", i)
			}
		}
		return nil
	}
	t := tx.Transfer
	if t == nil {
		return nil // a stake or finality transaction: see checkStakeShape and checkFinalityShape
	}
	if _, carry := bits.Add64(t.Amount, t.Fee, 0); carry != 0 {
		return ruleError(ErrAmountOverflow, "transfer amount %d plus fee %d overflows", t.Amount, t.Fee)
	}
	return nil
}

// CheckBlockSanity runs the checks a block needs nothing else for, btcd's
// checkBlockSanity, in this order:
//
//  1. The header: CheckHeaderSanity (ErrBadTarget, ErrTargetAbovePowLimit,
//     ErrHighHash), unless flags has BFNoPoWCheck.
//  2. The commitment: ErrBadMerkleRoot when the transactions' merkle root
//     is not the header's, ErrMutatedBlock when it is only through the
//     duplicate-hash weakness. Neither condemns the header: the block hash
//     must not be recorded as invalid, since the honest body may still
//     arrive. Every later error is about the very body the header commits
//     to, so it condemns the block.
//  3. The body: ErrNoTransactions, ErrFirstTxNotCoinbase,
//     ErrMultipleCoinbases, ErrTooManyTransactions (over MaxTxPerBlock),
//     ErrBlockTooBig (over MaxBlockSize), ErrDuplicateTx.
//  4. Each transaction: CheckTransactionSanity's rules but the signature,
//     and ErrAmountOverflow when the fees of all transfers overflow.
//  5. The seal (ErrBadSeal): a ConsensusPoS block but the genesis block
//     (no parent) must carry one, and no other block may. Like the
//     commitment errors it does not condemn the header, since the seal is
//     not covered by the block hash. Whether the seal is right is the
//     node's check (chain/pos.VerifySeal needs the validator set).
//  6. Votes and slashes: checkFinalityShape's rules (ErrStakeDisabled,
//     ErrBadVote, ErrInvalidEvidence), then ErrTooManyVotes over
//     p.MaxVotesPerBlock votes and ErrTooManySlashes over
//     p.MaxSlashesPerBlock slashes.
//  7. Signatures (ErrBadSignature) under the same rule as
//     CheckTransactionSanity (ZIP-215, see the package doc): those of
//     transfers, votes and slashing evidence (two per slash) verified in
//     one batch, or one per CPU (runtime.GOMAXPROCS) when the block has
//     many. When a batch fails, its signatures are checked one by one,
//     and the error names the first bad transaction in block order by
//     index and txid. Then the stake transactions' checks (checkStakeTxs).
//
// The coinbase height must always be present (it is a fixed field of the
// encoding); whether it is right is CheckCoinbaseHeight's concern. Balances,
// sequence numbers and the coinbase's value (at most CalcBlockSubsidy plus
// fees) need the chain state. A transaction that is not well formed yields
// an AssertError. It is safe for concurrent use.
func CheckBlockSanity(b *Block, p *Params, flags BehaviorFlags) error {
	if flags&BFNoPoWCheck == 0 {
		if err := CheckHeaderSanity(&b.Header, p); err != nil {
			return err
		}
	}
	txs := b.Transactions
	for i := range txs {
		if txs[i].Type() == 0 {
			return AssertError(fmt.Sprintf("transaction %d must have exactly one of Coinbase, Transfer, Deposit, Withdraw, Vote, Slash and ProposerSlash", i))
		}
	}

	ids := b.TxIDs()
	root, mutated := MerkleRoot(ids)
	if root != b.Header.MerkleRoot {
		return ruleError(ErrBadMerkleRoot, "block %v: transactions have merkle root %v, header has %v",
			b.Hash(), root, b.Header.MerkleRoot)
	}
	if mutated {
		return ruleError(ErrMutatedBlock, "block %v: transaction list is a mutation with repeated transactions", b.Hash())
	}

	switch {
	case len(txs) == 0:
		return ruleError(ErrNoTransactions, "block %v has no transactions", b.Hash())
	case !txs[0].IsCoinbase():
		return ruleError(ErrFirstTxNotCoinbase, "block %v: first transaction is not a coinbase", b.Hash())
	case len(txs) > MaxTxPerBlock:
		return ruleError(ErrTooManyTransactions, "block %v has %d transactions, more than MaxTxPerBlock %d",
			b.Hash(), len(txs), MaxTxPerBlock)
	}
	for i := 1; i < len(txs); i++ {
		if txs[i].IsCoinbase() {
			return ruleError(ErrMultipleCoinbases, "block %v: transaction %d is a second coinbase", b.Hash(), i)
		}
	}
	if size := b.SerializeSize(); size > MaxBlockSize {
		return ruleError(ErrBlockTooBig, "block %v takes %d bytes, more than MaxBlockSize %d", b.Hash(), size, MaxBlockSize)
	}
	if i, j, ok := findDuplicate(ids); ok {
		return ruleError(ErrDuplicateTx, "block %v: transactions %d and %d are both %v", b.Hash(), i, j, ids[i])
	}

	var fees uint64
	for i := range txs {
		if err := checkTxShape(&txs[i]); err != nil {
			var rerr RuleError
			if errors.As(err, &rerr) {
				rerr.Description += fmt.Sprintf(" (transaction %d, %v)", i, ids[i])
				return rerr
			}
			return err
		}
		if dt, ok := txs[i].Debit(); ok {
			var carry uint64
			if fees, carry = bits.Add64(fees, dt.Fee, 0); carry != 0 {
				return ruleError(ErrAmountOverflow, "block %v: fees overflow at transaction %d", b.Hash(), i)
			}
		}
	}

	switch genesis := b.Header.PrevBlock == (Hash{}); {
	case p.Consensus == ConsensusPoS && b.Seal == nil && !genesis:
		return ruleError(ErrBadSeal, "block %v has no proposer seal", b.Hash())
	case (p.Consensus != ConsensusPoS || genesis) && b.Seal != nil:
		return ruleError(ErrBadSeal, "block %v carries a seal on a %v network or as a genesis block", b.Hash(), p.Consensus)
	}
	if err := checkFinalityTxs(b, ids, p); err != nil {
		return err
	}
	if i := firstBadSignature(txs[1:], p.GenesisHash); i >= 0 {
		i++ // txs[1:] starts after the coinbase
		return ruleError(ErrBadSignature, "block %v: transaction %d (%v) has an invalid signature", b.Hash(), i, ids[i])
	}
	return checkStakeTxs(b, ids, p)
}

// findDuplicate returns the indices of two equal ids, if any.
func findDuplicate(ids []Hash) (i, j int, ok bool) {
	seen := make(map[Hash]int, len(ids))
	for j, id := range ids {
		if i, dup := seen[id]; dup {
			return i, j, true
		}
		seen[id] = j
	}
	return 0, 0, false
}

// CheckCoinbaseHeight checks, once the block's height is known, that its
// coinbase carries that height (ErrBadCoinbaseHeight). Run it after
// CheckBlockSanity, which guarantees a coinbase at index 0. A block
// without one yields an AssertError. It is safe for concurrent use.
func CheckCoinbaseHeight(b *Block, height int64) error {
	if len(b.Transactions) == 0 || !b.Transactions[0].IsCoinbase() {
		return AssertError("CheckCoinbaseHeight needs a block whose first transaction is a coinbase")
	}
	if got := b.Transactions[0].Coinbase.Height; int64(got) != height {
		return ruleError(ErrBadCoinbaseHeight, "block %v: coinbase height %d, block height %d", b.Hash(), got, height)
	}
	return nil
}
