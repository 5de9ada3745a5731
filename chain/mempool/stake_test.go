package mempool

import (
	"testing"

	"github.com/powmine/powmine/chain"
	"github.com/powmine/powmine/chain/node"
)

// *node.Node must satisfy StakeChain.
var _ StakeChain = (*node.Node)(nil)

// stakeChain is a fakeChain with a settable validator set.
type stakeChain struct {
	*fakeChain
	validators map[chain.PublicKey]chain.Validator
}

func newStakeChain() *stakeChain {
	return &stakeChain{fakeChain: newFakeChain(), validators: map[chain.PublicKey]chain.Validator{}}
}

func (c *stakeChain) Validator(k chain.PublicKey) chain.Validator {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.validators[k]
}

func (c *stakeChain) ValidatorCount() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.validators)
}

// valKey returns the key of test validator v (account 100+v).
func valKey(v int) chain.PublicKey {
	pub, _ := key(100 + v)
	return pub
}

// depositTx returns a deposit by account owner for validator v, signed
// for the dev network.
func depositTx(tb testing.TB, owner, v int, amount, fee, seq uint64) *chain.Transaction {
	tb.Helper()
	_, priv := key(owner)
	_, vpriv := key(100 + v)
	d := &chain.Deposit{Amount: amount, Fee: fee, Sequence: seq}
	if err := d.Sign(priv, vpriv, chain.DevParams.GenesisHash); err != nil {
		tb.Fatal(err)
	}
	return &chain.Transaction{Deposit: d}
}

// withdrawTx returns a withdraw (an exit) by account owner for validator
// v.
func withdrawTx(tb testing.TB, owner, v int, fee, seq uint64) *chain.Transaction {
	tb.Helper()
	return partialWithdrawTx(tb, owner, v, 0, fee, seq)
}

// partialWithdrawTx returns a withdraw of amount by account owner for
// validator v.
func partialWithdrawTx(tb testing.TB, owner, v int, amount, fee, seq uint64) *chain.Transaction {
	tb.Helper()
	_, priv := key(owner)
	w := &chain.Withdraw{Validator: valKey(v), Amount: amount, Fee: fee, Sequence: seq}
	if err := w.Sign(priv, chain.DevParams.GenesisHash); err != nil {
		tb.Fatal(err)
	}
	return &chain.Transaction{Withdraw: w}
}

const stakeCoin = chain.BaseUnitsPerCoin

// TestStakeAccept: deposits and withdraws enter the pool like transfers
// (sequence, balance, fee rate), are ordered with them, and are refused
// when the validator set at the tip refuses them.
func TestStakeAccept(t *testing.T) {
	c := newStakeChain()
	c.set(0, 100*stakeCoin, 0)
	c.set(1, 100*stakeCoin, 0)
	c.set(2, 5*stakeCoin, 0)
	c.validators[valKey(9)] = chain.Validator{Owner: addr(1), Stake: 10 * stakeCoin, ActivationEpoch: 1}
	c.validators[valKey(8)] = chain.Validator{Owner: addr(1), Stake: 10 * stakeCoin, ActivationEpoch: 1, ExitEpoch: 3}
	c.validators[valKey(7)] = chain.Validator{Owner: addr(1), Stake: 30 * stakeCoin, ActivationEpoch: 1, Withdrawing: 5 * stakeCoin, WithdrawEpoch: 2}
	c.validators[valKey(6)] = chain.Validator{Owner: addr(1), Stake: 20 * stakeCoin, ActivationEpoch: 1}
	p := newPool(t, c, 0)

	dep := depositTx(t, 0, 0, 20*stakeCoin, 5000, 0)
	tr := transfer(t, 0, 3, stakeCoin, 5000, 1)
	wd := withdrawTx(t, 1, 9, 9000, 0)
	mustAccept(t, p, dep, tr, wd)
	got := p.Transactions(10)
	if len(got) != 3 || got[0].TxID() != wd.TxID() || got[1].TxID() != dep.TxID() || got[2].TxID() != tr.TxID() {
		t.Fatalf("mining order %v", got)
	}

	tests := []struct {
		name   string
		tx     *chain.Transaction
		reason RejectReason
	}{
		{"same key pending", depositTx(t, 1, 0, 20*stakeCoin, 5000, 1), RejectStake},
		{"registered key", depositTx(t, 1, 9, 20*stakeCoin, 5000, 1), RejectStake},
		{"unknown validator", withdrawTx(t, 1, 5, 5000, 1), RejectStake},
		{"not the owner", withdrawTx(t, 0, 8, 5000, 2), RejectStake},
		{"exiting", withdrawTx(t, 1, 8, 5000, 1), RejectStake},
		{"partial pending", partialWithdrawTx(t, 1, 7, stakeCoin, 5000, 1), RejectStake},
		{"partial below the minimum", partialWithdrawTx(t, 1, 6, 10*stakeCoin+1, 5000, 1), RejectStake},
		{"partial on an exiting validator", partialWithdrawTx(t, 1, 8, stakeCoin, 5000, 1), RejectStake},
		{"below minimum", depositTx(t, 1, 1, stakeCoin, 5000, 1), RejectMalformed},
		{"balance", depositTx(t, 2, 1, 10*stakeCoin, 5000, 0), RejectInsufficientFunds},
		{"sequence gap", depositTx(t, 1, 1, 10*stakeCoin, 5000, 5), RejectSequenceGap},
		{"fee", depositTx(t, 1, 1, 10*stakeCoin, 0, 1), RejectFeeTooLow},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			wantReason(t, p.Accept(tc.tx), tc.reason)
		})
	}

	mustAccept(t, p, partialWithdrawTx(t, 1, 6, 10*stakeCoin, 5000, 1))

	// A plain Chain cannot check stake: refused.
	plain := newFakeChain()
	plain.set(0, 100*stakeCoin, 0)
	wantReason(t, newPool(t, plain, 0).Accept(depositTx(t, 0, 0, 20*stakeCoin, 5000, 0)), RejectStake)
}

// TestStakeFullSet: pending deposits count towards MaxValidators.
func TestStakeFullSet(t *testing.T) {
	c := newStakeChain()
	params := chain.DevParams
	params.MaxValidators = 2
	c.set(0, 100*stakeCoin, 0)
	c.validators[valKey(9)] = chain.Validator{Owner: addr(1), Stake: 10 * stakeCoin, ActivationEpoch: 1}
	p := newPoolFor(t, &params, c, 0)
	mustAccept(t, p, depositTx(t, 0, 0, 20*stakeCoin, 5000, 0))
	wantReason(t, p.Accept(depositTx(t, 0, 1, 20*stakeCoin, 5000, 1)), RejectStake)
}

// TestStakeRevalidate: when the tip registers a key another way, the
// pending deposit for it and the sender's later transactions go.
func TestStakeRevalidate(t *testing.T) {
	c := newStakeChain()
	c.set(0, 100*stakeCoin, 0)
	c.set(1, 100*stakeCoin, 0)
	p := newPool(t, c, 0)
	dep := depositTx(t, 0, 0, 20*stakeCoin, 5000, 0)
	later := transfer(t, 0, 3, stakeCoin, 5000, 1)
	other := transfer(t, 1, 3, stakeCoin, 5000, 0)
	mustAccept(t, p, dep, later, other)
	// A block (from elsewhere) registered validator 0 for account 1.
	c.mu.Lock()
	c.validators[valKey(0)] = chain.Validator{Owner: addr(1), Stake: 10 * stakeCoin, ActivationEpoch: 1}
	c.mu.Unlock()
	p.BlockConnected(&chain.Block{})
	if p.Has(dep.TxID()) || p.Has(later.TxID()) || !p.Has(other.TxID()) {
		t.Fatalf("after revalidation: deposit %v, later %v, other %v", p.Has(dep.TxID()), p.Has(later.TxID()), p.Has(other.TxID()))
	}
	// The mined deposit's own sender is revalidated too: a block with it
	// removes it from the pool.
	dep2 := depositTx(t, 1, 1, 20*stakeCoin, 5000, 1)
	mustAccept(t, p, dep2)
	c.set(1, 80*stakeCoin, 2)
	p.BlockConnected(&chain.Block{Transactions: []chain.Transaction{*other, *dep2}})
	if p.Has(dep2.TxID()) || p.Has(other.TxID()) {
		t.Fatal("mined transactions still pending")
	}
}
