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
type rejectedSet = hashRing[chain.ErrorCode]

// hashRing maps block hashes to values, holding at most max of them: once
// full, the oldest entry (in arrival order) makes room for a new one. It
// is not safe for concurrent use.
type hashRing[V any] struct {
	max  int
	vals map[chain.Hash]V
	ring []chain.Hash // arrival order, at most max; once full, next is the oldest
	next int
}

// newHashRing returns an empty ring holding at most limit hashes (at
// least one).
func newHashRing[V any](limit int) *hashRing[V] {
	return &hashRing[V]{max: max(limit, 1), vals: make(map[chain.Hash]V)}
}

// add maps hash to v, forgetting the oldest entry when the ring is full.
// A hash already held keeps its place, and its value unless replace.
func (r *hashRing[V]) add(hash chain.Hash, v V, replace bool) {
	if _, ok := r.vals[hash]; ok {
		if replace {
			r.vals[hash] = v
		}
		return
	}
	if len(r.ring) < r.max {
		r.ring = append(r.ring, hash)
	} else {
		delete(r.vals, r.ring[r.next])
		r.ring[r.next] = hash
		r.next = (r.next + 1) % r.max
	}
	r.vals[hash] = v
}

// get returns the value of hash, if the ring holds it.
func (r *hashRing[V]) get(hash chain.Hash) (V, bool) {
	v, ok := r.vals[hash]
	return v, ok
}
