package node

import (
	"errors"
	"maps"
	"testing"

	"github.com/powmine/powmine/chain"
)

// coin is one coin in base units.
const coin = chain.BaseUnitsPerCoin

// valKey returns the validator key of test validator i (accounts from 100
// on, never funded).
func valKey(i int) chain.PublicKey {
	pub, _ := testKey(100 + i)
	return pub
}

// deposit returns an unsigned deposit by account owner for validator v;
// signTxs signs it with both keys.
func deposit(tb testing.TB, owner, v int, amount, fee, seq uint64) chain.Transaction {
	tb.Helper()
	pub, priv := testKey(owner)
	vpub, vpriv := testKey(100 + v)
	signersMu.Lock()
	signers[pub], signers[vpub] = priv, vpriv
	signersMu.Unlock()
	return chain.Transaction{Deposit: &chain.Deposit{From: pub, Validator: vpub, Amount: amount, Fee: fee, Sequence: seq}}
}

// withdraw returns an unsigned withdraw by account owner for validator v.
func withdraw(tb testing.TB, owner, v int, fee, seq uint64) chain.Transaction {
	tb.Helper()
	pub, priv := testKey(owner)
	signersMu.Lock()
	signers[pub] = priv
	signersMu.Unlock()
	return chain.Transaction{Withdraw: &chain.Withdraw{From: pub, Validator: valKey(v), Fee: fee, Sequence: seq}}
}

// fullState is a copy of the node's account state and validator set.
type fullState struct {
	accounts   map[chain.Address]chain.Account
	validators map[chain.PublicKey]chain.Validator
}

func (h *harness) state() fullState {
	h.node.mu.RLock()
	defer h.node.mu.RUnlock()
	return fullState{maps.Clone(h.node.accounts), maps.Clone(h.node.validators)}
}

func (h *harness) wantState(want fullState) {
	h.tb.Helper()
	got := h.state()
	if !maps.Equal(got.accounts, want.accounts) || !maps.Equal(got.validators, want.validators) {
		h.tb.Fatalf("state\n%+v\nwant\n%+v", got, want)
	}
}

// wantSet fails unless the validator set of epoch holds exactly stakes.
func (h *harness) wantSet(epoch uint64, stakes map[chain.PublicKey]uint64) {
	h.tb.Helper()
	set, err := h.node.ValidatorSet(epoch)
	if err != nil {
		h.tb.Fatalf("ValidatorSet(%d): %v", epoch, err)
	}
	got := map[chain.PublicKey]uint64{}
	for i, v := range set {
		got[v.Key] = v.Stake
		if i > 0 && string(set[i-1].Key[:]) >= string(v.Key[:]) {
			h.tb.Fatalf("ValidatorSet(%d) not ordered by key", epoch)
		}
	}
	if !maps.Equal(got, stakes) {
		h.tb.Fatalf("ValidatorSet(%d) = %v, want %v", epoch, got, stakes)
	}
}

// TestStakeLifecycle: a deposit is active from the next epoch, a
// withdraw ends it at the next boundary, and the stake returns to the
// owner WithdrawDelayEpochs later, at that epoch's first block.
func TestStakeLifecycle(t *testing.T) {
	h := newHarness(t, false, Config{})
	start := h.node.Account(addr(0)).Balance
	b1 := h.next(h.genesis, 3, deposit(t, 0, 0, 20*coin, 7, 0)) // height 1, epoch 0
	h.mustProcess(b1)
	if got := h.node.Account(addr(0)); got.Balance != start-20*coin-7 || got.Sequence != 1 {
		t.Fatalf("owner after deposit: %+v", got)
	}
	want := chain.Validator{Owner: addr(0), Stake: 20 * coin, ActivationEpoch: 1}
	if v := h.node.Validator(valKey(0)); v != want {
		t.Fatalf("validator %+v, want %+v", v, want)
	}
	h.wantSet(0, map[chain.PublicKey]uint64{})
	if _, err := h.node.ValidatorSet(1); !errors.Is(err, ErrEpochUnavailable) {
		t.Fatalf("ValidatorSet of the next epoch: %v", err)
	}
	blocks := h.branch(b1, 4, 3, 1) // heights 2..5: 5 opens epoch 1
	h.mustProcess(blocks...)
	h.wantSet(1, map[chain.PublicKey]uint64{valKey(0): 20 * coin})
	b6 := h.next(blocks[3], 3, withdraw(t, 0, 0, 2, 1)) // height 6, epoch 1: exit at 2
	h.mustProcess(b6)
	h.wantSet(1, map[chain.PublicKey]uint64{valKey(0): 20 * coin})
	blocks = h.branch(b6, 4, 3, 1) // heights 7..10: 10 opens epoch 2
	h.mustProcess(blocks...)
	h.wantSet(2, map[chain.PublicKey]uint64{})
	h.wantSet(1, map[chain.PublicKey]uint64{valKey(0): 20 * coin}) // still within the delay
	if got := h.node.Account(addr(0)).Balance; got != start-20*coin-9 {
		t.Fatalf("stake unlocked early: balance %d", got)
	}
	blocks = h.branch(blocks[3], 4, 3, 1) // heights 11..14
	h.mustProcess(blocks...)
	before := h.state()
	b15 := h.next(blocks[3], 3) // height 15 opens epoch 3 = exit 2 + delay 1
	h.mustProcess(b15)
	if got := h.node.Account(addr(0)).Balance; got != start-9 {
		t.Fatalf("after the unlock the owner has %d, want %d", got, start-9)
	}
	if v := h.node.Validator(valKey(0)); v != (chain.Validator{}) {
		t.Fatalf("unlocked validator still registered: %+v", v)
	}
	if _, err := h.node.ValidatorSet(1); !errors.Is(err, ErrEpochUnavailable) {
		t.Fatalf("ValidatorSet past the delay: %v", err)
	}
	// Disconnecting the unlock block restores the stake exactly.
	h.node.writeMu.Lock()
	err := h.node.disconnectTip()
	h.node.writeMu.Unlock()
	if err != nil {
		t.Fatal(err)
	}
	h.checkInvariants()
	h.wantState(before)
}

// TestStakeConnectDisconnect: connecting a block of deposits, a withdraw
// and transfers, then disconnecting it, restores the full state.
func TestStakeConnectDisconnect(t *testing.T) {
	h := newHarness(t, false, Config{})
	b1 := h.next(h.genesis, 3, deposit(t, 0, 0, 20*coin, 1, 0))
	h.mustProcess(b1)
	before := h.state()
	b2 := h.next(b1, 3,
		deposit(t, 1, 1, 30*coin, 1, 0),
		withdraw(t, 0, 0, 1, 1),
		transfer(t, 1, 2, 5*coin, 1, 1),
		deposit(t, 2, 2, 10*coin, 0, 0))
	h.mustProcess(b2)
	if h.node.Validator(valKey(0)).ExitEpoch != 1 || h.node.Validator(valKey(2)).Stake != 10*coin {
		t.Fatalf("validators after b2: %+v", h.state().validators)
	}
	u, err := h.store.Undo(b2.Hash())
	if err != nil || len(u.Validators) != 3 {
		t.Fatalf("undo of b2: %+v, %v", u, err)
	}
	h.node.writeMu.Lock()
	err = h.node.disconnectTip()
	h.node.writeMu.Unlock()
	if err != nil {
		t.Fatal(err)
	}
	h.checkInvariants()
	h.wantState(before)
}

// TestStakeRules: each state rule refuses the block with its code and
// leaves the state as it was.
func TestStakeRules(t *testing.T) {
	h := newHarness(t, false, Config{})
	b1 := h.next(h.genesis, 3, deposit(t, 0, 0, 20*coin, 1, 0), withdraw(t, 0, 0, 1, 1))
	h.mustProcess(b1)
	tests := []struct {
		name string
		txs  []chain.Transaction
		code chain.ErrorCode
	}{
		{"key registered", []chain.Transaction{deposit(t, 1, 0, 20*coin, 1, 0)}, chain.ErrValidatorExists},
		{"key twice in a block", []chain.Transaction{deposit(t, 1, 1, 20*coin, 1, 0), deposit(t, 2, 1, 20*coin, 1, 0)}, chain.ErrValidatorExists},
		{"too many", []chain.Transaction{deposit(t, 1, 1, 20*coin, 1, 0), deposit(t, 2, 2, 20*coin, 1, 0), deposit(t, 3, 3, 20*coin, 1, 0)}, chain.ErrTooManyValidators},
		{"unknown", []chain.Transaction{withdraw(t, 1, 5, 1, 0)}, chain.ErrUnknownValidator},
		{"not the owner", []chain.Transaction{deposit(t, 1, 1, 20*coin, 1, 0), withdraw(t, 2, 1, 1, 0)}, chain.ErrNotValidatorOwner},
		{"already exiting", []chain.Transaction{withdraw(t, 0, 0, 1, 2)}, chain.ErrValidatorExiting},
		{"balance", []chain.Transaction{deposit(t, 1, 1, 1000*coin, 1, 0)}, chain.ErrInsufficientBalance},
		{"sequence", []chain.Transaction{deposit(t, 1, 1, 20*coin, 1, 1)}, chain.ErrBadSequence},
		{"below minimum", []chain.Transaction{deposit(t, 1, 1, 10*coin-1, 1, 0)}, chain.ErrDepositTooSmall},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			before := h.state()
			_, err := h.process(h.next(b1, 3, tc.txs...))
			wantCode(t, err, tc.code)
			h.wantTip(b1)
			h.wantState(before)
		})
	}
}

// TestStakeReorg: two branches with different deposits and withdraws;
// each reorganization leaves exactly the state of a replay of the winning
// branch (checkInvariants), balances and validator set included.
func TestStakeReorg(t *testing.T) {
	h := newHarness(t, false, Config{})
	// Branch A: validator 0 by owner 0 at height 1, withdrawn at height 6,
	// unlocked at height 15 (epoch 3).
	a := []*chain.Block{h.next(h.genesis, 3, deposit(t, 0, 0, 20*coin, 1, 0))}
	a = append(a, h.branch(a[0], 4, 3, 1)...)
	a = append(a, h.next(a[4], 3, withdraw(t, 0, 0, 1, 1)))
	a = append(a, h.branch(a[5], 9, 3, 1)...) // heights 7..15
	h.mustProcess(a...)
	if h.node.Validator(valKey(0)) != (chain.Validator{}) {
		t.Fatal("branch A: validator 0 not unlocked")
	}
	stateA := h.state()

	// Branch B forks after height 2, so validator 0 is registered there
	// too but never withdrawn: validators 1 (owner 1, withdrawn at height
	// 7, unlocked at 15) and 2 (owner 2) join at height 3.
	b := []*chain.Block{h.next(a[1], 2, deposit(t, 1, 1, 15*coin, 1, 0), deposit(t, 2, 2, 25*coin, 1, 0))} // height 3
	b = append(b, h.branch(b[0], 3, 2, 1)...)                                                              // 4..6
	b = append(b, h.next(b[3], 2, withdraw(t, 1, 1, 1, 1)))                                                // 7: exit epoch 2
	b = append(b, h.branch(b[4], 10, 2, 1)...)                                                             // 8..17
	h.mustProcess(b[:len(b)-3]...)                                                                         // up to 14: A is heavier
	h.wantTip(a[len(a)-1])
	h.mustProcess(b[len(b)-3:]...) // 15..17: B wins
	h.wantTip(b[len(b)-1])
	h.wantSet(3, map[chain.PublicKey]uint64{valKey(0): 20 * coin, valKey(2): 25 * coin})
	if v := h.node.Validator(valKey(1)); v != (chain.Validator{}) {
		t.Fatalf("validator 1 not unlocked at height 15 on B: %+v", v)
	}
	if h.node.Account(addr(1)).Balance != 1000*coin-2 {
		t.Fatalf("owner 1 on B: %+v", h.node.Account(addr(1)))
	}

	// Back to A, longer again: the state is A's, exactly.
	ext := h.branch(a[len(a)-1], 3, 3, 1)
	h.mustProcess(ext...)
	h.wantTip(ext[len(ext)-1])
	h.node.writeMu.Lock()
	for range ext {
		if err := h.node.disconnectTip(); err != nil {
			h.node.writeMu.Unlock()
			t.Fatal(err)
		}
	}
	h.node.writeMu.Unlock()
	h.wantState(stateA)
}
