package p2p

import (
	"sync"

	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/powmine/powmine/chain"
)

// MaxBlockSources bounds the blocks whose source the node remembers
// (BlockSource): the last 10,000 recorded, the oldest forgotten first.
// At about 150 bytes an entry that is 1.5 MB at most.
const MaxBlockSources = 10_000

// sourceSet remembers, for the last max blocks recorded, the peer that
// first delivered each one. Its methods are safe for concurrent use.
type sourceSet struct {
	mu   sync.Mutex
	max  int
	from map[chain.Hash]peer.ID
	ring []chain.Hash // recorded hashes, oldest at next once full
	next int
}

func newSourceSet(limit int) *sourceSet {
	return &sourceSet{max: limit, from: make(map[chain.Hash]peer.ID)}
}

// record sets p as hash's source unless the block has one already; the
// oldest entry makes room once max are held.
func (s *sourceSet) record(hash chain.Hash, p peer.ID) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.from[hash]; ok {
		return
	}
	if len(s.ring) < s.max {
		s.ring = append(s.ring, hash)
	} else {
		delete(s.from, s.ring[s.next])
		s.ring[s.next] = hash
		s.next = (s.next + 1) % s.max
	}
	s.from[hash] = p
}

func (s *sourceSet) get(hash chain.Hash) (peer.ID, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	p, ok := s.from[hash]
	return p, ok
}

// BlockSource returns the peer that first delivered the block, by gossip
// or by sync, or the node's own ID for a block recorded with
// RecordLocalBlock; false when the block is not among the last
// MaxBlockSources recorded. A block is recorded once its proof of work
// checked out, before the chain takes it, whatever the chain then says.
// It is safe for concurrent use.
func (n *Node) BlockSource(hash chain.Hash) (peer.ID, bool) { return n.sources.get(hash) }

// RecordLocalBlock records this node as the source of a block mined or
// submitted locally, unless a peer delivered it first. Call it before
// handing the block to the chain. It is safe for concurrent use.
func (n *Node) RecordLocalBlock(hash chain.Hash) { n.sources.record(hash, n.host.ID()) }
