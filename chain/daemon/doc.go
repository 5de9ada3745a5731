// Package daemon assembles a full node: the block index and state
// (chain/node) over a bbolt store, the mempool, block templates, the
// JSON-RPC API with Bitcoin Core's method names, and Prometheus metrics.
// cmd/node runs one; cmd/miner embeds one to mine a local dev chain.
//
// It adds no consensus rules of its own: blocks go to node.ProcessBlock,
// transfers to the mempool, and their errors are mapped to Core's RPC
// error codes.
package daemon
