package node

import (
	"errors"
	"fmt"

	"github.com/powmine/powmine/chain"
	"github.com/powmine/powmine/chain/storage"
)

// ReindexLogInterval is how many replayed blocks Reindex logs progress
// after.
const ReindexLogInterval = 1000

// Reindexer is a Store that can rebuild its state from its blocks;
// chain/store's DB is one. The state derived from the blocks (statuses,
// undo records, accounts, tip) can be thrown away while the blocks and
// their first-seen order stay.
type Reindexer interface {
	Store

	// ReindexPending reports whether ResetState has run and
	// FinishReindex has not since.
	ReindexPending() (bool, error)

	// ResetState discards the block statuses, undo records, accounts and
	// tip in one atomic change, keeping every block, and moves the index
	// entries to a pending list: Load then returns nil until a node
	// commits a new genesis.
	ResetState() error

	// ReindexEntries returns the pending entries whose blocks are stored,
	// in first-seen order.
	ReindexEntries() ([]storage.IndexEntry, error)

	// FinishReindex deletes the blocks in drop and the pending list.
	FinishReindex(drop []chain.Hash) error
}

// Reindex rebuilds the state in st from its stored blocks (node
// --reindex): it calls st.ResetState unless a reindex is already pending,
// starts a node on st with cfg (cfg.Store must be st or nil), and passes
// every stored block to ProcessBlock in its original first-seen order, so
// that every block is checked again with every rule, the same branches
// win at equal work, and the index, undo records, accounts and tip are
// written anew. Blocks the rules now refuse are dropped from the store. It
// returns the node, ready to use.
//
// An interrupted Reindex (a crash, a Store error) leaves a consistent
// store holding a prefix of the replay; calling Reindex again resumes it.
// A block that breaks a rule is logged and skipped, as ProcessBlock
// records it; only Store errors stop the replay. cfg.Notify, if set,
// receives the events of the replay.
func Reindex(cfg Config, st Reindexer) (*Node, error) {
	if cfg.Store == nil {
		cfg.Store = st
	} else if cfg.Store != Store(st) {
		return nil, errors.New("node: Reindex: Config.Store must be the reindexed store or nil")
	}
	pending, err := st.ReindexPending()
	if err != nil {
		return nil, fmt.Errorf("node: reindex: %w", err)
	}
	if !pending {
		if err := st.ResetState(); err != nil {
			return nil, fmt.Errorf("node: reindex: %w", err)
		}
	}
	entries, err := st.ReindexEntries()
	if err != nil {
		return nil, fmt.Errorf("node: reindex: %w", err)
	}
	n, err := New(cfg)
	if err != nil {
		return nil, fmt.Errorf("node: reindex: %w", err)
	}
	n.log.Info("reindex started", "blocks", len(entries))
	var replayed, refused int
	for i, e := range entries {
		blk, err := st.Block(e.Hash)
		if err != nil {
			return nil, fmt.Errorf("node: reindex: %w", err)
		}
		_, err = n.ProcessBlock(blk)
		var rerr chain.RuleError
		switch {
		case err == nil:
			replayed++
		case errors.Is(err, ErrDuplicate):
			// Genesis, or replayed before an interruption.
		case errors.As(err, &rerr):
			refused++
			n.log.Warn("reindex: block refused", "hash", e.Hash, "height", e.Height, "err", err)
		default:
			return nil, fmt.Errorf("node: reindex: block %v: %w", e.Hash, err)
		}
		if (i+1)%ReindexLogInterval == 0 {
			n.log.Info("reindex progress", "done", i+1, "of", len(entries), "tip", n.Tip().Height)
		}
	}
	// Bodies of blocks the node did not store again: refused by the
	// rules now, or orphans left by a refused parent.
	var drop []chain.Hash
	for _, e := range entries {
		if info, ok := n.BlockInfo(e.Hash); !ok || info.Status&storage.StatusDataStored == 0 {
			drop = append(drop, e.Hash)
		}
	}
	if err := st.FinishReindex(drop); err != nil {
		return nil, fmt.Errorf("node: reindex: %w", err)
	}
	tip := n.Tip()
	n.log.Info("reindex done", "replayed", replayed, "refused", refused, "dropped", len(drop),
		"tip", tip.Hash, "height", tip.Height)
	return n, nil
}
