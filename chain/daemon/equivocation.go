package daemon

import (
	"crypto/ed25519"

	"github.com/powmine/powmine/chain"
	"github.com/powmine/powmine/chain/node"
)

// equivocation is the daemon's proposer-slashing duty on a
// proof-of-stake chain: every block it is handed (submitted, gossiped or
// synced, before the node decides on it) goes through a node.SealWatch,
// and when a proposer is seen sealing two blocks for one slot the daemon
// sends a chain.ProposerSlash of the evidence: into its mempool, so its
// proposer or a peer's puts it in a block, and to its peers, as
// SendTransaction does for any transaction.
type equivocation struct {
	watch *node.SealWatch // nil off proof of stake: nothing to watch

	// reporter is paid the reporter's share of the slashed stake: the
	// address of the daemon's validator key, or the zero address (whose
	// share nobody can spend) for a daemon that is not a validator.
	reporter chain.Address
}

// newEquivocation returns the duty for the daemon of n on params, with
// validatorKey (nil for none) naming the reporter.
func newEquivocation(params *chain.Params, n *node.Node, validatorKey ed25519.PrivateKey) equivocation {
	e := equivocation{watch: node.NewSealWatch(params, func(k chain.PublicKey) bool { return n.Validator(k) != (chain.Validator{}) })}
	if validatorKey != nil {
		e.reporter = chain.PublicKey(validatorKey.Public().(ed25519.PublicKey)).Address()
	}
	return e
}

// observeSeal shows b to the seal watch and sends the proposer slash it
// yields, if any. The mempool refuses a slash of a proposer slashed
// already or with one pending, so a daemon told twice sends it once.
func (d *Daemon) observeSeal(b *chain.Block) {
	ev, ok := d.equivocation.watch.Observe(b, d.now())
	if !ok {
		return
	}
	tx := &chain.Transaction{ProposerSlash: &chain.ProposerSlash{Evidence: ev, Reporter: d.equivocation.reporter}}
	if err := d.SendTransaction(tx); err != nil {
		d.log.Warn("proposer equivocation seen, slash not sent", "proposer", ev.Proposer(), "slot", ev.A.Slot, "err", err)
		return
	}
	d.log.Warn("proposer equivocation seen, slash sent", "proposer", ev.Proposer(), "slot", ev.A.Slot,
		"blocks", []chain.Hash{ev.A.HeaderHash, ev.B.HeaderHash}, "txid", tx.TxID())
}
