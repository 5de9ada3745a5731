package store

import (
	"errors"
	"fmt"
	"hash/crc32"
	"runtime/debug"
	"sync"

	bolt "go.etcd.io/bbolt"
)

// ErrDamaged is wrapped by every error about a store file whose pages are
// damaged: bbolt's consistency check failed, or bbolt panicked while it
// read or wrote a page. Such a store is not used again: Damaged is closed
// and every later call fails.
var ErrDamaged = errors.New("store: database file is damaged")

// damage records the first damage found in a store file.
type damage struct {
	once sync.Once
	done chan struct{}
	mu   sync.Mutex
	err  error
}

func newDamage() *damage { return &damage{done: make(chan struct{})} }

// report records err as the store's damage (the first one wins) and
// returns the recorded error.
func (d *damage) report(err error) error {
	d.once.Do(func() {
		d.mu.Lock()
		d.err = err
		d.mu.Unlock()
		close(d.done)
	})
	return d.get()
}

// get returns the recorded damage, or nil.
func (d *damage) get() error {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.err
}

// Damaged is closed when the store finds that its file is damaged; Err
// then says where. A node stops when it is closed: the file needs
// restoring, or a new chain.
func (db *DB) Damaged() <-chan struct{} { return db.damage.done }

// Err returns the damage found in the store's file, or nil.
func (db *DB) Err() error { return db.damage.get() }

// view runs fn in a read transaction, turning a panic inside bbolt (a
// damaged page) into an error that names the file. A damaged page can
// also send bbolt reading outside the file's mapping; the goroutine
// panics on such a fault instead of crashing the process.
func (db *DB) view(fn func(*bolt.Tx) error) (err error) {
	if err := db.damage.get(); err != nil {
		return err
	}
	defer debug.SetPanicOnFault(debug.SetPanicOnFault(true))
	defer db.recoverDamage(&err)
	return db.bolt.View(fn)
}

// update runs fn in a write transaction, as view does for reads. bbolt
// rolls the transaction back before the panic reaches here, so nothing of
// it is written.
func (db *DB) update(fn func(*bolt.Tx) error) (err error) {
	if err := db.damage.get(); err != nil {
		return err
	}
	defer debug.SetPanicOnFault(debug.SetPanicOnFault(true))
	defer db.recoverDamage(&err)
	return db.bolt.Update(fn)
}

// recoverDamage turns a panic into the store's damage error.
func (db *DB) recoverDamage(err *error) {
	if r := recover(); r != nil {
		*err = db.damage.report(fmt.Errorf("%w: %s: %v", ErrDamaged, db.path, r))
		db.log.Error("damaged store file", "path", db.path, "err", *err)
	}
}

// maxCheckErrors is how many of bbolt's consistency errors an error
// message quotes.
const maxCheckErrors = 3

// check reads every key and value of every bucket (so that a damaged
// page faults here, where view recovers, and not in bbolt's own checking
// goroutine), then runs bbolt's consistency check over the whole file:
// every page reachable once, none both used and free, keys in order.
func (db *DB) check() error {
	var sum uint32
	err := db.view(func(tx *bolt.Tx) error {
		return tx.ForEach(func(_ []byte, b *bolt.Bucket) (err error) {
			sum, err = walk(b, sum)
			return err
		})
	})
	if err != nil {
		return err
	}
	var problems []error
	err = db.view(func(tx *bolt.Tx) error {
		n := 0
		for e := range tx.Check() {
			if n++; n <= maxCheckErrors {
				problems = append(problems, e)
			}
		}
		if n > maxCheckErrors {
			problems = append(problems, fmt.Errorf("and %d more", n-maxCheckErrors))
		}
		return nil
	})
	if err != nil {
		return err
	}
	if len(problems) > 0 {
		return db.damage.report(fmt.Errorf("%w: %s: consistency check: %w", ErrDamaged, db.path, errors.Join(problems...)))
	}
	db.log.Debug("consistency check passed", "path", db.path, "crc32", sum)
	return nil
}

// walk folds every key and value of b and of its nested buckets into
// the CRC-32 sum, reading each byte.
func walk(b *bolt.Bucket, sum uint32) (uint32, error) {
	err := b.ForEach(func(k, v []byte) error {
		sum = crc32.Update(crc32.Update(sum, crc32.IEEETable, k), crc32.IEEETable, v)
		if v == nil {
			if nested := b.Bucket(k); nested != nil {
				var err error
				sum, err = walk(nested, sum)
				return err
			}
		}
		return nil
	})
	return sum, err
}
