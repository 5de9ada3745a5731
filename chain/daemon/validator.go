package daemon

import (
	"context"
	"crypto/ed25519"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sync"

	"github.com/powmine/powmine/chain"
	"github.com/powmine/powmine/internal/atomicfile"
)

// validatorFile is the file in the data directory where a validator
// records the highest source and target epochs it has signed, before it
// signs (see validator).
const validatorFile = "validator-votes.json"

// signedEpochs is the content of validatorFile: the minimal slashing
// protection of EIP-3076, the highest source and target epochs signed.
type signedEpochs struct {
	Source uint64 `json:"source_epoch"`
	Target uint64 `json:"target_epoch"`
	// Any is false until a first vote is recorded.
	Any bool `json:"any"`
}

// allows reports whether a vote from source to target can never be
// slashable against the votes recorded: its target is above every
// target signed (no double vote, and no earlier vote surrounds it) and
// its source at least every source signed (it surrounds none).
func (s signedEpochs) allows(source, target uint64) bool {
	return !s.Any || (target > s.Target && source >= s.Source)
}

// validator signs the daemon's votes: one per target epoch, for the
// checkpoint of the tip's epoch on the best chain, from the justified
// checkpoint of the best chain, as soon as the tip reaches that epoch's
// checkpoint block, if the key is an active validator there. Before it
// signs, it records the vote's epochs in its file (atomically, synced),
// so that after a crash or restart it never signs a double or surround
// vote. It submits the vote to the mempool and gossip, and publishes its
// latest vote again on each new tip while the mempool still holds it (a
// vote signed before the gossip mesh formed would otherwise reach no
// miner).
type validator struct {
	d    *Daemon
	key  ed25519.PrivateKey
	pub  chain.PublicKey
	path string // "" keeps the record in memory (a daemon without data directory)

	mu     sync.Mutex // guards signed and last
	signed signedEpochs
	last   *chain.Transaction // the latest vote signed

	stop func()        // cancels run and waits for it
	done chan struct{} // closed when run returns
}

// startValidator loads the signing record and starts the goroutine that
// votes on each new tip.
func (d *Daemon) startValidator(key ed25519.PrivateKey, dataDir string) error {
	v := &validator{d: d, key: key, pub: chain.PublicKey(key.Public().(ed25519.PublicKey)), done: make(chan struct{})}
	if dataDir != "" {
		v.path = filepath.Join(dataDir, validatorFile)
		raw, err := os.ReadFile(v.path)
		switch {
		case err == nil:
			if err := json.Unmarshal(raw, &v.signed); err != nil {
				return fmt.Errorf("daemon: validator record %s is corrupt (refusing to vote without it): %w", v.path, err)
			}
		case !errors.Is(err, fs.ErrNotExist):
			return fmt.Errorf("daemon: validator record: %w", err)
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	v.stop = func() { cancel(); <-v.done }
	d.validator = v
	go v.run(ctx)
	d.log.Info("validator started", "key", v.pub, "last_target_epoch", v.signed.Target)
	return nil
}

// run votes on the current tip and then on every change of the tip,
// until ctx is done.
func (v *validator) run(ctx context.Context) {
	defer close(v.done)
	for {
		changed := v.d.TipChanged()
		if err := v.vote(); err != nil {
			v.d.log.Warn("validator: no vote", "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-changed:
		}
	}
}

// vote signs and submits the vote for the tip's epoch when it is due,
// and otherwise publishes the latest vote again while it is pending.
func (v *validator) vote() error {
	n, p := v.d.node, v.d.params
	if !p.StakeEnabled() {
		return nil
	}
	tip := n.Tip()
	epoch := p.Epoch(tip.Height)
	v.mu.Lock()
	defer v.mu.Unlock()
	if epoch == 0 || !n.Validator(v.pub).ActiveAt(epoch) || (v.signed.Any && v.signed.Target >= epoch) {
		v.republish()
		return nil
	}
	cp, ok := n.BlockByHeight(int64(epoch) * p.EpochLength)
	if !ok {
		return nil // the tip moved; the next change retries
	}
	source := n.Finality().Justified
	if n.Tip().Hash != tip.Hash {
		return nil // the checkpoint and the source may be of two states; the next change retries
	}
	if source.Epoch >= epoch {
		return nil
	}
	if !v.signed.allows(source.Epoch, epoch) {
		v.republish()
		return fmt.Errorf("vote %d→%d would be slashable against the record (source %d, target %d)",
			source.Epoch, epoch, v.signed.Source, v.signed.Target)
	}
	next := signedEpochs{Source: max(source.Epoch, v.signed.Source), Target: epoch, Any: true}
	if err := v.record(next); err != nil {
		return err
	}
	tx := &chain.Transaction{Vote: &chain.Vote{Source: source, Target: chain.Checkpoint{Epoch: epoch, Hash: cp.Hash}}}
	if err := tx.Vote.Sign(v.key, p.GenesisHash); err != nil {
		return err
	}
	v.last = tx
	v.d.log.Info("validator: vote", "source", source, "target", tx.Vote.Target)
	if err := v.d.acceptTransfer(tx); err != nil {
		return fmt.Errorf("own vote refused by the mempool: %w", err)
	}
	if v.d.net != nil {
		v.d.net.PublishTransfer(tx)
	}
	return nil
}

// republish gossips the latest vote again while the mempool holds it.
// v.mu must be held.
func (v *validator) republish() {
	if v.last != nil && v.d.net != nil && v.d.pool.Has(v.last.TxID()) {
		v.d.net.PublishTransfer(v.last)
	}
}

// record makes s the signing record, durably when there is a file,
// before any vote it allows is signed. v.mu must be held.
func (v *validator) record(s signedEpochs) error {
	if v.path != "" {
		raw, err := json.Marshal(s)
		if err != nil {
			return err
		}
		if err := atomicfile.Write(v.path, raw, 0o600); err != nil {
			return fmt.Errorf("record the vote before signing it: %w", err)
		}
	}
	v.signed = s
	return nil
}

// checkpointJSON is a checkpoint in getfinality's answer.
type checkpointJSON struct {
	Epoch  uint64 `json:"epoch"`
	Hash   string `json:"hash"`
	Height int64  `json:"height"`
}

// finalityJSON is getfinality's answer.
type finalityJSON struct {
	Epoch     uint64         `json:"epoch"`
	Justified checkpointJSON `json:"justified"`
	Finalized checkpointJSON `json:"finalized"`
	// EpochVoted is the stake (base units) of the votes counted on the
	// best chain for the checkpoint of the tip's epoch, EpochStake the
	// stake of the validators active in that epoch.
	EpochVoted uint64 `json:"epoch_voted_stake"`
	EpochStake uint64 `json:"epoch_total_stake"`
	// Lag is how many epochs the tip's epoch is past the finalized
	// checkpoint's; Stalled says it is above node.FinalityStallLag while
	// validators hold stake.
	Lag     uint64 `json:"lag_epochs"`
	Stalled bool   `json:"stalled"`
}

// getFinality returns the finality state of the best chain: the tip's
// epoch, the justified and finalized checkpoints (epoch, hash, height)
// the stake counted for the current epoch's checkpoint, and whether
// finality has stalled.
func (d *Daemon) getFinality(context.Context, json.RawMessage) (any, error) {
	f := d.node.Finality()
	return finalityJSON{
		Epoch:      f.Epoch,
		Justified:  checkpointJSON{Epoch: f.Justified.Epoch, Hash: f.Justified.Hash.String(), Height: f.JustifiedHeight},
		Finalized:  checkpointJSON{Epoch: f.Finalized.Epoch, Hash: f.Finalized.Hash.String(), Height: f.FinalizedHeight},
		EpochVoted: f.EpochVoted,
		EpochStake: f.EpochStake,
		Lag:        f.Lag(),
		Stalled:    f.Stalled(),
	}, nil
}
