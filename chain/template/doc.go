// Package template holds a block template as miners and pools use it,
// and the types that travel with it: the Payouts its coinbase splits the
// reward among, and Reply, the getblocktemplate reply a solo miner reads.
// The node side (chain/mining builds templates, chain/daemon serves them)
// and the mining side (stratum/pool, miner/solo) both import this package,
// so that a pool needs nothing of the node's own packages.
//
// A Template gives a miner or pool what it needs to vary a block: Block
// fills in the extranonce, timestamp and nonce and returns the full block
// for the node; CoinbaseParts and MerkleBranch are Stratum's coinb1,
// coinb2 and merkle branch for mining.notify; MerkleRoot is the root for
// one extranonce.
//
// What it does not do: no transfer selection, no reward computation (New
// takes a finished coinbase), no hashing of headers, no I/O. It does not
// log.
//
// # Concurrency
//
// A Template is immutable after New: all its methods are safe for
// concurrent use.
//
// # Errors
//
// New fails with ErrMalformed for transactions it cannot make a template
// of. Template.Block and Template.MerkleRoot fail with ErrExtranonceSize
// and ErrTimeTooOld for inputs that cannot make a valid block. Test with
// errors.Is.
package template
