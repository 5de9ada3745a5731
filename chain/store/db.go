package store

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"log/slog"
	"runtime/debug"
	"time"

	"github.com/powmine/powmine/chain"
	bolt "go.etcd.io/bbolt"
	berrors "go.etcd.io/bbolt/errors"
)

// SchemaVersion is the layout version this package writes. Open refuses a
// file with another one. Version 1 held transactions of chain.TxVersion 1;
// version 2 held validators without a pending partial withdraw (value
// format 1) and withdraws without an amount.
const SchemaVersion = 3

// Bucket names.
var (
	bucketMeta     = []byte("meta")
	bucketBlocks   = []byte("blocks")
	bucketIndex    = []byte("index")
	bucketUndo     = []byte("undo")
	bucketAccounts = []byte("accounts")
	bucketReindex  = []byte("reindex") // only while a reindex is pending

	// bucketValidators holds the validator set. Stores written before
	// stake lack it; it is created by the first commit that writes a
	// validator, and a missing one reads as an empty set.
	bucketValidators = []byte("validators")

	// bucketFinality holds the finality state's records
	// (storage.FinalityEntry: key and value as the node encodes them).
	// Stores written before finality lack it; it is created by the first
	// commit that writes a record, and a missing one reads as the genesis
	// state (nothing justified but the genesis checkpoint).
	bucketFinality = []byte("finality")
)

// dataBuckets are the buckets every store has besides meta.
var dataBuckets = [][]byte{bucketBlocks, bucketIndex, bucketUndo, bucketAccounts}

// Keys of the meta bucket.
var (
	metaSchema  = []byte("schema")  // 4-byte big-endian SchemaVersion
	metaNetwork = []byte("network") // Params.Name, for error messages
	metaGenesis = []byte("genesis") // Params.GenesisHash, the network's identity
	metaTip     = []byte("tip")     // the tip's hash; absent in an empty store
)

// DB is a node.Store (and node.Reindexer) in one bbolt file. Every Commit is one bbolt write
// transaction, synced to disk before it returns (bbolt's default; this
// package never disables it), so after a crash the file holds the state
// of the last successful Commit.
//
// All methods are safe for concurrent use: reads run in parallel, bbolt
// serializes writes. Only one DB may have a file open at a time; others
// (in this process or another) get ErrLocked from Open.
type DB struct {
	bolt    *bolt.DB
	path    string
	network string
	genesis chain.Hash
	log     *slog.Logger
	damage  *damage

	// commitHook, when set (by tests), runs after each stage of a Commit
	// ("blocks", "index", "undo", "accounts", "tip"); an error from it
	// fails the Commit.
	commitHook func(stage string) error
}

// Open opens the store at path, creating the file when it does not exist,
// for the network of params: a new file records the network's name and
// genesis hash, and an existing one must carry the same genesis hash
// (else ErrWrongNetwork). It fails with ErrLocked when another process
// holds the file longer than the lock timeout (see WithLockTimeout), with
// ErrNewerSchema, ErrOlderSchema, ErrNotStore or ErrCorrupt for a file it cannot use,
// with bbolt's error (wrapped, with the path) for a file that is not a
// bbolt database, and with ErrDamaged when bbolt's consistency check of
// the whole file fails or bbolt panics on a damaged page.
func Open(path string, params *chain.Params, opts ...Option) (db *DB, err error) {
	if params == nil {
		return nil, errors.New("store: Open needs the network's Params")
	}
	cfg := config{lockTimeout: DefaultLockTimeout, logger: slog.New(slog.DiscardHandler)}
	for _, o := range opts {
		if err := o(&cfg); err != nil {
			return nil, err
		}
	}
	if err := checkFileSize(path); err != nil {
		return nil, err
	}
	b, err := openBolt(path, cfg.lockTimeout)
	if errors.Is(err, berrors.ErrTimeout) {
		return nil, fmt.Errorf("%w: %s (waited %v)", ErrLocked, path, cfg.lockTimeout)
	}
	if errors.Is(err, berrors.ErrInvalid) || errors.Is(err, berrors.ErrVersionMismatch) || errors.Is(err, berrors.ErrChecksum) {
		return nil, fmt.Errorf("store: open %s: not a bbolt database, or a damaged one: %w", path, err)
	}
	if err != nil {
		return nil, fmt.Errorf("store: open %s: %w", path, err)
	}
	db = &DB{bolt: b, path: path, network: params.Name, genesis: params.GenesisHash,
		log: cfg.logger.With("component", "store"), damage: newDamage()}
	if err := db.checkMeta(path); err != nil {
		_ = b.Close()
		return nil, err
	}
	if err := db.check(); err != nil {
		_ = b.Close()
		return nil, err
	}
	return db, nil
}

// openBolt opens the bbolt file, turning a panic on a damaged page (bbolt
// reads the freelist as it opens) into ErrDamaged.
func openBolt(path string, lockTimeout time.Duration) (b *bolt.DB, err error) {
	defer debug.SetPanicOnFault(debug.SetPanicOnFault(true))
	defer func() {
		if r := recover(); r != nil {
			b, err = nil, fmt.Errorf("%w: %s: %v", ErrDamaged, path, r)
		}
	}()
	return bolt.Open(path, 0o600, &bolt.Options{Timeout: lockTimeout})
}

// checkMeta initializes an empty file, or checks an existing one's
// schema, network and buckets.
func (db *DB) checkMeta(path string) error {
	var empty bool
	err := db.view(func(tx *bolt.Tx) error {
		if tx.Bucket(bucketMeta) == nil {
			empty = tx.ForEach(func([]byte, *bolt.Bucket) error { return errStop }) == nil
			if !empty {
				return fmt.Errorf("%w: %s has buckets but no %q bucket", ErrNotStore, path, bucketMeta)
			}
			return nil
		}
		return db.checkMetaTx(tx, path)
	})
	if err != nil || !empty {
		if err == nil {
			db.log.Debug("opened", "path", path, "network", db.network)
		}
		return err
	}
	err = db.update(func(tx *bolt.Tx) error {
		meta, err := tx.CreateBucket(bucketMeta)
		if err != nil {
			return err
		}
		for _, name := range dataBuckets {
			if _, err := tx.CreateBucket(name); err != nil {
				return err
			}
		}
		var schema [4]byte
		binary.BigEndian.PutUint32(schema[:], SchemaVersion)
		return errors.Join(meta.Put(metaSchema, schema[:]), meta.Put(metaNetwork, []byte(db.network)),
			meta.Put(metaGenesis, db.genesis[:]))
	})
	if err != nil {
		return fmt.Errorf("store: initialize %s: %w", path, err)
	}
	db.log.Info("created", "path", path, "network", db.network, "schema", SchemaVersion)
	return nil
}

// errStop ends a ForEach early.
var errStop = errors.New("stop")

// checkMetaTx checks the meta bucket and the data buckets of a store.
func (db *DB) checkMetaTx(tx *bolt.Tx, path string) error {
	meta := tx.Bucket(bucketMeta)
	schema := meta.Get(metaSchema)
	if len(schema) != 4 {
		return corruptError(string(bucketMeta), metaSchema, "schema version of %d bytes, want 4", len(schema))
	}
	switch v := binary.BigEndian.Uint32(schema); {
	case v > SchemaVersion:
		return fmt.Errorf("%w: %s has schema version %d, this program supports up to %d",
			ErrNewerSchema, path, v, SchemaVersion)
	case v == 0:
		return corruptError(string(bucketMeta), metaSchema, "schema version 0")
	case v < SchemaVersion:
		return fmt.Errorf("%w: %s has schema version %d, this program reads only %d; remove it to start a new chain",
			ErrOlderSchema, path, v, SchemaVersion)
	}
	g := meta.Get(metaGenesis)
	if len(g) != chain.HashSize {
		return corruptError(string(bucketMeta), metaGenesis, "genesis hash of %d bytes, want %d", len(g), chain.HashSize)
	}
	if !bytes.Equal(g, db.genesis[:]) {
		return fmt.Errorf("%w: %s holds network %q (genesis %v), want %q (genesis %v)", ErrWrongNetwork, path,
			meta.Get(metaNetwork), chain.Hash(g), db.network, db.genesis)
	}
	for _, name := range dataBuckets {
		if tx.Bucket(name) == nil {
			return fmt.Errorf("%w: %s has no %q bucket", ErrNotStore, path, name)
		}
	}
	return nil
}

// Close closes the file, waiting for running transactions.
func (db *DB) Close() error {
	if err := db.bolt.Close(); err != nil {
		return fmt.Errorf("store: close: %w", err)
	}
	return nil
}
