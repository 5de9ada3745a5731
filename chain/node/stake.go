package node

import (
	"bytes"
	"errors"
	"fmt"
	"slices"

	"github.com/powmine/powmine/chain"
	"github.com/powmine/powmine/chain/storage"
)

// getValidator returns the validator as the block has left it so far
// (the zero Validator when it is not registered).
func (d *stateDelta) getValidator(validators map[chain.PublicKey]chain.Validator, k chain.PublicKey) chain.Validator {
	if v, ok := d.nextVal[k]; ok {
		return v
	}
	return validators[k]
}

// setValidator records the validator's new value (the zero Validator
// removes it), remembering its old one on first touch.
func (d *stateDelta) setValidator(validators map[chain.PublicKey]chain.Validator, k chain.PublicKey, v chain.Validator) {
	if _, ok := d.nextVal[k]; !ok {
		d.undo.Validators = append(d.undo.Validators, storage.ValidatorEntry{Key: k, Validator: validators[k]})
	}
	d.nextVal[k] = v
}

// validatorEntries returns the new validator values in first-touch order.
func (d *stateDelta) validatorEntries() []storage.ValidatorEntry {
	out := make([]storage.ValidatorEntry, len(d.undo.Validators))
	for i, e := range d.undo.Validators {
		out[i] = storage.ValidatorEntry{Key: e.Key, Validator: d.nextVal[e.Key]}
	}
	return out
}

// unlockStakes pays back, at the first block of an epoch, the stake of
// every validator whose exit epoch lies WithdrawDelayEpochs or more
// behind, and removes it from the set; a slashed validator's stake (its
// finality record says so) is burned instead. It runs first in the
// block, on the state before it.
func (d *stateDelta) unlockStakes(validators map[chain.PublicKey]chain.Validator, finality map[string][]byte, height int64, p *chain.Params, accounts map[chain.Address]chain.Account) error {
	epoch := p.Epoch(height)
	var due []chain.PublicKey
	for k, v := range validators {
		if v.ExitEpoch != 0 && v.ExitEpoch <= epoch && epoch-v.ExitEpoch >= p.WithdrawDelayEpochs {
			due = append(due, k)
		}
	}
	slices.SortFunc(due, func(a, b chain.PublicKey) int { return bytes.Compare(a[:], b[:]) })
	for _, k := range due {
		v := validators[k]
		if finality[storage.SlashedKey(k)] == nil {
			if err := d.credit(accounts, v.Owner, v.Stake, height); err != nil {
				return err
			}
		} else {
			d.burned += v.Stake
		}
		d.setValidator(validators, k, chain.Validator{})
		d.validators--
	}
	return nil
}

// stakeDeposit registers the validator of dep, whose owner from has
// already paid amount and fee: ErrValidatorExists when the key is
// registered (active, pending, or exited and waiting for its unlock),
// ErrTooManyValidators when MaxValidators keys are. The validator is
// active from the epoch after the block's.
func (d *stateDelta) stakeDeposit(validators map[chain.PublicKey]chain.Validator, dep *chain.Deposit, from chain.Address, height int64, i int, p *chain.Params) error {
	if d.getValidator(validators, dep.Validator) != (chain.Validator{}) {
		return ruleErr(chain.ErrValidatorExists, "block at height %d: transaction %d deposits for validator %v, already registered",
			height, i, dep.Validator)
	}
	if d.validators >= p.MaxValidators {
		return ruleErr(chain.ErrTooManyValidators, "block at height %d: transaction %d would register validator %v beyond MaxValidators %d",
			height, i, dep.Validator, p.MaxValidators)
	}
	d.setValidator(validators, dep.Validator, chain.Validator{
		Owner:           from,
		Stake:           dep.Amount,
		ActivationEpoch: p.Epoch(height) + 1,
	})
	d.validators++
	return nil
}

// stakeWithdraw sets the exit epoch of w's validator to the epoch after
// the block's: ErrUnknownValidator when the key is not registered,
// ErrNotValidatorOwner when from did not deposit for it,
// ErrValidatorExiting when it already asked to leave.
func (d *stateDelta) stakeWithdraw(validators map[chain.PublicKey]chain.Validator, w *chain.Withdraw, from chain.Address, height int64, i int, p *chain.Params) error {
	v := d.getValidator(validators, w.Validator)
	switch {
	case v == (chain.Validator{}):
		return ruleErr(chain.ErrUnknownValidator, "block at height %d: transaction %d withdraws unknown validator %v",
			height, i, w.Validator)
	case v.Owner != from:
		return ruleErr(chain.ErrNotValidatorOwner, "block at height %d: transaction %d from %v withdraws validator %v of %v",
			height, i, from, w.Validator, v.Owner)
	case v.ExitEpoch != 0:
		return ruleErr(chain.ErrValidatorExiting, "block at height %d: transaction %d withdraws validator %v, already exiting at epoch %d",
			height, i, w.Validator, v.ExitEpoch)
	}
	v.ExitEpoch = p.Epoch(height) + 1
	d.setValidator(validators, w.Validator, v)
	return nil
}

// ErrEpochUnavailable is returned (wrapped) by ValidatorSet for an epoch
// the tip's state cannot answer for.
var ErrEpochUnavailable = errors.New("node: validator set of that epoch is not available")

// ValidatorStake is one validator of an epoch's set.
type ValidatorStake struct {
	Key   chain.PublicKey
	Owner chain.Address
	Stake uint64 // base units
}

// ValidatorSet returns the validators active in epoch on the best chain,
// ordered by key, with their stakes. The set of an epoch is final once
// the epoch has begun (deposits and withdraws take effect at the next
// boundary), so epoch may be at most the tip's epoch; and since unlocked
// validators leave the state, it must be at least the tip's epoch minus
// WithdrawDelayEpochs. Other epochs, and networks without stake, yield an
// error wrapping ErrEpochUnavailable. It is safe for concurrent use.
func (n *Node) ValidatorSet(epoch uint64) ([]ValidatorStake, error) {
	n.mu.RLock()
	defer n.mu.RUnlock()
	tipEpoch := n.params.Epoch(n.view.tip().height)
	if !n.params.StakeEnabled() || epoch > tipEpoch || epoch+n.params.WithdrawDelayEpochs < tipEpoch {
		return nil, fmt.Errorf("%w: epoch %d, tip in epoch %d, withdraw delay %d epochs",
			ErrEpochUnavailable, epoch, tipEpoch, n.params.WithdrawDelayEpochs)
	}
	set := []ValidatorStake{}
	for k, v := range n.validators {
		if v.ActiveAt(epoch) {
			set = append(set, ValidatorStake{Key: k, Owner: v.Owner, Stake: v.Stake})
		}
	}
	slices.SortFunc(set, func(a, b ValidatorStake) int { return bytes.Compare(a.Key[:], b.Key[:]) })
	return set, nil
}

// Validator returns the state of a validator key at the tip (the zero
// Validator for a key not registered). It is safe for concurrent use.
func (n *Node) Validator(k chain.PublicKey) chain.Validator {
	n.mu.RLock()
	defer n.mu.RUnlock()
	return n.validators[k]
}

// ValidatorCount returns the number of registered validator keys at the
// tip: active, pending activation, or exited and waiting for the unlock.
// It is safe for concurrent use.
func (n *Node) ValidatorCount() int {
	n.mu.RLock()
	defer n.mu.RUnlock()
	return len(n.validators)
}
