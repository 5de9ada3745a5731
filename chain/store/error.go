package store

import (
	"errors"
	"fmt"
)

// Sentinel errors. Test for them with errors.Is; the errors returned wrap
// them with the path, bucket, key or values involved.
var (
	// ErrCorrupt is wrapped (through a *CorruptError) by every error about
	// a stored key or value that does not decode or breaks the store's
	// invariants: a truncated value, an unknown format version, a header
	// that does not hash to its key, a zero account, a duplicate index
	// entry.
	ErrCorrupt = errors.New("store: corrupt value")

	// ErrNotStore: the file is a bbolt database, but not one this package
	// wrote (no meta bucket, or data buckets missing).
	ErrNotStore = errors.New("store: not a chain store")

	// ErrNewerSchema: the file was written by a newer version of this
	// package (its schema version is above SchemaVersion).
	ErrNewerSchema = errors.New("store: schema version is newer than this program supports")

	// ErrOlderSchema: the file was written by an earlier version of this
	// package, in a layout it no longer reads (there is no migration:
	// only dev chains were ever stored in it).
	ErrOlderSchema = errors.New("store: schema version is older than this program reads")

	// ErrWrongNetwork: the file holds another network's chain (its
	// genesis hash differs from the Params' GenesisHash).
	ErrWrongNetwork = errors.New("store: the store belongs to another network")

	// ErrLocked: another process (or another DB in this one) holds the
	// file, and the lock did not come free within the lock timeout.
	ErrLocked = errors.New("store: database file is locked by another process")
)

// CorruptError reports a stored value (or key) that cannot be decoded or
// breaks an invariant. It matches ErrCorrupt with errors.Is and unwraps to
// the decoding error, if any.
type CorruptError struct {
	Bucket string // the bucket, e.g. "index"
	Key    []byte // the key, a copy
	Reason error  // what is wrong
}

// corruptError builds a *CorruptError, copying key out of the transaction.
func corruptError(bucket string, key []byte, format string, args ...any) *CorruptError {
	return &CorruptError{Bucket: bucket, Key: append([]byte(nil), key...), Reason: fmt.Errorf(format, args...)}
}

// Error returns "store: corrupt value: bucket "index" key 00..ff: reason".
func (e *CorruptError) Error() string {
	return fmt.Sprintf("%v: bucket %q key %x: %v", ErrCorrupt, e.Bucket, e.Key, e.Reason)
}

// Is reports whether target is ErrCorrupt.
func (e *CorruptError) Is(target error) bool { return target == ErrCorrupt }

// Unwrap returns the reason.
func (e *CorruptError) Unwrap() error { return e.Reason }
