package mining

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math/bits"
	"slices"
	"time"

	"github.com/powmine/powmine/chain"
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

// Errors of NewTemplate, Template.Block and Template.MerkleRoot, wrapped
// with detail (test with errors.Is).
var (
	// ErrBadConfig: a Builder field or the payouts are unusable.
	ErrBadConfig = errors.New("mining: bad template configuration")

	// ErrAmountOverflow: the block subsidy plus the fees overflows.
	ErrAmountOverflow = errors.New("mining: subsidy plus fees overflows")

	// ErrTimeRange: the timestamp does not fit in a header's uint32.
	ErrTimeRange = errors.New("mining: timestamp out of range")

	// ErrTipChanged: the tip moved during every attempt to build.
	ErrTipChanged = errors.New("mining: chain tip kept changing")

	// ErrExtranonceSize: the extranonce does not have the template's
	// ExtranonceSize bytes.
	ErrExtranonceSize = errors.New("mining: wrong extranonce size")

	// ErrTimeTooOld: the timestamp is not after the median time past.
	ErrTimeTooOld = errors.New("mining: timestamp not after the median time past")
)

// Chain is the chain state a template extends. *node.Node satisfies it.
type Chain interface {
	// NextHeaderContext returns the context of a block extending the tip.
	NextHeaderContext() chain.HeaderContext

	// Account returns the state of an address at the tip.
	Account(chain.Address) chain.Account
}

// TxSource supplies pending transfers. *mempool.Pool satisfies it.
type TxSource interface {
	// Transactions returns up to max transfers in mining order: the
	// transfers of one sender in sequence order.
	Transactions(max int) []chain.Transaction
}

// Payout is one coinbase recipient: it gets Weight parts of the block
// reward out of the payouts' total weight.
type Payout struct {
	Address chain.Address
	Weight  uint64
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

// Template is a block to mine: the header and transactions of a block
// with an all-zero extranonce, and what Block, MerkleRoot, CoinbaseParts
// and MerkleBranch need to vary it. Do not modify its fields.
type Template struct {
	// Header has the version, parent, bits, the merkle root for the
	// all-zero extranonce, a timestamp of max(now, MinTimestamp) and
	// nonce 0.
	Header chain.Header

	// Height is the block's height.
	Height int64

	// Transactions are the coinbase (all-zero extranonce) and the
	// selected transfers, shared with the TxSource.
	Transactions []chain.Transaction

	// Subsidy and Fees make up the reward the coinbase pays out.
	Subsidy uint64
	Fees    uint64

	// MinTimestamp is the lowest valid timestamp: the median time past
	// plus one second.
	MinTimestamp uint32

	// ExtranonceSize is the length of the extranonce field.
	ExtranonceSize int

	coinb1, coinb2 []byte       // the coinbase serialization around the extranonce
	branch         []chain.Hash // the coinbase's merkle branch
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
func (b *Builder) NewTemplate(payouts []Payout, now time.Time) (*Template, error) {
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
func (b *Builder) check(payouts []Payout) error {
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
func (b *Builder) build(ctx *chain.HeaderContext, payouts []Payout, now time.Time) (*Template, error) {
	height := ctx.PrevHeight + 1
	minTime := ctx.MedianTime + 1
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

	t := &Template{
		Height:         height,
		Transactions:   txs,
		Subsidy:        subsidy,
		Fees:           fees,
		MinTimestamp:   uint32(minTime),
		ExtranonceSize: extranonce,
	}
	ids := make([]chain.Hash, len(txs))
	for i := 1; i < len(txs); i++ {
		ids[i] = txs[i].TxID()
	}
	t.branch = chain.CoinbaseMerkleBranch(ids)
	raw, err := txs[0].MarshalBinary()
	if err != nil {
		return nil, err // cannot happen: a well-formed coinbase
	}
	split := len(raw) - 4 - extranonce // the extranonce, then the 4-byte height
	t.coinb1, t.coinb2 = raw[:split], raw[split+extranonce:]
	t.Header = chain.Header{
		Version:    BlockVersion,
		PrevBlock:  ctx.PrevHash,
		MerkleRoot: chain.MerkleRootFromBranch(txs[0].TxID(), t.branch),
		Timestamp:  uint32(ts),
		Bits:       ctx.NextBits(b.Params),
	}
	return t, nil
}

// selectTxs appends to txs the transfers from b.Txs that fit in room
// bytes and maxTxs transactions and that the account state admits, in
// order; it returns txs and their fees.
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
	var fees uint64
	for _, tx := range b.Txs.Transactions(maxTxs - 1) {
		if len(txs) == maxTxs {
			break
		}
		t := tx.Transfer
		if tx.Type() != chain.TxTypeTransfer {
			continue
		}
		from := t.From.Address()
		size := tx.SerializeSize()
		if blocked[from] || size > room {
			blocked[from] = true
			continue
		}
		sender := account(from)
		cost, c1 := bits.Add64(t.Amount, t.Fee, 0)
		newFees, c2 := bits.Add64(fees, t.Fee, 0)
		if c1 != 0 || c2 != 0 || t.Sequence != sender.Sequence || cost > sender.Balance {
			blocked[from] = true
			continue
		}
		sender.Balance -= cost
		sender.Sequence++
		to := sender
		if t.To != from {
			to = account(t.To)
		}
		if to.Balance, c1 = bits.Add64(to.Balance, t.Amount, 0); c1 != 0 {
			blocked[from] = true
			continue
		}
		if t.To != from {
			accounts[from] = sender
		}
		accounts[t.To] = to
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
func splitReward(reward uint64, payouts []Payout) []uint64 {
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

// CoinbaseParts returns the coinbase serialization before and after the
// extranonce field (Stratum's coinb1 and coinb2): the coinbase with
// extranonce e serializes to prefix || e || suffix. The slices are
// copies.
func (t *Template) CoinbaseParts() (prefix, suffix []byte) {
	return slices.Clone(t.coinb1), slices.Clone(t.coinb2)
}

// MerkleBranch returns the coinbase's merkle branch (see
// chain.CoinbaseMerkleBranch), a copy.
func (t *Template) MerkleBranch() []chain.Hash { return slices.Clone(t.branch) }

// MerkleRoot returns the merkle root of the template's block with the
// given extranonce, which must have ExtranonceSize bytes.
func (t *Template) MerkleRoot(extranonce []byte) (chain.Hash, error) {
	cb, err := t.coinbase(extranonce)
	if err != nil {
		return chain.Hash{}, err
	}
	return chain.MerkleRootFromBranch(cb.TxID(), t.branch), nil
}

// coinbase returns a transaction holding a copy of the template's
// coinbase with the extranonce.
func (t *Template) coinbase(extranonce []byte) (chain.Transaction, error) {
	if len(extranonce) != t.ExtranonceSize {
		return chain.Transaction{}, fmt.Errorf("%w: %d bytes, want %d", ErrExtranonceSize, len(extranonce), t.ExtranonceSize)
	}
	cb := *t.Transactions[0].Coinbase
	cb.Extranonce = slices.Clone(extranonce)
	return chain.Transaction{Coinbase: &cb}, nil
}

// Block returns the template's block with the extranonce (ExtranonceSize
// bytes), timestamp (at least MinTimestamp) and nonce: the coinbase with
// that extranonce, the merkle root through the coinbase branch and the
// header. The transfers are shared with the template. Whether the header
// meets its target is the caller's to check.
func (t *Template) Block(extranonce []byte, timestamp, nonce uint32) (*chain.Block, error) {
	if timestamp < t.MinTimestamp {
		return nil, fmt.Errorf("%w: %d, want at least %d", ErrTimeTooOld, timestamp, t.MinTimestamp)
	}
	cb, err := t.coinbase(extranonce)
	if err != nil {
		return nil, err
	}
	b := &chain.Block{Header: t.Header, Transactions: slices.Clone(t.Transactions)}
	b.Transactions[0] = cb
	b.Header.MerkleRoot = chain.MerkleRootFromBranch(cb.TxID(), t.branch)
	b.Header.Timestamp = timestamp
	b.Header.Nonce = nonce
	return b, nil
}
