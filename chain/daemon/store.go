package daemon

import (
	"errors"
	"fmt"
	"path/filepath"
	"time"

	"github.com/powmine/powmine/chain/node"
	"github.com/powmine/powmine/chain/store"
)

// storeFile is the bbolt file in the data directory.
const storeFile = "chain.db"

// openNode opens the store (in memory without a data directory) and the
// node over it, rebuilding the state from the stored blocks when reindex
// is set or an earlier reindex was interrupted. It waits lockTimeout for
// another process holding the store, then fails with store.ErrLocked.
func (d *Daemon) openNode(dataDir string, reindex bool, lockTimeout time.Duration, cfg node.Config) (*node.Node, error) {
	if dataDir == "" {
		return node.New(cfg)
	}
	db, err := store.Open(filepath.Join(dataDir, storeFile), cfg.Params,
		store.WithLogger(d.log), store.WithLockTimeout(lockTimeout))
	if errors.Is(err, store.ErrLocked) {
		return nil, fmt.Errorf("daemon: data directory %s is in use by another node: %w", dataDir, err)
	}
	if err != nil {
		return nil, err
	}
	d.closers = append(d.closers, db.Close)
	d.db = db
	cfg.Store = db
	pending, err := db.ReindexPending()
	if err != nil {
		return nil, err
	}
	if reindex && !pending {
		if err := db.ResetState(); err != nil {
			return nil, err
		}
		pending = true
	}
	if pending {
		d.log.Info("rebuilding the chain state from the stored blocks")
		return node.Reindex(cfg, db)
	}
	return node.New(cfg)
}
