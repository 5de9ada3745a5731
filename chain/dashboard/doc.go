// Package dashboard serves the node's web page: an overview of the chain
// and the pool that updates live, hashrate, share difficulty and block
// interval charts drawn as SVG by the server, the pool's workers, the
// recent block tree with its forks, the peers, and block, transaction
// and address pages reached from the tree and a search box.
//
// It reads everything through interfaces it defines (Chain, Pool, Peers,
// Sources, Finality): *node.Node and *p2p.Node satisfy theirs, cmd/node adapts
// *pool.Server to Pool (this package cannot import stratum/pool, whose
// tests import chain/daemon); chain/daemon wires it on the RPC listener (GET requests) and on its
// own --http listener. It changes nothing: every route is a GET, and the
// page has no form that posts.
//
// Pages are html/template, so every name a miner chooses (a worker name
// with script in it, say) is escaped; the stylesheet and the few lines
// of script are embedded (no CDN, no build step). Each open page holds
// one server-sent-event stream (/events); the streams are bounded
// (Config.MaxStreams, DefaultMaxStreams; one more is answered 503), get
// a heartbeat, and receive the overview when the tip changes and every
// UpdateInterval for the hashrate. The history behind the charts is a
// bounded ring sampled every SampleInterval (1 h at that resolution,
// 24 h at one sample a minute).
//
// The tree names the peer each block came from (Config.Sources: the
// last p2p.MaxBlockSources blocks the network recorded) and draws the
// orphan pool's blocks apart, at the height their coinbase claims
// (MaxTreeOrphans of them at most). The peers table shows each peer's
// gossipsub score and the blocks and transfers it relayed. Justified and
// finalized checkpoints are marked in the tree when Config.Finality is
// set (chain/daemon sets it to the node's finality state on chains with
// stake).
package dashboard
