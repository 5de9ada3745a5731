// Package daemon assembles a full node: the block index and state
// (chain/node) over a bbolt store (chain/store), the mempool, block
// templates, the JSON-RPC API with Bitcoin Core's method names, and
// Prometheus metrics. cmd/node runs one; cmd/miner embeds one to mine a
// local dev chain. It is also where the I/O around the pure chain package
// happens: the dev genesis is mined here (DevParams) and kept in the data
// directory, and a second node on a data directory in use fails after
// Config.LockTimeout with store.ErrLocked.
//
// It adds no consensus rules of its own: blocks go to node.ProcessBlock,
// transfers to the mempool, and their errors are mapped to Core's RPC
// error codes. Templates are chain/template's, so that a Stratum pool
// can take them through its own Node interface, which Daemon satisfies.
package daemon
