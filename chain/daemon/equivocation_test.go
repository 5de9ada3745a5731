package daemon

import (
	"bytes"
	"crypto/ed25519"
	"testing"
	"time"

	"github.com/powmine/powmine/chain"
	"github.com/powmine/powmine/chain/pos"
)

// TestProposerEquivocationSlashed: two daemons of a proof-of-stake chain
// whose only validator is daemon 0's key. When daemon 1 is handed a
// second block that key sealed for a slot it already filled, daemon 1
// sends a proposer slash (paying its own key's address), gossip brings
// it to daemon 0, whose proposer puts it in a block, and on both nodes
// the validator is slashed: it exits at the next epoch and the reporter
// holds Stake/SlashReporterShareDenom.
func TestProposerEquivocationSlashed(t *testing.T) {
	if testing.Short() {
		t.Skip("two networked daemons for a few seconds")
	}
	keys, p, d0, d1 := slashPair(t, 8, chain.Address{})
	pub0 := chain.PublicKey(keys[0].Public().(ed25519.PublicKey))
	reporter := chain.PublicKey(keys[1].Public().(ed25519.PublicKey)).Address()
	waitSlots(t, "two blocks on daemon 1", 30*time.Second, func() bool { return d1.Node().Tip().Height >= 2 })

	// The equivocation: daemon 1's tip again, paying someone else, sealed
	// by the same key for the same slot.
	tip, err := d1.Node().Block(d1.Node().Tip().Hash)
	if err != nil {
		t.Fatal(err)
	}
	var s pos.Seal
	if err := s.UnmarshalBinary(tip.Seal[:]); err != nil {
		t.Fatal(err)
	}
	twin := &chain.Block{Header: tip.Header, Transactions: append([]chain.Transaction(nil), tip.Transactions...)}
	cb := *tip.Transactions[0].Coinbase
	cb.Outputs = []chain.Output{{Address: chain.Address{0x99}, Amount: cb.Outputs[0].Amount}}
	twin.Transactions[0] = chain.Transaction{Coinbase: &cb}
	twin.Header.MerkleRoot, _ = twin.MerkleRoot()
	seal, err := pos.NewSeal(keys[0], p.GenesisHash, s.Slot, twin.Hash(), s.Reveal)
	if err != nil {
		t.Fatal(err)
	}
	enc, _ := seal.MarshalBinary()
	twin.Seal = (*chain.BlockSeal)(enc)
	d1.SubmitBlock(twin) // a side branch or refused: either way seen

	stake := p.MinDeposit
	share := stake / p.SlashReporterShareDenom
	for i, td := range []*testDaemon{d0, d1} {
		waitSlots(t, "the slash on both daemons", 30*time.Second, func() bool {
			return td.Node().Validator(pub0).ExitEpoch != 0 && td.Node().Account(reporter).Balance == share
		})
		if v := td.Node().Validator(pub0); v.ExitEpoch == 0 || v.Stake != stake {
			t.Fatalf("daemon %d: validator %+v", i, v)
		}
	}
	t.Logf("slashed at height %d; reporter credited %d of %d", d0.Node().Tip().Height, share, stake)

	// getblock's decoding of the slash, in the block that carries it.
	want := proposerSlashJSON{Offender: pub0.String(), Slot: s.Slot, Reporter: reporter.String()}
	first, second := tip.Hash(), twin.Hash()
	if bytes.Compare(first[:], second[:]) > 0 { // the evidence's canonical order
		first, second = second, first
	}
	want.Headers = [2]string{first.String(), second.String()}
	found := false
	for h := d0.Node().Tip().Height; h > 0 && !found; h-- {
		info, _ := d0.Node().BlockByHeight(h)
		b, err := d0.Node().Block(info.Hash)
		if err != nil {
			t.Fatal(err)
		}
		for i := range b.Transactions {
			if b.Transactions[i].ProposerSlash == nil {
				continue
			}
			j := decodeTx(&b.Transactions[i])
			if j.Type != "proposer_slash" || j.ProposerSlash == nil || *j.ProposerSlash != want {
				t.Fatalf("getblock shows the proposer slash as %+v (%+v), want %+v", j, j.ProposerSlash, want)
			}
			found = true
		}
	}
	if !found {
		t.Fatal("no block of daemon 0's chain carries the proposer slash")
	}
}

// TestDoubleVoteSlashed: two daemons of a proof-of-stake chain whose only
// validator is daemon 0's key. That key signs two votes for the same
// target epoch (the next one, for two made-up checkpoints). The first is
// sent to daemon 0, whose mempool takes it (its checkpoint may yet come)
// and gossips it to daemon 1. The second reaches daemon 1 alone: sent
// (sendrawtransaction's path), where its mempool refuses it, a vote of
// that key for that epoch being pending; or in a block, which daemon 1
// refuses. Either way daemon 1's vote watch sees it first and daemon 1
// sends a slash (paying its own key's address), gossip brings it to
// daemon 0, whose proposer puts it in a block, and on both nodes the
// validator is slashed: it exits at the next epoch and the reporter holds
// Stake/SlashReporterShareDenom.
func TestDoubleVoteSlashed(t *testing.T) {
	if testing.Short() {
		t.Skip("two networked daemons for a few seconds")
	}
	for _, inBlock := range []bool{false, true} {
		name := "sent"
		if inBlock {
			name = "in a block"
		}
		t.Run(name, func(t *testing.T) { testDoubleVoteSlashed(t, inBlock) })
	}
}

func testDoubleVoteSlashed(t *testing.T, inBlock bool) {
	// Sent: daemon 1 pays its validator key's address; in a block: the
	// address it was given (Config.SlashReporter).
	var reporter chain.Address
	if inBlock {
		reporter = chain.Address{0x5a, 0x11}
	}
	keys, p, d0, d1 := slashPair(t, 16, reporter)
	pub0 := chain.PublicKey(keys[0].Public().(ed25519.PublicKey))
	if !inBlock {
		reporter = chain.PublicKey(keys[1].Public().(ed25519.PublicKey)).Address()
	}
	// Early in an epoch on both daemons, so that daemon 0's validator
	// does not vote for the next epoch before the test's votes are seen
	// (its vote would make daemon 0 the reporter).
	waitSlots(t, "the start of an epoch", 30*time.Second, func() bool {
		h0, h1 := d0.Node().Tip().Height, d1.Node().Tip().Height
		return h0 == h1 && h0%p.EpochLength >= 1 && h0%p.EpochLength <= 4
	})
	target := p.Epoch(d0.Node().Tip().Height) + 1
	vote := func(hash byte) *chain.Transaction {
		v := chain.Vote{Source: chain.Checkpoint{Epoch: 0, Hash: p.GenesisHash}, Target: chain.Checkpoint{Epoch: target, Hash: chain.Hash{hash}}}
		if err := v.Sign(keys[0], p.GenesisHash); err != nil {
			t.Fatal(err)
		}
		return &chain.Transaction{Vote: &v}
	}
	first, second := vote(1), vote(2)
	if err := d0.SendTransaction(first); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the first vote on daemon 1", func() bool { return d1.pool.Has(first.TxID()) })
	if inBlock {
		// Not a valid block (no seal, no coinbase): daemon 1 refuses it,
		// but has seen the vote in it.
		if _, err := d1.SubmitBlock(&chain.Block{Header: chain.Header{PrevBlock: d1.Node().Tip().Hash}, Transactions: []chain.Transaction{*second}}); err == nil {
			t.Fatal("a block without a seal was accepted")
		}
	} else if err := d1.SendTransaction(second); err == nil {
		t.Fatal("the mempool took a second vote of one key for one target epoch")
	}

	stake := p.MinDeposit
	share := stake / p.SlashReporterShareDenom
	for i, td := range []*testDaemon{d0, d1} {
		waitSlots(t, "the slash on both daemons", 30*time.Second, func() bool {
			return td.Node().Validator(pub0).ExitEpoch != 0 && td.Node().Account(reporter).Balance == share
		})
		if v := td.Node().Validator(pub0); v.ExitEpoch == 0 || v.Stake != stake {
			t.Fatalf("daemon %d: validator %+v", i, v)
		}
	}
	t.Logf("slashed at height %d; reporter credited %d of %d", d0.Node().Tip().Height, share, stake)
}

// slashPair starts two meshed PoS daemons, each with its validator key:
// keys[0] is the genesis validator; daemon 1 has reporter as its
// Config.SlashReporter (zero: keys[1]'s address is the reporter of what
// it sees); slots are 300 ms, epochs epochLength blocks.
func slashPair(t *testing.T, epochLength int64, reporter chain.Address) (keys [2]ed25519.PrivateKey, p *chain.Params, d0, d1 *testDaemon) {
	t.Helper()
	for i := range keys {
		seed := make([]byte, ed25519.SeedSize)
		seed[0] = byte(i + 7)
		keys[i] = ed25519.NewKeyFromSeed(seed)
	}
	params, err := chain.DevPoSParamsFor(chain.DevPoSGenesisTemplate(uint32(time.Now().Unix()), chain.PublicKey(keys[0].Public().(ed25519.PublicKey))))
	if err != nil {
		t.Fatal(err)
	}
	params.SlotDuration = 300 * time.Millisecond
	params.EpochLength = epochLength
	d0 = startPoSDaemon(t, &params, keys[0])
	d1 = startPoSDaemonConfig(t, Config{Params: &params, ValidatorKey: keys[1], SlashReporter: reporter})
	dial(t, d1, d0)
	waitFor(t, "mesh", func() bool { return meshed(d0, d1) && meshed(d1, d0) })
	return keys, &params, d0, d1
}

// TestReporterAddress: a slash pays Config.SlashReporter when set, else
// the validator key's address, else the zero address.
func TestReporterAddress(t *testing.T) {
	key := ed25519.NewKeyFromSeed(make([]byte, ed25519.SeedSize))
	keyAddr := chain.PublicKey(key.Public().(ed25519.PublicKey)).Address()
	set := chain.Address{1, 2, 3}
	for _, c := range []struct {
		reporter chain.Address
		key      ed25519.PrivateKey
		want     chain.Address
	}{
		{set, key, set},
		{set, nil, set},
		{chain.Address{}, key, keyAddr},
		{chain.Address{}, nil, chain.Address{}},
	} {
		if got := reporterAddress(c.reporter, c.key); got != c.want {
			t.Errorf("reporterAddress(%v, key %v): %v, want %v", c.reporter, c.key != nil, got, c.want)
		}
	}
}
