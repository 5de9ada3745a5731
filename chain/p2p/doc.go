// Package p2p carries blocks and transfers between the nodes of one
// chain over libp2p: a host, gossipsub topics for blocks and transfers,
// and the hello protocol that keeps nodes of other chains out. It imports
// package chain and libp2p only, and reaches the node through the Chain
// and Mempool interfaces it defines (chain/daemon wires them).
//
// What it provides:
//
//   - The host (New): TCP and QUIC v1 on the Config.Listen multiaddrs, a
//     persisted Ed25519 identity (LoadKey), the connection manager with
//     Config.LowWater and HighWater, the resource manager with
//     go-libp2p's default limits scaled to fixed ResourceMemory and
//     ResourceFDs, and a connection gater for bans. No traffic the
//     operator did not ask for: no bootstrap peers, no relay, no NAT port
//     mapping, no hole punching, no mDNS or DHT. Peers come from AddPeer
//     (kept connected, redialed) and Connect (once). Tests and
//     simulations may pass a host of their own instead (Config.Host),
//     such as one of go-libp2p's mocknet, whose links have latency
//     (BenchmarkPropagation).
//   - Gossip: the topics BlocksTopic and TransfersTopic, named with the
//     genesis hash; flood publishing (a freshly mined block does not wait
//     for a mesh); the message id is the txid, or the block hash plus a
//     digest of the message (see messageID), so the same block relayed by
//     several peers is one message; messages up to MaxMessageSize, the
//     largest block plus an envelope.
//   - Validation before a message spreads: a block is decoded, its proof
//     of work checked, then handed to Chain.ProcessBlock (header context,
//     sanity, state); a transfer is decoded and handed to
//     Mempool.AcceptTransfer. What is provably bad is rejected
//     (undecodable, bad proof of work, a chain.RuleError, ErrInvalid);
//     what is known already, an orphan, a block from the future or a
//     transfer that does not fit the current state is ignored. Local
//     publishes are trusted. An orphan is not relayed; it starts a sync
//     with its sender, which brings its ancestors.
//   - Penalties: gossipsub peer scoring with an invalid-message weight
//     that stops gossip with a peer after three rejected messages and
//     graylists it after six, and after Config.MaxInvalid (default 3)
//     rejected messages a disconnect and a ban of Config.BanDuration
//     through the gater.
//   - The hello (HelloProtocol) on every connection the node dials (a
//     peer that dials in has Config.HelloWait to send its own, or is
//     closed): each side sends its Status (genesis, tip hash, height,
//     cumulative work); a peer on another genesis is disconnected; the
//     last Status of each peer shows in Peers.
//   - Block sync, blocks-first (BlocksProtocol): after a hello whose
//     Status has more work than ours, and for a gossiped orphan, the node
//     sends the peer its block locator (Chain.Locator, at most
//     MaxLocatorHashes) and hands the blocks of the answer, up to
//     MaxBlocksPerRequest of the peer's best chain after the fork point,
//     to Chain.ProcessBlock in order; rounds go on, up to maxSyncRounds,
//     while answers are full and bring new blocks. One sync runs at a
//     time (a goroutine fed by a bounded queue); each block of an answer
//     has Config.SyncTimeout to arrive and a whole answer
//     syncRoundTimeout. A malformed answer or request, or a block that
//     breaks a rule, counts against the peer as a rejected gossip message
//     does. The blocks a sync brings are not gossiped one by one
//     (PublishBlock leaves them out); the tip it ends on is, so that
//     peers behind this node fetch the rest from it as that block's
//     ancestors. The node answers the same requests from
//     Chain.MainChainAfter and Chain.Block, one block in memory at a time.
//
// What it does not do yet: headers-first sync (header-only index
// entries, then block bodies), fetching from several peers in parallel,
// a by-hash block request, mDNS, metrics, persistent bans.
//
// # Concurrency
//
// All exported methods of Node are safe for concurrent use. Validators
// run on pubsub's goroutines and may call Chain and Mempool
// concurrently, with the sync goroutine and the handlers of block
// requests. PublishBlock and PublishTransfer never block: they queue
// (dropping when the bounded queue is full) for one publishing goroutine
// per topic, so they may be called from the node's notification callback.
// Node.mu guards hellos, invalid, added and closed; it is never held
// while calling libp2p, Chain or Mempool.
package p2p
