package node

import (
	"testing"

	"github.com/powmine/powmine/chain"
)

// partialWithdraw returns an unsigned withdraw of amount by account owner
// for validator v.
func partialWithdraw(tb testing.TB, owner, v int, amount, fee, seq uint64) chain.Transaction {
	tb.Helper()
	tx := withdraw(tb, owner, v, fee, seq)
	tx.Withdraw.Amount = amount
	return tx
}

// disconnect disconnects h's tip.
func (h *harness) disconnect() {
	h.tb.Helper()
	h.node.writeMu.Lock()
	err := h.node.disconnectTip()
	h.node.writeMu.Unlock()
	if err != nil {
		h.tb.Fatal(err)
	}
	h.checkInvariants()
}

// TestPartialWithdrawLifecycle: a partial withdraw in epoch 1 leaves the
// validator active; its weight (validator set, finality totals and vote
// support) drops by the amount exactly at the boundary of epoch 2, and
// the amount stays locked until epoch 3's first block credits it to the
// owner. Disconnecting each of those blocks restores the state exactly.
func TestPartialWithdrawLifecycle(t *testing.T) {
	h := newHarness(t, false, Config{})
	start := h.node.Account(addr(0)).Balance
	b1 := h.next(h.genesis, 3, deposit(t, 0, 0, 30*coin, 0, 0), deposit(t, 1, 1, 10*coin, 0, 0))
	blocks := append([]*chain.Block{b1}, h.branch(b1, 4, 3, 1)...) // up to height 5, epoch 1
	h.mustProcess(blocks...)
	beforeWithdraw := h.state()
	b6 := h.next(blocks[4], 3, partialWithdraw(t, 0, 0, 20*coin, 1, 1)) // epoch 1
	h.mustProcess(b6)
	want := chain.Validator{Owner: addr(0), Stake: 30 * coin, ActivationEpoch: 1, Withdrawing: 20 * coin, WithdrawEpoch: 2}
	if v := h.node.Validator(valKey(0)); v != want {
		t.Fatalf("validator %+v, want %+v", v, want)
	}
	h.wantSet(1, map[chain.PublicKey]uint64{valKey(0): 30 * coin, valKey(1): 10 * coin})

	rest := h.branch(b6, 3, 3, 1) // heights 7..9
	h.mustProcess(rest...)
	if info := h.node.Finality(); info.EpochStake != 40*coin {
		t.Fatalf("epoch 1 stake %d, want 40 coins", info.EpochStake)
	}
	b10 := h.next(rest[2], 3) // opens epoch 2
	h.mustProcess(b10)
	h.wantSet(2, map[chain.PublicKey]uint64{valKey(0): 10 * coin, valKey(1): 10 * coin})
	h.wantSet(1, map[chain.PublicKey]uint64{valKey(0): 30 * coin, valKey(1): 10 * coin})
	if got := h.node.Account(addr(0)).Balance; got != start-30*coin-1 {
		t.Fatalf("owner has %d in the lock, want %d", got, start-30*coin-1)
	}
	// Validator 0's vote alone, 10 of 20, is below two thirds (its old 30
	// of 40 would justify); with validator 1's, 20 of 20 justify (20 of
	// the old total 40 would not).
	g, cp2 := h.genesisCP(), h.cpOf(b10)
	b11 := h.next(b10, 3, h.vote(0, g, cp2))
	h.mustProcess(b11)
	if info := h.node.Finality(); info.EpochStake != 20*coin || info.EpochVoted != 10*coin || info.Justified.Epoch != 0 {
		t.Fatalf("epoch 2 finality %+v, want 10 of 20 coins voted, nothing justified", info)
	}
	b12 := h.next(b11, 3, h.vote(1, g, cp2))
	h.mustProcess(b12)
	if info := h.node.Finality(); info.Justified != cp2 {
		t.Fatalf("epoch 2 finality %+v, want epoch 2 justified", info)
	}

	rest = h.branch(b12, 2, 3, 1) // heights 13..14
	h.mustProcess(rest...)
	before := h.state()
	b15 := h.next(rest[1], 3) // opens epoch 3 = 2 + WithdrawDelayEpochs
	h.mustProcess(b15)
	want = chain.Validator{Owner: addr(0), Stake: 10 * coin, ActivationEpoch: 1}
	if v := h.node.Validator(valKey(0)); v != want {
		t.Fatalf("validator after the unlock %+v, want %+v", v, want)
	}
	if got := h.node.Account(addr(0)).Balance; got != start-10*coin-1+h.p.VoteReward {
		t.Fatalf("owner has %d after the unlock, want %d", got, start-10*coin-1+h.p.VoteReward)
	}
	h.wantSet(3, map[chain.PublicKey]uint64{valKey(0): 10 * coin, valKey(1): 10 * coin})
	h.wantSet(2, map[chain.PublicKey]uint64{valKey(0): 10 * coin, valKey(1): 10 * coin})
	// At MinDeposit now, the validator may not withdraw part of its stake
	// any more, but may exit.
	_, err := h.process(h.next(b15, 3, partialWithdraw(t, 0, 0, 1, 1, 2)))
	wantCode(t, err, chain.ErrStakeBelowMinimum)
	h.mustProcess(h.next(b15, 3, withdraw(t, 0, 0, 1, 2)))
	h.checkInvariants()
	// Disconnecting undoes the second withdraw, the unlock, then down to
	// the first withdraw, exactly.
	h.disconnect()
	h.disconnect()
	h.wantState(before)
	for range 9 { // heights 14..6
		h.disconnect()
	}
	h.wantState(beforeWithdraw)
}

// TestPartialWithdrawRules: each bad withdraw refuses the block with its
// code and leaves the state as it was; the good edge cases pass.
func TestPartialWithdrawRules(t *testing.T) {
	h := newHarness(t, false, Config{})
	b1 := h.next(h.genesis, 3,
		deposit(t, 0, 0, 30*coin, 1, 0), partialWithdraw(t, 0, 0, 5*coin, 1, 1), // validator 0: 5 pending
		deposit(t, 1, 1, 20*coin, 1, 0),
		deposit(t, 2, 2, 20*coin, 1, 0), withdraw(t, 2, 2, 1, 1)) // validator 2: exiting
	h.mustProcess(b1)
	tests := []struct {
		name string
		tx   chain.Transaction
		code chain.ErrorCode
	}{
		{"below the minimum", partialWithdraw(t, 1, 1, 10*coin+1, 1, 1), chain.ErrStakeBelowMinimum},
		{"above the stake", partialWithdraw(t, 1, 1, 21*coin, 1, 1), chain.ErrStakeBelowMinimum},
		{"second pending", partialWithdraw(t, 0, 0, 1*coin, 1, 2), chain.ErrWithdrawPending},
		{"exiting", partialWithdraw(t, 2, 2, 1*coin, 1, 2), chain.ErrValidatorExiting},
		{"not the owner", partialWithdraw(t, 3, 1, 1*coin, 1, 0), chain.ErrNotValidatorOwner},
		{"unknown", partialWithdraw(t, 3, 5, 1*coin, 1, 0), chain.ErrUnknownValidator},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			before := h.state()
			_, err := h.process(h.next(b1, 3, tc.tx))
			wantCode(t, err, tc.code)
			h.wantTip(b1)
			h.wantState(before)
		})
	}
	// Down to exactly MinDeposit is fine; an exit is accepted while a
	// partial withdraw is pending; a withdraw of the whole stake is an
	// exit.
	b2 := h.next(b1, 3, partialWithdraw(t, 1, 1, 10*coin, 1, 1), withdraw(t, 0, 0, 1, 2))
	h.mustProcess(b2)
	if v := h.node.Validator(valKey(1)); v.Withdrawing != 10*coin || v.ExitEpoch != 0 {
		t.Fatalf("validator 1 %+v, want 10 coins withdrawing", v)
	}
	if v := h.node.Validator(valKey(0)); v.ExitEpoch != 1 || v.Withdrawing != 5*coin {
		t.Fatalf("validator 0 %+v, want an exit at epoch 1 with the partial still recorded", v)
	}
	b3 := h.next(b2, 3, partialWithdraw(t, 1, 1, 20*coin, 1, 2))
	h.mustProcess(b3)
	if v := h.node.Validator(valKey(1)); v.ExitEpoch != 1 {
		t.Fatalf("validator 1 after withdrawing its whole stake: %+v, want an exit", v)
	}
	// An exit pays the whole stake, a pending partial included, once.
	start0, start1 := h.node.Account(addr(0)).Balance, h.node.Account(addr(1)).Balance
	h.mustProcess(h.branch(b3, 8, 3, 1)...) // heights 4..11: epoch 2 = exit 1 + delay 1 at 10
	if got := h.node.Account(addr(0)).Balance; got != start0+30*coin {
		t.Fatalf("owner 0 got %d back, want the 30-coin stake", got-start0)
	}
	if got := h.node.Account(addr(1)).Balance; got != start1+20*coin {
		t.Fatalf("owner 1 got %d back, want the 20-coin stake", got-start1)
	}
	h.checkInvariants()
}

// TestPartialWithdrawSlashed: a validator slashed while a partial
// withdraw is locked loses it too: the reporter's share is of the whole
// stake, the locked amount is burned at its unlock, the rest at the
// exit's, and the owner gets nothing back.
func TestPartialWithdrawSlashed(t *testing.T) {
	h := newHarness(t, false, Config{})
	b1 := h.next(h.genesis, 3, deposit(t, 0, 0, 32*coin, 0, 0))
	blocks := append([]*chain.Block{b1}, h.branch(b1, 4, 3, 1)...)
	blocks = append(blocks, h.next(blocks[4], 3, partialWithdraw(t, 0, 0, 12*coin, 0, 1))) // height 6: unlocks at epoch 3
	h.mustProcess(blocks...)
	owner := h.node.Account(addr(0)).Balance
	rest := h.branch(blocks[5], 4, 3, 1) // 7..10
	b11 := h.next(rest[3], 3, h.slash(0, 5))
	h.mustProcess(append(rest, b11)...)
	if got := h.node.Account(addr(5)).Balance; got != 2*coin {
		t.Fatalf("reporter has %d, want 2 coins (32/16)", got)
	}
	rest = h.branch(b11, 4, 3, 1) // 12..15: epoch 3 at 15 unlocks the partial
	h.mustProcess(rest...)
	want := chain.Validator{Owner: addr(0), Stake: 20 * coin, ActivationEpoch: 1, ExitEpoch: 3}
	if v := h.node.Validator(valKey(0)); v != want {
		t.Fatalf("validator after the partial's unlock %+v, want %+v", v, want)
	}
	h.mustProcess(h.branch(rest[3], 5, 3, 1)...) // 16..20: epoch 4 = exit 3 + delay 1
	if v := h.node.Validator(valKey(0)); v != (chain.Validator{}) {
		t.Fatalf("slashed validator not removed: %+v", v)
	}
	if got := h.node.Account(addr(0)).Balance; got != owner {
		t.Fatalf("slashed owner got %d back", got-owner)
	}
	h.checkInvariants()
}

// TestScheduleWeighsPartialWithdraw: the proposer election weighs a
// validator with a partial withdraw by its whole stake until
// chain.ElectionDelayEpochs after the withdraw's epoch (its amount would
// otherwise place the others' stretches against a known seed), by what
// remains from then on.
func TestScheduleWeighsPartialWithdraw(t *testing.T) {
	c := newPosChain(t)
	big, small := pubOf(posKey(1)), pubOf(posKey(2))
	const stakeEpoch = 5
	for _, tc := range []struct {
		withdrawEpoch uint64
		equal         bool // the big validator weighs what remains: 10 coins, as the small one
	}{
		{stakeEpoch, false},
		{stakeEpoch - 2, false},
		{stakeEpoch - 3, true},
	} {
		validators := map[chain.PublicKey]chain.Validator{
			big:   {Stake: 1_000_000 * coin, ActivationEpoch: 1, Withdrawing: 1_000_000*coin - 10*coin, WithdrawEpoch: tc.withdrawEpoch},
			small: {Stake: 10 * coin, ActivationEpoch: 1},
		}
		sched, err := schedule(validators, c.p, stakeEpoch*c.p.EpochLength, 9, chain.Hash{1})
		if err != nil {
			t.Fatal(err)
		}
		drawn := 0
		for slot := range uint64(200) {
			if sched.Proposer(slot) == small {
				drawn++
			}
		}
		if tc.equal && (drawn < 50 || drawn > 150) || !tc.equal && drawn > 2 {
			t.Errorf("withdraw epoch %d, stake epoch %d: the small validator proposes %d of 200 slots (equal weights: %v)",
				tc.withdrawEpoch, stakeEpoch, drawn, tc.equal)
		}
	}
}

// TestPoSPartialWithdrawUnlock: on a proof-of-stake chain a partial
// withdraw is paid back no earlier than chain.ElectionDelayEpochs after
// its epoch, even when WithdrawDelayEpochs is shorter, so that the
// election's weight never drops before its delay.
func TestPoSPartialWithdrawUnlock(t *testing.T) {
	c := newPosChain(t)
	if c.p.WithdrawDelayEpochs >= chain.ElectionDelayEpochs {
		c.p.WithdrawDelayEpochs = chain.ElectionDelayEpochs - 1
	}
	v := chain.Validator{Stake: 30 * coin, ActivationEpoch: 1, Withdrawing: 10 * coin, WithdrawEpoch: 4}
	if got := v.UnlockEpoch(c.p); got != 4+chain.ElectionDelayEpochs {
		t.Fatalf("pos: unlock epoch %d, want %d", got, 4+chain.ElectionDelayEpochs)
	}
	pow := *c.p
	pow.Consensus = chain.ConsensusPoW
	if got := v.UnlockEpoch(&pow); got != 4+pow.WithdrawDelayEpochs {
		t.Fatalf("pow: unlock epoch %d, want %d", got, 4+pow.WithdrawDelayEpochs)
	}
	for e, want := range map[uint64]uint64{3: 30 * coin, 4: 30 * coin, 6: 30 * coin, 7: 20 * coin} {
		if got := v.ElectionStakeAt(e); got != want {
			t.Errorf("election stake at epoch %d: %d, want %d", e, got, want)
		}
	}
	if got := v.StakeAt(4); got != 20*coin {
		t.Errorf("vote weight at the withdraw epoch: %d, want 20 coins", got)
	}
}

// TestPoSPartialWithdrawUnlockConnected: the same through blocks: a
// partial withdraw on a proof-of-stake chain with WithdrawDelayEpochs 2
// is still pending at WithdrawEpoch + 2 and paid back at WithdrawEpoch +
// chain.ElectionDelayEpochs.
func TestPoSPartialWithdrawUnlockConnected(t *testing.T) {
	c := newPosChain(t)
	c.p.WithdrawDelayEpochs = 2
	k := pubOf(posKey(1))
	slot := uint64(1)
	// next connects the genesis validator's block in the next slot it is
	// elected to, with txs.
	next := func(txs ...chain.Transaction) {
		t.Helper()
		for ; ; slot++ {
			info, err := c.n.Proposer(slot)
			if err != nil {
				t.Fatal(err)
			}
			if info.Proposer == pubOf(c.priv) {
				break
			}
		}
		c.at(slot)
		if _, err := c.n.ProcessBlock(c.good(slot, txs...)); err != nil {
			t.Fatalf("slot %d: %v", slot, err)
		}
		slot++
	}
	next(c.deposit(1, 2*c.p.MinDeposit, 0))
	w := chain.Withdraw{From: pubOf(c.priv), Validator: k, Amount: c.p.MinDeposit, Sequence: 1}
	if err := w.Sign(c.priv, c.p.GenesisHash); err != nil {
		t.Fatal(err)
	}
	next(chain.Transaction{Withdraw: &w})
	v := c.n.Validator(k)
	if v.Withdrawing != c.p.MinDeposit {
		t.Fatalf("validator %+v, want %d withdrawing", v, c.p.MinDeposit)
	}
	for c.p.Epoch(c.n.Tip().Height) < v.WithdrawEpoch+c.p.WithdrawDelayEpochs {
		next()
	}
	if got := c.n.Validator(k); got.Withdrawing != c.p.MinDeposit || got.Stake != 2*c.p.MinDeposit {
		t.Fatalf("epoch %d: validator %+v, want the partial still locked", c.p.Epoch(c.n.Tip().Height), got)
	}
	for c.p.Epoch(c.n.Tip().Height) < v.WithdrawEpoch+chain.ElectionDelayEpochs {
		next()
	}
	if got := c.n.Validator(k); got.Withdrawing != 0 || got.Stake != c.p.MinDeposit {
		t.Fatalf("epoch %d: validator %+v, want the partial paid back", c.p.Epoch(c.n.Tip().Height), got)
	}
}
