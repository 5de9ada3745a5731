package store

import (
	"cmp"
	"fmt"
	"slices"

	"github.com/powmine/powmine/chain"
	"github.com/powmine/powmine/chain/storage"
	bolt "go.etcd.io/bbolt"
)

// ResetState discards the state derived from the blocks: the block
// statuses, undo records, accounts and tip, in one transaction. It keeps
// every block body and moves the index entries (header, height, first-seen
// order) to a pending-reindex list, which node.Reindex replays
// (ReindexEntries) and then drops (FinishReindex). After ResetState, Load
// returns nil (an empty store) until a node commits a new genesis; a node
// started on it holds only genesis until the reindex has run. Calling it
// again before the reindex has finished keeps the pending list and adds
// the entries indexed since. It implements node.Reindexer.
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
		for _, name := range [][]byte{bucketValidators, bucketFinality} {
			if tx.Bucket(name) != nil {
				if err := tx.DeleteBucket(name); err != nil {
					return err
				}
			}
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

// ReindexPending reports whether ResetState has run and FinishReindex has
// not since, so that a daemon can resume an interrupted reindex. It
// implements node.Reindexer.
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

// ReindexEntries returns the pending-reindex entries whose bodies are
// stored, in first-seen order (parents before children: a block is
// numbered when it is accepted, after its parent); none when no reindex
// is pending. It implements node.Reindexer.
func (db *DB) ReindexEntries() ([]storage.IndexEntry, error) {
	var out []storage.IndexEntry
	err := db.view(func(tx *bolt.Tx) error {
		pending := tx.Bucket(bucketReindex)
		if pending == nil {
			return nil
		}
		return pending.ForEach(func(k, v []byte) error {
			e, err := decodeIndexEntry(k, v)
			if err != nil {
				return corruptError(string(bucketReindex), k, "%w", err)
			}
			if e.Status&storage.StatusDataStored != 0 {
				out = append(out, e)
			}
			return nil
		})
	})
	if err != nil {
		return nil, fmt.Errorf("store: reindex entries: %w", err)
	}
	slices.SortStableFunc(out, func(a, b storage.IndexEntry) int { return cmp.Compare(a.Seq, b.Seq) })
	return out, nil
}

// FinishReindex deletes the bodies in drop (blocks the replay refused)
// and the pending list, in one transaction, ending the reindex. It
// implements node.Reindexer.
func (db *DB) FinishReindex(drop []chain.Hash) error {
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
