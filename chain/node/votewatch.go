package node

import (
	"sync"

	"github.com/powmine/powmine/chain"
)

// VoteWatchEpochs is how many target epochs back from the current one a
// VoteWatch remembers votes (the current epoch's and the next one's
// included): a vote only counts for the two latest target epochs, so an
// offence is seen well within it. Two votes of an offence whose targets
// lie further apart than this are not compared. What a VoteWatch
// remembers is bounded by Params.MaxValidators keys with at most one
// vote per target epoch in the window each: MaxValidators ·
// (VoteWatchEpochs+1) votes of 177 bytes (about 0.8 MB at
// MaxValidators 128).
const VoteWatchEpochs = 32

// VoteWatch detects Casper FFG double and surround votes (chain.Slashable)
// among the votes a node sees. It remembers, for each registered
// validator key, the first signed vote it was shown for each recent
// target epoch, and when it is shown a vote of the same key that is
// slashable against a remembered one it returns the chain.Evidence of the
// two, once per key while that key has votes in the window. It is fed
// every vote a node sees, alone (submitted, gossiped) or in a block,
// before the mempool or the node decides on it: a second vote of a key
// for one target epoch is refused by the mempool, but two signatures
// prove the offence alone. Only votes whose signature verifies
// (chain.VerifyVotes) are remembered, so nobody can plant a vote in
// another key's name. Make one with NewVoteWatch; it is safe for
// concurrent use.
type VoteWatch struct {
	params     *chain.Params
	registered func(chain.PublicKey) bool

	mu   sync.Mutex
	keys map[chain.PublicKey]*voteRecord // guarded by mu; at most Params.MaxValidators
}

// voteRecord is what a VoteWatch remembers of one key: its votes in
// the window, at most one per target epoch, and whether evidence against
// it was returned already.
type voteRecord struct {
	votes    []chain.Vote
	reported bool
}

// NewVoteWatch returns a watch for the chain of params that remembers
// only the votes of keys registered reports true for (a node's
// validators, as for NewSealWatch). On a chain without stake it returns
// nil, whose Observe reports nothing.
func NewVoteWatch(params *chain.Params, registered func(chain.PublicKey) bool) *VoteWatch {
	if !params.StakeEnabled() {
		return nil
	}
	return &VoteWatch{params: params, registered: registered, keys: make(map[chain.PublicKey]*voteRecord)}
}

// inWindow reports whether x, a slot or an epoch, lies in the window of
// size ending one after current: current+1 and the size−1 before it.
// SealWatch and VoteWatch remember what lies in theirs.
func inWindow(x, current, size uint64) bool {
	return x <= current+1 && x+size > current
}

// Observe shows the watch votes at the current target epoch (the epoch
// of the node's tip). It returns the evidence of every offence the votes
// prove against a key not reported before, with a remembered vote or
// with one another, at most one per key, in canonical form. Votes of
// target epochs outside the window (see VoteWatchEpochs), of keys that
// are not registered, or whose signature does not verify are ignored,
// and so are the votes of new keys once MaxValidators keys have votes in
// the window. It costs one signature check per vote it remembers or
// compares, checked in one batch, none for a vote shown again.
func (w *VoteWatch) Observe(votes []chain.Vote, current uint64) []chain.Evidence {
	if w == nil {
		return nil
	}
	fresh := make([]chain.Vote, 0, len(votes))
	for i := range votes {
		if inWindow(votes[i].Target.Epoch, current, VoteWatchEpochs) && !w.settled(&votes[i]) && w.registered(votes[i].Validator) {
			fresh = append(fresh, votes[i])
		}
	}
	if len(fresh) == 0 {
		return nil
	}
	// The signature checks run without the lock.
	ok := chain.VerifyVotes(w.params.GenesisHash, fresh)
	w.mu.Lock()
	defer w.mu.Unlock()
	var out []chain.Evidence
	for i := range fresh {
		if !ok[i] {
			continue
		}
		if e, found := w.add(&fresh[i], current); found {
			out = append(out, e)
		}
	}
	return out
}

// settled reports whether showing v can change nothing: the watch holds
// v itself, or has reported its key already. Observe asks it before the
// checks that cost; add asks again under the lock.
func (w *VoteWatch) settled(v *chain.Vote) bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	r := w.keys[v.Validator]
	return r != nil && r.holds(v)
}

// holds reports whether r makes v news to nobody: r has been reported, or
// holds v.
func (r *voteRecord) holds(v *chain.Vote) bool {
	if r.reported {
		return true
	}
	for i := range r.votes {
		if r.votes[i] == *v {
			return true
		}
	}
	return false
}

// add remembers v, whose signature verified, at current, or returns the
// evidence it makes with a remembered vote. w.mu must be held.
func (w *VoteWatch) add(v *chain.Vote, current uint64) (chain.Evidence, bool) {
	r := w.keys[v.Validator]
	if r == nil {
		if len(w.keys) >= w.params.MaxValidators {
			w.prune(current)
		}
		if len(w.keys) >= w.params.MaxValidators {
			return chain.Evidence{}, false
		}
		r = &voteRecord{}
		w.keys[v.Validator] = r
	}
	if r.holds(v) {
		return chain.Evidence{}, false
	}
	kept := r.votes[:0]
	at := -1 // where v goes: r.votes stays ordered by target epoch
	for i := range r.votes {
		old := r.votes[i]
		if chain.Slashable(&old, v) != chain.NoOffence {
			r.reported = true
			return chain.NewEvidence(old, *v), true
		}
		if !inWindow(old.Target.Epoch, current, VoteWatchEpochs) {
			continue
		}
		if at < 0 && old.Target.Epoch > v.Target.Epoch {
			at = len(kept)
		}
		kept = append(kept, old)
	}
	if at < 0 {
		at = len(kept)
	}
	r.votes = append(kept, chain.Vote{})
	copy(r.votes[at+1:], r.votes[at:])
	r.votes[at] = *v
	return chain.Evidence{}, false
}

// prune forgets the votes out of the window at current, and the keys
// left without any. w.mu must be held.
func (w *VoteWatch) prune(current uint64) {
	for k, r := range w.keys {
		kept := r.votes[:0]
		for _, v := range r.votes {
			if inWindow(v.Target.Epoch, current, VoteWatchEpochs) {
				kept = append(kept, v)
			}
		}
		r.votes = kept
		if len(kept) == 0 {
			delete(w.keys, k)
		}
	}
}
