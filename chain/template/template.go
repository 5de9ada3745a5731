package template

import (
	"errors"
	"fmt"
	"slices"

	"github.com/powmine/powmine/chain"
)

// Errors of New, Template.Block and Template.MerkleRoot, wrapped with
// detail (test with errors.Is).
var (
	// ErrMalformed: the transactions do not start with a coinbase whose
	// extranonce field has 1 to chain.MaxExtranonceSize bytes, or the
	// coinbase does not encode.
	ErrMalformed = errors.New("template: malformed template")

	// ErrExtranonceSize: the extranonce does not have the template's
	// ExtranonceSize bytes.
	ErrExtranonceSize = errors.New("template: wrong extranonce size")

	// ErrTimeTooOld: the timestamp is not after the median time past.
	ErrTimeTooOld = errors.New("template: timestamp not after the median time past")
)

// Payout is one coinbase recipient: it gets Weight parts of the block
// reward out of the payouts' total weight.
type Payout struct {
	Address chain.Address
	Weight  uint64
}

// Template is a block to mine: the header and transactions of a block
// with an all-zero extranonce, and what Block, MerkleRoot, CoinbaseParts
// and MerkleBranch need to vary it. Do not modify its fields.
type Template struct {
	// Header has the version, parent, bits, the merkle root for the
	// all-zero extranonce, a timestamp of at least MinTimestamp and
	// nonce 0.
	Header chain.Header

	// Height is the block's height.
	Height int64

	// Transactions are the coinbase (all-zero extranonce) and the
	// selected transfers, shared with whoever selected them.
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

// New returns the template of a block with header h at height, holding
// txs: the coinbase first, its extranonce field all zero and as long as
// the miners will roll it, then the transfers. It sets h's merkle root to
// the root for that extranonce and keeps txs (do not modify them
// afterwards). subsidy and fees are recorded as given; minTimestamp is
// the lowest timestamp Block accepts.
func New(h chain.Header, height int64, txs []chain.Transaction, subsidy, fees uint64, minTimestamp uint32) (*Template, error) {
	if len(txs) == 0 || txs[0].Coinbase == nil || txs[0].Transfer != nil {
		return nil, fmt.Errorf("%w: the first transaction is not a coinbase", ErrMalformed)
	}
	extranonce := len(txs[0].Coinbase.Extranonce)
	if extranonce < 1 || extranonce > chain.MaxExtranonceSize {
		return nil, fmt.Errorf("%w: extranonce of %d bytes, want 1 to %d", ErrMalformed, extranonce, chain.MaxExtranonceSize)
	}
	raw, err := txs[0].MarshalBinary()
	if err != nil {
		return nil, fmt.Errorf("%w: coinbase: %v", ErrMalformed, err)
	}
	t := &Template{
		Header:         h,
		Height:         height,
		Transactions:   txs,
		Subsidy:        subsidy,
		Fees:           fees,
		MinTimestamp:   minTimestamp,
		ExtranonceSize: extranonce,
	}
	ids := make([]chain.Hash, len(txs))
	for i := 1; i < len(txs); i++ {
		ids[i] = txs[i].TxID()
	}
	t.branch = chain.CoinbaseMerkleBranch(ids)
	// The coinbase encoding ends with the extranonce, then the 4-byte
	// height (chain.Transaction documents the layout).
	split := len(raw) - 4 - extranonce
	t.coinb1, t.coinb2 = raw[:split], raw[split+extranonce:]
	t.Header.MerkleRoot = chain.MerkleRootFromBranch(txs[0].TxID(), t.branch)
	return t, nil
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
