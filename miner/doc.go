// Package miner runs the multi-core nonce search: work goes in through
// SetWork, shares come out of Shares, and Rates reports the hashrate.
//
// Each worker goroutine drives one sha256d.Scanner. The nonce space of a
// piece of work is cut into chunks that workers claim from an atomic
// counter, so their ranges never overlap; when all 2^32 nonces of a header
// are used up the next chunk rolls the header (the extranonce or the
// timestamp, through Work.Roll) and the search goes on. New work is
// published by swapping an atomic pointer that workers check after every
// small batch, so a switch reaches every worker within a fraction of a
// millisecond. Workers do not yield between batches (yielding cost 10%
// of the rate); run with GOMAXPROCS above Threads, as cmd/miner does, so
// that the goroutine bringing new work never waits for a worker's P.
//
// The package does not talk to nodes or pools: callers (solo mining,
// Stratum) turn templates into Work and shares into submissions.
package miner
