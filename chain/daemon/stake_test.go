package daemon

import (
	"crypto/ed25519"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"testing"
	"time"

	"github.com/powmine/powmine/chain"
	"github.com/powmine/powmine/chain/template"
)

// TestStakeDepositMined: a deposit sent with sendrawtransaction goes
// through the mempool into a block template; the mined block registers
// the validator (active from the next epoch), and getvalidators,
// getblock and getaccount show it.
func TestStakeDepositMined(t *testing.T) {
	td := newTestDaemon(t)
	ownerKey := ed25519.NewKeyFromSeed(make([]byte, ed25519.SeedSize))
	valSeed := make([]byte, ed25519.SeedSize)
	valSeed[0] = 1
	valKey := ed25519.NewKeyFromSeed(valSeed)
	owner := chain.PublicKey(ownerKey.Public().(ed25519.PublicKey)).Address()
	td.miner = owner
	b1 := td.mineBlock(t)
	if e := td.call(t, nil, "submitblock", hexBlock(t, b1)); e != nil {
		t.Fatalf("submitblock: %+v", e)
	}

	dep := &chain.Deposit{Amount: 20 * chain.BaseUnitsPerCoin, Fee: 10_000, Sequence: 0}
	if err := dep.Sign(ownerKey, valKey, td.params.GenesisHash); err != nil {
		t.Fatal(err)
	}
	tx := chain.Transaction{Deposit: dep}
	raw, _ := tx.MarshalBinary()
	var txid string
	if e := td.call(t, &txid, "sendrawtransaction", hex.EncodeToString(raw)); e != nil || txid != tx.TxID().String() {
		t.Fatalf("sendrawtransaction: %+v, %s", e, txid)
	}

	td.setNow(time.Unix(int64(b1.Header.Timestamp)+5, 0))
	tpl, err := td.Template([]template.Payout{{Address: td.miner, Weight: 1}})
	if err != nil {
		t.Fatal(err)
	}
	if len(tpl.Transactions) != 2 || tpl.Transactions[1].TxID() != tx.TxID() || tpl.Fees != dep.Fee {
		t.Fatalf("template holds %d transactions, fees %d", len(tpl.Transactions), tpl.Fees)
	}
	b2, err := tpl.Block(make([]byte, tpl.ExtranonceSize), tpl.Header.Timestamp, 0)
	if err != nil {
		t.Fatal(err)
	}
	solve(t, &b2.Header)
	if e := td.call(t, nil, "submitblock", hexBlock(t, b2)); e != nil {
		t.Fatalf("submitblock: %+v", e)
	}
	if td.Node().Tip().Hash != b2.Hash() {
		t.Fatal("the template block is not the tip")
	}

	want := chain.Validator{Owner: owner, Stake: dep.Amount, ActivationEpoch: 1}
	if v := td.Node().Validator(dep.Validator); v != want {
		t.Fatalf("validator %+v, want %+v", v, want)
	}
	var set struct {
		Epoch      uint64
		Validators []struct{ Key, Owner string }
		TotalStake json.Number
	}
	if e := td.call(t, &set, "getvalidators"); e != nil || set.Epoch != 0 || len(set.Validators) != 0 || set.TotalStake.String() != "0.00000000" {
		t.Fatalf("getvalidators: %+v %+v", e, set)
	}
	if e := td.call(t, nil, "getvalidators", 1); e == nil || e.Code != -8 {
		t.Fatalf("getvalidators of the next epoch: %+v", e)
	}
	var decoded struct{ Tx []txJSON }
	td.call(t, &decoded, "getblock", b2.Hash().String(), 2)
	if len(decoded.Tx) != 2 || decoded.Tx[1].Type != "deposit" || decoded.Tx[1].Deposit.Validator != dep.Validator.String() {
		t.Fatalf("getblock: %+v", decoded.Tx)
	}
	var acct struct {
		Balance  json.Number
		Sequence uint64
	}
	td.call(t, &acct, "getaccount", owner.String())
	// 50 coins from b1, the deposit and its fee out, the fee back through
	// b2's coinbase, and b2's 50.
	if acct.Balance.String() != "80.00000000" || acct.Sequence != 1 {
		t.Fatalf("owner account %+v", acct)
	}
}

// mineTemplate mines the daemon's template block (its mempool's
// transactions, in the order the template puts them) 5 s after the tip,
// submits it and returns it.
func mineTemplate(t *testing.T, td *testDaemon) *chain.Block {
	t.Helper()
	td.setNow(time.Unix(int64(td.Node().Tip().Header.Timestamp)+5, 0))
	tpl, err := td.Template([]template.Payout{{Address: chain.Address{0x42}, Weight: 1}})
	if err != nil {
		t.Fatal(err)
	}
	b, err := tpl.Block(make([]byte, tpl.ExtranonceSize), tpl.Header.Timestamp, 0)
	if err != nil {
		t.Fatal(err)
	}
	solve(t, &b.Header)
	if _, err := td.SubmitBlock(b); err != nil || td.Node().Tip().Hash != b.Hash() {
		t.Fatalf("template block at height %d: %v (not the tip)", td.Node().Tip().Height+1, err)
	}
	return b
}

// send submits tx with sendrawtransaction.
func (td *testDaemon) send(t *testing.T, tx *chain.Transaction) {
	t.Helper()
	raw, err := tx.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	if e := td.call(t, nil, "sendrawtransaction", hex.EncodeToString(raw)); e != nil {
		t.Fatalf("sendrawtransaction of a %s: %+v", decodeTx(tx).Type, e)
	}
}

// TestGetBlockStakeTransactions: getblock at verbosity 2 decodes every
// kind of stake transaction, each under the field named by its type:
// deposits (validator, owner, amount, fee, sequence) in one block; then,
// once the validators are active, a vote (validator, source and target
// checkpoints, signature), a slash (offender, offence, reporter, the two
// votes) and a withdraw (validator, owner, fee, sequence; no amount) in
// another, all sent with sendrawtransaction and put in the blocks by the
// template.
func TestGetBlockStakeTransactions(t *testing.T) {
	now := time.Now()
	p := syncParams(t, now)
	p.EpochLength = 2
	td := startTestDaemon(t, now, Config{Params: p})
	key := func(seed byte) ed25519.PrivateKey {
		s := make([]byte, ed25519.SeedSize)
		s[0] = seed
		return ed25519.NewKeyFromSeed(s)
	}
	ownerKey, val1, val2 := key(1), key(2), key(3)
	owner := chain.PublicKey(ownerKey.Public().(ed25519.PublicKey)).Address()
	td.miner = owner
	mineOn(t, td, 1)

	deps := []*chain.Deposit{
		{Amount: 20 * chain.BaseUnitsPerCoin, Fee: 10_000, Sequence: 0},
		{Amount: 10 * chain.BaseUnitsPerCoin, Fee: 20_000, Sequence: 1},
	}
	for i, vk := range []ed25519.PrivateKey{val1, val2} {
		if err := deps[i].Sign(ownerKey, vk, p.GenesisHash); err != nil {
			t.Fatal(err)
		}
		td.send(t, &chain.Transaction{Deposit: deps[i]})
	}
	b2 := mineTemplate(t, td) // epoch 1: the validators are active from epoch 2
	mineTemplate(t, td)
	b4 := mineTemplate(t, td) // the checkpoint of epoch 2

	source := td.Node().Finality().Justified
	vote := &chain.Vote{Source: source, Target: chain.Checkpoint{Epoch: 2, Hash: b4.Hash()}}
	if err := vote.Sign(val1, p.GenesisHash); err != nil {
		t.Fatal(err)
	}
	va, vb := chain.Vote{Source: source, Target: vote.Target}, chain.Vote{Source: source, Target: chain.Checkpoint{Epoch: 2, Hash: chain.Hash{7}}}
	if err := errors.Join(va.Sign(val2, p.GenesisHash), vb.Sign(val2, p.GenesisHash)); err != nil {
		t.Fatal(err)
	}
	slash := &chain.Slash{Evidence: chain.NewEvidence(va, vb), Reporter: chain.Address{0x99}}
	withdraw := &chain.Withdraw{Validator: deps[0].Validator, Fee: 30_000, Sequence: 2}
	if err := withdraw.Sign(ownerKey, p.GenesisHash); err != nil {
		t.Fatal(err)
	}
	for _, tx := range []*chain.Transaction{{Vote: vote}, {Slash: slash}, {Withdraw: withdraw}} {
		td.send(t, tx)
	}
	b5 := mineTemplate(t, td)

	decoded := func(b *chain.Block) map[string]txJSON {
		t.Helper()
		var reply struct{ Tx []txJSON }
		if e := td.call(t, &reply, "getblock", b.Hash().String(), 2); e != nil {
			t.Fatal(e)
		}
		out := map[string]txJSON{}
		for _, tx := range reply.Tx {
			out[tx.TxID] = tx
		}
		if len(out) != len(b.Transactions) {
			t.Fatalf("getblock of block %v: %d transactions, the block %d", b.Hash(), len(out), len(b.Transactions))
		}
		return out
	}
	check := func(what string, got, want any) {
		t.Helper()
		if !reflect.DeepEqual(got, want) {
			t.Errorf("%s:\n got %+v\nwant %+v", what, got, want)
		}
	}
	ownerStr := owner.String()
	txs := decoded(b2)
	for i, dep := range deps {
		tx := chain.Transaction{Deposit: dep}
		got := txs[tx.TxID().String()]
		check(fmt.Sprintf("deposit %d", i), got, txJSON{TxID: tx.TxID().String(), Type: "deposit", Size: tx.SerializeSize(),
			Deposit: &stakeJSON{Validator: dep.Validator.String(), Owner: ownerStr, Amount: coins(dep.Amount), Fee: coins(dep.Fee), Sequence: dep.Sequence}})
	}

	voteJ := func(v *chain.Vote) voteJSON {
		return voteJSON{Validator: v.Validator.String(), Source: checkpointRef{Epoch: 0, Hash: p.GenesisHash.String()},
			Target: checkpointRef{Epoch: 2, Hash: v.Target.Hash.String()}, Signature: hex.EncodeToString(v.Signature[:])}
	}
	if source != (chain.Checkpoint{Epoch: 0, Hash: p.GenesisHash}) {
		t.Fatalf("justified checkpoint %v, want the genesis", source)
	}
	txs = decoded(b5)
	for _, c := range []struct {
		tx   chain.Transaction
		want txJSON
	}{
		{chain.Transaction{Vote: vote}, txJSON{Type: "vote", Vote: &voteJSON{}}},
		{chain.Transaction{Slash: slash}, txJSON{Type: "slash", Slash: &slashJSON{Offender: deps[1].Validator.String(), Offence: "double vote",
			Reporter: slash.Reporter.String(), Votes: []voteJSON{voteJ(&slash.Evidence.A), voteJ(&slash.Evidence.B)}}}},
		{chain.Transaction{Withdraw: withdraw}, txJSON{Type: "withdraw", Withdraw: &stakeJSON{Validator: withdraw.Validator.String(),
			Owner: ownerStr, Fee: coins(withdraw.Fee), Sequence: 2}}},
	} {
		id := c.tx.TxID().String()
		c.want.TxID, c.want.Size = id, c.tx.SerializeSize()
		if c.want.Vote != nil {
			*c.want.Vote = voteJ(vote)
		}
		check(c.want.Type, txs[id], c.want)
	}
}

// TestGetValidatorPartialWithdraw: a partial withdraw mined in epoch 2
// shows in getblock with its amount, in getvalidator (the whole stake, the
// amount and its unlock epoch) and in getvalidators (the epoch's weight,
// the amount and its unlock epoch), whose weight drops at epoch 3;
// getvalidator refuses a bad or unregistered key.
func TestGetValidatorPartialWithdraw(t *testing.T) {
	now := time.Now()
	p := syncParams(t, now)
	p.EpochLength = 2
	td := startTestDaemon(t, now, Config{Params: p})
	ownerSeed, valSeed := make([]byte, ed25519.SeedSize), make([]byte, ed25519.SeedSize)
	ownerSeed[0], valSeed[0] = 1, 2
	ownerKey, valKey := ed25519.NewKeyFromSeed(ownerSeed), ed25519.NewKeyFromSeed(valSeed)
	owner := chain.PublicKey(ownerKey.Public().(ed25519.PublicKey)).Address()
	td.miner = owner
	mineOn(t, td, 1)
	dep := &chain.Deposit{Amount: 20 * chain.BaseUnitsPerCoin, Fee: 10_000, Sequence: 0}
	if err := dep.Sign(ownerKey, valKey, p.GenesisHash); err != nil {
		t.Fatal(err)
	}
	td.send(t, &chain.Transaction{Deposit: dep})
	for range 3 { // heights 2..4: active from epoch 2 (height 4)
		mineTemplate(t, td)
	}
	w := &chain.Withdraw{Validator: dep.Validator, Amount: 5 * chain.BaseUnitsPerCoin, Fee: 10_000, Sequence: 1}
	if err := w.Sign(ownerKey, p.GenesisHash); err != nil {
		t.Fatal(err)
	}
	td.send(t, &chain.Transaction{Withdraw: w})
	b5 := mineTemplate(t, td) // epoch 2: weighs 15 from epoch 3
	unlock := 3 + p.WithdrawDelayEpochs

	var block struct{ Tx []txJSON }
	td.call(t, &block, "getblock", b5.Hash().String(), 2)
	if len(block.Tx) != 2 || block.Tx[1].Withdraw == nil || block.Tx[1].Withdraw.Amount != "5.00000000" {
		t.Fatalf("getblock: %+v", block.Tx)
	}
	var v struct {
		Owner                                   string
		Stake, Withdrawing, MinDeposit          json.Number
		ActivationEpoch, ExitEpoch, UnlockEpoch uint64
	}
	if e := td.call(t, &v, "getvalidator", dep.Validator.String()); e != nil || v.Owner != owner.String() || v.Stake != "20.00000000" ||
		v.Withdrawing != "5.00000000" || v.UnlockEpoch != unlock || v.ActivationEpoch != 2 || v.ExitEpoch != 0 || v.MinDeposit != "10.00000000" {
		t.Fatalf("getvalidator: %+v %+v", e, v)
	}
	type entry struct {
		Stake, Withdrawing json.Number
		UnlockEpoch        uint64
	}
	set := func() (entry, string) {
		t.Helper()
		var s struct {
			Validators []entry
			TotalStake json.Number
		}
		if e := td.call(t, &s, "getvalidators"); e != nil || len(s.Validators) != 1 {
			t.Fatalf("getvalidators: %+v %+v", e, s)
		}
		return s.Validators[0], s.TotalStake.String()
	}
	if got, total := set(); got != (entry{"20.00000000", "5.00000000", unlock}) || total != "20.00000000" {
		t.Fatalf("getvalidators in epoch 2: %+v, total %s", got, total)
	}
	mineTemplate(t, td) // height 6: epoch 3
	if got, total := set(); got != (entry{"15.00000000", "5.00000000", unlock}) || total != "15.00000000" {
		t.Fatalf("getvalidators in epoch 3: %+v, total %s", got, total)
	}
	if e := td.call(t, nil, "getvalidator", "00"); e == nil || e.Code != -8 {
		t.Fatalf("getvalidator of a short key: %+v", e)
	}
	if e := td.call(t, nil, "getvalidator", chain.PublicKey{7}.String()); e == nil || e.Code != -5 {
		t.Fatalf("getvalidator of an unregistered key: %+v", e)
	}
}
