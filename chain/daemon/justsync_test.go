package daemon

import (
	"crypto/ed25519"
	"testing"
	"time"

	"github.com/powmine/powmine/chain"
	"github.com/powmine/powmine/chain/template"
)

// mineTo builds a block on td's tip from its template (mempool
// included), paying payout, 5 s after the tip, mines and submits it to
// td, and returns it.
func mineTo(t *testing.T, td *testDaemon, payout chain.Address) *chain.Block {
	t.Helper()
	tmpl, err := td.builder.NewTemplate([]template.Payout{{Address: payout, Weight: 1}}, td.testNow())
	if err != nil {
		t.Fatal(err)
	}
	tip := td.Node().Tip()
	b, err := tmpl.Block(make([]byte, tmpl.ExtranonceSize), max(tip.Header.Timestamp+5, tmpl.MinTimestamp), 0)
	if err != nil {
		t.Fatal(err)
	}
	solve(t, &b.Header)
	if _, err := td.SubmitBlock(b); err != nil {
		t.Fatal(err)
	}
	return b
}

// TestSyncTowardsJustified: two daemons of a hybrid proof-of-work chain
// with epochs of five blocks share a prefix in which three validators
// deposit; then, apart, daemon 0 mines three empty blocks (branch X, more
// work) and daemon 1 one block with two thirds of the votes for epoch 1
// (branch Y, which justifies epoch 1). Nobody produces after they
// connect, yet both end on Y: daemon 0's hello shows daemon 1 ahead by
// its justified epoch, the sync brings Y's block although daemon 0's
// best header is X's tip, and fork choice tries the lighter branch that
// carries votes and stays on it; daemon 1 does not move to X.
func TestSyncTowardsJustified(t *testing.T) {
	now := time.Now()
	p := syncParams(t, now)
	p.EpochLength = 5
	var tds [2]*testDaemon
	for i := range tds {
		tds[i] = startTestDaemon(t, now, Config{Params: p, DataDir: t.TempDir(), Network: &Network{Listen: loopback(t)}})
	}
	both := func(b *chain.Block) {
		t.Helper()
		if _, err := tds[1].SubmitBlock(b); err != nil {
			t.Fatal(err)
		}
	}
	owner := ed25519.NewKeyFromSeed(make([]byte, ed25519.SeedSize))
	var keys [3]ed25519.PrivateKey
	for i := range keys {
		seed := make([]byte, ed25519.SeedSize)
		seed[0] = byte(i + 1)
		keys[i] = ed25519.NewKeyFromSeed(seed)
	}
	both(mineTo(t, tds[0], chain.PublicKey(owner.Public().(ed25519.PublicKey)).Address()))
	for i, k := range keys {
		d := &chain.Deposit{Amount: finalityStake, Fee: 1000, Sequence: uint64(i)}
		if err := d.Sign(owner, k, p.GenesisHash); err != nil {
			t.Fatal(err)
		}
		if err := tds[0].acceptTransfer(&chain.Transaction{Deposit: d}); err != nil {
			t.Fatal(err)
		}
	}
	miner := chain.Address{0x42}
	if b := mineTo(t, tds[0], miner); len(b.Transactions) != 4 {
		t.Fatalf("block 2 has %d transactions, want the coinbase and 3 deposits", len(b.Transactions))
	} else {
		both(b)
	}
	var b5 *chain.Block
	for range 3 {
		b5 = mineTo(t, tds[0], miner)
		both(b5)
	}
	cp1 := chain.Checkpoint{Epoch: 1, Hash: b5.Hash()}
	g := chain.Checkpoint{Hash: p.GenesisHash}
	for range 3 {
		mineTo(t, tds[0], miner) // branch X
	}
	for _, k := range keys[:2] {
		v := &chain.Vote{Source: g, Target: cp1}
		if err := v.Sign(k, p.GenesisHash); err != nil {
			t.Fatal(err)
		}
		if err := tds[1].acceptTransfer(&chain.Transaction{Vote: v}); err != nil {
			t.Fatal(err)
		}
	}
	y := mineTo(t, tds[1], miner)
	x0, y1 := tds[0].Node().Tip(), tds[1].Node().Tip()
	if y1.Hash != y.Hash() || tds[1].Node().Finality().Justified != cp1 || tds[0].Node().Finality().Justified.Epoch != 0 || x0.Work.Cmp(y1.Work) <= 0 {
		t.Fatalf("branches: X at %d justified %+v, Y at %d justified %+v", x0.Height, tds[0].Node().Finality().Justified, y1.Height, tds[1].Node().Finality().Justified)
	}

	dial(t, tds[1], tds[0])
	waitFor(t, "both daemons on Y", func() bool {
		return tds[0].Node().Tip().Hash == y.Hash() && tds[1].Node().Tip().Hash == y.Hash()
	})
	if j := tds[0].Node().Finality().Justified; j != cp1 {
		t.Fatalf("daemon 0 justified %+v, want %+v", j, cp1)
	}
}
