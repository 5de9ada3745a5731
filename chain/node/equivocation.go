package node

import (
	"sync"
	"time"

	"github.com/powmine/powmine/chain"
	"github.com/powmine/powmine/chain/pos"
)

// SealWatch limits: what a SealWatch remembers is bounded by
// SealWatchSlots · MaxSealsPerSlot signed headers of 136 bytes (about
// 600 KB at most).
const (
	// SealWatchSlots is how many slots back from the clock's slot a
	// SealWatch remembers seals (about 8.5 minutes of the dev chain's
	// one-second slots, more than a block takes to reach every honest
	// node); a seal of an older slot, or of a slot more than one ahead
	// of the clock, is ignored.
	SealWatchSlots = 512

	// MaxSealsPerSlot is the most proposers a SealWatch remembers a seal
	// of in one slot. One is elected per slot; more registered keys
	// sealing one slot is already misbehaviour, and the bound keeps a
	// flood of such seals from growing the watch.
	MaxSealsPerSlot = 8
)

// SealWatch detects proposer equivocation on a proof-of-stake chain. It
// remembers, for each recent slot, the signed header (chain.SignedHeader)
// of the first sealed block it was shown per registered proposer, and
// when it is shown a block with another header hash sealed by the same
// proposer for the same slot it returns the chain.ProposerEvidence of the
// two, once per proposer and slot. It is fed every block a node is
// handed, whether the node connects it, keeps it on a side branch or
// refuses it: an equivocation proves itself by the two signatures alone.
// Only seals whose signature verifies (chain.SignedHeader.Verify) are
// remembered, so nobody can plant a header in another key's name.
// Make one with NewSealWatch; it is safe for concurrent use.
type SealWatch struct {
	params     *chain.Params
	genesis    time.Time
	registered func(chain.PublicKey) bool

	mu    sync.Mutex
	slots map[uint64][]watchedSeal // guarded by mu
}

// watchedSeal is a remembered signed header, and whether the evidence
// against its proposer in its slot was returned already.
type watchedSeal struct {
	header   chain.SignedHeader
	reported bool
}

// NewSealWatch returns a watch for the proof-of-stake chain of params
// that remembers only the seals of keys registered reports true for (a
// node's validators: func(k) bool { return n.Validator(k) !=
// (chain.Validator{}) }). On a chain that is not ConsensusPoS it returns
// nil, whose Observe reports nothing.
func NewSealWatch(params *chain.Params, registered func(chain.PublicKey) bool) *SealWatch {
	if params.Consensus != chain.ConsensusPoS {
		return nil
	}
	return &SealWatch{
		params:     params,
		genesis:    time.Unix(int64(params.GenesisHeader.Timestamp), 0),
		registered: registered,
		slots:      make(map[uint64][]watchedSeal),
	}
}

// Observe shows the watch block b at time now. It returns the evidence
// that b's proposer equivocated, and true, when the watch remembers a
// seal of a block with another header hash by the same proposer for the
// same slot and has not returned that evidence before. Blocks without a
// seal or with one that does not decode, of slots outside the window
// (see SealWatchSlots), by keys that are not registered, or whose seal
// signature does not verify are ignored. It costs one signature check per
// new seal remembered or compared, none for a block shown again.
func (w *SealWatch) Observe(b *chain.Block, now time.Time) (chain.ProposerEvidence, bool) {
	if w == nil || b.Seal == nil {
		return chain.ProposerEvidence{}, false
	}
	var s pos.Seal
	if s.UnmarshalBinary(b.Seal[:]) != nil {
		return chain.ProposerEvidence{}, false
	}
	current := pos.Slot(w.genesis, w.params.SlotDuration, now)
	if !inWindow(s.Slot, current, SealWatchSlots) {
		return chain.ProposerEvidence{}, false
	}
	h := s.Header(b.Hash())
	if w.settled(h) {
		return chain.ProposerEvidence{}, false
	}
	// The checks that cost a lookup in the node or a curve operation run
	// without the lock.
	if !w.registered(h.Proposer) || !h.Verify(w.params.GenesisHash) {
		return chain.ProposerEvidence{}, false
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	seen := w.slots[s.Slot]
	for i := range seen {
		e := &seen[i]
		if e.header.Proposer != h.Proposer {
			continue
		}
		if e.reported || e.header.HeaderHash == h.HeaderHash {
			return chain.ProposerEvidence{}, false
		}
		e.reported = true
		return chain.NewProposerEvidence(e.header, h), true
	}
	if len(seen) >= MaxSealsPerSlot {
		return chain.ProposerEvidence{}, false
	}
	w.slots[s.Slot] = append(seen, watchedSeal{header: h})
	if len(w.slots) > SealWatchSlots+1 {
		for slot := range w.slots {
			if !inWindow(slot, current, SealWatchSlots) {
				delete(w.slots, slot)
			}
		}
	}
	return chain.ProposerEvidence{}, false
}

// settled reports whether showing h can change nothing: the watch holds
// h itself, or has reported its proposer in its slot already. Observe
// asks it before the checks that cost, and asks again under the lock.
func (w *SealWatch) settled(h chain.SignedHeader) bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	for _, e := range w.slots[h.Slot] {
		if e.header.Proposer == h.Proposer {
			return e.reported || e.header.HeaderHash == h.HeaderHash
		}
	}
	return false
}
