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
//
// With Config.Network it also runs a chain/p2p node, which it reaches the
// chain through (netChain): every block the node connects, from any
// source (RPC, a pool, a peer, a reorganization), is gossiped, and so is
// every transfer accepted through SendTransaction; blocks and transfers
// from peers go to node.ProcessBlock and the mempool, whose errors decide
// whether the p2p node relays, ignores or rejects them (a rule broken:
// rejected; known, orphan, or a transfer that does not fit the current
// state: ignored). An orphan from a peer waits in the node's bounded
// orphan pool while the p2p node syncs with its sender. The network RPC
// methods follow Core's (getpeerinfo, addnode, setban, listbanned, ...),
// the ban list is DATADIR/banlist.json, and the p2p node's counters are
// read at each scrape as the powmine_p2p_* metrics (netCollector).
// JoinDevParams joins another node's dev chain from its genesis.bin.
//
// On a proof-of-stake chain every block handed to the node (SubmitBlock,
// gossip, sync) is first shown to a node.SealWatch (equivocation.go):
// when a registered proposer is seen sealing two blocks for one slot,
// connected, side branch or refused, the daemon sends a
// chain.ProposerSlash of the two signed headers through SendTransaction
// (mempool and gossip), paying the reporter's share to
// Config.SlashReporter, else its validator key's address (the zero
// address, which nobody can spend, for a daemon with neither); the next
// proposer puts it in a block. Likewise, on any
// chain with stake, every vote it sees goes to a node.VoteWatch before
// the mempool or the node decides on it: sent (SendTransaction, its
// validator), from gossip (the mempool refuses the second vote of a key
// for one target epoch, which is then ignored, neither relayed nor
// penalised) and in every block handed to the node. A double or
// surround vote of a registered validator is sent as a chain.Slash of
// the two votes, with the same reporter.
package daemon
