package daemon

import (
	"crypto/ed25519"
	"encoding/hex"
	"encoding/json"
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
	if len(decoded.Tx) != 2 || decoded.Tx[1].Type != "deposit" || decoded.Tx[1].Stake.Validator != dep.Validator.String() {
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
