package mempool

import (
	"container/heap"
	"errors"
	"slices"

	"github.com/powmine/powmine/chain"
	"github.com/powmine/powmine/chain/node"
)

// pendingTx is a transfer with its id, waiting in Pool.deferred.
type pendingTx struct {
	tx chain.Transaction
	id chain.Hash
}

// HandleEvent applies a node event: BlockConnected or BlockDisconnected
// with e.Block. Events with another kind or no block are ignored. Pass it
// (or a function calling it) as node.Config.Notify; it is safe for
// concurrent use.
func (p *Pool) HandleEvent(e node.Event) {
	if e.Block == nil {
		return
	}
	switch e.Kind {
	case node.BlockConnected:
		p.BlockConnected(e.Block)
	case node.BlockDisconnected:
		p.BlockDisconnected(e.Block)
	}
}

// BlockConnected updates the pool for a block that became the tip: it
// removes the block's votes and slashes and those that can no longer be
// mined (see revalidateFinality), removes the block's transfers and re-checks the pending transfers of
// their senders against the chain state, dropping those with a sequence
// the chain has used (a conflicting transfer was mined) and, in sequence
// order, the first one the balance no longer covers and all after it.
// Transfers of disconnected blocks that BlockDisconnected held back get
// one last try. It is safe for concurrent use.
//
// The chain state may already be past b (the node delivers events after
// the change, and a later block may be connected meanwhile); the pool then
// follows the newer state, which later events confirm.
func (p *Pool) BlockConnected(b *chain.Block) {
	p.mu.Lock()
	defer p.mu.Unlock()
	mined := make(map[chain.Hash]bool)
	for i := range b.Transactions {
		if b.Transactions[i].IsFinality() {
			mined[b.Transactions[i].TxID()] = true
		}
	}
	p.revalidateFinality(mined)
	var senders []chain.Address
	for i := range b.Transactions {
		t, ok := b.Transactions[i].Debit()
		if !ok {
			continue
		}
		if e := p.byID[b.Transactions[i].TxID()]; e != nil {
			p.removeEntry(e)
		}
		if from := t.From.Address(); !slices.Contains(senders, from) {
			senders = append(senders, from)
		}
	}
	for _, from := range senders {
		p.revalidate(from)
	}
	p.revalidateStake()
	deferred := p.deferred
	p.deferred, p.deferredBytes = nil, 0
	for _, d := range deferred {
		if err := p.add(&d.tx, d.id); err != nil {
			p.log.Debug("disconnected transfer dropped", "id", d.id, "err", err)
		}
	}
	p.revalidateStake()
}

// BlockDisconnected updates the pool for a block that was the tip and is
// no longer: its votes and slashes, and its transfers, go back into the
// pool when the chain state and
// the pool's policy admit them (their signatures are not verified again:
// b must have passed chain.CheckBlockSanity, as every block a node
// connected has). The pending transfers of the block's senders are
// re-added after the block's, keeping sequence order (their Added and
// Height are renewed). Call it for each disconnected block in the order
// of disconnection, the old tip first, as node events come: a transfer
// whose sender's earlier transfer sits in a lower block not yet
// disconnected is held back (at most MaxPoolBytes of them) and added when
// that block comes, or dropped at the next BlockConnected. It is safe for
// concurrent use.
func (p *Pool) BlockDisconnected(b *chain.Block) {
	p.mu.Lock()
	defer p.mu.Unlock()
	batch := make([]pendingTx, 0, len(b.Transactions)+len(p.deferred))
	for i := range b.Transactions {
		tx := b.Transactions[i]
		if _, ok := tx.Debit(); ok {
			batch = append(batch, pendingTx{tx: tx, id: tx.TxID()})
		}
	}
	// Per sender, the block's transfers come first, then those held back
	// from higher blocks, then the pending ones; the pending ones of the
	// block's senders are taken out and re-added after the block's.
	var tail []pendingTx
	for _, d := range batch {
		t, _ := d.tx.Debit()
		from := t.From.Address()
		for _, e := range slices.Clone(p.bySender[from]) {
			tail = append(tail, pendingTx{tx: e.Tx, id: e.ID})
			p.removeEntry(e)
		}
	}
	for i := range b.Transactions {
		tx := &b.Transactions[i]
		if !tx.IsFinality() {
			continue
		}
		if err := p.addFinality(tx, tx.TxID()); err != nil {
			p.log.Debug("disconnected finality transaction dropped", "id", tx.TxID(), "err", err)
		}
	}
	batch = append(append(batch, p.deferred...), tail...)
	p.deferred, p.deferredBytes = nil, 0
	for _, d := range batch {
		err := p.add(&d.tx, d.id)
		var rerr *RejectError
		switch {
		case err == nil:
		case errors.As(err, &rerr) && rerr.Reason == RejectSequenceGap && p.deferredBytes+d.tx.SerializeSize() <= p.maxBytes:
			p.deferred = append(p.deferred, d)
			p.deferredBytes += d.tx.SerializeSize()
		default:
			p.log.Debug("disconnected transfer dropped", "id", d.id, "err", err)
		}
	}
	p.revalidateStake()
}

// revalidate re-checks the pending transfers of one sender against the
// chain state (see BlockConnected). p.mu must be held.
func (p *Pool) revalidate(from chain.Address) {
	pending := p.bySender[from]
	if len(pending) == 0 {
		return
	}
	acc := p.chain.Account(from)
	for _, e := range slices.Clone(pending[:firstLive(pending, acc.Sequence)]) {
		p.log.Debug("stale transfer dropped", "id", e.ID, "sequence", e.seq(), "next", acc.Sequence)
		p.removeEntry(e)
	}
	pending = p.bySender[from]
	next, balance := acc.Sequence, acc.Balance
	for _, e := range pending {
		if e.seq() != next || e.cost > balance {
			p.log.Debug("invalid transfer dropped", "id", e.ID, "sequence", e.seq(), "next", next, "balance", balance)
			p.removeFrom(e)
			return
		}
		next++
		balance -= e.cost
	}
}

// removeFrom removes e and every later transfer of its sender. p.mu must
// be held.
func (p *Pool) removeFrom(e *entry) {
	pending := p.bySender[e.from]
	i := slices.Index(pending, e)
	if i < 0 {
		return
	}
	for _, x := range slices.Backward(slices.Clone(pending[i:])) {
		p.removeEntry(x)
	}
}

// removeEntry removes one entry from every index. p.mu must be held.
func (p *Pool) removeEntry(e *entry) {
	delete(p.byID, e.ID)
	heap.Remove(&p.evict, e.evictAt)
	p.bytes -= e.Size
	if k, ok := stakeKey(&e.Tx); ok && p.byStakeKey[k] == e {
		delete(p.byStakeKey, k)
	}
	pending := slices.DeleteFunc(p.bySender[e.from], func(x *entry) bool { return x == e })
	if len(pending) == 0 {
		delete(p.bySender, e.from)
	} else {
		p.bySender[e.from] = pending
	}
}
