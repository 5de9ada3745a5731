// Package store is the persistent node.Store: the chain of a node in one
// go.etcd.io/bbolt file. Open it for a network's Params, hand the DB to
// node.Config.Store, Close it when the node is done. The records it keeps
// (storage.Batch, storage.IndexEntry, storage.Undo, ...) are defined in
// chain/storage, which chain/node also imports; this package does not
// import chain/node.
//
// Layout (bbolt buckets; integers in keys are big-endian):
//
//   - "meta": "schema" (SchemaVersion, 4 bytes), "network" (Params.Name),
//     "genesis" (Params.GenesisHash: a file of another network is
//     refused) and "tip" (the tip's hash; absent in an empty store).
//   - "blocks": block hash -> the block's consensus encoding
//     (chain.Block.MarshalBinary). Blocks are never deleted, except those
//     a Reindex finds invalid.
//   - "index": height (8 bytes) || hash -> header, status bits and
//     first-seen sequence number, so one cursor walk returns parents
//     before children.
//   - "undo": block hash -> the storage.Undo of a connected block.
//   - "accounts": address -> balance and sequence; zero accounts are
//     deleted, never stored.
//   - "reindex": while a reindex is pending, the index entries waiting
//     to be replayed (see ResetState).
//
// Every value but a block starts with a format byte (see encoding.go),
// so that a later version can change one encoding and still read the
// old; a change of layout raises SchemaVersion.
//
// Durability: each Commit is exactly one bbolt write transaction, applied
// in the order storage.Batch documents and synced to disk before Commit
// returns (bbolt's default; NoSync is never set), so a crash leaves the
// state of the last successful Commit and a failing Commit leaves nothing
// applied. Commit refuses values it could not load back.
//
// Reindex (node --reindex, node.Reindex): ResetState throws away
// statuses, undo records, accounts and tip, keeping the index entries in
// a pending list; node.Reindex replays every stored block
// (ReindexEntries, in the order the blocks were first seen) through a new
// node.Node, then FinishReindex drops the pending list and the blocks the
// rules now refuse. An interrupted reindex resumes.
//
// What it does not do: no pruning of blocks, no compaction (a bbolt file
// never shrinks), no sharing of the file between processes (the second
// Open fails with ErrLocked after the lock timeout), no logging unless
// WithLogger is given.
//
// # Concurrency
//
// Every method of DB is safe for concurrent use: reads run in parallel
// read transactions, bbolt serializes writes.
//
// # Errors
//
// Sentinels, matched with errors.Is: ErrCorrupt (a stored value that does
// not decode or breaks an invariant; the *CorruptError names the bucket
// and key), ErrNotStore, ErrNewerSchema, ErrOlderSchema, ErrWrongNetwork, ErrLocked; a
// missing block or undo record wraps storage.ErrNotFound. Decoding never
// panics, whatever the bytes.
package store
