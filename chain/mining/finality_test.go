package mining

import (
	"errors"
	"testing"
	"time"

	"github.com/powmine/powmine/chain"
	"github.com/powmine/powmine/chain/node"
	"github.com/powmine/powmine/chain/template"
)

// *node.Node must satisfy FinalityChecker.
var _ FinalityChecker = (*node.Node)(nil)

// finFake is a fakeChain that checks finality transactions by refusing
// those of the listed validators.
type finFake struct {
	*fakeChain
	refuse map[chain.PublicKey]bool
}

func (c *finFake) CheckFinalityTx(tx *chain.Transaction) error {
	k, ok := tx.Accused()
	if !ok {
		k = tx.Vote.Validator
	}
	if c.refuse[k] {
		return errors.New("refused")
	}
	return nil
}

// finVote returns an unsigned vote of validator v for target epoch tg.
func finVote(v byte, tg uint64) chain.Transaction {
	return chain.Transaction{Vote: &chain.Vote{Validator: chain.PublicKey{v}, Source: chain.Checkpoint{Epoch: tg - 1}, Target: chain.Checkpoint{Epoch: tg}}}
}

// finSlash returns a slash of validator v (unsigned votes).
func finSlash(v byte) chain.Transaction {
	a, b := finVote(v, 3), finVote(v, 3)
	b.Vote.Source.Epoch = 1
	return chain.Transaction{Slash: &chain.Slash{Evidence: chain.NewEvidence(*a.Vote, *b.Vote)}}
}

// TestTemplateFinality: templates take the votes and slashes the chain
// accepts, within MaxVotesPerBlock and MaxSlashesPerBlock, one vote per
// validator and target epoch and none after its validator's slash, and
// none at all from a chain that checks no finality transactions.
func TestTemplateFinality(t *testing.T) {
	p := fakeParams()
	p.MaxVotesPerBlock, p.MaxSlashesPerBlock = 3, 1
	c := &finFake{fakeChain: newFake(), refuse: map[chain.PublicKey]bool{{9}: true}}
	src := sliceSource{
		finVote(1, 2), finVote(9, 2), finVote(1, 2), finSlash(4), finSlash(5), finVote(4, 2),
		finVote(2, 2), finVote(3, 2), finVote(6, 2),
	}
	src = append(src, unsigned(2)...)
	b := &Builder{Params: p, Chain: c, Txs: src}
	tmpl, err := b.NewTemplate([]template.Payout{{Weight: 1}}, time.Unix(0, 0))
	if err != nil {
		t.Fatal(err)
	}
	want := []chain.Hash{src[0].TxID(), src[3].TxID(), src[6].TxID(), src[7].TxID(), src[9].TxID(), src[10].TxID()}
	var got []chain.Hash
	for _, tx := range tmpl.Transactions[1:] {
		got = append(got, tx.TxID())
	}
	if len(got) != len(want) {
		t.Fatalf("selected %d transactions, want %d", len(got), len(want))
	}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("transaction %d is %v, want %v", i, got[i], want[i])
		}
	}
	// A chain without the check: no votes, transfers only.
	b.Chain = newFake()
	tmpl, err = b.NewTemplate([]template.Payout{{Weight: 1}}, time.Unix(0, 0))
	if err != nil || len(tmpl.Transactions) != 3 {
		t.Fatalf("%v, %d transactions", err, len(tmpl.Transactions))
	}
}

// finProposerSlash returns a proposer slash of validator v (unsigned
// seals of slot 1).
func finProposerSlash(v byte) chain.Transaction {
	a := chain.SignedHeader{HeaderHash: chain.Hash{1}, Slot: 1, Proposer: chain.PublicKey{v}}
	b := a
	b.HeaderHash = chain.Hash{2}
	return chain.Transaction{ProposerSlash: &chain.ProposerSlash{Evidence: chain.NewProposerEvidence(a, b)}}
}

// TestTemplateProposerSlash: proposer slashes and vote slashes share
// MaxSlashesPerBlock and one slash per accused key, and a validator
// slashed as a proposer gets no vote in after its slash.
func TestTemplateProposerSlash(t *testing.T) {
	p := fakeParams()
	p.MaxVotesPerBlock, p.MaxSlashesPerBlock = 3, 2
	c := &finFake{fakeChain: newFake(), refuse: map[chain.PublicKey]bool{{9}: true}}
	src := sliceSource{
		finProposerSlash(4), finSlash(4), finProposerSlash(9), finVote(4, 2), finSlash(5), finProposerSlash(6), finVote(1, 2),
	}
	b := &Builder{Params: p, Chain: c, Txs: src}
	tmpl, err := b.NewTemplate([]template.Payout{{Weight: 1}}, time.Unix(0, 0))
	if err != nil {
		t.Fatal(err)
	}
	want := []chain.Hash{src[0].TxID(), src[4].TxID(), src[6].TxID()}
	var got []chain.Hash
	for _, tx := range tmpl.Transactions[1:] {
		got = append(got, tx.TxID())
	}
	if len(got) != len(want) {
		t.Fatalf("selected %d transactions, want %d", len(got), len(want))
	}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("transaction %d is %v, want %v", i, got[i], want[i])
		}
	}
}
