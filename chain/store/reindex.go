package store

import (
	"cmp"
	"errors"
	"fmt"
	"slices"

	"github.com/powmine/powmine/chain"
	"github.com/powmine/powmine/chain/node"
	bolt "go.etcd.io/bbolt"
)

// ReindexLogInterval is how many replayed blocks Reindex logs progress
// after.
const ReindexLogInterval = 1000

// ResetState discards the state derived from the blocks: the block
// statuses, undo records, accounts and tip, in one transaction. It keeps
// every block body and moves the index entries (header, height, first-seen
// order) to a pending-reindex list, which Reindex replays and then drops.
// After ResetState, Load returns nil (an empty store) until a node commits
// a new genesis; a node started on it holds only genesis until Reindex
// has run. Calling it again before Reindex has finished keeps the pending
// list and adds the entries indexed since.
//
// The entries leave the index, rather than staying with cleared status
// bits, so that a node started after an interrupted reindex loads only
// what it has re-verified: a left-over entry marked "data stored" would be
// connected without the context-free checks.
func (db *DB) ResetState() error {
	err := db.update(func(tx *bolt.Tx) error {
		pending, err := tx.CreateBucketIfNotExists(bucketReindex)
		if err != nil {
			return err
		}
		err = tx.Bucket(bucketIndex).ForEach(func(k, v []byte) error {
			if pending.Get(k) != nil {
				return nil // the older entry keeps its first-seen order
			}
			return pending.Put(k, v)
		})
		if err != nil {
			return err
		}
		for _, name := range [][]byte{bucketIndex, bucketUndo, bucketAccounts} {
			if err := tx.DeleteBucket(name); err != nil {
				return err
			}
			if _, err := tx.CreateBucket(name); err != nil {
				return err
			}
		}
		return tx.Bucket(bucketMeta).Delete(metaTip)
	})
	if err != nil {
		return fmt.Errorf("store: reset state: %w", err)
	}
	return nil
}

// ReindexPending reports whether ResetState has run and Reindex has not
// finished since, so that a daemon can resume an interrupted reindex.
func (db *DB) ReindexPending() (bool, error) {
	var pending bool
	err := db.view(func(tx *bolt.Tx) error {
		pending = tx.Bucket(bucketReindex) != nil
		return nil
	})
	if err != nil {
		return false, fmt.Errorf("store: %w", err)
	}
	return pending, nil
}

// Reindex rebuilds the node's state from the stored blocks (node
// --reindex): it calls ResetState unless a reindex is already pending,
// starts a node on the store with cfg (cfg.Store must be db or nil), and
// passes every stored block to Node.ProcessBlock in its original
// first-seen order, so that every block is checked again with every rule,
// the same branches win at equal work, and the index, undo records,
// accounts and tip are written anew. Blocks the rules now refuse are
// dropped from the store. It returns the node, ready to use.
//
// An interrupted Reindex (a crash, a Store error) leaves a consistent
// store holding a prefix of the replay; calling Reindex again resumes it.
// A block that breaks a rule is logged and skipped, as ProcessBlock
// records it; only Store errors stop the replay. cfg.Notify, if set,
// receives the events of the replay.
func (db *DB) Reindex(cfg node.Config) (*node.Node, error) {
	if cfg.Store == nil {
		cfg.Store = db
	} else if cfg.Store != node.Store(db) {
		return nil, errors.New("store: Reindex: Config.Store must be the DB or nil")
	}
	pending, err := db.ReindexPending()
	if err != nil {
		return nil, fmt.Errorf("store: reindex: %w", err)
	}
	if !pending {
		if err := db.ResetState(); err != nil {
			return nil, err
		}
	}
	entries, err := db.pendingEntries()
	if err != nil {
		return nil, err
	}
	n, err := node.New(cfg)
	if err != nil {
		return nil, fmt.Errorf("store: reindex: %w", err)
	}
	db.log.Info("reindex started", "blocks", len(entries))
	var replayed, refused int
	for i, e := range entries {
		blk, err := db.Block(e.Hash)
		if err != nil {
			return nil, fmt.Errorf("store: reindex: %w", err)
		}
		_, err = n.ProcessBlock(blk)
		var rerr chain.RuleError
		switch {
		case err == nil:
			replayed++
		case errors.Is(err, node.ErrDuplicate):
			// Genesis, or replayed before an interruption.
		case errors.As(err, &rerr):
			refused++
			db.log.Warn("reindex: block refused", "hash", e.Hash, "height", e.Height, "err", err)
		default:
			return nil, fmt.Errorf("store: reindex: block %v: %w", e.Hash, err)
		}
		if (i+1)%ReindexLogInterval == 0 {
			db.log.Info("reindex progress", "done", i+1, "of", len(entries), "tip", n.Tip().Height)
		}
	}
	// Bodies of blocks the node did not store again: refused by the
	// rules now, or orphans left by a refused parent.
	var drop []chain.Hash
	for _, e := range entries {
		if info, ok := n.BlockInfo(e.Hash); !ok || info.Status&node.StatusDataStored == 0 {
			drop = append(drop, e.Hash)
		}
	}
	if err := db.finishReindex(drop); err != nil {
		return nil, err
	}
	tip := n.Tip()
	db.log.Info("reindex done", "replayed", replayed, "refused", refused, "dropped", len(drop),
		"tip", tip.Hash, "height", tip.Height)
	return n, nil
}

// pendingEntries returns the pending-reindex entries whose bodies are
// stored, in first-seen order (parents before children: a block is
// numbered when it is accepted, after its parent).
func (db *DB) pendingEntries() ([]node.IndexEntry, error) {
	var out []node.IndexEntry
	err := db.view(func(tx *bolt.Tx) error {
		return tx.Bucket(bucketReindex).ForEach(func(k, v []byte) error {
			e, err := decodeIndexEntry(k, v)
			if err != nil {
				return corruptError(string(bucketReindex), k, "%w", err)
			}
			if e.Status&node.StatusDataStored != 0 {
				out = append(out, e)
			}
			return nil
		})
	})
	if err != nil {
		return nil, fmt.Errorf("store: reindex: %w", err)
	}
	slices.SortStableFunc(out, func(a, b node.IndexEntry) int { return cmp.Compare(a.Seq, b.Seq) })
	return out, nil
}

// finishReindex deletes the bodies in drop and the pending list.
func (db *DB) finishReindex(drop []chain.Hash) error {
	err := db.update(func(tx *bolt.Tx) error {
		blocks := tx.Bucket(bucketBlocks)
		for _, h := range drop {
			if err := blocks.Delete(h[:]); err != nil {
				return err
			}
		}
		return tx.DeleteBucket(bucketReindex)
	})
	if err != nil {
		return fmt.Errorf("store: reindex: finish: %w", err)
	}
	return nil
}
