package node

import (
	"bytes"
	"errors"
	"fmt"
	"slices"
	"strings"

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

// unlockStakes pays back, at the first block of an epoch, what has been
// locked WithdrawDelayEpochs epochs or more: the whole stake of every
// validator whose exit epoch lies that far behind, which leaves the set,
// and the pending partial withdraw of every other validator whose
// UnlockEpoch has come, which leaves its stake. A slashed validator's
// coins (its finality record says so) are burned instead. Validators are
// visited in key order. It runs first in the block, on the state before
// it.
func (d *stateDelta) unlockStakes(validators map[chain.PublicKey]chain.Validator, finality map[string][]byte, height int64, p *chain.Params, accounts map[chain.Address]chain.Account) error {
	epoch := p.Epoch(height)
	unlocked := func(from uint64) bool { return from != 0 && from <= epoch && epoch-from >= p.WithdrawDelayEpochs }
	var due []chain.PublicKey
	for k, v := range validators {
		if unlocked(v.ExitEpoch) || (v.Withdrawing != 0 && epoch >= v.UnlockEpoch(p)) {
			due = append(due, k)
		}
	}
	slices.SortFunc(due, func(a, b chain.PublicKey) int { return bytes.Compare(a[:], b[:]) })
	for _, k := range due {
		v := validators[k]
		amount, next := v.Stake, chain.Validator{}
		if !unlocked(v.ExitEpoch) {
			amount, next = v.Withdrawing, v
			next.Stake -= v.Withdrawing
			next.Withdrawing, next.WithdrawEpoch = 0, 0
		}
		if err := d.release(accounts, finality, k, v.Owner, amount, height); err != nil {
			return err
		}
		d.setValidator(validators, k, next)
		if next == (chain.Validator{}) {
			d.validators--
		}
	}
	return nil
}

// release pays amount of unlocked stake of validator k back to owner, or
// burns it when k was slashed.
func (d *stateDelta) release(accounts map[chain.Address]chain.Account, finality map[string][]byte, k chain.PublicKey, owner chain.Address, amount uint64, height int64) error {
	if finality[storage.SlashedKey(k)] != nil {
		d.burned += amount
		return nil
	}
	return d.credit(accounts, owner, amount, height)
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

// stakeWithdraw applies w, from from, to its validator as of the
// epoch after the block's: an exit (see chain.Withdraw.IsExit) sets its
// exit epoch, a partial withdraw its pending amount and withdraw epoch.
// It refuses what chain.CheckWithdrawState refuses, with its code.
func (d *stateDelta) stakeWithdraw(validators map[chain.PublicKey]chain.Validator, w *chain.Withdraw, from chain.Address, height int64, i int, p *chain.Params) error {
	v := d.getValidator(validators, w.Validator)
	if err := chain.CheckWithdrawState(v, w, from, p); err != nil {
		var rerr chain.RuleError
		if !errors.As(err, &rerr) {
			return err
		}
		return ruleErr(rerr.Code, "block at height %d: transaction %d: %s", height, i, strings.TrimPrefix(rerr.Description, "chain: "))
	}
	next := p.Epoch(height) + 1
	if w.IsExit(v) {
		v.ExitEpoch = next
	} else {
		v.Withdrawing, v.WithdrawEpoch = w.Amount, next
	}
	d.setValidator(validators, w.Validator, v)
	return nil
}

// ErrEpochUnavailable is returned (wrapped) by ValidatorSet for an epoch
// the tip's state cannot answer for.
var ErrEpochUnavailable = errors.New("node: validator set of that epoch is not available")

// ValidatorStake is one validator of an epoch's set: its weight in the
// epoch (see chain.Validator.StakeAt) and, from the tip's state, its
// pending partial withdraw, if any, and the epoch whose first block pays
// it back.
type ValidatorStake struct {
	Key         chain.PublicKey
	Owner       chain.Address
	Stake       uint64 // base units
	Withdrawing uint64 // base units; 0 when none is pending
	UnlockEpoch uint64 // 0 when none is pending
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
			set = append(set, validatorStake(k, v, epoch, n.params))
		}
	}
	slices.SortFunc(set, func(a, b ValidatorStake) int { return bytes.Compare(a.Key[:], b.Key[:]) })
	return set, nil
}

// validatorStake returns validator k's entry in the set of epoch.
func validatorStake(k chain.PublicKey, v chain.Validator, epoch uint64, p *chain.Params) ValidatorStake {
	vs := ValidatorStake{Key: k, Owner: v.Owner, Stake: v.StakeAt(epoch)}
	if v.Withdrawing != 0 {
		vs.Withdrawing, vs.UnlockEpoch = v.Withdrawing, v.UnlockEpoch(p)
	}
	return vs
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
