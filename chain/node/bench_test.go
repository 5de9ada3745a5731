package node

import (
	"testing"
	"time"

	"github.com/powmine/powmine/chain"
	"github.com/powmine/powmine/chain/pos"
)

// BenchmarkConnectBlock processes blocks of 1,000 signed transfers that
// extend the tip: the sanity checks with every signature (one batch per
// CPU; run with -cpu 1 for the one-core figure), the header context, the
// account-state rules and the store commit. Blocks are built and signed
// before the timer starts.
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
	cpu := processCPU()
	for _, blk := range blocks {
		if _, err := h.node.ProcessBlock(blk); err != nil {
			b.Fatal(err)
		}
	}
	cpu = processCPU() - cpu
	b.StopTimer()
	perBlock := float64(b.Elapsed().Nanoseconds()) / float64(b.N)
	b.ReportMetric(perBlock/1e6, "ms/block")
	b.ReportMetric(perBlock/1e3/transfers, "µs/transfer")
	if cpu > 0 {
		b.ReportMetric(float64(cpu.Nanoseconds())/float64(b.N)/1e6, "cpu-ms/block")
	}
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
		if _, err := connectDelta(h.node.accounts, h.node.validators, &finalityCtx{records: h.node.finality}, blk, 1, h.p, true); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/1e3/transfers, "µs/transfer")
}

// devHeaders returns count headers extending the genesis of p (dev
// params at the limit target), each meeting the bits its parent's context
// requires, 5 seconds apart, and the time after the last.
func devHeaders(tb testing.TB, p *chain.Params, count int) ([]chain.Header, time.Time) {
	tb.Helper()
	parent := newBlockNode(&p.GenesisHeader, p.GenesisHash, nil, 0)
	hs := make([]chain.Header, count)
	for i := range hs {
		ctx := headerContext(parent, p)
		h := chain.Header{Version: 1, PrevBlock: parent.hash, MerkleRoot: chain.Hash{byte(i), byte(i >> 8)},
			Timestamp: parent.header.Timestamp + 5, Bits: ctx.NextBits(p)}
		mine(tb, &h, p)
		hs[i] = h
		parent = newBlockNode(&h, h.Hash(), parent, uint64(i+1))
	}
	return hs, time.Unix(int64(parent.header.Timestamp), 0)
}

// BenchmarkProcessHeaders adds 10,000 dev headers to a new node, in
// batches of 2,000 as headers sync hands them: proof of work, header
// context and index insertion. New nodes are made outside the timer.
func BenchmarkProcessHeaders(b *testing.B) {
	const count, batch = 10_000, 2_000
	p := chain.DevParams
	p.ASERTAnchor.Bits = p.PowLimitBits
	hs, now := devHeaders(b, &p, count)
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		b.StopTimer()
		n, err := New(Config{Params: &p, Genesis: p.GenesisBlock, Now: func() time.Time { return now }})
		if err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
		for i := 0; i < count; i += batch {
			res, err := n.ProcessHeaders(hs[i : i+batch])
			if err != nil || res.Added != batch {
				b.Fatalf("ProcessHeaders: %+v, %v", res, err)
			}
		}
	}
	b.StopTimer()
	b.ReportMetric(float64(b.N*count)/b.Elapsed().Seconds(), "headers/s")
}

// BenchmarkProcessSealedHeaders adds a sealed-headers answer of 2,000
// proof-of-stake headers, one per slot, sealed by the genesis validator
// with the dev chain's 50-slot epochs (40 distinct reveals), to a new
// node: the slot rules, the seal checks and index insertion. "answer"
// hands them in one call (the signatures in one batch, each reveal
// once), "one-by-one" in 2,000 calls of one header each (each seal
// checked alone). New nodes are made outside the timer.
func BenchmarkProcessSealedHeaders(b *testing.B) {
	const count = 2000
	c := newPosChain(b)
	c.p.EpochLength = 50
	c.at(count + 10)
	hs := make([]chain.Header, count)
	seals := make([]chain.BlockSeal, count)
	parent := c.g.Hash()
	reveals := make(map[uint64]pos.Reveal)
	for i := range hs {
		slot := uint64(i + 1)
		hs[i] = c.posHeader(parent, slot, 0)
		epoch := slot / uint64(c.p.EpochLength)
		if _, ok := reveals[epoch]; !ok {
			r, err := pos.NewReveal(c.priv, c.p.GenesisHash, epoch)
			if err != nil {
				b.Fatal(err)
			}
			reveals[epoch] = r
		}
		s, err := pos.NewSeal(c.priv, c.p.GenesisHash, slot, hs[i].Hash(), reveals[epoch])
		if err != nil {
			b.Fatal(err)
		}
		enc, _ := s.MarshalBinary()
		seals[i] = chain.BlockSeal(enc)
		parent = hs[i].Hash()
	}
	run := func(b *testing.B, batch int) {
		b.ReportAllocs()
		b.ResetTimer()
		for range b.N {
			b.StopTimer()
			c.store = NewMemStore()
			n := c.open()
			b.StartTimer()
			for i := 0; i < count; i += batch {
				if res, err := n.ProcessSealedHeaders(hs[i:i+batch], seals[i:i+batch]); err != nil || res.Added != batch {
					b.Fatalf("ProcessSealedHeaders: %+v, %v", res, err)
				}
			}
		}
		b.StopTimer()
		perHeader := float64(b.Elapsed().Nanoseconds()) / float64(b.N*count)
		b.ReportMetric(perHeader/1e3, "µs/header")
		b.ReportMetric(perHeader*count/1e6, "ms/answer")
	}
	b.Run("answer", func(b *testing.B) { run(b, count) })
	b.Run("one-by-one", func(b *testing.B) { run(b, 1) })
}

// BenchmarkConnectVotes measures what connecting a block of 1,000 votes
// costs before the store commit: chain.CheckBlockSanity (the 1,000 vote
// signatures in one batch per CPU; run with -cpu 1 for the one-core
// figure) and the finality rules (connectDelta), on a block that
// justifies the checkpoint of epoch 1 with the votes of 1,000 validators
// of equal stake. The target is under 100 ms; measured on an AMD Zen 5
// (2 vCPUs shared with other work, Go 1.26.8), two runs of 30 blocks
// each: 10-14 ms a block with -cpu 1, 9-13 ms with -cpu 2.
func BenchmarkConnectVotes(b *testing.B) {
	const validators = 1000
	h := newHarnessFunded(b, validators, false, Config{})
	h.node.cfg.Notify = nil
	h.p.MaxValidators, h.p.MaxVotesPerBlock = validators, validators
	deposits := make([]chain.Transaction, validators)
	for i := range deposits {
		deposits[i] = deposit(b, i, i, 10*coin, 0, 0)
	}
	parent := h.next(h.genesis, validators+1, deposits...)
	h.mustProcess(parent)
	for range 4 {
		parent = h.next(parent, validators+1)
		h.mustProcess(parent)
	}
	g, cp1 := h.genesisCP(), h.cpOf(parent)
	votes := make([]chain.Transaction, validators)
	for i := range votes {
		votes[i] = h.vote(i, g, cp1)
	}
	blk := h.next(parent, validators+1, votes...)
	fc := h.node.finalityCtx(&blockNode{height: 6, hash: blk.Hash(), parent: h.node.view.tip()})
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		if err := chain.CheckBlockSanity(blk, h.p, chain.BFNone); err != nil {
			b.Fatal(err)
		}
		d, err := connectDelta(h.node.accounts, h.node.validators, fc, blk, 6, h.p, true)
		if err != nil {
			b.Fatal(err)
		}
		if len(d.undo.Finality) < validators {
			b.Fatalf("%d finality records touched", len(d.undo.Finality))
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/1e6, "ms/block")
	b.StopTimer()
	h.mustProcess(blk)
	if info := h.node.Finality(); info.Justified != cp1 {
		b.Fatalf("the votes did not justify epoch 1: %+v", info)
	}
}
