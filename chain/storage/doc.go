// Package storage holds the records a node persists and its store keeps:
// block index entries with their BlockStatus bits, undo records, account
// entries, the Batch of one atomic change and the Snapshot a store loads.
// chain/node writes them through its Store interface and chain/store
// keeps them in a bbolt file; both import this package, neither imports
// the other.
//
// What it does not do: it holds data types, no I/O and no state. The Store
// interface stays with its user, chain/node, and the in-memory store
// (node.MemStore) with it.
//
// # Errors
//
// A store returns an error wrapping ErrNotFound for a block or undo
// record it does not hold; test with errors.Is.
package storage
