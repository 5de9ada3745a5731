package miner

import "github.com/powmine/powmine/chain"

// Work is a header to search. A published Work must not be changed.
type Work struct {
	// ID identifies the work to the caller (a Stratum job id, a template
	// id); the miner only copies it into shares.
	ID string
	// Header is the header to search; its Nonce is ignored.
	Header chain.Header
	// Target is the share target in digest byte order: a nonce is a share
	// when its block hash, read as a little-endian number, is at or below
	// it (chain.BigToHash converts a big.Int).
	Target chain.Hash
	// Roll returns the header for roll number n (n = 0 is the header
	// itself), used when the 2^32 nonces of a header are exhausted: a pool
	// client rolls extranonce2 into the merkle root, solo mining the
	// timestamp. It must be safe for concurrent use. Nil rolls the
	// timestamp: Timestamp + n.
	Roll func(base chain.Header, n uint64) chain.Header
}

// header returns the header for roll n.
func (w *Work) header(n uint64) chain.Header {
	if n == 0 {
		return w.Header
	}
	if w.Roll != nil {
		return w.Roll(w.Header, n)
	}
	h := w.Header
	h.Timestamp += uint32(n)
	return h
}

// Share is a nonce whose hash meets a Work's target.
type Share struct {
	// Work is the work the share was found on.
	Work *Work
	// Roll is the roll number that produced Header from Work.Header.
	Roll uint64
	// Header is the complete header, nonce included.
	Header chain.Header
	// Hash is the header's hash (internal byte order).
	Hash chain.Hash
}
