package mining

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math/bits"
	"time"

	"github.com/powmine/powmine/chain"
	"github.com/powmine/powmine/chain/template"
)

// Template limits and defaults.
const (
	// BlockVersion is the header version of template blocks.
	BlockVersion = 1

	// DefaultExtranonceSize is the extranonce field in bytes when
	// Builder.ExtranonceSize is 0: room for a pool's 4-byte extranonce1
	// and a miner's 4-byte extranonce2.
	DefaultExtranonceSize = 8

	// maxAttempts is how often NewTemplate starts over when the tip
	// moves while it selects transfers.
	maxAttempts = 3
)

// Errors of NewTemplate, wrapped with detail (test with errors.Is).
var (
	// ErrBadConfig: a Builder field or the payouts are unusable.
	ErrBadConfig = errors.New("mining: bad template configuration")

	// ErrAmountOverflow: the block subsidy plus the fees overflows.
	ErrAmountOverflow = errors.New("mining: subsidy plus fees overflows")

	// ErrTimeRange: the timestamp does not fit in a header's uint32.
	ErrTimeRange = errors.New("mining: timestamp out of range")

	// ErrTipChanged: the tip moved during every attempt to build.
	ErrTipChanged = errors.New("mining: chain tip kept changing")
)

// Chain is the chain state a template extends. *node.Node satisfies it.
type Chain interface {
	// NextHeaderContext returns the context of a block extending the tip.
	NextHeaderContext() chain.HeaderContext

	// Account returns the state of an address at the tip.
	Account(chain.Address) chain.Account
}

// TxSource supplies pending transfers. *mempool.Pool satisfies it.
// FinalityChecker is a Chain that checks votes and slashes against the
// tip's finality state; chain/node's Node is one. With it templates
// carry the votes and slashes the TxSource offers that a block extending
// the tip accepts; without it they carry none.
type FinalityChecker interface {
	// CheckFinalityTx reports whether a vote or slash would be accepted
	// in a block extending the tip.
	CheckFinalityTx(*chain.Transaction) error
}

type TxSource interface {
	// Transactions returns up to max transfers in mining order: the
	// transfers of one sender in sequence order.
	Transactions(max int) []chain.Transaction
}

// Builder builds block templates. Set the fields, then call NewTemplate as
// often as needed; the fields must not change meanwhile.
type Builder struct {
	// Params are the consensus rules. This field is required.
	Params *chain.Params

	// Chain is the chain state at the tip. This field is required.
	Chain Chain

	// Txs supplies the transfers. Can be nil: coinbase-only templates.
	Txs TxSource

	// ExtranonceSize is the length of the coinbase's extranonce field, 1
	// to chain.MaxExtranonceSize. 0 selects DefaultExtranonceSize.
	ExtranonceSize int

	// MaxBlockSize and MaxTxs bound the template's serialized size and
	// transaction count, coinbase included; 0 selects chain.MaxBlockSize
	// and chain.MaxTxPerBlock, larger values are capped at them.
	MaxBlockSize int
	MaxTxs       int
}

// NewTemplate builds a template on the current tip paying the reward to
// payouts (1 to chain.MaxCoinbaseOutputs, positive weights) with a
// timestamp of max(now, median time past + 1). It takes transfers from
// Txs in mining order while they fit MaxBlockSize and MaxTxs, skipping
// (with the later transfers of the same sender) those the account state
// at the tip rejects: a wrong sequence, a balance that does not cover
// amount plus fee, a recipient balance that would overflow. If the tip
// moves while it works, it starts over (a few times). It is safe for
// concurrent use under the conditions in the package comment.
func (b *Builder) NewTemplate(payouts []template.Payout, now time.Time) (*template.Template, error) {
	if err := b.check(payouts); err != nil {
		return nil, err
	}
	for range maxAttempts {
		ctx := b.Chain.NextHeaderContext()
		t, err := b.build(&ctx, payouts, now)
		if err != nil {
			return nil, err
		}
		if again := b.Chain.NextHeaderContext(); again.PrevHash == ctx.PrevHash {
			return t, nil
		}
	}
	return nil, ErrTipChanged
}

// check validates the Builder and the payouts.
func (b *Builder) check(payouts []template.Payout) error {
	switch {
	case b.Params == nil || b.Chain == nil:
		return fmt.Errorf("%w: Builder.Params and Builder.Chain are required", ErrBadConfig)
	case b.ExtranonceSize < 0 || b.ExtranonceSize > chain.MaxExtranonceSize:
		return fmt.Errorf("%w: extranonce size %d, want 0 to %d", ErrBadConfig, b.ExtranonceSize, chain.MaxExtranonceSize)
	case b.MaxBlockSize < 0 || b.MaxTxs < 0:
		return fmt.Errorf("%w: negative block limit", ErrBadConfig)
	case len(payouts) == 0 || len(payouts) > chain.MaxCoinbaseOutputs:
		return fmt.Errorf("%w: %d payouts, want 1 to %d", ErrBadConfig, len(payouts), chain.MaxCoinbaseOutputs)
	}
	var total uint64
	for i, p := range payouts {
		var carry uint64
		total, carry = bits.Add64(total, p.Weight, 0)
		if p.Weight == 0 || carry != 0 {
			return fmt.Errorf("%w: payout %d has weight %d (zero, or the total overflows)", ErrBadConfig, i, p.Weight)
		}
	}
	return nil
}

// limits returns the effective extranonce size, block size and count.
func (b *Builder) limits() (extranonce, size, count int) {
	extranonce, size, count = b.ExtranonceSize, b.MaxBlockSize, b.MaxTxs
	if extranonce == 0 {
		extranonce = DefaultExtranonceSize
	}
	if size == 0 || size > chain.MaxBlockSize {
		size = chain.MaxBlockSize
	}
	if count == 0 || count > chain.MaxTxPerBlock {
		count = chain.MaxTxPerBlock
	}
	return extranonce, size, count
}

// build makes a template on the tip described by ctx.
func (b *Builder) build(ctx *chain.HeaderContext, payouts []template.Payout, now time.Time) (*template.Template, error) {
	height := ctx.PrevHeight + 1
	minTime := ctx.MedianTime + 1
	if b.Params.Consensus == chain.ConsensusPoS {
		// A proof-of-stake block's time is its slot's start rounded down
		// to the second (the proposer sets it), at least its parent's.
		minTime = ctx.PrevTime
	}
	ts := max(now.Unix(), minTime)
	if height > 1<<32-1 || minTime < 0 || ts > 1<<32-1 {
		return nil, fmt.Errorf("%w: height %d, timestamp %d", ErrTimeRange, height, ts)
	}
	extranonce, maxSize, maxTxs := b.limits()
	cb := &chain.Coinbase{
		Height:     uint32(height),
		Extranonce: make([]byte, extranonce),
		Outputs:    make([]chain.Output, len(payouts)),
	}
	txs := []chain.Transaction{{Coinbase: cb}}
	room := maxSize - chain.HeaderSize - uvarintLen(uint64(maxTxs)) - txs[0].SerializeSize()
	if b.Params.Consensus == chain.ConsensusPoS {
		room -= chain.SealSize // the proposer's seal follows the transactions
	}
	var fees uint64
	if b.Txs != nil && maxTxs > 1 && room > 0 {
		txs, fees = b.selectTxs(txs, maxTxs, room)
	}

	subsidy := chain.CalcBlockSubsidy(height, b.Params)
	reward, carry := bits.Add64(subsidy, fees, 0)
	if carry != 0 {
		return nil, fmt.Errorf("%w: subsidy %d, fees %d", ErrAmountOverflow, subsidy, fees)
	}
	for i, amount := range splitReward(reward, payouts) {
		cb.Outputs[i] = chain.Output{Address: payouts[i].Address, Amount: amount}
	}

	hdr := chain.Header{
		Version:   BlockVersion,
		PrevBlock: ctx.PrevHash,
		Timestamp: uint32(ts),
		Bits:      ctx.NextBits(b.Params),
	}
	return template.New(hdr, height, txs, subsidy, fees, uint32(minTime))
}

// selectTxs appends to txs the transfers, deposits and withdraws from
// b.Txs that fit in room bytes and maxTxs transactions and that the
// account state admits, in order; it returns txs and their fees. Whether
// a stake transaction suits the validator set is the source's concern.
func (b *Builder) selectTxs(txs []chain.Transaction, maxTxs, room int) ([]chain.Transaction, uint64) {
	accounts := make(map[chain.Address]chain.Account)
	account := func(a chain.Address) chain.Account {
		acc, ok := accounts[a]
		if !ok {
			acc = b.Chain.Account(a)
			accounts[a] = acc
		}
		return acc
	}
	blocked := make(map[chain.Address]bool)
	fin := newFinalitySelection(b)
	var fees uint64
	for _, tx := range b.Txs.Transactions(maxTxs - 1) {
		if len(txs) == maxTxs {
			break
		}
		if tx.IsFinality() {
			if size := tx.SerializeSize(); size <= room && fin.take(&tx) {
				room -= size
				txs = append(txs, tx)
			}
			continue
		}
		t, ok := tx.Debit()
		if !ok {
			continue
		}
		from := t.From.Address()
		size := tx.SerializeSize()
		if blocked[from] || size > room {
			blocked[from] = true
			continue
		}
		sender := account(from)
		// The source's transactions passed chain.CheckTransactionSanity,
		// so Cost did not overflow.
		newFees, c2 := bits.Add64(fees, t.Fee, 0)
		if c2 != 0 || t.Sequence != sender.Sequence || t.Cost > sender.Balance {
			blocked[from] = true
			continue
		}
		sender.Balance -= t.Cost
		sender.Sequence++
		if tr := tx.Transfer; tr != nil {
			to := sender
			if tr.To != from {
				to = account(tr.To)
			}
			var c1 uint64
			if to.Balance, c1 = bits.Add64(to.Balance, tr.Amount, 0); c1 != 0 {
				blocked[from] = true
				continue
			}
			if tr.To != from {
				accounts[from] = sender
			}
			accounts[tr.To] = to
		} else {
			// A deposit or withdraw only debits its sender; the source
			// (the mempool) checked it against the validator set.
			accounts[from] = sender
		}
		fees = newFees
		room -= size
		txs = append(txs, tx)
	}
	return txs, fees
}

// splitReward divides reward among the payouts in proportion to their
// weights, rounding down, and gives the remainder to the first. The
// amounts sum to reward exactly. The weights must be positive and their
// sum must fit in a uint64.
func splitReward(reward uint64, payouts []template.Payout) []uint64 {
	var total uint64
	for _, p := range payouts {
		total += p.Weight
	}
	out := make([]uint64, len(payouts))
	var paid uint64
	for i, p := range payouts {
		hi, lo := bits.Mul64(reward, p.Weight)
		out[i], _ = bits.Div64(hi, lo, total) // hi < total since Weight <= total
		paid += out[i]
	}
	out[0] += reward - paid
	return out
}

// uvarintLen returns the length of v's uvarint encoding.
func uvarintLen(v uint64) int {
	var buf [binary.MaxVarintLen64]byte
	return binary.PutUvarint(buf[:], v)
}

// voteSlot is a validator and a target epoch: one vote each per block.
type voteSlot struct {
	key   chain.PublicKey
	epoch uint64
}

// finalitySelection tracks the votes and slashes a template takes, so
// that the block stays valid: at most Params.MaxVotesPerBlock votes and
// MaxSlashesPerBlock slashes, one vote per validator and target epoch,
// no vote after a slash of its validator, each accepted by the chain.
type finalitySelection struct {
	checker        FinalityChecker
	params         *chain.Params
	votes, slashes int
	voted          map[voteSlot]bool
	slashedInBlock map[chain.PublicKey]bool
}

func newFinalitySelection(b *Builder) *finalitySelection {
	fc, _ := b.Chain.(FinalityChecker)
	return &finalitySelection{checker: fc, params: b.Params, voted: map[voteSlot]bool{}, slashedInBlock: map[chain.PublicKey]bool{}}
}

// take reports whether tx, a vote or slash, goes into the template, and
// records it when it does.
func (f *finalitySelection) take(tx *chain.Transaction) bool {
	if f.checker == nil || f.checker.CheckFinalityTx(tx) != nil {
		return false
	}
	if v := tx.Vote; v != nil {
		k := voteSlot{v.Validator, v.Target.Epoch}
		if f.votes >= f.params.MaxVotesPerBlock || f.voted[k] || f.slashedInBlock[v.Validator] {
			return false
		}
		f.voted[k] = true
		f.votes++
		return true
	}
	k, _ := tx.Accused() // a vote slash or a proposer slash
	if f.slashes >= f.params.MaxSlashesPerBlock || f.slashedInBlock[k] {
		return false
	}
	f.slashedInBlock[k] = true
	f.slashes++
	return true
}
