package node

import (
	"errors"
	"slices"
	"sync"
	"testing"

	"github.com/powmine/powmine/chain"
	"github.com/powmine/powmine/chain/storage"
)

func TestExtendTip(t *testing.T) {
	h := newHarness(t, false, Config{})
	a1 := h.next(h.genesis, 5, transfer(t, 0, 1, 100, 10, 0))
	a2 := h.next(a1, 5, transfer(t, 0, 2, 50, 5, 1), transfer(t, 1, 0, 7, 0, 0))
	for _, b := range []*chain.Block{a1, a2} {
		res := h.mustProcess(b)
		if !res.MainChain || res.Orphan || len(res.Disconnected) != 0 {
			t.Fatalf("result %+v", res)
		}
	}
	h.wantTip(a2)
	const coin = chain.BaseUnitsPerCoin
	if got, want := h.node.Account(addr(0)), (chain.Account{Balance: 1000*coin - 165 + 7, Sequence: 2}); got != want {
		t.Errorf("account 0 = %+v, want %+v", got, want)
	}
	if got := h.node.Account(addr(5)).Balance; got != 2*50*coin+15 {
		t.Errorf("miner balance %d", got)
	}
	if len(h.events) != 2 || h.events[0].Kind != BlockConnected || h.events[1].Hash != a2.Hash() {
		t.Errorf("events %+v", h.events)
	}
	if _, err := h.node.ProcessBlock(a2); !errors.Is(err, ErrDuplicate) {
		t.Errorf("second ProcessBlock: %v, want ErrDuplicate", err)
	}
	h.wantStatus(a2, storage.StatusDataStored|storage.StatusValid)
	if loc := h.node.Locator(); len(loc) != 3 || loc[0] != a2.Hash() || loc[2] != h.genesis.Hash() {
		t.Errorf("locator %v", loc)
	}
}

func TestSideBranchLessWorkStaysSide(t *testing.T) {
	h := newHarness(t, false, Config{})
	main := h.branch(h.genesis, 3, 1, 1)
	side := h.branch(h.genesis, 2, 2, 1)
	h.mustProcess(main...)
	for _, b := range side {
		if res := h.mustProcess(b); res.MainChain {
			t.Fatalf("side block %v went to the main chain", b.Hash())
		}
	}
	h.wantTip(main[2])
	h.wantStatus(side[1], storage.StatusDataStored) // never connected, never validated
	if n := len(h.events); n != 3 {
		t.Errorf("%d events, want 3", n)
	}
}

func TestEqualWorkKeepsFirstSeen(t *testing.T) {
	h := newHarness(t, false, Config{})
	a1 := h.next(h.genesis, 1)
	b1 := h.next(h.genesis, 2)
	h.mustProcess(a1, b1)
	h.wantTip(a1)
	// The same in the other order: whoever came first stays.
	h2 := newHarness(t, false, Config{})
	x1, y1 := h2.next(h2.genesis, 1), h2.next(h2.genesis, 2)
	h2.mustProcess(y1, x1)
	h2.wantTip(y1)
	// One more block on the second branch makes it heavier.
	b2 := h.next(b1, 2)
	res := h.mustProcess(b2)
	h.wantTip(b2)
	if !res.MainChain {
		t.Error("b2 not on the main chain")
	}
}

func TestReorgMultiBlock(t *testing.T) {
	h := newHarness(t, false, Config{})
	a1 := h.next(h.genesis, 1, transfer(t, 0, 2, 10, 1, 0), transfer(t, 0, 3, 20, 1, 1))
	a2 := h.next(a1, 1, transfer(t, 3, 0, 5, 1, 0))
	a3 := h.next(a2, 1, transfer(t, 2, 1, 3, 0, 0))
	h.mustProcess(a1, a2, a3)
	h.events = nil

	// The new branch spends account 0 differently, with the same sequence.
	b1 := h.next(h.genesis, 4, transfer(t, 0, 1, 999, 2, 0))
	b2 := h.next(b1, 4)
	b3 := h.next(b2, 4, transfer(t, 1, 0, 500, 0, 0))
	b4 := h.next(b3, 4)
	for _, b := range []*chain.Block{b1, b2, b3} {
		if res := h.mustProcess(b); res.MainChain || len(res.Disconnected) != 0 {
			t.Fatalf("block at equal or less work reorganized: %+v", res)
		}
	}
	h.wantTip(a3)
	res := h.mustProcess(b4)
	h.wantTip(b4)
	var want []chain.Transaction
	for _, b := range []*chain.Block{a1, a2, a3} {
		want = append(want, b.Transactions[1:]...)
	}
	if !slices.Equal(txIDs(res.Disconnected), txIDs(want)) {
		t.Errorf("disconnected transfers %d, want the %d of a1..a3 in order", len(res.Disconnected), len(want))
	}
	var got []string
	for _, e := range h.events {
		got = append(got, e.Kind.String()+":"+e.Hash.String()[:8])
	}
	var wantEv []string
	for _, b := range []*chain.Block{a3, a2, a1} {
		wantEv = append(wantEv, "disconnected:"+b.Hash().String()[:8])
	}
	for _, b := range []*chain.Block{b1, b2, b3, b4} {
		wantEv = append(wantEv, "connected:"+b.Hash().String()[:8])
	}
	if !slices.Equal(got, wantEv) {
		t.Errorf("events\n%v\nwant\n%v", got, wantEv)
	}
	// The state is a replay of genesis..b4 (checked by the harness) and
	// the old branch's undo records are gone.
	if _, err := h.store.Undo(a1.Hash()); !errors.Is(err, storage.ErrNotFound) {
		t.Errorf("undo of a disconnected block: %v", err)
	}
	h.wantStatus(a1, storage.StatusDataStored|storage.StatusValid)
}

func txIDs(txs []chain.Transaction) []chain.Hash {
	ids := make([]chain.Hash, len(txs))
	for i := range txs {
		ids[i] = txs[i].TxID()
	}
	return ids
}

func TestInvalidBlockInHeavierBranch(t *testing.T) {
	h := newHarness(t, false, Config{})
	a := h.branch(h.genesis, 2, 1, 1)
	h.mustProcess(a...)
	b1 := h.next(h.genesis, 2, transfer(t, 0, 1, 1, 0, 0))
	b2 := h.next(b1, 2, transfer(t, 1, 0, 2000*chain.BaseUnitsPerCoin, 0, 0)) // overspends
	b3 := h.next(b2, 2)
	b4 := h.next(b3, 2)
	h.mustProcess(b1, b2) // equal work to a2 at b2: not validated yet
	h.wantTip(a[1])
	_, err := h.process(b3)
	wantCode(t, err, chain.ErrInvalidAncestorBlock)
	h.wantTip(a[1]) // back on the best valid chain, not on b1
	h.wantStatus(b1, storage.StatusDataStored|storage.StatusValid)
	h.wantStatus(b2, storage.StatusDataStored|storage.StatusValidateFailed)
	h.wantStatus(b3, storage.StatusDataStored|storage.StatusInvalidAncestor)
	_, err = h.process(b4)
	wantCode(t, err, chain.ErrInvalidAncestorBlock)
	if _, ok := h.node.BlockInfo(b4.Hash()); ok {
		t.Error("b4, refused for its invalid parent, is in the index")
	}
	if _, err := h.node.ProcessBlock(b2); !errors.Is(err, ErrDuplicate) {
		t.Errorf("resubmitting an invalid block: %v", err)
	}

	// A valid heavier branch is still taken.
	c := h.branch(h.genesis, 3, 3, 1)
	h.mustProcess(c...)
	h.wantTip(c[2])
}

func TestInvalidPrefixKeepsValidPart(t *testing.T) {
	// The failing block sits two blocks into the heavier branch; the valid
	// prefix b1,b2 has more work than the old tip, so the node stays on it.
	h := newHarness(t, false, Config{})
	a1 := h.next(h.genesis, 1)
	h.mustProcess(a1)
	b1 := h.next(h.genesis, 2)
	b2 := h.next(b1, 2)
	b3 := h.nextExtra(b2, 2, 1, 1) // coinbase one unit too large
	h.mustProcess(b1)
	// Feed b3 first, as an orphan, so that b2 and b3 arrive together.
	if res, _ := h.process(b3); !res.Orphan {
		t.Fatal("b3 should wait for b2")
	}
	_, err := h.process(b2)
	if err != nil {
		t.Fatalf("b2: %v", err)
	}
	h.wantTip(b2)
	h.wantStatus(b3, storage.StatusDataStored|storage.StatusValidateFailed)
}

func TestMoreBlocksLessWorkLoses(t *testing.T) {
	// 4-block difficulty periods: the fast branch retargets to a 4x
	// harder target at height 4, the slow branch stays at the limit.
	h := newHarness(t, true, Config{})
	slow := h.branch(h.genesis, 8, 2, 100)
	fast := h.branch(h.genesis, 4, 1, 1)
	if fast[3].Header.Bits == slow[3].Header.Bits {
		t.Fatalf("bits did not diverge: %08x", fast[3].Header.Bits)
	}
	h.mustProcess(slow[:6]...)
	h.wantTip(slow[5])
	h.mustProcess(fast...)
	fastTip, slowInfo := h.node.Tip(), mustInfo(t, h.node, slow[5])
	if fastTip.Hash != fast[3].Hash() {
		t.Fatalf("tip %d blocks high, want the 4-block heavier branch", fastTip.Height)
	}
	if fastTip.Height >= slowInfo.Height || fastTip.Work.Cmp(slowInfo.Work) <= 0 {
		t.Fatalf("want a shorter, heavier tip: fast %d/%v, slow %d/%v", fastTip.Height, fastTip.Work, slowInfo.Height, slowInfo.Work)
	}
	// slow[6] has about the fast branch's work: it wins only with more.
	h.mustProcess(slow[6])
	if mustInfo(t, h.node, slow[6]).Work.Cmp(fastTip.Work) <= 0 {
		h.wantTip(fast[3])
	} else {
		h.wantTip(slow[6])
	}
	h.mustProcess(slow[7])
	h.wantTip(slow[7])
}

func mustInfo(t *testing.T, n *Node, b *chain.Block) BlockInfo {
	t.Helper()
	info, ok := n.BlockInfo(b.Hash())
	if !ok {
		t.Fatalf("block %v unknown", b.Hash())
	}
	return info
}

func TestHeavierOrder(t *testing.T) {
	// The fork-choice order on index nodes: work first, then first seen;
	// height never matters.
	p, g := testParams(t, 1, false)
	gn := newBlockNode(&g.Header, g.Hash(), nil, 0)
	hard := chain.Header{Bits: 0x1f00ffff}
	easy := chain.Header{Bits: easyBits}
	long := gn
	for i := range 5 {
		long = newBlockNode(&easy, chain.Hash{byte(i)}, long, uint64(i+1))
	}
	short := newBlockNode(&hard, chain.Hash{9}, gn, 10)
	if !heavier(short, long) || heavier(long, short) {
		t.Errorf("a 1-block branch with work %v must beat a 5-block one with %v", short.workSum, long.workSum)
	}
	a := newBlockNode(&easy, chain.Hash{20}, gn, 20)
	b := newBlockNode(&easy, chain.Hash{21}, gn, 21)
	if !heavier(a, b) || heavier(b, a) {
		t.Error("equal work: the first seen must win")
	}
	_ = p
}

func TestOrphans(t *testing.T) {
	h := newHarness(t, false, Config{})
	a := h.branch(h.genesis, 4, 1, 1)
	for _, b := range []*chain.Block{a[3], a[1], a[2]} {
		res, err := h.process(b)
		if err != nil || !res.Orphan {
			t.Fatalf("orphan: %+v, %v", res, err)
		}
	}
	if _, err := h.node.ProcessBlock(a[2]); !errors.Is(err, ErrDuplicate) {
		t.Errorf("orphan resubmitted: %v", err)
	}
	if n := h.node.OrphanCount(); n != 3 {
		t.Fatalf("%d orphans, want 3", n)
	}
	h.mustProcess(a[0])
	h.wantTip(a[3])
	if n := h.node.OrphanCount(); n != 0 {
		t.Errorf("%d orphans left", n)
	}
}

func TestOrphanPoolBounded(t *testing.T) {
	h := newHarness(t, false, Config{MaxOrphans: 5})
	a := h.branch(h.genesis, 10, 1, 1)
	for _, b := range a[1:] { // all but the first are orphans
		h.mustProcess(b)
	}
	n := h.node
	if got := n.OrphanCount(); got != 5 {
		t.Fatalf("%d orphans, want the limit 5", got)
	}
	for i, b := range a[1:] {
		if n.orphans.has(b.Hash()) != (i >= 4) {
			t.Errorf("orphan %d kept=%v, want the newest 5 kept", i+1, !(i >= 4))
		}
	}
	// Byte budget: room for two blocks only.
	size := a[1].SerializeSize()
	h2 := newHarness(t, false, Config{MaxOrphanBytes: 2*size + size/2})
	b := h2.branch(h2.genesis, 5, 1, 1)
	h2.mustProcess(b[1:]...)
	if got := h2.node.OrphanCount(); got != 2 {
		t.Errorf("%d orphans in a 2.5-block budget", got)
	}
	// Expiry: an hour later the old ones are gone.
	h2.now = h2.now.Add(OrphanTTL + 1)
	h2.mustProcess(h2.next(b[4], 1))
	if got := h2.node.OrphanCount(); got != 1 {
		t.Errorf("%d orphans after expiry, want 1", got)
	}
	// The pool's arrival list stays bounded too.
	h3 := newHarness(t, false, Config{MaxOrphans: 2})
	c := h3.branch(h3.genesis, 60, 1, 1)
	for i := len(c) - 1; i >= 1; i-- {
		h3.mustProcess(c[i])
	}
	if l := len(h3.node.orphans.order); l > 2*2+16 {
		t.Errorf("order list has %d entries", l)
	}
}

func TestStateRules(t *testing.T) {
	const coin = chain.BaseUnitsPerCoin
	tests := []struct {
		name  string
		txs   func(t *testing.T) []chain.Transaction
		extra uint64
		code  chain.ErrorCode // -1: valid
	}{
		{"consecutive sequences", func(t *testing.T) []chain.Transaction {
			return []chain.Transaction{transfer(t, 0, 1, 1, 1, 0), transfer(t, 0, 1, 1, 1, 1)}
		}, 0, -1},
		{"coinbase claims fees", func(t *testing.T) []chain.Transaction {
			return []chain.Transaction{transfer(t, 0, 1, 1, 50, 0)}
		}, 0, -1},
		{"double spend of a sequence", func(t *testing.T) []chain.Transaction {
			return []chain.Transaction{transfer(t, 0, 1, 1, 1, 0), transfer(t, 0, 2, 1, 1, 0)}
		}, 0, chain.ErrBadSequence},
		{"sequence gap", func(t *testing.T) []chain.Transaction {
			return []chain.Transaction{transfer(t, 0, 1, 1, 1, 1)}
		}, 0, chain.ErrBadSequence},
		{"sequences out of block order", func(t *testing.T) []chain.Transaction {
			return []chain.Transaction{transfer(t, 0, 1, 1, 1, 1), transfer(t, 0, 1, 1, 1, 0)}
		}, 0, chain.ErrBadSequence},
		{"overspend", func(t *testing.T) []chain.Transaction {
			return []chain.Transaction{transfer(t, 0, 1, 1000*coin, 1, 0)}
		}, 0, chain.ErrInsufficientBalance},
		{"second transfer overspends", func(t *testing.T) []chain.Transaction {
			return []chain.Transaction{transfer(t, 0, 1, 600*coin, 0, 0), transfer(t, 0, 1, 400*coin, 1, 1)}
		}, 0, chain.ErrInsufficientBalance},
		{"empty account", func(t *testing.T) []chain.Transaction {
			return []chain.Transaction{transfer(t, 9, 1, 1, 0, 0)}
		}, 0, chain.ErrInsufficientBalance},
		{"received coins can be spent in the same block", func(t *testing.T) []chain.Transaction {
			return []chain.Transaction{transfer(t, 0, 9, 10, 0, 0), transfer(t, 9, 1, 10, 0, 0)}
		}, 0, -1},
		{"coinbase too large", func(t *testing.T) []chain.Transaction {
			return []chain.Transaction{transfer(t, 0, 1, 1, 5, 0)}
		}, 1, chain.ErrBadCoinbaseValue},
		{"coinbase overflows", func(t *testing.T) []chain.Transaction { return nil }, ^uint64(0) - 50*coin, chain.ErrBadCoinbaseValue},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t, false, Config{})
			b := h.nextExtra(h.genesis, 5, 1, tt.extra, tt.txs(t)...)
			res, err := h.process(b)
			if tt.code < 0 {
				if err != nil || !res.MainChain {
					t.Fatalf("valid block: %+v, %v", res, err)
				}
				return
			}
			wantCode(t, err, tt.code)
			h.wantTip(h.genesis)
			h.wantStatus(b, storage.StatusDataStored|storage.StatusValidateFailed)
			if len(h.events) != 0 {
				t.Errorf("events for a rejected block: %+v", h.events)
			}
		})
	}
}

func TestReplayAcrossBlocks(t *testing.T) {
	h := newHarness(t, false, Config{})
	tx := transfer(t, 0, 1, 5, 1, 0)
	a1 := h.next(h.genesis, 5, tx)
	h.mustProcess(a1)
	a2 := h.next(a1, 5, tx) // the same transfer again
	_, err := h.process(a2)
	wantCode(t, err, chain.ErrBadSequence)
	h.wantTip(a1)
}

func TestRejectedWithoutMarking(t *testing.T) {
	h := newHarness(t, false, Config{})
	t1, t2 := transfer(t, 0, 1, 1, 0, 0), transfer(t, 0, 1, 2, 0, 1)
	good := h.next(h.genesis, 5, t1, t2)

	// CVE-2012-2459: [cb, t1, t2, t2] has the root of [cb, t1, t2].
	mutated := &chain.Block{Header: good.Header, Transactions: append(slices.Clone(good.Transactions), good.Transactions[2])}
	_, err := h.process(mutated)
	wantCode(t, err, chain.ErrMutatedBlock)
	// A body the header does not commit to.
	other := &chain.Block{Header: good.Header, Transactions: good.Transactions[:2]}
	_, err = h.process(other)
	wantCode(t, err, chain.ErrBadMerkleRoot)
	if _, ok := h.node.BlockInfo(good.Hash()); ok {
		t.Fatal("a rejected body put its header in the index")
	}
	h.mustProcess(good)
	h.wantTip(good)

	// A wrong coinbase height and a time from the future are rejected
	// before the index too.
	bad := h.next(good, 5)
	bad.Transactions[0].Coinbase.Height = 7
	seal(t, bad, h.p)
	_, err = h.process(bad)
	wantCode(t, err, chain.ErrBadCoinbaseHeight)
	future := h.nextExtra(good, 5, uint32(h.now.Unix()-int64(good.Header.Timestamp))+3*3600, 0)
	_, err = h.process(future)
	wantCode(t, err, chain.ErrTimeTooNew)
	h.now = h.now.Add(2 * 3600e9)
	h.mustProcess(future)
	h.wantTip(future)
	// Wrong bits.
	wrong := h.next(future, 5)
	wrong.Header.Bits = 0x1f7fffff
	seal(t, wrong, h.p)
	_, err = h.process(wrong)
	wantCode(t, err, chain.ErrUnexpectedDifficulty)
}

func TestFinalizerVeto(t *testing.T) {
	var vetoes int
	fin := FinalizerFunc(func(fork, oldTip, newTip BlockInfo) bool {
		if fork.Height < 2 { // blocks up to height 2 are final
			vetoes++
			return false
		}
		return true
	})
	h := newHarness(t, false, Config{Finalizer: fin})
	a := h.branch(h.genesis, 3, 1, 1)
	h.mustProcess(a...)
	side := h.branch(h.genesis, 5, 2, 1)
	h.mustProcess(side...)
	h.wantTip(a[2])
	if vetoes == 0 {
		t.Fatal("the finalizer was never asked")
	}
	// Extending the tip is never vetoed.
	a4 := h.next(a[2], 1)
	h.mustProcess(a4)
	h.wantTip(a4)
	// A heavier branch forking at height 2 is allowed.
	c := h.branch(a[1], 4, 3, 1)
	res := h.mustProcess(c...)
	h.wantTip(c[3])
	if len(res.Disconnected) != 0 || len(h.events) == 0 {
		t.Errorf("result %+v", res)
	}
}

func TestRestartFromStore(t *testing.T) {
	h := newHarness(t, false, Config{})
	a1 := h.next(h.genesis, 1, transfer(t, 0, 2, 10, 1, 0))
	a2 := h.next(a1, 1)
	b1 := h.next(h.genesis, 2, transfer(t, 1, 0, 5000*chain.BaseUnitsPerCoin, 0, 0))
	b2 := h.next(b1, 2)
	b3 := h.next(b2, 2)
	h.mustProcess(a1, a2, b1, b2)
	if _, err := h.process(b3); err == nil {
		t.Fatal("b3 accepted")
	}
	before := h.store.Commits()
	n2, err := New(Config{Params: h.p, Genesis: h.genesis, Store: h.store})
	if err != nil {
		t.Fatal(err)
	}
	if h.store.Commits() != before {
		t.Error("a restart wrote to the store")
	}
	if n2.Tip().Hash != a2.Hash() || n2.Account(addr(0)) != h.node.Account(addr(0)) {
		t.Errorf("restarted tip %v", n2.Tip().Hash)
	}
	for _, b := range []*chain.Block{a1, a2, b1, b2, b3} {
		want, _ := h.node.BlockInfo(b.Hash())
		got, _ := n2.BlockInfo(b.Hash())
		if got.Status != want.Status || got.Work.Cmp(want.Work) != 0 {
			t.Errorf("block %v restarted as %+v, want %+v", b.Hash(), got, want)
		}
	}
	// The restarted node goes on where the first stopped.
	h.node = n2
	h.mustProcess(h.next(a2, 1))
	// Another network's genesis is refused.
	p2, g2 := testParams(t, 2, false)
	if _, err := New(Config{Params: p2, Genesis: g2, Store: h.store}); err == nil {
		t.Error("loaded a store of another network")
	}
}

func TestConcurrentProcess(t *testing.T) {
	h := newHarness(t, false, Config{})
	h.node.cfg.Notify = nil // the harness's recorder is not goroutine-safe
	main := h.branch(h.genesis, 6, 1, 1)
	side := h.branch(h.genesis, 7, 2, 1)
	var wg sync.WaitGroup
	for w := range 4 {
		blocks := main
		if w%2 == 1 {
			blocks = side
		}
		wg.Go(func() {
			for _, b := range blocks {
				_, err := h.node.ProcessBlock(b)
				if err != nil && !errors.Is(err, ErrDuplicate) {
					t.Error(err)
				}
				_ = h.node.Tip()
				_ = h.node.Account(addr(1))
			}
		})
	}
	wg.Wait()
	h.wantTip(side[6])
	h.checkInvariants()
}

func TestAncestorAndView(t *testing.T) {
	_, g := testParams(t, 1, false)
	hdr := chain.Header{Bits: easyBits}
	nodes := []*blockNode{newBlockNode(&g.Header, g.Hash(), nil, 0)}
	for i := 1; i < 1000; i++ {
		nodes = append(nodes, newBlockNode(&hdr, chain.Hash{byte(i), byte(i >> 8)}, nodes[i-1], uint64(i)))
	}
	for _, tip := range []int{999, 512, 7} {
		for hgt := 0; hgt <= tip; hgt += 13 {
			if got := nodes[tip].Ancestor(int64(hgt)); got != nodes[hgt] {
				t.Fatalf("Ancestor(%d) of %d wrong", hgt, tip)
			}
		}
	}
	var v chainView
	v.setTip(nodes[999])
	side := newBlockNode(&hdr, chain.Hash{0xff}, nodes[500], 2000)
	if f := v.findFork(side); f != nodes[500] {
		t.Errorf("findFork = %v", f)
	}
	v.setTip(side)
	if v.contains(nodes[501]) || !v.contains(nodes[500]) || v.tip() != side || len(v.nodes) != 502 {
		t.Error("setTip to a side branch")
	}
	if loc := v.locator(); len(loc) > 30 || loc[len(loc)-1] != g.Hash() || loc[0] != side.hash {
		t.Errorf("locator of %d entries", len(loc))
	}
}

func TestChainTips(t *testing.T) {
	h := newHarness(t, false, Config{})
	main := h.branch(h.genesis, 3, 1, 1)
	side := h.branch(main[0], 2, 2, 1)
	h.mustProcess(main...)
	h.mustProcess(side...)
	tips := h.node.ChainTips()
	if len(tips) != 2 {
		t.Fatalf("%d tips, want 2: %+v", len(tips), tips)
	}
	if a := tips[0]; !a.Active || a.Hash != main[2].Hash() || a.BranchLen != 0 || a.Height != 3 {
		t.Errorf("active tip %+v", a)
	}
	if s := tips[1]; s.Active || s.Hash != side[1].Hash() || s.BranchLen != 2 || s.Height != 3 {
		t.Errorf("side tip %+v", s)
	}
}
