package daemon

import (
	"crypto/ed25519"

	"github.com/powmine/powmine/chain"
	"github.com/powmine/powmine/chain/node"
)

// equivocation is the daemon's slashing duty. On a proof-of-stake chain
// every block it is handed (submitted, gossiped or synced, before the
// node decides on it) goes through a node.SealWatch, and when a proposer
// is seen sealing two blocks for one slot the daemon sends a
// chain.ProposerSlash of the evidence. On any chain with stake every
// vote it sees (submitted, gossiped, or in such a block, before the
// mempool or the node decides on it) goes through a node.VoteWatch, and
// when a validator is seen casting a double or surround vote the daemon
// sends a chain.Slash of the two votes. A slash goes into its mempool,
// so its proposer or a peer's puts it in a block, and to its peers, as
// SendTransaction does for any transaction.
type equivocation struct {
	seals *node.SealWatch // nil off proof of stake: nothing to watch
	votes *node.VoteWatch // nil without stake: no votes

	// reporter is paid the reporter's share of the slashed stake (see
	// reporterAddress).
	reporter chain.Address
}

// newEquivocation returns the duty for the daemon of n on params, paying
// reporterAddress(reporter, validatorKey).
func newEquivocation(params *chain.Params, n *node.Node, validatorKey ed25519.PrivateKey, reporter chain.Address) equivocation {
	registered := func(k chain.PublicKey) bool { return n.Validator(k) != (chain.Validator{}) }
	return equivocation{
		seals:    node.NewSealWatch(params, registered),
		votes:    node.NewVoteWatch(params, registered),
		reporter: reporterAddress(reporter, validatorKey),
	}
}

// reporterAddress returns the address a slash pays: reporter when set,
// else the address of validatorKey, else (a daemon that is not a
// validator and was given no address) the zero address, whose share
// nobody can spend.
func reporterAddress(reporter chain.Address, validatorKey ed25519.PrivateKey) chain.Address {
	if reporter == (chain.Address{}) && validatorKey != nil {
		return chain.PublicKey(validatorKey.Public().(ed25519.PublicKey)).Address()
	}
	return reporter
}

// observeBlock shows b to both watches (see observeSeal and
// observeVotes).
func (d *Daemon) observeBlock(b *chain.Block) {
	d.observeSeal(b)
	var votes []chain.Vote
	for i := range b.Transactions {
		if v := b.Transactions[i].Vote; v != nil {
			votes = append(votes, *v)
		}
	}
	d.observeVotes(votes)
}

// observeSeal shows b to the seal watch and sends the proposer slash it
// yields, if any.
func (d *Daemon) observeSeal(b *chain.Block) {
	ev, ok := d.equivocation.seals.Observe(b, d.now())
	if !ok {
		return
	}
	d.sendSlash(&chain.Transaction{ProposerSlash: &chain.ProposerSlash{Evidence: ev, Reporter: d.equivocation.reporter}},
		"proposer equivocation", "proposer", ev.Proposer(), "slot", ev.A.Slot, "blocks", []chain.Hash{ev.A.HeaderHash, ev.B.HeaderHash})
}

// observeVotes shows votes to the vote watch, at the epoch of the tip,
// and sends a slash for each offence it yields.
func (d *Daemon) observeVotes(votes []chain.Vote) {
	if d.equivocation.votes == nil || len(votes) == 0 {
		return
	}
	current := d.params.Epoch(d.node.Tip().Height)
	for _, ev := range d.equivocation.votes.Observe(votes, current) {
		d.sendSlash(&chain.Transaction{Slash: &chain.Slash{Evidence: ev, Reporter: d.equivocation.reporter}},
			ev.Offence().String(), "validator", ev.Validator(),
			"votes", []string{ev.A.Source.String() + "→" + ev.A.Target.String(), ev.B.Source.String() + "→" + ev.B.Target.String()})
	}
}

// sendSlash sends a slash of the offence what, logging it with attrs.
// The mempool refuses a slash of a validator slashed already or with one
// pending, so a daemon told twice sends it once.
func (d *Daemon) sendSlash(tx *chain.Transaction, what string, attrs ...any) {
	if err := d.SendTransaction(tx); err != nil {
		d.log.Warn(what+" seen, slash not sent", append(attrs, "err", err)...)
		return
	}
	d.log.Warn(what+" seen, slash sent", append(attrs, "txid", tx.TxID())...)
}
