package mempool

import (
	"cmp"
	"errors"
	"slices"

	"github.com/powmine/powmine/chain"
)

// MaxMempoolVotes bounds the finality transactions (votes and slashes)
// the pool holds. They pay no fee, so they do not compete with transfers
// for MaxPoolBytes; this bound is their own: 4,096 votes take 733 KB
// serialized, enough for every vote of 2,048 validators over the two
// epochs a vote can be mined in. A full pool refuses new ones
// (RejectPoolFull) until blocks mine them or their epochs pass.
const MaxMempoolVotes = 4096

// FinalityChain is a StakeChain that also checks votes and slashes
// against the tip's finality state; chain/node's Node is one. With it the
// pool admits finality transactions; with another Chain it refuses them
// (RejectFinality).
type FinalityChain interface {
	StakeChain

	// CheckFinalityTx reports whether a vote or slash would be accepted
	// in a block extending the tip (a chain.RuleError says why not).
	CheckFinalityTx(*chain.Transaction) error
}

// voteSlot is what makes a vote unique in the pool: one per validator and
// target epoch, as one block may count.
type voteSlot struct {
	key    chain.PublicKey
	target uint64
}

// finEntry is a pending vote or slash.
type finEntry struct {
	tx      chain.Transaction
	id      chain.Hash
	arrival uint64
}

// slot returns the vote's slot; ok is false for a slash.
func (e *finEntry) slot() (voteSlot, bool) {
	if v := e.tx.Vote; v != nil {
		return voteSlot{v.Validator, v.Target.Epoch}, true
	}
	return voteSlot{}, false
}

// permanent reports whether err, from CheckFinalityTx, refuses the
// transaction for good on this branch: a vote already counted for its
// target epoch, a slashed, inactive or unknown validator. An unknown
// checkpoint or an unjustified source may change as blocks arrive (a
// vote may travel faster than the block it votes for), so they are not.
func permanent(err error) bool {
	var rerr chain.RuleError
	if !errors.As(err, &rerr) {
		return err != nil
	}
	switch rerr.Code {
	case chain.ErrUnknownCheckpoint, chain.ErrSourceNotJustified:
		return false
	}
	return true
}

// stale reports whether a vote can no longer be mined: its target epoch
// is older than the tip's previous epoch.
func (p *Pool) stale(tx *chain.Transaction) bool {
	if tx.Vote == nil {
		return false
	}
	epoch := p.params.Epoch(p.chain.Tip().Height)
	return tx.Vote.Target.Epoch+1 < epoch
}

// addFinality runs the finality policy on a vote or slash that passed
// checkSanity (signatures included) and adds it. p.mu must be held.
func (p *Pool) addFinality(tx *chain.Transaction, id chain.Hash) error {
	fc, ok := p.chain.(FinalityChain)
	if !ok {
		return reject(RejectFinality, id, nil, "the pool's chain does not check finality transactions")
	}
	if p.fin[id] != nil {
		return reject(RejectDuplicate, id, nil, "already in the pool")
	}
	e := &finEntry{tx: copyFinality(tx), id: id}
	var key chain.PublicKey
	if v := tx.Vote; v != nil {
		key = v.Validator
		if p.votesBy[voteSlot{key, v.Target.Epoch}] != nil {
			return reject(RejectFinality, id, nil, "validator %v has a vote for target epoch %d pending", key, v.Target.Epoch)
		}
		if p.stale(tx) {
			return reject(RejectFinality, id, nil, "vote for target epoch %d is too old", v.Target.Epoch)
		}
	} else {
		key, _ = tx.Accused() // a vote slash or a proposer slash
		if p.slashesBy[key] != nil {
			return reject(RejectFinality, id, nil, "a slash of validator %v is pending", key)
		}
	}
	if fc.Validator(key) == (chain.Validator{}) {
		return reject(RejectFinality, id, nil, "validator %v is not registered", key)
	}
	if err := fc.CheckFinalityTx(tx); permanent(err) {
		return reject(RejectFinality, id, err, "refused by the chain state")
	}
	if len(p.fin) >= MaxMempoolVotes {
		return reject(RejectPoolFull, id, nil, "%d finality transactions pending, the most MaxMempoolVotes allows", len(p.fin))
	}
	e.arrival = p.finArrival
	p.finArrival++
	p.fin[id] = e
	if s, ok := e.slot(); ok {
		p.votesBy[s] = e
	} else {
		p.slashesBy[key] = e
	}
	return nil
}

// copyFinality returns a copy of a vote's, slash's or proposer slash's
// body.
func copyFinality(tx *chain.Transaction) chain.Transaction {
	switch {
	case tx.Vote != nil:
		return chain.Transaction{Vote: new(*tx.Vote)}
	case tx.ProposerSlash != nil:
		return chain.Transaction{ProposerSlash: new(*tx.ProposerSlash)}
	}
	return chain.Transaction{Slash: new(*tx.Slash)}
}

// removeFinality takes e out of the pool. p.mu must be held.
func (p *Pool) removeFinality(e *finEntry) {
	delete(p.fin, e.id)
	if s, ok := e.slot(); ok {
		delete(p.votesBy, s)
	} else {
		key, _ := e.tx.Accused()
		delete(p.slashesBy, key)
	}
}

// finalityOrder returns the pending votes, oldest target epoch first
// (they expire first), then the slashes, each in arrival order, at most
// Params.MaxVotesPerBlock votes, Params.MaxSlashesPerBlock slashes and max
// in all. p.mu must be held.
func (p *Pool) finalityOrder(max int) []chain.Transaction {
	es := make([]*finEntry, 0, len(p.fin))
	for _, e := range p.fin {
		es = append(es, e)
	}
	rank := func(e *finEntry) (int, uint64) {
		if v := e.tx.Vote; v != nil {
			return 0, v.Target.Epoch
		}
		return 1, 0
	}
	slices.SortFunc(es, func(a, b *finEntry) int {
		ka, ea := rank(a)
		kb, eb := rank(b)
		return cmp.Or(cmp.Compare(ka, kb), cmp.Compare(ea, eb), cmp.Compare(a.arrival, b.arrival))
	})
	var out []chain.Transaction
	votes, slashes := 0, 0
	for _, e := range es {
		if len(out) == max {
			break
		}
		if e.tx.Vote != nil {
			if votes == p.params.MaxVotesPerBlock {
				continue
			}
			votes++
		} else {
			if slashes == p.params.MaxSlashesPerBlock {
				continue
			}
			slashes++
		}
		out = append(out, e.tx)
	}
	return out
}

// revalidateFinality drops, after the tip moved, the finality
// transactions a block mined (ids) and those that can no longer be mined:
// votes whose target epoch is older than the previous epoch, and what
// the tip's state refuses for good. p.mu must be held.
func (p *Pool) revalidateFinality(mined map[chain.Hash]bool) {
	if len(p.fin) == 0 {
		return
	}
	fc, _ := p.chain.(FinalityChain)
	for _, e := range p.fin {
		switch {
		case mined[e.id]:
		case p.stale(&e.tx):
		case fc != nil && permanent(fc.CheckFinalityTx(&e.tx)):
		default:
			continue
		}
		p.removeFinality(e)
	}
}

// FinalityCount returns the number of pending votes and slashes. It is
// safe for concurrent use.
func (p *Pool) FinalityCount() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.fin)
}
