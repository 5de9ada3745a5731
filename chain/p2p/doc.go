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
//     mapping, no hole punching, no DHT, no mDNS unless Config.MDNS. Peers
//     come from AddPeer (kept connected, redialed; ErrAlreadyAdded for a
//     second add), Connect (once) and, with Config.MDNS, mDNS on the local
//     network under a service name made from the genesis hash
//     (MDNSService), dialed once each, with the hello as on any
//     connection. Tests and simulations may pass a host of their own
//     instead (Config.Host), such as one of go-libp2p's mocknet, whose
//     links have latency (BenchmarkPropagation).
//   - Gossip: the topics BlocksTopic and TransfersTopic, named with the
//     genesis hash; flood publishing (a freshly mined block does not wait
//     for a mesh); the message id is the txid, or the block hash plus a
//     digest of the message (see messageID), so the same block relayed by
//     several peers is one message, while a copy with another body or
//     another proof-of-stake seal (which the hash does not cover) is
//     another one, and a forged copy seen first does not shadow the
//     honest one; messages up to MaxMessageSize, the
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
//     rejected messages a disconnect and a ban of Config.BanDuration.
//   - Bans: one list for the node's own bans (cause BanInvalid) and the
//     operator's (Ban, Unban, ClearBans; cause BanOperator), enforced by
//     the connection gater, bounded by Config.MaxBans (a new ban pushes
//     out the one that expires first), saved after each change to
//     Config.BanFile (JSON, written atomically, 0600) and loaded by New,
//     expired entries dropped. A file that does not decode stops New
//     with ErrBanFile: it is neither replaced nor moved aside, as starting
//     without it would let every banned peer in again.
//   - Counters for metrics, atomic and read without locks: Stats (peers
//     by direction, received gossip by topic and verdict, publishes and
//     publishes dropped on a full queue, ban events by cause, bans in
//     force, peers refused for another genesis) and SyncStats. The
//     package knows nothing of Prometheus; chain/daemon exports them.
//   - Per peer, in Peers: the gossip messages it relayed that the
//     validators accepted, and its gossipsub score, copied every
//     ScoreInspectPeriod. Per block, the peer that first delivered it,
//     by gossip or sync, or the node itself (RecordLocalBlock), for the
//     last MaxBlockSources blocks (BlockSource).
//   - The hello (HelloProtocol) on every connection the node dials (a
//     peer that dials in has Config.HelloWait to send its own, or is
//     closed): each side sends its Status (genesis, tip hash, height,
//     the justified epoch of the tip's state, cumulative work; the wire
//     format is at MaxHelloSize); a peer on another genesis is
//     disconnected; the hello's Status of each peer shows in Peers.
//     Version 2 of the protocol added the justified epoch; a version 1
//     peer does not speak it, and stays unconnected.
//   - Tip announcements (StatusProtocol). Gossipsub relays a block only
//     to the peers of its mesh, and a peer that connected a moment ago
//     is not in it yet: such a peer would wait for the next block. So,
//     as Bitcoin announces blocks to all its peers, a node sends its
//     Status, one way, to every peer that said hello and is not known to
//     have the tip: known are the tips of the peer's hello and statuses,
//     those sent to it, and the blocks gossiped to or from it (a tracer
//     of pubsub's RPCs; the last knownTips per peer). The tip is
//     announced statusDelay (100 ms) after it changes, so a burst is one
//     status (the latest tip wins) and the gossip sent meanwhile counts;
//     at most one status is in flight per peer, at most one per
//     statusInterval (250 ms), each with a deadline and its memory
//     reserved. A receiver reads at most one status per peer every
//     minStatusGap (62.5 ms) and resets the others unread: ignored, not
//     penalized (a malformed one counts as a rejected message). A status
//     ahead of ours and with a tip the chain lacks, still so after
//     statusGrace (500 ms, for gossip in flight), asks for a sync with
//     its sender (SyncStats.StatusSyncs), and no other until that sync
//     starts, so a flood of statuses costs one decode per minStatusGap
//     and one sync per statusGrace at most. A connection is covered by
//     the hello: the side behind syncs, whichever side dialed, and a tip
//     that changed during the hello is announced after it.
//   - Which side is ahead, for the hello and the statuses alike, follows
//     the order chain/node's fork choice starts with: the higher
//     justified epoch first, then the more work. A peer with a higher
//     justified epoch is synced from even with less work; one with a
//     lower justified epoch is not, whatever its work, since the node
//     would not choose its branch (and could not, when that branch forks
//     below its finalized checkpoint; its headers would be of no use).
//     Pure proof of stake ranks by attesting stake before work; that is
//     not carried (it changes with every vote), so ties on the justified
//     epoch and work are settled by gossip, as before. A peer may lie
//     about its justified epoch as about its work: that costs us one
//     sync, bounded as above, and the blocks it brings are checked.
//   - Headers-first sync. After a hello whose Status is ahead of ours,
//     and for a gossiped orphan (asking its sender), the node asks
//     the peer for headers (HeadersProtocol) after the locator of its
//     best header (Chain.HeaderLocator, at most MaxLocatorHashes), up to
//     MaxHeadersPerRequest of the peer's best chain after the fork point,
//     round after round while answers are full, and hands them to
//     Chain.ProcessHeaders. A proof-of-stake node, whose headers carry no
//     work, asks for sealed headers instead (SealedHeadersProtocol, up
//     to MaxSealedHeadersPerRequest entries of a header and its block's
//     seal) and hands them to SealedChain.ProcessSealedHeaders, which
//     checks each seal before it takes the header: a forged seal is a
//     rule error, a fault of the peer found before any block is asked
//     for. A header sealed by a key the chain does not know yet (a
//     validator deposited on blocks it has not connected) is no fault:
//     the round ends with the headers before it, their blocks are
//     downloaded and connected, and the sync asks for headers again, as
//     long as each pass brings blocks. Then it downloads the blocks the chain lacks
//     (Chain.MissingBlocks, towards the best header; when that lacks
//     none, Chain.MissingBlocksTo the sync peer's last announced tip: the
//     best header is chosen by work, since the justified epoch of a
//     branch is known only once its blocks connect, so a lighter branch
//     ahead by its justified epoch is fetched this way) by hash
//     (GetBlocksProtocol) from every peer that said hello, the header
//     peer first, in parallel: at most
//     MaxBlocksPerFetch blocks per request, MaxRequestsPerPeer requests
//     in flight per peer, a window of MaxBlocksInFlight blocks and
//     MaxBufferedBytes of blocks waiting, each block of an answer with
//     Config.SyncTimeout to arrive. Blocks that arrive out of order wait
//     in the window and are handed to Chain.ProcessBlock in height
//     order. A request that fails is asked of another peer; a peer
//     leaves the sync after MaxStalls failed requests. A block the peer
//     lacks is answered with an empty frame (not found), which is no
//     fault in itself: the block is asked of
//     the other peers, each once per download. When the header peer,
//     and every other peer of the sync, answered not found for the
//     lowest block still missing (a peer that left the sync without
//     giving it aside), the header chain from that block up cannot be
//     had, made up or not: the chain forgets it (Chain.ForgetHeaders;
//     it refuses that header for a while, so that the same headers
//     cannot make it loop), and the sync goes on, in the same download,
//     with the blocks of the next best header chain (at most maxForgets
//     branches per download; SyncStats.Forgotten). Without that,
//     headers whose blocks nobody serves (cheap to make on a low-work
//     chain, and in proof of stake for a registered key that seals slots
//     it was not elected for, which only the blocks' connection shows)
//     would stay the best header, and sync would never fetch the honest
//     chain's blocks. It counts as one rejected message against the
//     header peer when it sent those headers in this sync (it answered
//     not found too): its headers answer claimed the chain as its best,
//     so it should hold its blocks, and a node serves every block it
//     stores, side branches included, so even one that reorganised away
//     since its answer still has them. What an honest peer may lack is
//     a block whose proof-of-stake seal failed (it is not served) or
//     one lost with its data; that is rare, and one fault of
//     Config.MaxInvalid, forgotten when the peer disconnects, is not a
//     ban, so the rule is fair, while a peer that keeps sending made-up
//     header chains is banned after Config.MaxInvalid of them. One sync
//     runs at a time (a goroutine fed by a bounded queue). A malformed
//     request or answer, a block other than the one asked for, and
//     headers or blocks that break a rule count against the peer as a
//     rejected gossip message does (and the peer leaves the sync). The
//     blocks a sync brings are not gossiped one by one (PublishBlock
//     leaves them out); the tip it ends on is, so that peers behind
//     this node fetch the rest from it. The node answers the same
//     requests from Chain.MainChainHeaders (SealedChain's
//     MainChainSealedHeaders on a proof-of-stake chain, which serves
//     SealedHeadersProtocol and not HeadersProtocol) and Chain.Block, one
//     block in memory at a time.
//
// What it does not do yet: headers pre-sync (low-work header chains are
// bounded by the chain's limit on header-only entries, and one whose
// blocks nobody serves is forgotten once every peer was asked, which
// costs a round of requests per made-up chain rather than nothing),
// ranking peers by speed, bans by address or subnet (a ban names a peer
// id).
//
// # Concurrency
//
// All exported methods of Node are safe for concurrent use. Validators
// run on pubsub's goroutines and may call Chain and Mempool
// concurrently, with the sync goroutine (which alone calls
// ProcessHeaders or ProcessSealedHeaders and ForgetHeaders and hands
// synced blocks to
// ProcessBlock; its fetching goroutines only read streams) and the
// handlers of sync requests.
// PublishBlock and PublishTransfer never block: they queue (dropping
// when the bounded queue is full) for one publishing goroutine per
// topic, so they may be called from the node's notification callback.
// Node.mu guards hellos, invalid, added and closed, Node.servedMu the
// sync counters per peer, Node.annMu (taken after mu, never before) the
// announcement state per peer, Node.relayMu (taken alone) the relay
// counts and scores, and the block sources have their own lock; none is
// held while calling libp2p, Chain or Mempool. One goroutine announces the tip (announceLoop), with one
// per status in flight. The gater has its own lock for the ban list, and saveMu,
// taken before it, so that writes of the ban file follow one another
// and the last holds the last list.
package p2p
