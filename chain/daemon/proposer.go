package daemon

import (
	"context"
	"crypto/ed25519"
	"errors"
	"fmt"
	"time"

	"github.com/powmine/powmine/chain"
	"github.com/powmine/powmine/chain/pos"
	"github.com/powmine/powmine/chain/template"
)

// proposer makes the blocks of a proof-of-stake chain in the slots where
// its key is elected: at each slot's start it asks the node who the
// slot's proposer is on its tip (node.Proposer), and when that is its
// key it builds a block from a template paying the block's reward to the
// key's address, stamps it with the slot's start, seals it (pos.NewSeal,
// with the key's reveal for the slot's epoch, computed once an epoch),
// and submits it; the node's Notify gossips it like any connected block.
// A slot it cannot fill (not elected, or the tip moved while it built)
// stays empty: missed slots are allowed.
type proposer struct {
	d    *Daemon
	key  ed25519.PrivateKey
	pub  chain.PublicKey
	stop func()        // cancels run and waits for it
	done chan struct{} // closed when run returns

	revealEpoch uint64 // the epoch of reveal; only run touches them
	reveal      *pos.Reveal
}

// startProposer starts the goroutine that proposes in key's slots.
func (d *Daemon) startProposer(key ed25519.PrivateKey) {
	pr := &proposer{d: d, key: key, pub: chain.PublicKey(key.Public().(ed25519.PublicKey)), done: make(chan struct{})}
	ctx, cancel := context.WithCancel(context.Background())
	pr.stop = func() { cancel(); <-pr.done }
	d.proposer = pr
	go pr.run(ctx)
	d.log.Info("proposer started", "key", pr.pub, "slot", d.params.SlotDuration)
}

// run proposes at the start of every slot until ctx is done.
func (pr *proposer) run(ctx context.Context) {
	defer close(pr.done)
	p := pr.d.params
	genesis := time.Unix(int64(p.GenesisHeader.Timestamp), 0)
	var last uint64
	for {
		now := pr.d.now()
		slot := pos.Slot(genesis, p.SlotDuration, now)
		if slot > last {
			last = slot
			if err := pr.propose(slot); err != nil {
				pr.d.log.Warn("proposer: no block", "slot", slot, "err", err)
			}
		}
		wait := time.NewTimer(pos.SlotStart(genesis, p.SlotDuration, slot+1).Sub(pr.d.now()))
		select {
		case <-ctx.Done():
			wait.Stop()
			return
		case <-wait.C:
		}
	}
}

// errTipMoved says that the tip changed while a block was built.
var errTipMoved = errors.New("the tip moved while the block was built")

// propose makes, seals and submits the block of slot on the tip when the
// key is the slot's elected proposer.
func (pr *proposer) propose(slot uint64) error {
	d, p := pr.d, pr.d.params
	info, err := d.node.Proposer(slot)
	if err != nil {
		var perr pos.RuleError
		if errors.As(err, &perr) && perr.Code == pos.ErrSlotNotAfterParent {
			return nil // the tip already holds this slot's block
		}
		return err
	}
	if info.Proposer != pr.pub {
		return nil
	}
	t, err := d.Template([]template.Payout{{Address: pr.pub.Address(), Weight: 1}})
	if err != nil {
		return err
	}
	if t.Header.PrevBlock != info.Parent {
		return errTipMoved
	}
	genesis := time.Unix(int64(p.GenesisHeader.Timestamp), 0)
	b, err := t.Block(make([]byte, t.ExtranonceSize), uint32(pos.SlotStart(genesis, p.SlotDuration, slot).Unix()), 0)
	if err != nil {
		return err
	}
	epoch := slot / uint64(p.EpochLength)
	if pr.reveal == nil || pr.revealEpoch != epoch {
		r, err := pos.NewReveal(pr.key, p.GenesisHash, epoch)
		if err != nil {
			return err
		}
		pr.reveal, pr.revealEpoch = &r, epoch
	}
	s, err := pos.NewSeal(pr.key, p.GenesisHash, slot, b.Hash(), *pr.reveal)
	if err != nil {
		return err
	}
	enc, err := s.MarshalBinary()
	if err != nil {
		return err
	}
	b.Seal = (*chain.BlockSeal)(enc)
	if _, err := d.SubmitBlock(b); err != nil {
		return fmt.Errorf("own block of slot %d refused: %w", slot, err)
	}
	d.log.Info("proposer: block", "slot", slot, "hash", b.Hash())
	return nil
}
