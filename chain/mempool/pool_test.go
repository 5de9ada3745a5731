package mempool

import (
	"math"
	"slices"
	"sync"
	"testing"

	"github.com/powmine/powmine/chain"
	"github.com/powmine/powmine/chain/node"
)

func TestAcceptRejects(t *testing.T) {
	const fee = 1000
	badSig := transfer(t, 0, 1, 5, fee, 0)
	badSig.Transfer.Amount++ // signature no longer covers it
	overflow := transfer(t, 0, 1, math.MaxUint64, 1, 0)
	tests := []struct {
		name   string
		tx     *chain.Transaction
		reason RejectReason
	}{
		{"coinbase", &chain.Transaction{Coinbase: &chain.Coinbase{Outputs: []chain.Output{{Amount: 1}}}}, RejectMalformed},
		{"no body", &chain.Transaction{}, RejectMalformed},
		{"nil", nil, RejectMalformed},
		{"amount plus fee overflows", overflow, RejectMalformed},
		{"bad signature", badSig, RejectBadSignature},
		{"signed for another network", transferFor(t, chain.MainNetParams.GenesisHash, 0, 1, 5, fee, 0), RejectBadSignature},
		{"duplicate", transfer(t, 0, 1, 5, fee, 2), RejectDuplicate},
		{"stale sequence", transfer(t, 0, 1, 5, fee, 1), RejectStaleSequence},
		{"sequence conflict", transfer(t, 0, 1, 6, fee, 2), RejectSequenceConflict},
		{"sequence gap", transfer(t, 0, 1, 5, fee, 4), RejectSequenceGap},
		{"gap from unknown sender", transfer(t, 5, 1, 0, fee, 1), RejectSequenceGap},
		{"insufficient funds with pending", transfer(t, 0, 1, 10_000-fee-5-fee+1, fee, 3), RejectInsufficientFunds},
		{"unknown sender has nothing", transfer(t, 5, 1, 1, fee, 0), RejectInsufficientFunds},
		{"fee too low", transfer(t, 1, 0, 1, 141, 0), RejectFeeTooLow},
		{"zero fee", transfer(t, 1, 0, 1, 0, 0), RejectFeeTooLow},
	}
	c := newFakeChain()
	c.set(0, 10_000, 2) // next sequence 2
	c.set(1, 10_000, 0)
	p := newPool(t, c, 0)
	mustAccept(t, p, transfer(t, 0, 1, 5, fee, 2))
	before := p.Snapshot()
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			wantReason(t, p.Accept(tc.tx), tc.reason)
			if got := p.Snapshot(); !slices.Equal(ids(got), ids(before)) {
				t.Fatalf("a rejection changed the pool")
			}
		})
	}
	// Exactly the balance, and exactly the minimum fee, pass.
	mustAccept(t, p, transfer(t, 0, 1, 10_000-fee-5-fee, fee, 3), transfer(t, 1, 0, 1, 142, 0))
	checkPool(t, p)

	small := newPool(t, c, chain.TransferSize-1)
	wantReason(t, small.Accept(transfer(t, 1, 0, 1, fee, 0)), RejectTooLarge)
}

func TestRejectErrorStrings(t *testing.T) {
	for r := RejectMalformed; r < numRejectReasons; r++ {
		if s := r.String(); s == "" || s[0] == 'R' {
			t.Errorf("reason %d has no name: %q", r, s)
		}
	}
	if s := RejectReason(200).String(); s != "RejectReason(200)" {
		t.Errorf("unknown reason prints %q", s)
	}
	err := reject(RejectFeeTooLow, chain.Hash{1}, nil, "detail %d", 7)
	if got := err.Error(); got != "mempool: reject "+(chain.Hash{1}).String()+": fee-too-low: detail 7" {
		t.Errorf("Error() = %q", got)
	}
}

func TestFeeRate(t *testing.T) {
	if got := FeeRateOf(142, 142); got != 1000 {
		t.Errorf("FeeRateOf(142, 142) = %d", got)
	}
	if got := FeeRateOf(math.MaxUint64, 1); got != math.MaxUint64 {
		t.Errorf("FeeRateOf saturates to %d", got)
	}
	if !FeeRate(1000).Covers(142, 142) || FeeRate(1000).Covers(141, 142) {
		t.Error("Covers is not exact at the boundary")
	}
	if cmpFeeRate(1, 3, 2, 6) != 0 || cmpFeeRate(1, 3, 1, 2) >= 0 || cmpFeeRate(math.MaxUint64, 1, math.MaxUint64-1, 1) <= 0 {
		t.Error("cmpFeeRate is wrong")
	}
}

func TestMiningOrder(t *testing.T) {
	c := newFakeChain()
	for i := range 4 {
		c.set(i, 1_000_000, 0)
	}
	p := newPool(t, c, 0)
	a0 := transfer(t, 0, 9, 1, 200, 0)
	a1 := transfer(t, 0, 9, 1, 9000, 1) // high fee, but behind a0
	a2 := transfer(t, 0, 9, 1, 300, 2)
	b0 := transfer(t, 1, 9, 1, 5000, 0)
	c0 := transfer(t, 2, 9, 1, 1000, 0)
	c1 := transfer(t, 2, 9, 1, 150, 1)
	d0 := transfer(t, 3, 9, 1, 1000, 0) // same rate as c0, arrives later
	mustAccept(t, p, a0, a1, a2, b0, c0, c1, d0)
	want := []chain.Hash{b0.TxID(), c0.TxID(), d0.TxID(), a0.TxID(), a1.TxID(), a2.TxID(), c1.TxID()}
	if got := ids(p.Snapshot()); !slices.Equal(got, want) {
		t.Fatalf("mining order\n got %v\nwant %v", got, want)
	}
	txs := p.Transactions(3)
	if len(txs) != 3 || txs[0].TxID() != b0.TxID() || txs[2].TxID() != d0.TxID() {
		t.Fatalf("Transactions(3) is not the mining-order prefix")
	}
	if p.Transactions(0) != nil {
		t.Fatal("Transactions(0) returned transfers")
	}
	info := p.Info()
	if info.Count != 7 || info.Bytes != 7*chain.TransferSize || info.MinFeeRate != DefaultMinFeeRate {
		t.Fatalf("Info = %+v", info)
	}
	if e, ok := p.Get(a1.TxID()); !ok || e.Fee() != 9000 || e.Size != chain.TransferSize || e.FeeRate() != FeeRateOf(9000, chain.TransferSize) {
		t.Fatalf("Get(a1) = %+v, %v", e, ok)
	}
	if _, ok := p.Get(chain.Hash{}); ok || p.Has(chain.Hash{}) {
		t.Fatal("Get/Has found the zero id")
	}
}

func TestEviction(t *testing.T) {
	c := newFakeChain()
	for i := range 6 {
		c.set(i, 1_000_000, 0)
	}
	p := newPool(t, c, 3*chain.TransferSize)
	a0 := transfer(t, 0, 9, 1, 200, 0)
	a1 := transfer(t, 0, 9, 1, 5000, 1) // depends on a0
	b0 := transfer(t, 1, 9, 1, 300, 0)
	mustAccept(t, p, a0, a1, b0)

	// Full: a newcomer must beat the lowest fee rate.
	wantReason(t, p.Accept(transfer(t, 2, 9, 1, 200, 0)), RejectPoolFull)
	wantReason(t, p.Accept(transfer(t, 2, 9, 1, 150, 0)), RejectPoolFull)
	// a's third may not evict a0: it depends on it.
	wantReason(t, p.Accept(transfer(t, 0, 9, 1, 90_000, 2)), RejectPoolFull)
	if info := p.Info(); info.Count != 3 || info.MinFeeRate != FeeRateOf(200, chain.TransferSize)+1 {
		t.Fatalf("Info = %+v", info)
	}
	checkPool(t, p)

	// c0 pays more than a0: a0 goes, and a1 with it.
	c0 := transfer(t, 2, 9, 1, 250, 0)
	mustAccept(t, p, c0)
	if p.Has(a0.TxID()) || p.Has(a1.TxID()) || !p.Has(b0.TxID()) || !p.Has(c0.TxID()) {
		t.Fatalf("eviction kept the wrong transfers: %v", ids(p.Snapshot()))
	}
	checkPool(t, p)

	// Two entries must go for one when the cheapest are two senders'.
	d0 := transfer(t, 3, 9, 1, 400, 0)
	mustAccept(t, p, d0) // fits in the freed space
	e0 := transfer(t, 4, 9, 1, 260, 0)
	mustAccept(t, p, e0) // evicts c0 (250), not b0 (300)
	if p.Has(c0.TxID()) || !p.Has(b0.TxID()) {
		t.Fatalf("evicted the wrong one: %v", ids(p.Snapshot()))
	}
	// The lowest is now e0 (260); paying the same is not enough.
	wantReason(t, p.Accept(transfer(t, 5, 9, 1, 260, 0)), RejectPoolFull) // equal is not enough
	checkPool(t, p)
}

func TestBlockConnectedRevalidates(t *testing.T) {
	c := newFakeChain()
	c.set(0, 10_000, 0)
	c.set(1, 10_000, 0)
	p := newPool(t, c, 0)
	a0 := transfer(t, 0, 9, 1000, 1000, 0)
	a1 := transfer(t, 0, 9, 1000, 1000, 1)
	a2 := transfer(t, 0, 9, 1000, 1000, 2)
	a3 := transfer(t, 0, 9, 1000, 1000, 3)
	b0 := transfer(t, 1, 9, 1000, 1000, 0)
	b1 := transfer(t, 1, 9, 1000, 1000, 1)
	mustAccept(t, p, a0, a1, a2, a3, b0, b1)

	// A block mines a0 and a conflicting b transfer with sequence 0;
	// meanwhile a spent so much elsewhere (here: the state says so) that
	// only one more of its transfers is covered.
	bConflict := transfer(t, 1, 8, 5, 1000, 0)
	blk := &chain.Block{Transactions: []chain.Transaction{
		{Coinbase: &chain.Coinbase{Outputs: []chain.Output{{Amount: 1}}}}, *a0, *bConflict}}
	c.set(0, 2500, 1)
	c.set(1, 8995, 1)
	p.BlockConnected(blk)
	want := []chain.Hash{a1.TxID(), b1.TxID()}
	if got := ids(p.Snapshot()); !slices.Equal(got, want) {
		t.Fatalf("after the block: %v, want %v", got, want)
	}
	checkPool(t, p)
}

func TestConcurrentAccept(t *testing.T) {
	c := newFakeChain()
	const senders, each = 8, 20
	for i := range senders {
		c.set(i, 1_000_000, 0)
	}
	p := newPool(t, c, 0)
	var wg sync.WaitGroup
	for s := range senders {
		wg.Go(func() {
			for seq := range each {
				if err := p.Accept(transfer(t, s, 9, 1, uint64(1000+s), uint64(seq))); err != nil {
					t.Error(err)
				}
				p.Info()
				p.Transactions(10)
			}
		})
	}
	wg.Wait()
	if n := p.Info().Count; n != senders*each {
		t.Fatalf("%d transfers, want %d", n, senders*each)
	}
	checkPool(t, p)
}

// TestNodeReorg drives a real node whose Notify feeds the pool: blocks
// mine the pool's transfers, and a heavier branch without them puts them
// back, in sequence order across blocks.
func TestNodeReorg(t *testing.T) {
	var p *Pool
	tc := newTestChain(t, 3, func(e node.Event) { p.HandleEvent(e) })
	p = newPoolFor(t, tc.p, tc.node, 0)

	s0 := transferFor(t, tc.p.GenesisHash, 0, 1, 100, 1000, 0)
	s1 := transferFor(t, tc.p.GenesisHash, 0, 1, 100, 1000, 1)
	s2 := transferFor(t, tc.p.GenesisHash, 0, 1, 100, 1000, 2)
	u0 := transferFor(t, tc.p.GenesisHash, 1, 2, 100, 2000, 0)
	mustAccept(t, p, s0, s1, s2, u0)

	g := tc.p.GenesisHash
	a1 := tc.child(g, 2, s0, u0)
	if p.Has(s0.TxID()) || p.Has(u0.TxID()) || !p.Has(s1.TxID()) {
		t.Fatalf("after a1: %v", ids(p.Snapshot()))
	}
	a2 := tc.child(a1.Hash(), 2, s1)
	if p.Info().Count != 1 || !p.Has(s2.TxID()) {
		t.Fatalf("after a2: %v", ids(p.Snapshot()))
	}

	// A heavier branch from genesis that mines u0 only.
	b1 := tc.child(g, 2, u0)
	b2 := tc.child(b1.Hash(), 2)
	_ = tc.child(b2.Hash(), 2) // reorganizes: a2, a1 disconnected
	if tip := tc.node.Tip(); tip.Height != 3 || tc.node.MainChainHas(a2.Hash()) {
		t.Fatalf("no reorganization: tip at height %d", tip.Height)
	}
	want := []chain.Hash{s0.TxID(), s1.TxID(), s2.TxID()}
	if got := ids(p.Snapshot()); !slices.Equal(got, want) {
		t.Fatalf("after the reorg: %v, want s0 s1 s2 %v", got, want)
	}
	checkPool(t, p)

	// The pool's transfers make a valid block on the new tip.
	var txs []*chain.Transaction
	for _, tx := range p.Transactions(10) {
		txs = append(txs, &tx)
	}
	_ = tc.child(tc.node.Tip().Hash, 2, txs...)
	if p.Info().Count != 0 {
		t.Fatalf("pool not emptied: %v", ids(p.Snapshot()))
	}
	if acc := tc.node.Account(addr(0)); acc.Sequence != 3 {
		t.Fatalf("sender sequence %d, want 3", acc.Sequence)
	}
}
