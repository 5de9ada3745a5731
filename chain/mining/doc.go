// Package mining builds block templates: what a solo miner's
// getblocktemplate and a Stratum pool hand to the hashers.
//
// A Builder takes the chain state at the tip (a Chain, which chain/node's
// Node satisfies), transfers in mining order (a TxSource, which
// chain/mempool's Pool satisfies) and the network parameters. Its
// NewTemplate selects transfers up to the block limits, re-checking each
// against the account state so that a template never carries a transfer
// the tip has made invalid, builds the coinbase (the height, a zeroed
// extranonce field for the miner or pool to roll, and the subsidy plus
// fees split among weighted template.Payouts) and the header (bits from
// HeaderContext.NextBits, a timestamp after the median time past), and
// returns a template.Template.
//
// The Template type lives in chain/template, which pools and solo miners
// import without this package: it gives them what they need (Block fills
// in the extranonce, timestamp and nonce and returns the full block for
// node.ProcessBlock; CoinbaseParts and MerkleBranch are Stratum's coinb1,
// coinb2 and merkle branch for mining.notify).
//
// What it does not do: no hashing, no networking, no long polling; a
// template goes stale when the tip changes and the caller builds a new
// one. It does not log.
//
// # Concurrency
//
// A Builder may be used by several goroutines at once when its Chain and
// TxSource are safe for concurrent use (Node and Pool are). A Template is
// immutable: all its methods are safe for concurrent use.
//
// # Errors
//
// NewTemplate fails with errors wrapping ErrBadConfig (a Builder or
// payouts it cannot work with), ErrAmountOverflow (subsidy plus fees do
// not fit in a uint64), ErrTimeRange (a timestamp beyond uint32) or
// ErrTipChanged (the tip moved during every attempt). Test with
// errors.Is. Template's own errors are chain/template's.
package mining
