package store

import (
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/powmine/powmine/chain"
	bolt "go.etcd.io/bbolt"
	berrors "go.etcd.io/bbolt/errors"
)

// ErrNoChain is returned by ReadGenesis for a store that holds no chain
// yet: no meta bucket, or no tip (its first start stopped before the
// genesis block was committed).
var ErrNoChain = errors.New("store: the store holds no chain")

// ReadGenesis returns the genesis block of the chain stored at path,
// without knowing the network first: a dev chain's data directory can
// restore its genesis file from it. It waits lockTimeout for another
// process to release the file.
func ReadGenesis(path string, lockTimeout time.Duration) (*chain.Block, error) {
	if err := checkFileSize(path); err != nil {
		return nil, err
	}
	b, err := openBolt(path, lockTimeout)
	if errors.Is(err, berrors.ErrTimeout) {
		return nil, fmt.Errorf("%w: %s (waited %v)", ErrLocked, path, lockTimeout)
	}
	if err != nil {
		return nil, fmt.Errorf("store: open %s: %w", path, err)
	}
	defer b.Close()
	db := &DB{bolt: b, path: path, damage: newDamage(), log: slog.New(slog.DiscardHandler)}
	var g *chain.Block
	err = db.view(func(tx *bolt.Tx) error {
		meta := tx.Bucket(bucketMeta)
		if meta == nil || meta.Get(metaTip) == nil {
			return fmt.Errorf("%w: %s", ErrNoChain, path)
		}
		hash := meta.Get(metaGenesis)
		blocks := tx.Bucket(bucketBlocks)
		if len(hash) != chain.HashSize || blocks == nil {
			return corruptError(string(bucketMeta), metaGenesis, "no genesis hash or no blocks bucket")
		}
		raw := blocks.Get(hash)
		if raw == nil {
			return corruptError(string(bucketBlocks), hash, "the genesis block is not stored")
		}
		var blk chain.Block
		if err := blk.UnmarshalBinary(raw); err != nil {
			return corruptError(string(bucketBlocks), hash, "%w", err)
		}
		if blk.Hash() != chain.Hash(hash) {
			return corruptError(string(bucketBlocks), hash, "the block hashes to %v", blk.Hash())
		}
		g = &blk
		return nil
	})
	if err != nil {
		return nil, err
	}
	return g, nil
}
