package main

import (
	"crypto/ed25519"
	"encoding/json"
	"math/rand/v2"
	"path/filepath"
	"reflect"
	"testing"
	"time"

	"github.com/powmine/powmine/chain"
	"github.com/powmine/powmine/chain/daemon"
	"github.com/powmine/powmine/chain/store"
)

// TestCrashValidatorSet submits deposits, the two validators' votes that
// justify epoch 1, and a withdraw to the real node across an epoch
// boundary, kills it with SIGKILL, and checks that the restarted node
// reports the same validator sets, finality state (getfinality),
// validators' owner account and tip as before the kill, and that its
// store holds the validators and the finality records.
func TestCrashValidatorSet(t *testing.T) {
	dir := t.TempDir()
	params, err := daemon.DevParams(dir, time.Now().Add(-24*time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(1, 2))
	m := newCrashModel(t, params, rng)
	c := &crashRun{t: t, m: m, rng: rng, dir: dir, stored: make(map[chain.Hash]bool)}
	n := c.start()
	owner := m.keys[0]
	var valKeys [2]chain.PublicKey
	var valPrivs [2]ed25519.PrivateKey
	var deposits []chain.Transaction
	for i := range valKeys {
		_, vpriv, err := chain.GenerateKey(rand.NewChaCha8([32]byte{byte(i + 1)}))
		if err != nil {
			t.Fatal(err)
		}
		d := &chain.Deposit{Amount: uint64(20+5*i) * chain.BaseUnitsPerCoin, Fee: 1000, Sequence: uint64(i)}
		if err := d.Sign(owner, vpriv, params.GenesisHash); err != nil {
			t.Fatal(err)
		}
		valKeys[i], valPrivs[i] = d.Validator, vpriv
		deposits = append(deposits, chain.Transaction{Deposit: d})
	}
	w := &chain.Withdraw{Validator: valKeys[0], Fee: 1000, Sequence: 2}
	if err := w.Sign(owner, params.GenesisHash); err != nil {
		t.Fatal(err)
	}

	submit := func(b *crashBlock) {
		t.Helper()
		if reply, ok := n.submit(t, b); !ok || reply != "" {
			t.Fatalf("block at height %d: %q\n%s", b.height, reply, n.log)
		}
	}
	genesis := m.blocks[params.GenesisHash]
	tip := m.finish(genesis, []chain.Transaction{{}}, 0, m.addrs[0]) // funds the owner
	submit(tip)
	tip = m.finish(tip, append([]chain.Transaction{{}}, deposits...), 2000, m.addrs[1])
	submit(tip)
	for tip.height < params.EpochLength { // up to epoch 1's checkpoint
		tip = m.finish(tip, []chain.Transaction{{}}, 0, m.addrs[1])
		submit(tip)
	}
	votes := []chain.Transaction{{}}
	for _, vpriv := range valPrivs {
		v := &chain.Vote{Source: chain.Checkpoint{Hash: params.GenesisHash}, Target: chain.Checkpoint{Epoch: 1, Hash: tip.hash}}
		if err := v.Sign(vpriv, params.GenesisHash); err != nil {
			t.Fatal(err)
		}
		votes = append(votes, chain.Transaction{Vote: v})
	}
	tip = m.finish(tip, votes, 0, m.addrs[1])
	submit(tip)
	tip = m.finish(tip, []chain.Transaction{{}, {Withdraw: w}}, 1000, m.addrs[1])
	submit(tip)

	type view struct {
		Tip      string
		Sets     []json.RawMessage
		Finality json.RawMessage
		Account  json.RawMessage
	}
	look := func() view {
		t.Helper()
		var v view
		if err := n.call("getbestblockhash", &v.Tip); err != nil {
			t.Fatal(err)
		}
		for _, e := range []uint64{0, 1} {
			var set json.RawMessage
			if err := n.call("getvalidators", &set, e); err != nil {
				t.Fatal(err)
			}
			v.Sets = append(v.Sets, set)
		}
		if err := n.call("getfinality", &v.Finality); err != nil {
			t.Fatal(err)
		}
		if err := n.call("getaccount", &v.Account, m.addrs[0].String()); err != nil {
			t.Fatal(err)
		}
		return v
	}
	before := look()
	var set1 struct{ Validators []struct{ Key string } }
	if err := json.Unmarshal(before.Sets[1], &set1); err != nil || len(set1.Validators) != 2 {
		t.Fatalf("epoch 1 set before the kill: %s, %v", before.Sets[1], err)
	}
	var fin struct {
		Justified struct{ Epoch uint64 }
		Voted     uint64 `json:"epoch_voted_stake"`
	}
	if err := json.Unmarshal(before.Finality, &fin); err != nil || fin.Justified.Epoch != 1 || fin.Voted != 45*chain.BaseUnitsPerCoin {
		t.Fatalf("finality before the kill: %s, %v; want epoch 1 justified by both votes", before.Finality, err)
	}
	n.kill()
	n.wait(t)

	db, err := store.Open(filepath.Join(dir, "chain.db"), params)
	if err != nil {
		t.Fatal(err)
	}
	snap, err := db.Load()
	db.Close()
	if err != nil || len(snap.Validators) != 2 || len(snap.Finality) == 0 {
		t.Fatalf("stored validators and finality records: %+v, %v", snap, err)
	}
	for _, e := range snap.Validators {
		want := chain.Validator{Owner: m.addrs[0], Stake: 20 * chain.BaseUnitsPerCoin, ActivationEpoch: 1, ExitEpoch: 2}
		if e.Key == valKeys[1] {
			want = chain.Validator{Owner: m.addrs[0], Stake: 25 * chain.BaseUnitsPerCoin, ActivationEpoch: 1}
		}
		if e.Validator != want {
			t.Fatalf("stored validator %v: %+v, want %+v", e.Key, e.Validator, want)
		}
	}

	n = c.start()
	if after := look(); !reflect.DeepEqual(after, before) {
		a, _ := json.Marshal(after)
		b, _ := json.Marshal(before)
		t.Fatalf("after the restart %s\nbefore %s", a, b)
	}
	n.stop(t)
}
