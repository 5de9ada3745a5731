package mempool

import (
	"crypto/ed25519"
	"testing"

	"github.com/powmine/powmine/chain"
	"github.com/powmine/powmine/chain/node"
)

// *node.Node must satisfy FinalityChain.
var _ FinalityChain = (*node.Node)(nil)

// finChain is a stakeChain whose CheckFinalityTx answers from a map of
// refusals by validator key.
type finChain struct {
	*stakeChain
	refuse map[chain.PublicKey]error
}

func (c *finChain) CheckFinalityTx(tx *chain.Transaction) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	k, ok := tx.Accused()
	if !ok {
		k = tx.Vote.Validator
	}
	return c.refuse[k]
}

// voteTx returns validator v's vote from source epoch s to target epoch
// tg (hashes {s} and {tg}), signed for the dev network.
func voteTx(tb testing.TB, v int, s, tg uint64) *chain.Transaction {
	tb.Helper()
	_, priv := key(100 + v)
	vt := &chain.Vote{Source: chain.Checkpoint{Epoch: s, Hash: chain.Hash{byte(s)}}, Target: chain.Checkpoint{Epoch: tg, Hash: chain.Hash{byte(tg)}}}
	if err := vt.Sign(priv, chain.DevParams.GenesisHash); err != nil {
		tb.Fatal(err)
	}
	return &chain.Transaction{Vote: vt}
}

// slashTx returns a slash of validator v's double vote.
func slashTx(tb testing.TB, v int) *chain.Transaction {
	tb.Helper()
	a, b := voteTx(tb, v, 1, 3), voteTx(tb, v, 2, 3)
	return &chain.Transaction{Slash: &chain.Slash{Evidence: chain.NewEvidence(*a.Vote, *b.Vote), Reporter: addr(1)}}
}

// TestFinalityAccept: votes and slashes enter without fee, one per
// validator and target epoch (one slash per accused), from registered
// validators only, with valid signatures; they come first in
// Transactions, votes by target epoch; a connected block removes those
// it mined and the votes that became too old.
func TestFinalityAccept(t *testing.T) {
	c := &finChain{stakeChain: newStakeChain(), refuse: map[chain.PublicKey]error{}}
	c.set(0, 100*stakeCoin, 0)
	for v := range 4 {
		c.validators[valKey(v)] = chain.Validator{Owner: addr(0), Stake: 10 * stakeCoin, ActivationEpoch: 1}
	}
	c.height = 2 * chain.DevParams.EpochLength // epoch 2
	p := newPool(t, c, 0)
	tr := transfer(t, 0, 3, stakeCoin, 5000, 0)
	v2 := voteTx(t, 0, 1, 2)
	v1 := voteTx(t, 1, 0, 1)
	sl := slashTx(t, 3)
	mustAccept(t, p, tr, v2, v1, sl)
	bad := voteTx(t, 2, 1, 2)
	bad.Vote.Signature[5] ^= 1
	c.refuse[valKey(2)] = chain.RuleError{Code: chain.ErrUnknownCheckpoint}
	for _, tc := range []struct {
		name string
		tx   *chain.Transaction
		want RejectReason
	}{
		{"same id", v2, RejectDuplicate},
		{"same validator and target", voteTx(t, 0, 0, 2), RejectFinality},
		{"second slash of a validator", func() *chain.Transaction { s := slashTx(t, 3); s.Slash.Reporter = addr(2); return s }(), RejectFinality},
		{"unknown validator", voteTx(t, 9, 1, 2), RejectFinality},
		{"source equals target", voteTx(t, 2, 0, 0), RejectMalformed},
		{"bad signature", bad, RejectBadSignature},
	} {
		t.Run(tc.name, func(t *testing.T) { wantReason(t, p.Accept(tc.tx), tc.want) })
	}
	// Target epoch 0 in epoch 2 is too old.
	old := voteTx(t, 2, 0, 1)
	c.height = 3 * chain.DevParams.EpochLength
	wantReason(t, p.Accept(old), RejectFinality)
	c.height = 2 * chain.DevParams.EpochLength
	// A refusal that may pass later (unknown checkpoint) is admitted; a
	// permanent one is not.
	mustAccept(t, p, voteTx(t, 2, 1, 2))
	c.refuse[valKey(2)] = chain.RuleError{Code: chain.ErrDuplicateVote}
	wantReason(t, p.Accept(voteTx(t, 2, 0, 1)), RejectFinality)

	txs := p.Transactions(100)
	if len(txs) != 5 || txs[0].Vote == nil || txs[0].Vote.Target.Epoch != 1 || txs[1].Vote == nil || txs[3].Slash == nil || txs[4].Transfer == nil {
		t.Fatalf("order: %+v", txs)
	}
	if got := p.Transactions(2); len(got) != 2 || got[1].Vote == nil {
		t.Fatalf("max 2: %+v", got)
	}
	if !p.Has(v1.TxID()) || p.FinalityCount() != 4 {
		t.Fatalf("count %d", p.FinalityCount())
	}
	// A block mining v1 and the slash, in epoch 3: v1 and the slash go
	// (mined), the target-epoch-2 votes stay (previous epoch), and
	// validator 2's vote goes (the chain now refuses it for good).
	c.height = 3 * chain.DevParams.EpochLength
	p.BlockConnected(&chain.Block{Transactions: []chain.Transaction{{Coinbase: &chain.Coinbase{}}, *v1, *sl}})
	if p.FinalityCount() != 1 || !p.Has(v2.TxID()) {
		t.Fatalf("after the block: %d pending", p.FinalityCount())
	}
	// Disconnected, they come back.
	delete(c.refuse, valKey(2))
	p.BlockDisconnected(&chain.Block{Transactions: []chain.Transaction{{Coinbase: &chain.Coinbase{}}, *v1, *sl}})
	if p.FinalityCount() != 2 || !p.Has(sl.TxID()) {
		t.Fatalf("after the disconnect: %d pending", p.FinalityCount())
	}
	// In epoch 4, target-epoch-2 votes are stale.
	c.height = 4 * chain.DevParams.EpochLength
	p.BlockConnected(&chain.Block{Transactions: []chain.Transaction{{Coinbase: &chain.Coinbase{}}}})
	if p.Has(v2.TxID()) || !p.Has(sl.TxID()) {
		t.Fatal("stale vote kept or slash dropped")
	}
	// Without a FinalityChain, nothing enters.
	q := newPool(t, newStakeChain(), 0)
	wantReason(t, q.Accept(voteTx(t, 0, 1, 2)), RejectFinality)
}

// proposerSlashTx returns a proposer slash of validator v's two seals
// of slot 5, signed for params' network.
func proposerSlashTx(v int, params *chain.Params) *chain.Transaction {
	_, priv := key(100 + v)
	h := func(header chain.Hash) chain.SignedHeader {
		m := chain.SealMessage(params.GenesisHash, 5, header)
		return chain.SignedHeader{HeaderHash: header, Slot: 5, Proposer: valKey(v), Signature: chain.Signature(ed25519.Sign(priv, m[:]))}
	}
	ev := chain.NewProposerEvidence(h(chain.Hash{1}), h(chain.Hash{2}))
	return &chain.Transaction{ProposerSlash: &chain.ProposerSlash{Evidence: ev, Reporter: addr(1)}}
}

// TestFinalityProposerSlash: on a proof-of-stake network a proposer slash
// enters like a vote slash, one slash per accused whatever its kind, from
// registered validators only, with valid seal signatures; it comes after
// the votes; a proof-of-work pool refuses it as malformed.
func TestFinalityProposerSlash(t *testing.T) {
	params := chain.DevParams // the same network: votes signed for it verify
	params.Consensus = chain.ConsensusPoS
	c := &finChain{stakeChain: newStakeChain(), refuse: map[chain.PublicKey]error{}}
	for v := range 3 {
		c.validators[valKey(v)] = chain.Validator{Owner: addr(0), Stake: 10 * stakeCoin, ActivationEpoch: 1}
	}
	c.height = 2 * params.EpochLength
	p := newPoolFor(t, &params, c, 0)
	ps := proposerSlashTx(0, &params)
	v := voteTx(t, 1, 1, 2)
	mustAccept(t, p, ps, v)
	bad := proposerSlashTx(1, &params)
	bad.ProposerSlash.Evidence.B.Signature[2] ^= 1
	voteSlash := slashTx(t, 0)
	c.refuse[valKey(2)] = chain.RuleError{Code: chain.ErrSlashedValidator}
	for _, tc := range []struct {
		name string
		tx   *chain.Transaction
		want RejectReason
	}{
		{"same id", ps, RejectDuplicate},
		{"a vote slash of the same validator", voteSlash, RejectFinality},
		{"unknown validator", proposerSlashTx(9, &params), RejectFinality},
		{"slashed already", proposerSlashTx(2, &params), RejectFinality},
		{"bad signature", bad, RejectBadSignature},
	} {
		t.Run(tc.name, func(t *testing.T) { wantReason(t, p.Accept(tc.tx), tc.want) })
	}
	if txs := p.Transactions(10); len(txs) != 2 || txs[0].Vote == nil || txs[1].ProposerSlash == nil {
		t.Fatalf("order: %+v", txs)
	}
	// Mined, it goes; disconnected, it comes back.
	blk := &chain.Block{Transactions: []chain.Transaction{{Coinbase: &chain.Coinbase{}}, *ps}}
	p.BlockConnected(blk)
	if p.Has(ps.TxID()) {
		t.Fatal("mined proposer slash kept")
	}
	p.BlockDisconnected(blk)
	if !p.Has(ps.TxID()) {
		t.Fatal("disconnected proposer slash not back")
	}
	// A proof-of-work pool refuses it before any state check.
	q := newPool(t, c, 0)
	wantReason(t, q.Accept(proposerSlashTx(1, &chain.DevParams)), RejectMalformed)
}

// TestFinalityBound: at MaxMempoolVotes pending, a new vote is refused.
func TestFinalityBound(t *testing.T) {
	c := &finChain{stakeChain: newStakeChain(), refuse: map[chain.PublicKey]error{}}
	c.validators[valKey(0)] = chain.Validator{Stake: 1, ActivationEpoch: 1}
	p := newPool(t, c, 0)
	for i := range MaxMempoolVotes {
		e := &finEntry{id: chain.Hash{byte(i), byte(i >> 8), 1}, tx: *voteTx(t, 0, 0, 1)}
		p.fin[e.id] = e
	}
	wantReason(t, p.Accept(voteTx(t, 0, 1, 2)), RejectPoolFull)
}

// TestFinalityOrderPerBlockCaps: Transactions hands out at most
// Params.MaxVotesPerBlock votes and MaxSlashesPerBlock slashes, the
// oldest target epochs first, and fills the rest with transfers; the
// votes and slashes left out stay pending.
func TestFinalityOrderPerBlockCaps(t *testing.T) {
	params := chain.DevParams // the same network: votes signed for it verify
	params.MaxVotesPerBlock, params.MaxSlashesPerBlock = 2, 1
	c := &finChain{stakeChain: newStakeChain(), refuse: map[chain.PublicKey]error{}}
	c.set(0, 100*stakeCoin, 0)
	for v := range 5 {
		c.validators[valKey(v)] = chain.Validator{Owner: addr(0), Stake: 10 * stakeCoin, ActivationEpoch: 1}
	}
	c.height = 2 * params.EpochLength // epoch 2
	p := newPoolFor(t, &params, c, 0)
	late, early := voteTx(t, 0, 1, 2), voteTx(t, 1, 0, 1)
	mustAccept(t, p, late, voteTx(t, 2, 1, 2), early, slashTx(t, 3), slashTx(t, 4), transfer(t, 0, 3, stakeCoin, 5000, 0))
	txs := p.Transactions(100)
	var votes, slashes, transfers int
	for _, tx := range txs {
		switch {
		case tx.Vote != nil:
			votes++
		case tx.Slash != nil:
			slashes++
		case tx.Transfer != nil:
			transfers++
		}
	}
	if votes != 2 || slashes != 1 || transfers != 1 || len(txs) != 4 {
		t.Fatalf("%d votes, %d slashes, %d transfers of %d, want 2, 1, 1 of 4", votes, slashes, transfers, len(txs))
	}
	if txs[0].TxID() != early.TxID() || txs[1].TxID() != late.TxID() {
		t.Fatal("the vote of the oldest target epoch does not come first, or the second vote is not the first to arrive")
	}
	if p.FinalityCount() != 5 {
		t.Fatalf("%d finality transactions pending, want the 5 accepted", p.FinalityCount())
	}
}
