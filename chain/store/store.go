package store

import (
	"bytes"
	"errors"
	"fmt"

	"github.com/powmine/powmine/chain"
	"github.com/powmine/powmine/chain/storage"
	bolt "go.etcd.io/bbolt"
)

// Load implements node.Store: the index (in height order), the accounts,
// the validators (none for a store written before stake) and the tip, or
// a nil Snapshot when no tip is stored. Every value is
// checked as it is decoded; the first bad one fails Load with a
// *CorruptError naming its bucket and key.
func (db *DB) Load() (*storage.Snapshot, error) {
	var snap *storage.Snapshot
	err := db.view(func(tx *bolt.Tx) error {
		tip := tx.Bucket(bucketMeta).Get(metaTip)
		if tip == nil {
			return nil
		}
		if len(tip) != chain.HashSize {
			return corruptError(string(bucketMeta), metaTip, "tip of %d bytes, want %d", len(tip), chain.HashSize)
		}
		s := &storage.Snapshot{Tip: chain.Hash(tip)}
		seen := make(map[chain.Hash]struct{})
		err := tx.Bucket(bucketIndex).ForEach(func(k, v []byte) error {
			e, err := decodeIndexEntry(k, v)
			if err != nil {
				return corruptError(string(bucketIndex), k, "%w", err)
			}
			if _, dup := seen[e.Hash]; dup {
				return corruptError(string(bucketIndex), k, "block %v is stored at two heights", e.Hash)
			}
			seen[e.Hash] = struct{}{}
			s.Index = append(s.Index, e)
			return nil
		})
		if err != nil {
			return err
		}
		err = tx.Bucket(bucketAccounts).ForEach(func(k, v []byte) error {
			if len(k) != chain.AddressSize {
				return corruptError(string(bucketAccounts), k, "key of %d bytes, want %d", len(k), chain.AddressSize)
			}
			a, err := decodeAccount(v)
			if err != nil {
				return corruptError(string(bucketAccounts), k, "%w", err)
			}
			s.Accounts = append(s.Accounts, storage.AccountEntry{Address: chain.Address(k), Account: a})
			return nil
		})
		if err != nil {
			return err
		}
		if err := loadValidators(tx, s); err != nil {
			return err
		}
		if b := tx.Bucket(bucketFinality); b != nil {
			err := b.ForEach(func(k, v []byte) error {
				if len(k) == 0 || len(v) == 0 {
					return corruptError(string(bucketFinality), k, "empty key or value")
				}
				s.Finality = append(s.Finality, storage.FinalityEntry{Key: string(k), Value: bytes.Clone(v)})
				return nil
			})
			if err != nil {
				return err
			}
		}
		snap = s
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("store: load: %w", err)
	}
	return snap, nil
}

// Block implements node.Store. A stored block that does not decode, or
// whose header does not hash to its key, yields a *CorruptError.
func (db *DB) Block(hash chain.Hash) (*chain.Block, error) {
	var b *chain.Block
	err := db.view(func(tx *bolt.Tx) error {
		v := tx.Bucket(bucketBlocks).Get(hash[:])
		if v == nil {
			return fmt.Errorf("%w: block %v", storage.ErrNotFound, hash)
		}
		var blk chain.Block
		if err := blk.UnmarshalBinary(v); err != nil {
			return corruptError(string(bucketBlocks), hash[:], "%w", err)
		}
		if got := blk.Hash(); got != hash {
			return corruptError(string(bucketBlocks), hash[:], "block hashes to %v", got)
		}
		b = &blk
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("store: %w", err)
	}
	return b, nil
}

// BlockSeals implements node.Store in one read transaction: of each
// block it copies the last chain.SealSize bytes of its encoding, without
// decoding the block (the seal comes last, see chain.Block), so the cost
// does not grow with the block's size. A stored block too short to hold
// a header and a seal yields a *CorruptError; one without a seal (a
// proof-of-work block, or genesis) gives the end of its last
// transaction, which the node never asks for.
func (db *DB) BlockSeals(hashes []chain.Hash, seals []chain.BlockSeal) error {
	if len(seals) != len(hashes) {
		return fmt.Errorf("store: %d seals for %d blocks", len(seals), len(hashes))
	}
	err := db.view(func(tx *bolt.Tx) error {
		blocks := tx.Bucket(bucketBlocks)
		for i, h := range hashes {
			v := blocks.Get(h[:])
			switch {
			case v == nil:
				return fmt.Errorf("%w: block %v", storage.ErrNotFound, h)
			case len(v) < chain.HeaderSize+1+chain.SealSize:
				return corruptError(string(bucketBlocks), h[:], "block of %d bytes holds no seal", len(v))
			}
			copy(seals[i][:], v[len(v)-chain.SealSize:])
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("store: %w", err)
	}
	return nil
}

// Undo implements node.Store. A stored record that does not decode yields
// a *CorruptError.
func (db *DB) Undo(hash chain.Hash) (*storage.Undo, error) {
	var u *storage.Undo
	err := db.view(func(tx *bolt.Tx) error {
		v := tx.Bucket(bucketUndo).Get(hash[:])
		if v == nil {
			return fmt.Errorf("%w: undo of block %v", storage.ErrNotFound, hash)
		}
		var err error
		if u, err = decodeUndo(v); err != nil {
			return corruptError(string(bucketUndo), hash[:], "%w", err)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("store: %w", err)
	}
	return u, nil
}

// Commit implements node.Store: one bbolt write transaction, synced
// before it returns, applying b in the order storage.Batch gives (Blocks,
// Index, PutUndo, DeleteUndo, Accounts, Validators, Finality, Tip). It refuses, applying
// nothing, a batch that could not be loaded back: a block that does not
// encode or exceeds chain.MaxBlockSize, an index entry with a negative
// height or whose header does not hash to its Hash, a nil Undo.
func (db *DB) Commit(b *storage.Batch) error {
	err := db.update(func(tx *bolt.Tx) error { return db.apply(tx, b) })
	if err != nil {
		return fmt.Errorf("store: commit: %w", err)
	}
	return nil
}

// apply writes b in tx.
func (db *DB) apply(tx *bolt.Tx, b *storage.Batch) error {
	// Values must stay valid until the transaction ends: they are carved
	// out of buf, whose old arrays stay alive when append moves it.
	var buf []byte
	carve := func(start int) []byte { return buf[start:len(buf):len(buf)] }

	blocks := tx.Bucket(bucketBlocks)
	for _, blk := range b.Blocks {
		h := blk.Hash()
		v, err := blk.MarshalBinary()
		if err != nil {
			return fmt.Errorf("block %v: %w", h, err)
		}
		if len(v) > chain.MaxBlockSize {
			return fmt.Errorf("block %v: %d bytes exceeds chain.MaxBlockSize", h, len(v))
		}
		if err := blocks.Put(h[:], v); err != nil {
			return fmt.Errorf("block %v: %w", h, err)
		}
	}
	if err := db.hook("blocks"); err != nil {
		return err
	}

	index := tx.Bucket(bucketIndex)
	index.FillPercent = 0.9 // keys mostly arrive in increasing height order
	for i := range b.Index {
		e := &b.Index[i]
		if e.Height < 0 {
			return fmt.Errorf("index entry %v: negative height %d", e.Hash, e.Height)
		}
		if got := e.Header.Hash(); got != e.Hash {
			return fmt.Errorf("index entry %v: header hashes to %v", e.Hash, got)
		}
		start := len(buf)
		buf = appendIndexValue(buf, e)
		if err := index.Put(indexKey(e.Height, e.Hash), carve(start)); err != nil {
			return fmt.Errorf("index entry %v: %w", e.Hash, err)
		}
	}
	if err := db.hook("index"); err != nil {
		return err
	}

	undo := tx.Bucket(bucketUndo)
	for _, u := range b.PutUndo {
		if u.Undo == nil {
			return fmt.Errorf("undo of block %v is nil", u.Hash)
		}
		start := len(buf)
		buf = appendUndo(buf, u.Undo)
		if err := undo.Put(u.Hash[:], carve(start)); err != nil {
			return fmt.Errorf("undo of block %v: %w", u.Hash, err)
		}
	}
	for _, h := range b.DeleteUndo {
		if err := undo.Delete(h[:]); err != nil {
			return fmt.Errorf("delete undo of block %v: %w", h, err)
		}
	}
	if err := db.hook("undo"); err != nil {
		return err
	}

	accounts := tx.Bucket(bucketAccounts)
	for _, e := range b.Accounts {
		var err error
		if e.Account == (chain.Account{}) {
			err = accounts.Delete(e.Address[:])
		} else {
			start := len(buf)
			buf = appendAccount(buf, e.Account)
			err = accounts.Put(e.Address[:], carve(start))
		}
		if err != nil {
			return fmt.Errorf("account %v: %w", e.Address, err)
		}
	}
	if err := db.hook("accounts"); err != nil {
		return err
	}

	if len(b.Validators) > 0 {
		validators, err := tx.CreateBucketIfNotExists(bucketValidators)
		if err != nil {
			return fmt.Errorf("validators: %w", err)
		}
		for _, e := range b.Validators {
			if e.Validator == (chain.Validator{}) {
				err = validators.Delete(e.Key[:])
			} else {
				start := len(buf)
				buf = appendValidator(buf, e.Validator)
				err = validators.Put(e.Key[:], carve(start))
			}
			if err != nil {
				return fmt.Errorf("validator %v: %w", e.Key, err)
			}
		}
	}
	if err := db.hook("validators"); err != nil {
		return err
	}

	if len(b.Finality) > 0 {
		finality, err := tx.CreateBucketIfNotExists(bucketFinality)
		if err != nil {
			return fmt.Errorf("finality: %w", err)
		}
		for _, e := range b.Finality {
			if len(e.Key) == 0 {
				return errors.New("finality record with an empty key")
			}
			if len(e.Value) == 0 {
				err = finality.Delete([]byte(e.Key))
			} else {
				err = finality.Put([]byte(e.Key), e.Value)
			}
			if err != nil {
				return fmt.Errorf("finality record %x: %w", e.Key, err)
			}
		}
	}
	if err := db.hook("finality"); err != nil {
		return err
	}

	if b.Tip != nil {
		tip := *b.Tip
		if err := tx.Bucket(bucketMeta).Put(metaTip, tip[:]); err != nil {
			return fmt.Errorf("tip: %w", err)
		}
	}
	return db.hook("tip")
}

// hook runs the test hook, if any.
func (db *DB) hook(stage string) error {
	if db.commitHook == nil {
		return nil
	}
	return db.commitHook(stage)
}

// loadValidators adds the validators bucket to s; a store written before
// stake has none, which is an empty set.
func loadValidators(tx *bolt.Tx, s *storage.Snapshot) error {
	b := tx.Bucket(bucketValidators)
	if b == nil {
		return nil
	}
	return b.ForEach(func(k, v []byte) error {
		if len(k) != chain.PublicKeySize {
			return corruptError(string(bucketValidators), k, "key of %d bytes, want %d", len(k), chain.PublicKeySize)
		}
		val, err := decodeValidator(v)
		if err != nil {
			return corruptError(string(bucketValidators), k, "%w", err)
		}
		s.Validators = append(s.Validators, storage.ValidatorEntry{Key: chain.PublicKey(k), Validator: val})
		return nil
	})
}
