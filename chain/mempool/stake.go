package mempool

import (
	"slices"
	"strings"

	"github.com/powmine/powmine/chain"
)

// StakeChain is a Chain that also reports the validator set at the tip;
// chain/node's Node is one. With it the pool admits deposits and
// withdraws that the tip's validator set admits; with a plain Chain it
// refuses them (RejectStake), since it could not keep invalid ones out of
// block templates.
type StakeChain interface {
	Chain

	// Validator returns the state of a validator key at the tip, the
	// zero Validator for a key not registered.
	Validator(chain.PublicKey) chain.Validator

	// ValidatorCount returns the number of registered validator keys at
	// the tip.
	ValidatorCount() int
}

// stakeKey returns the validator key a deposit or withdraw names.
func stakeKey(tx *chain.Transaction) (chain.PublicKey, bool) {
	switch {
	case tx.Deposit != nil:
		return tx.Deposit.Validator, true
	case tx.Withdraw != nil:
		return tx.Withdraw.Validator, true
	}
	return chain.PublicKey{}, false
}

// copyTx returns a copy of tx's body for the pool to keep.
func copyTx(tx *chain.Transaction) chain.Transaction {
	switch {
	case tx.Deposit != nil:
		return chain.Transaction{Deposit: new(*tx.Deposit)}
	case tx.Withdraw != nil:
		return chain.Transaction{Withdraw: new(*tx.Withdraw)}
	}
	return chain.Transaction{Transfer: new(*tx.Transfer)}
}

// pendingDeposits counts the deposits in the pool. p.mu must be held.
func (p *Pool) pendingDeposits() int {
	n := 0
	for _, e := range p.byStakeKey {
		if e.Tx.Deposit != nil {
			n++
		}
	}
	return n
}

// checkStake runs the stake policy on a transaction about to be added: at
// most one pending stake transaction per validator key, and the validator
// set's rules at the tip (RejectStake). Transfers pass. The checks are
// stricter than the block rules (a stake that unlocks at the next
// boundary still counts, a withdraw cannot follow a pending deposit), so
// that whatever the pool holds is valid in the next block. p.mu must be
// held.
func (p *Pool) checkStake(tx *chain.Transaction, id chain.Hash) error {
	k, ok := stakeKey(tx)
	if !ok {
		return nil
	}
	sc, ok := p.chain.(StakeChain)
	if !ok {
		return reject(RejectStake, id, nil, "the pool's chain does not report validators")
	}
	if other := p.byStakeKey[k]; other != nil {
		return reject(RejectStake, id, nil, "validator %v already has pending transaction %v", k, other.ID)
	}
	if reason := stakeRefusal(sc, tx, p.params, p.pendingDeposits()); reason != "" {
		return reject(RejectStake, id, nil, "%s", reason)
	}
	return nil
}

// stakeRefusal returns why the validator set at the tip refuses tx, a
// deposit or withdraw, with deposits more pending, or "".
func stakeRefusal(sc StakeChain, tx *chain.Transaction, params *chain.Params, deposits int) string {
	if d := tx.Deposit; d != nil {
		switch {
		case sc.Validator(d.Validator) != (chain.Validator{}):
			return "validator " + d.Validator.String() + " is registered"
		case sc.ValidatorCount()+deposits >= params.MaxValidators:
			return "the validator set is full, counting the pending deposits"
		}
		return ""
	}
	w := tx.Withdraw
	if err := chain.CheckWithdrawState(sc.Validator(w.Validator), w, w.From.Address(), params); err != nil {
		return strings.TrimPrefix(err.Error(), "chain: ")
	}
	return ""
}

// revalidateStake re-checks the pending stake transactions against the
// validator set after the tip moved, dropping (with the later
// transactions of their senders) those it refuses now, and, while the
// deposits would overfill the set, the deposits of lowest fee rate.
// p.mu must be held.
func (p *Pool) revalidateStake() {
	if len(p.byStakeKey) == 0 {
		return
	}
	sc, ok := p.chain.(StakeChain)
	if !ok {
		return
	}
	es := slices.Collect(func(yield func(*entry) bool) {
		for _, e := range p.byStakeKey {
			if !yield(e) {
				return
			}
		}
	})
	slices.SortFunc(es, func(a, b *entry) int { // highest fee rate first
		switch {
		case lessRate(b, a):
			return -1
		case lessRate(a, b):
			return 1
		}
		return 0
	})
	deposits := 0
	for _, e := range es {
		if p.byID[e.ID] != e {
			continue // dropped with an earlier transaction of its sender
		}
		if reason := stakeRefusal(sc, &e.Tx, p.params, deposits); reason != "" {
			p.log.Debug("stake transaction dropped", "id", e.ID, "reason", reason)
			p.removeFrom(e)
			continue
		}
		if e.Tx.Deposit != nil {
			deposits++
		}
	}
}
