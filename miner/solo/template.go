package solo

import (
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"strconv"

	"github.com/powmine/powmine/chain"
	"github.com/powmine/powmine/chain/template"
)

// job is a template decoded and checked, ready to mine.
type job struct {
	height         int64
	header         chain.Header // merkle root for extranonce 0
	target         chain.Hash
	coinb1, coinb2 []byte
	extranonceSize int
	branch         []chain.Hash
	txs            []chain.Transaction // the transfers, coinbase excluded
	longPollID     string
}

// decode checks a template and turns it into a job. A node that sends
// nonsense gets an error, never a panic.
func decode(t *template.Reply) (*job, error) {
	j := &job{height: t.Height, extranonceSize: t.ExtranonceSize, longPollID: t.LongPollID}
	prev, err := chain.NewHashFromStr(t.PreviousBlockHash)
	if err != nil {
		return nil, fmt.Errorf("solo: template previousblockhash: %w", err)
	}
	bits, err := strconv.ParseUint(t.Bits, 16, 32)
	if err != nil {
		return nil, fmt.Errorf("solo: template bits %q: %w", t.Bits, err)
	}
	if j.target, err = chain.BigToHash(chain.CompactToBig(uint32(bits))); err != nil {
		return nil, fmt.Errorf("solo: template bits %q: %w", t.Bits, err)
	}
	if t.ExtranonceSize < 1 || t.ExtranonceSize > chain.MaxExtranonceSize {
		return nil, fmt.Errorf("solo: template extranonce size %d out of range", t.ExtranonceSize)
	}
	if j.coinb1, err = hex.DecodeString(t.CoinbasePrefix); err != nil {
		return nil, fmt.Errorf("solo: template coinbase prefix: %w", err)
	}
	if j.coinb2, err = hex.DecodeString(t.CoinbaseSuffix); err != nil {
		return nil, fmt.Errorf("solo: template coinbase suffix: %w", err)
	}
	for _, s := range t.MerkleBranch {
		b, err := hex.DecodeString(s)
		if err != nil || len(b) != chain.HashSize {
			return nil, fmt.Errorf("solo: template merkle branch entry %q", s)
		}
		j.branch = append(j.branch, chain.Hash(b))
	}
	for _, tx := range t.Transactions {
		raw, err := hex.DecodeString(tx.Data)
		if err != nil {
			return nil, fmt.Errorf("solo: template transaction: %w", err)
		}
		var dec chain.Transaction
		if err := dec.UnmarshalBinary(raw); err != nil {
			return nil, fmt.Errorf("solo: template transaction: %w", err)
		}
		j.txs = append(j.txs, dec)
	}
	j.header = chain.Header{Version: t.Version, PrevBlock: prev, Timestamp: max(t.CurTime, t.MinTime), Bits: uint32(bits)}
	cb, err := j.coinbase(0)
	if err != nil {
		return nil, err
	}
	j.header.MerkleRoot = chain.MerkleRootFromBranch(cb.TxID(), j.branch)
	return j, nil
}

// coinbase returns the coinbase with extranonce n (little-endian in the
// extranonce field).
func (j *job) coinbase(n uint64) (*chain.Transaction, error) {
	raw := make([]byte, 0, len(j.coinb1)+j.extranonceSize+len(j.coinb2))
	raw = append(raw, j.coinb1...)
	var en [chain.MaxExtranonceSize]byte
	binary.LittleEndian.PutUint64(en[:8], n)
	raw = append(raw, en[:j.extranonceSize]...)
	raw = append(raw, j.coinb2...)
	var tx chain.Transaction
	if err := tx.UnmarshalBinary(raw); err != nil || !tx.IsCoinbase() {
		return nil, fmt.Errorf("solo: template coinbase does not decode: %v", err)
	}
	return &tx, nil
}

// roll returns the header for extranonce n: a new merkle root through the
// coinbase's branch. It is the miner.Work Roll function.
func (j *job) roll(base chain.Header, n uint64) chain.Header {
	cb, err := j.coinbase(n)
	if err != nil {
		// decode checked the same bytes with extranonce 0; only the
		// extranonce differs, and it cannot make a coinbase undecodable.
		return base
	}
	base.MerkleRoot = chain.MerkleRootFromBranch(cb.TxID(), j.branch)
	return base
}

// block assembles the full block for a found header.
func (j *job) block(h chain.Header, roll uint64) (*chain.Block, error) {
	cb, err := j.coinbase(roll)
	if err != nil {
		return nil, err
	}
	b := &chain.Block{Header: h, Transactions: append([]chain.Transaction{*cb}, j.txs...)}
	return b, nil
}
