package node

import (
	"testing"

	"github.com/powmine/powmine/chain"
)

// BenchmarkConnectBlock processes blocks of 1,000 signed transfers that
// extend the tip: the sanity checks with every signature (verified on all
// CPUs), the header context, the account-state rules and the store
// commit. Blocks are built and signed before the timer starts.
func BenchmarkConnectBlock(b *testing.B) {
	const transfers = 1000
	h := newHarnessFunded(b, transfers, false, Config{})
	h.node.cfg.Notify = nil
	keys := make([]func(to int, seq uint64) chain.Transaction, transfers)
	for i := range keys {
		keys[i] = func(to int, seq uint64) chain.Transaction { return transfer(b, i, to, 1, 1, seq) }
	}
	blocks := make([]*chain.Block, b.N)
	parent := h.genesis
	for n := range blocks {
		txs := make([]chain.Transaction, transfers)
		for i := range txs {
			txs[i] = keys[i]((i+1)%transfers, uint64(n))
		}
		parent = h.next(parent, transfers+1, txs...)
		blocks[n] = parent
	}
	b.ReportAllocs()
	b.ResetTimer()
	for _, blk := range blocks {
		if _, err := h.node.ProcessBlock(blk); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	perBlock := float64(b.Elapsed().Nanoseconds()) / float64(b.N)
	b.ReportMetric(perBlock/1e6, "ms/block")
	b.ReportMetric(perBlock/1e3/transfers, "µs/transfer")
	h.wantTip(blocks[len(blocks)-1])
}

// BenchmarkConnectDelta measures the account-state rules alone on a block
// of 1,000 transfers (no signatures, no store).
func BenchmarkConnectDelta(b *testing.B) {
	const transfers = 1000
	h := newHarnessFunded(b, transfers, false, Config{})
	txs := make([]chain.Transaction, transfers)
	for i := range txs {
		txs[i] = transfer(b, i, (i+1)%transfers, 1, 1, 0)
	}
	blk := h.next(h.genesis, transfers+1, txs...)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := connectDelta(h.node.accounts, blk, 1, h.p, true); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/1e3/transfers, "µs/transfer")
}
