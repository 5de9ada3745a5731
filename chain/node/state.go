package node

import (
	"fmt"
	"math/bits"

	"github.com/powmine/powmine/chain"
	"github.com/powmine/powmine/chain/storage"
)

// ruleErr builds a chain.RuleError with the package's prefix.
func ruleErr(code chain.ErrorCode, format string, args ...any) chain.RuleError {
	return chain.RuleError{Code: code, Description: "node: " + fmt.Sprintf(format, args...)}
}

// stateDelta is the effect of one block on the account state and the
// validator set, computed without modifying them: the new value of every
// touched account and validator and the undo record holding the old ones.
type stateDelta struct {
	next       map[chain.Address]chain.Account
	nextVal    map[chain.PublicKey]chain.Validator
	nextFin    map[string][]byte // finality records (see finality.go)
	totals     map[uint64]uint64 // epochTotal's cache
	validators int               // registered validators so far, for MaxValidators
	// issued counts the coins finality creates (vote rewards, reporter
	// shares) and burned the stakes of slashed validators that unlocked:
	// with the coinbases and fees they account for every coin.
	issued, burned uint64
	undo           storage.Undo
}

// get returns the account as the block has left it so far.
func (d *stateDelta) get(accounts map[chain.Address]chain.Account, a chain.Address) chain.Account {
	if acc, ok := d.next[a]; ok {
		return acc
	}
	return accounts[a]
}

// set records the account's new value, remembering its old one on first touch.
func (d *stateDelta) set(accounts map[chain.Address]chain.Account, a chain.Address, acc chain.Account) {
	if _, ok := d.next[a]; !ok {
		d.undo.Accounts = append(d.undo.Accounts, storage.AccountEntry{Address: a, Account: accounts[a]})
	}
	d.next[a] = acc
}

// entries returns the new values in first-touch order.
func (d *stateDelta) entries() []storage.AccountEntry {
	out := make([]storage.AccountEntry, len(d.undo.Accounts))
	for i, e := range d.undo.Accounts {
		out[i] = storage.AccountEntry{Address: e.Address, Account: d.next[e.Address]}
	}
	return out
}

// connectDelta checks block b at height against the account state and
// the validator set and returns its effect. It runs the rules that need
// the state, in block order:
//
//   - at an epoch boundary (chain.Params.IsEpochBoundary), before the
//     transactions: every validator whose ExitEpoch plus
//     WithdrawDelayEpochs has come is removed and its stake credited to
//     its owner (ErrAmountOverflow if that balance overflows), and every
//     other whose partial withdraw's UnlockEpoch (WithdrawEpoch plus
//     WithdrawDelayEpochs, on a proof-of-stake chain at least
//     ElectionDelayEpochs) has come has that amount taken from its stake
//     and credited, in the order of the validator keys, except a slashed
//     validator's coins, which are burned; and the vote and link records of target epochs no vote
//     may name any more are deleted (pruneFinality);
//   - each vote (see countVote): ErrUnknownValidator,
//     ErrInactiveValidator, ErrSlashedValidator, ErrUnknownCheckpoint,
//     ErrSourceNotJustified, ErrDuplicateVote; each slash (see
//     applySlash): ErrUnknownValidator, ErrSlashedValidator. Neither
//     debits an account;
//   - each transfer, deposit and withdraw: ErrBadSequence when its
//     sequence is not the sender's next one, ErrInsufficientBalance when
//     the sender's balance is below what it debits (amount plus fee, the
//     fee alone for a withdraw);
//   - then a transfer: ErrAmountOverflow when the recipient's balance
//     would overflow; a deposit (see stakeDeposit): ErrValidatorExists,
//     ErrTooManyValidators; a withdraw (see stakeWithdraw):
//     ErrUnknownValidator, ErrNotValidatorOwner, ErrValidatorExiting,
//     and for a partial one ErrWithdrawPending, ErrStakeBelowMinimum;
//   - the coinbase: ErrAmountOverflow when subsidy plus fees overflows,
//     ErrBadCoinbaseValue when its outputs pay more than that (checkValue
//     false skips this for the genesis block, whose outputs are the
//     network's initial allocation).
//
// b must have passed chain.CheckBlockSanity, so amounts plus fees, the
// fees and the coinbase outputs each fit in a uint64, and stake
// transactions appear only where the params enable stake. accounts,
// validators and fc.records are only read.
func connectDelta(accounts map[chain.Address]chain.Account, validators map[chain.PublicKey]chain.Validator, fc *finalityCtx, b *chain.Block, height int64, p *chain.Params, checkValue bool) (*stateDelta, error) {
	d := &stateDelta{
		next:       make(map[chain.Address]chain.Account, 2*len(b.Transactions)),
		nextVal:    make(map[chain.PublicKey]chain.Validator),
		nextFin:    make(map[string][]byte),
		totals:     make(map[uint64]uint64, 2),
		validators: len(validators),
	}
	if height == 0 && p.Consensus == chain.ConsensusPoS {
		// The genesis stake of a proof-of-stake chain (see
		// chain.DevPoSParamsFor): minted, like the genesis coinbase.
		d.setValidator(validators, p.GenesisValidator, chain.Validator{
			Owner: p.GenesisValidator.Address(), Stake: p.MinDeposit, ActivationEpoch: 1,
		})
	}
	if height > 0 && p.Consensus == chain.ConsensusPoS {
		beacon, err := checkSeal(func(k string) []byte { return fc.records[k] }, validators, b, height, p, fc.now)
		if err != nil {
			return nil, err
		}
		d.setFin(fc.records, storage.BeaconKey, storage.EncodeBeacon(beacon))
	}
	if p.IsEpochBoundary(height) {
		if err := d.unlockStakes(validators, fc.records, height, p, accounts); err != nil {
			return nil, err
		}
		d.pruneFinality(fc.records, p.Epoch(height))
	}
	var fees uint64
	for i := 1; i < len(b.Transactions); i++ {
		tx := &b.Transactions[i]
		if tx.Vote != nil {
			if err := d.countVote(fc, validators, accounts, tx.Vote, height, i, p); err != nil {
				return nil, err
			}
			continue
		}
		if _, ok := tx.Accused(); ok {
			if err := d.applySlash(fc, validators, accounts, tx, height, i, p); err != nil {
				return nil, err
			}
			continue
		}
		debit, _ := tx.Debit()
		from := debit.From.Address()
		sender := d.get(accounts, from)
		if debit.Sequence != sender.Sequence {
			return nil, ruleErr(chain.ErrBadSequence, "block at height %d: transaction %d from %v has sequence %d, want %d",
				height, i, from, debit.Sequence, sender.Sequence)
		}
		if sender.Balance < debit.Cost { // Cost cannot overflow after CheckBlockSanity
			return nil, ruleErr(chain.ErrInsufficientBalance, "block at height %d: transaction %d from %v spends %d, balance %d",
				height, i, from, debit.Cost, sender.Balance)
		}
		sender.Balance -= debit.Cost
		sender.Sequence++
		d.set(accounts, from, sender)
		var err error
		switch {
		case tx.Transfer != nil:
			err = d.credit(accounts, tx.Transfer.To, tx.Transfer.Amount, height)
		case tx.Deposit != nil:
			err = d.stakeDeposit(validators, tx.Deposit, from, height, i, p)
		case tx.Withdraw != nil:
			err = d.stakeWithdraw(validators, tx.Withdraw, from, height, i, p)
		}
		if err != nil {
			return nil, err
		}
		fees += debit.Fee // cannot overflow after CheckBlockSanity
	}

	cb := b.Transactions[0].Coinbase
	var paid uint64
	for _, out := range cb.Outputs {
		paid += out.Amount // cannot overflow after CheckBlockSanity
	}
	if checkValue {
		limit, carry := bits.Add64(chain.CalcBlockSubsidy(height, p), fees, 0)
		if carry != 0 {
			return nil, ruleErr(chain.ErrAmountOverflow, "block at height %d: subsidy plus fees overflows", height)
		}
		if paid > limit {
			return nil, ruleErr(chain.ErrBadCoinbaseValue, "block at height %d: coinbase pays %d, more than subsidy plus fees %d",
				height, paid, limit)
		}
	}
	for _, out := range cb.Outputs {
		if err := d.credit(accounts, out.Address, out.Amount, height); err != nil {
			return nil, err
		}
	}
	return d, nil
}

// credit adds amount to a's balance.
func (d *stateDelta) credit(accounts map[chain.Address]chain.Account, a chain.Address, amount uint64, height int64) error {
	acc := d.get(accounts, a)
	sum, carry := bits.Add64(acc.Balance, amount, 0)
	if carry != 0 {
		return ruleErr(chain.ErrAmountOverflow, "block at height %d: balance of %v overflows", height, a)
	}
	acc.Balance = sum
	d.set(accounts, a, acc)
	return nil
}

// applyEntries writes entries into accounts, deleting zero accounts.
func applyEntries(accounts map[chain.Address]chain.Account, entries []storage.AccountEntry) {
	for _, e := range entries {
		if e.Account == (chain.Account{}) {
			delete(accounts, e.Address)
		} else {
			accounts[e.Address] = e.Account
		}
	}
}

// applyValidators writes entries into validators, deleting zero ones.
func applyValidators(validators map[chain.PublicKey]chain.Validator, entries []storage.ValidatorEntry) {
	for _, e := range entries {
		if e.Validator == (chain.Validator{}) {
			delete(validators, e.Key)
		} else {
			validators[e.Key] = e.Validator
		}
	}
}
