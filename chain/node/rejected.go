package node

import "github.com/powmine/powmine/chain"

// MaxRejected is how many refused block hashes a Node remembers (see
// rejectedSet): about 100 bytes each, so 400 KB at most.
const MaxRejected = 4096

// rejectedSet remembers the hashes of the most recent blocks the node
// refused, before storing them, for a rule that condemns the header
// itself: a known-invalid parent (chain.ErrInvalidAncestorBlock), the
// header-context rules but chain.ErrTimeTooNew, and the coinbase height,
// which the header commits to through the merkle root; never a
// proof-of-stake seal's refusal (chain.ErrBadSeal), since the hash does
// not cover the seal (see pos.go). It is bounded
// (the oldest entry makes room) and lives only in memory: forgetting a
// hash costs a repeated check, never a wrong answer, since a forgotten
// block is checked again and refused again, or waits as an orphan. It is
// not safe for concurrent use; the Node guards it as its orphan pool.
type rejectedSet struct {
	max   int
	codes map[chain.Hash]chain.ErrorCode
	ring  []chain.Hash // arrival order, at most max; once full, next is the oldest
	next  int
}

// newRejectedSet returns an empty set holding at most limit hashes (at
// least one).
func newRejectedSet(limit int) *rejectedSet {
	return &rejectedSet{max: max(limit, 1), codes: make(map[chain.Hash]chain.ErrorCode)}
}

// add remembers that the block was refused for code, forgetting the
// oldest entry when the set is full. A hash already held keeps its place.
func (r *rejectedSet) add(hash chain.Hash, code chain.ErrorCode) {
	if _, ok := r.codes[hash]; ok {
		return
	}
	if len(r.ring) < r.max {
		r.ring = append(r.ring, hash)
	} else {
		delete(r.codes, r.ring[r.next])
		r.ring[r.next] = hash
		r.next = (r.next + 1) % r.max
	}
	r.codes[hash] = code
}

// get returns the code the block was refused for, if the set holds it.
func (r *rejectedSet) get(hash chain.Hash) (chain.ErrorCode, bool) {
	code, ok := r.codes[hash]
	return code, ok
}
