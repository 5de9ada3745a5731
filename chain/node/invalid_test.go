package node

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/powmine/powmine/chain"
	"github.com/powmine/powmine/chain/storage"
)

// storeCounts is what a MemStore holds: blocks, index entries, and the
// number of Commits made so far.
type storeCounts struct{ blocks, index, commits int }

// counts returns the harness store's counts.
func (h *harness) counts() storeCounts {
	s := h.store
	s.mu.Lock()
	defer s.mu.Unlock()
	return storeCounts{blocks: len(s.blocks), index: len(s.index), commits: s.commits}
}

// wantUntouched fails unless the store holds what it held at before and
// the node shows tips chain tips.
func (h *harness) wantUntouched(before storeCounts, tips int) {
	h.tb.Helper()
	if got := h.counts(); got != before {
		h.tb.Fatalf("store went from %+v to %+v", before, got)
	}
	if got := len(h.node.ChainTips()); got != tips {
		h.tb.Fatalf("%d chain tips, want %d", got, tips)
	}
}

// reseal mines b again after a test changed it, and remembers it under
// its new hash.
func (h *harness) reseal(b *chain.Block) *chain.Block {
	h.tb.Helper()
	seal(h.tb, b, h.p)
	h.blocks[b.Hash()] = b
	return b
}

// invalidBlock processes a child of parent whose coinbase overpays by
// one unit: it is stored and marked StatusValidateFailed when connected.
func (h *harness) invalidBlock(parent *chain.Block) *chain.Block {
	h.tb.Helper()
	x := h.nextExtra(parent, 2, 1, 1)
	_, err := h.process(x)
	wantCode(h.tb, err, chain.ErrBadCoinbaseValue)
	h.wantStatus(x, storage.StatusDataStored|storage.StatusValidateFailed)
	return x
}

// TestChildOfInvalidNotStored checks Bitcoin Core's bad-prevblk: a block
// whose parent is known invalid, and every descendant of it, is refused
// with ErrInvalidAncestorBlock before anything is written, whether it
// arrives after its parent or waits for it in the orphan pool, and is
// no chain tip.
func TestChildOfInvalidNotStored(t *testing.T) {
	h := newHarness(t, false, Config{})
	a := h.branch(h.genesis, 2, 1, 1)
	h.mustProcess(a...)
	x := h.invalidBlock(a[1])
	before, tips := h.counts(), len(h.node.ChainTips())

	c1 := h.next(x, 2)
	c2 := h.next(c1, 2)
	for _, b := range []*chain.Block{c1, c2} {
		res, err := h.process(b)
		wantCode(t, err, chain.ErrInvalidAncestorBlock)
		if res.Orphan || res.MainChain {
			t.Errorf("block %v: result %+v", b.Hash(), res)
		}
	}
	h.wantUntouched(before, tips)

	// Descendants first: d3 and d2 wait for d1 as orphans; refusing d1
	// refuses them too.
	d1 := h.nextExtra(x, 3, 2, 0)
	d2 := h.next(d1, 3)
	d3 := h.next(d2, 3)
	d4 := h.next(d3, 3)
	for _, b := range []*chain.Block{d3, d2} {
		if res, err := h.process(b); err != nil || !res.Orphan {
			t.Fatalf("block %v: %+v, %v; want an orphan", b.Hash(), res, err)
		}
	}
	_, err := h.process(d1)
	wantCode(t, err, chain.ErrInvalidAncestorBlock)
	if n := h.node.OrphanCount(); n != 0 {
		t.Errorf("%d descendants of an invalid block left in the orphan pool", n)
	}
	// d4's parent d3 was refused as an orphan: d4 is refused, not kept.
	res, err := h.process(d4)
	wantCode(t, err, chain.ErrInvalidAncestorBlock)
	if res.Orphan || h.node.OrphanCount() != 0 {
		t.Errorf("d4 kept as an orphan: %+v", res)
	}
	h.wantUntouched(before, tips)

	for _, b := range []*chain.Block{c1, c2, d1, d2, d3, d4} {
		if _, ok := h.node.BlockInfo(b.Hash()); ok {
			t.Errorf("refused block %v is in the index", b.Hash())
		}
		if _, err := h.node.ProcessBlock(b); !errors.Is(err, ErrDuplicate) {
			t.Errorf("refused block %v sent again: %v, want ErrDuplicate", b.Hash(), err)
		}
	}
	h.wantUntouched(before, tips)

	// The valid chain goes on.
	a3 := h.next(a[1], 1)
	h.mustProcess(a3)
	h.wantTip(a3)
}

// TestInvalidAncestorFlood is the attack of the issue: cheap children and
// a long chain of descendants of an invalid block, each with valid proof
// of work at the easiest bits, leave the store, the chain tips and the
// orphan pool as they were, and the remembered refusals within
// MaxRejected; a child forgotten since is refused again.
func TestInvalidAncestorFlood(t *testing.T) {
	const n = 2500 // 5,000 refusals, more than MaxRejected
	h := newHarness(t, false, Config{})
	a := h.branch(h.genesis, 3, 1, 1)
	h.mustProcess(a...)
	x := h.invalidBlock(a[2])
	before, tips := h.counts(), len(h.node.ChainTips())

	var first *chain.Block
	desc := x
	for i := range n {
		child := h.nextExtra(x, 3+i%200, uint32(1+i/200), 0)
		if first == nil {
			first = child
		}
		_, err := h.node.ProcessBlock(child)
		wantCode(t, err, chain.ErrInvalidAncestorBlock)
		desc = h.nextExtra(desc, 2, 1, 0)
		_, err = h.node.ProcessBlock(desc)
		wantCode(t, err, chain.ErrInvalidAncestorBlock)
	}
	h.wantUntouched(before, tips)
	if o := h.node.OrphanCount(); o != 0 {
		t.Errorf("%d orphans", o)
	}
	if r := h.node.rejected; len(r.vals) != MaxRejected || len(r.ring) != MaxRejected {
		t.Errorf("%d refusals remembered in a ring of %d, want %d", len(r.vals), len(r.ring), MaxRejected)
	}
	_, err := h.process(first) // forgotten: checked and refused again
	wantCode(t, err, chain.ErrInvalidAncestorBlock)
	h.wantUntouched(before, tips)
}

// TestRejectedSetBounded checks the FIFO bound of the remembered refusals.
func TestRejectedSetBounded(t *testing.T) {
	r := newHashRing[chain.ErrorCode](3)
	hashes := []chain.Hash{{1}, {2}, {3}, {4}, {5}}
	for i, hash := range hashes {
		r.add(hash, chain.ErrorCode(i), false)
		if i == 2 {
			r.add(hashes[0], chain.ErrHighHash, false) // held: neither moved up nor changed
		}
	}
	for i, hash := range hashes {
		code, ok := r.get(hash)
		if want := i >= 2; ok != want || (ok && code != chain.ErrorCode(i)) {
			t.Errorf("hash %d: %v, %v; want held %v with code %d", i, code, ok, want, i)
		}
	}
	if len(r.vals) != 3 || len(r.ring) != 3 {
		t.Errorf("%d hashes in a ring of %d, want 3", len(r.vals), len(r.ring))
	}
	if z := newHashRing[chain.ErrorCode](0); z.max != 1 {
		t.Errorf("a set of 0 holds %d", z.max)
	}
}

// TestBadHeaderFlood sends blocks that break a header-context rule on a
// valid parent: none is stored, and neither is a child of one.
func TestBadHeaderFlood(t *testing.T) {
	const n = 2000
	h := newHarness(t, false, Config{})
	a := h.branch(h.genesis, 3, 1, 1)
	h.mustProcess(a...)
	before, tips := h.counts(), len(h.node.ChainTips())
	mtp := h.ctxOf(a[2]).MedianTime
	for i := range n {
		b := h.nextExtra(a[2], 3+i%200, uint32(1+i/200), 0)
		code := chain.ErrUnexpectedDifficulty
		if i%2 == 0 {
			b.Header.Bits = 0x203fffff // harder than the required easyBits
		} else {
			b.Header.Timestamp = uint32(mtp) - uint32(i/200) // at or below the median
			code = chain.ErrTimeTooOld
		}
		h.reseal(b)
		_, err := h.node.ProcessBlock(b)
		wantCode(t, err, code)
		_, err = h.node.ProcessBlock(h.next(b, 2))
		wantCode(t, err, chain.ErrInvalidAncestorBlock)
	}
	h.wantUntouched(before, tips)
	if o := h.node.OrphanCount(); o != 0 {
		t.Errorf("%d orphans", o)
	}
	h.checkInvariants()
}

// TestHeaderContextBeforeStore checks each header-context rule (and the
// coinbase height): the block is refused with its code before anything is
// written; a refusal that condemns the header is remembered, so the block
// sent again is a duplicate and its child is refused, while a time too
// far ahead is not, and its child waits as an orphan.
func TestHeaderContextBeforeStore(t *testing.T) {
	tests := []struct {
		name       string
		retarget   bool
		modify     func(h *harness, b *chain.Block, parent *chain.Block)
		code       chain.ErrorCode
		remembered bool
	}{
		{"bits differ from the parent's", false, func(h *harness, b, _ *chain.Block) {
			b.Header.Bits = 0x203fffff
		}, chain.ErrUnexpectedDifficulty, true},
		{"bits miss the retarget", true, func(h *harness, b, parent *chain.Block) {
			b.Header.Bits = parent.Header.Bits
		}, chain.ErrUnexpectedDifficulty, true},
		{"time at the median time past", false, func(h *harness, b, parent *chain.Block) {
			b.Header.Timestamp = uint32(h.ctxOf(parent).MedianTime)
		}, chain.ErrTimeTooOld, true},
		{"time before the median time past", false, func(h *harness, b, _ *chain.Block) {
			b.Header.Timestamp = genesisTime
		}, chain.ErrTimeTooOld, true},
		{"coinbase height", false, func(h *harness, b, _ *chain.Block) {
			b.Transactions[0].Coinbase.Height = 7
		}, chain.ErrBadCoinbaseHeight, true},
		{"time too new", false, func(h *harness, b, _ *chain.Block) {
			b.Header.Timestamp = uint32(h.now.Unix() + 3*3600)
		}, chain.ErrTimeTooNew, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t, tt.retarget, Config{})
			a := h.branch(h.genesis, 3, 1, 1) // the child is at height 4, a retarget
			h.mustProcess(a...)
			before, tips := h.counts(), len(h.node.ChainTips())
			b := h.nextExtra(a[2], 2, 1, 0)
			tt.modify(h, b, a[2])
			h.reseal(b)
			child := h.next(b, 2)

			_, err := h.process(b)
			wantCode(t, err, tt.code)
			res, err := h.process(child)
			if tt.remembered {
				wantCode(t, err, chain.ErrInvalidAncestorBlock)
				if res.Orphan {
					t.Error("the child of a refused block waits as an orphan")
				}
			} else if err != nil || !res.Orphan {
				t.Errorf("child of a block from the future: %+v, %v; want an orphan", res, err)
			}
			h.wantUntouched(before, tips)
			if _, ok := h.node.BlockInfo(b.Hash()); ok {
				t.Error("the refused block is in the index")
			}
			_, err = h.node.ProcessBlock(b)
			if tt.remembered {
				if !errors.Is(err, ErrDuplicate) {
					t.Errorf("sent again: %v, want ErrDuplicate", err)
				}
			} else {
				wantCode(t, err, tt.code)
			}
			h.wantUntouched(before, tips)
		})
	}
}

// TestOrphanGetsHeaderContext checks that orphans meet the header-context
// rules when their parent arrives, before they are stored: one with wrong
// bits is refused, and so is its own orphan child, while a valid sibling
// is stored.
func TestOrphanGetsHeaderContext(t *testing.T) {
	h := newHarness(t, false, Config{})
	p := h.next(h.genesis, 1)
	bad := h.nextExtra(p, 2, 1, 0)
	bad.Header.Bits = 0x203fffff
	h.reseal(bad)
	kid := h.next(bad, 2)
	good := h.nextExtra(p, 3, 1, 0)
	for _, b := range []*chain.Block{bad, kid, good} {
		if res, err := h.process(b); err != nil || !res.Orphan {
			t.Fatalf("block %v: %+v, %v; want an orphan", b.Hash(), res, err)
		}
	}
	before := h.counts()
	h.mustProcess(p)
	h.wantTip(good)
	if n := h.node.OrphanCount(); n != 0 {
		t.Errorf("%d orphans left", n)
	}
	if got := h.counts(); got.blocks != before.blocks+2 || got.index != before.index+2 {
		t.Errorf("store went from %+v to %+v; want p and good only", before, got)
	}
	h.wantStatus(good, storage.StatusDataStored|storage.StatusValid)
	for _, b := range []*chain.Block{bad, kid} {
		if _, ok := h.node.BlockInfo(b.Hash()); ok {
			t.Errorf("refused orphan %v is in the index", b.Hash())
		}
		if _, err := h.node.ProcessBlock(b); !errors.Is(err, ErrDuplicate) {
			t.Errorf("refused orphan %v sent again: %v, want ErrDuplicate", b.Hash(), err)
		}
	}
}

// TestConcurrentRefusals sends children and descendants of an invalid
// block from several goroutines, the same ones twice and some before
// their parents, while another extends the chain and a reader lists the
// tips: only the valid blocks are stored. Run it with -race.
func TestConcurrentRefusals(t *testing.T) {
	h := newHarness(t, false, Config{})
	h.node.cfg.Notify = nil // the harness's recorder is not goroutine-safe
	a := h.branch(h.genesis, 2, 1, 1)
	h.mustProcess(a...)
	x := h.invalidBlock(a[1])
	before, tips := h.counts(), len(h.node.ChainTips())
	var bad []*chain.Block
	desc := x
	for i := range 100 {
		desc = h.nextExtra(desc, 3, 1, 0)
		bad = append(bad, h.nextExtra(x, 4+i, 1, 0), desc)
	}
	main := h.branch(a[1], 20, 1, 1)
	reversed := slices.Clone(bad)
	slices.Reverse(reversed)

	var wg sync.WaitGroup
	for _, blocks := range [][]*chain.Block{bad, bad, reversed, main} {
		wg.Go(func() {
			for _, b := range blocks {
				if _, err := h.node.ProcessBlock(b); err != nil && !errors.Is(err, ErrDuplicate) {
					var rerr chain.RuleError
					if !errors.As(err, &rerr) || rerr.Code != chain.ErrInvalidAncestorBlock {
						t.Errorf("block %v: %v", b.Hash(), err)
					}
				}
			}
		})
	}
	wg.Go(func() {
		for range 50 {
			_ = h.node.ChainTips()
			_ = h.node.OrphanCount()
		}
	})
	wg.Wait()
	h.wantTip(main[len(main)-1])
	if got := h.counts(); got.blocks != before.blocks+len(main) || got.index != before.index+len(main) {
		t.Errorf("store went from %+v to %+v; want the %d valid blocks only", before, got, len(main))
	}
	if got := len(h.node.ChainTips()); got != tips {
		t.Errorf("%d chain tips, want %d", got, tips)
	}
	if o := h.node.OrphanCount(); o != 0 {
		t.Errorf("%d orphans left", o)
	}
	for _, b := range bad {
		if _, ok := h.node.BlockInfo(b.Hash()); ok {
			t.Fatalf("refused block %v is in the index", b.Hash())
		}
	}
	h.checkInvariants()
}

// TestBadSignatureInBigBlock processes a block of 1,000 transfers, one of
// them with a bad signature: the batch fails, the error is
// ErrBadSignature naming that transfer by index and txid, nothing is
// stored, and the honest block, which has another hash, connects after.
func TestBadSignatureInBigBlock(t *testing.T) {
	const transfers, bad = 1000, 731
	h := newHarnessFunded(t, transfers, false, Config{})
	txs := make([]chain.Transaction, transfers)
	for i := range txs {
		txs[i] = transfer(t, i, (i+1)%transfers, 1, 1, 0)
	}
	honest := h.next(h.genesis, transfers, txs...)
	forged := &chain.Block{Header: honest.Header, Transactions: slices.Clone(honest.Transactions)}
	tr := *forged.Transactions[bad].Transfer
	tr.Signature[7] ^= 0x20
	forged.Transactions[bad].Transfer = &tr
	h.reseal(forged)

	before := h.counts()
	_, err := h.process(forged)
	wantCode(t, err, chain.ErrBadSignature)
	want := fmt.Sprintf("transaction %d (%v) has an invalid signature", bad, forged.Transactions[bad].TxID())
	if !strings.Contains(err.Error(), want) {
		t.Fatalf("error %q does not say %q", err, want)
	}
	h.wantUntouched(before, 1)
	h.mustProcess(honest)
	h.wantTip(honest)
}
