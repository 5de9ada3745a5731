package node

import (
	"errors"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/powmine/powmine/chain"
	"github.com/powmine/powmine/chain/storage"
)

// headersOf returns the headers of blocks.
func headersOf(blocks []*chain.Block) []chain.Header {
	out := make([]chain.Header, len(blocks))
	for i, b := range blocks {
		out[i] = b.Header
	}
	return out
}

// hashesOf returns the hashes of blocks.
func hashesOf(blocks []*chain.Block) []chain.Hash {
	out := make([]chain.Hash, len(blocks))
	for i, b := range blocks {
		out[i] = b.Hash()
	}
	return out
}

// mustHeaders runs ProcessHeaders and fails on an error or an unexpected
// number of added headers.
func (h *harness) mustHeaders(blocks []*chain.Block, added int) HeadersResult {
	h.tb.Helper()
	res, err := h.node.ProcessHeaders(headersOf(blocks))
	if err != nil {
		h.tb.Fatalf("ProcessHeaders: %v", err)
	}
	if res.Added != added || res.Last.Hash != blocks[len(blocks)-1].Hash() {
		h.tb.Fatalf("ProcessHeaders: %+v, want %d added and the last header", res, added)
	}
	h.checkInvariants()
	return res
}

// TestProcessHeadersThenBlocks: a header chain is accepted without
// writing anything; its nodes are header-only, BestHeader and
// MissingBlocks follow it while the tip stays; a block attaches to its
// header-only node and connects, one whose parent is header-only waits
// as an orphan, and sending the headers again adds nothing.
func TestProcessHeadersThenBlocks(t *testing.T) {
	h := newHarness(t, true, Config{})
	a := h.branch(h.genesis, 6, 1, 10)
	before := h.counts()
	h.mustHeaders(a, 6)
	if got := h.counts(); got != before {
		t.Fatalf("ProcessHeaders wrote to the store: %+v, then %+v", before, got)
	}
	h.wantTip(h.genesis)
	h.wantStatus(a[5], 0)
	if best := h.node.BestHeader(); best.Hash != a[5].Hash() || best.Height != 6 {
		t.Fatalf("BestHeader %v at %d, want %v at 6", best.Hash, best.Height, a[5].Hash())
	}
	if got := h.node.MissingBlocks(100); !slices.Equal(got, hashesOf(a)) {
		t.Fatalf("MissingBlocks(100) = %v, want %v", got, hashesOf(a))
	}
	if got := h.node.MissingBlocks(2); !slices.Equal(got, hashesOf(a[:2])) {
		t.Fatalf("MissingBlocks(2) = %v", got)
	}
	tips := h.node.ChainTips()
	if len(tips) != 2 || tips[1].Hash != a[5].Hash() || tips[1].Status&storage.StatusDataStored != 0 || tips[1].BranchLen != 6 {
		t.Fatalf("chain tips %+v, want the active genesis and the header-only a5", tips)
	}
	if loc := h.node.HeaderLocator(); loc[0] != a[5].Hash() || loc[len(loc)-1] != h.genesis.Hash() {
		t.Fatalf("header locator %v", loc)
	}
	h.mustHeaders(a[:3], 0)

	// A block whose parent is header-only waits for it.
	if res, err := h.process(a[1]); err != nil || !res.Orphan {
		t.Fatalf("a2 before a1: %+v, %v; want an orphan", res, err)
	}
	if res := h.mustProcess(a[0]); !res.MainChain {
		t.Fatalf("a1: %+v", res)
	}
	h.wantTip(a[1]) // a2 left the orphan pool
	if got := h.node.MissingBlocks(100); !slices.Equal(got, hashesOf(a[2:])) {
		t.Fatalf("MissingBlocks after a2 = %v, want a3..a6", got)
	}
	h.mustProcess(a[2:]...)
	h.wantTip(a[5])
	h.wantStatus(a[5], storage.StatusDataStored|storage.StatusValid)
	if got := h.node.MissingBlocks(100); got != nil {
		t.Fatalf("MissingBlocks at the best header = %v", got)
	}
	if _, err := h.process(a[5]); !errors.Is(err, ErrDuplicate) {
		t.Fatalf("a6 again: %v, want ErrDuplicate", err)
	}
	if h.node.headerOnly != 0 {
		t.Fatalf("%d header-only nodes left", h.node.headerOnly)
	}
	if hs := h.node.MainChainHeaders([]chain.Hash{a[3].Hash(), h.genesis.Hash()}, 10); !slices.Equal(hs, headersOf(a[4:])) {
		t.Fatalf("MainChainHeaders after a4 = %v", hs)
	}
	if hs := h.node.MainChainHeaders([]chain.Hash{{1}}, 2); !slices.Equal(hs, headersOf(a[:2])) {
		t.Fatalf("MainChainHeaders of an unknown locator = %v", hs)
	}
}

// TestProcessHeadersRejects: a header with a bad proof of work, the wrong
// bits or a time at the median is a rule error, refused and remembered;
// its children, and those of an invalid block, are refused as
// bad-prevblk; headers that do not connect are refused as unconnected
// and not as a rule; nothing refused is added.
func TestProcessHeadersRejects(t *testing.T) {
	h := newHarness(t, true, Config{})
	a := h.branch(h.genesis, 4, 1, 10)
	h.mustProcess(a[:2]...)

	badPoW := *h.next(a[1], 2)
	badPoW.Header.Bits = 0x1d00ffff // a target no test header meets
	badBits := h.next(a[1], 3)
	badBits.Header.Bits--
	h.reseal(badBits)
	old := h.nextExtra(a[1], 4, 0, 0)
	old.Header.Timestamp = a[0].Header.Timestamp
	h.reseal(old)
	for _, tc := range []struct {
		name string
		hs   []chain.Header
		code chain.ErrorCode
	}{
		{"bad proof of work", []chain.Header{badPoW.Header}, chain.ErrHighHash},
		{"wrong bits", []chain.Header{badBits.Header}, chain.ErrUnexpectedDifficulty},
		{"time too old", []chain.Header{old.Header}, chain.ErrTimeTooOld},
		{"after a good one", headersOf([]*chain.Block{a[2], h.reseal(func() *chain.Block {
			b := h.next(a[2], 5)
			b.Header.Bits--
			return b
		}())}), chain.ErrUnexpectedDifficulty},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := len(h.node.ChainTips())
			_, err := h.node.ProcessHeaders(tc.hs)
			wantCode(t, err, tc.code)
			if _, ok := h.node.BlockInfo(tc.hs[len(tc.hs)-1].Hash()); ok {
				t.Fatal("a refused header is in the index")
			}
			if tc.name == "after a good one" {
				before++ // a3 was added
			}
			if got := len(h.node.ChainTips()); got != before {
				t.Fatalf("%d chain tips, want %d", got, before)
			}
		})
	}
	// Remembered: the refused header again, and its child.
	if _, err := h.node.ProcessHeaders([]chain.Header{badBits.Header}); !errors.Is(err, ErrKnownInvalid) {
		t.Fatalf("refused header again: %v, want ErrKnownInvalid", err)
	}
	child := h.next(badBits, 3)
	_, err := h.node.ProcessHeaders([]chain.Header{child.Header})
	wantCode(t, err, chain.ErrInvalidAncestorBlock)

	// A child of a block that failed when connected.
	x := h.invalidBlock(a[1])
	_, err = h.node.ProcessHeaders(headersOf(h.branch(x, 2, 2, 10)))
	wantCode(t, err, chain.ErrInvalidAncestorBlock)
	if _, err := h.node.ProcessHeaders([]chain.Header{x.Header}); !errors.Is(err, ErrKnownInvalid) {
		t.Fatalf("header of an invalid block: %v, want ErrKnownInvalid", err)
	}

	// Unconnected: an unknown parent, or not a chain.
	orphanHs := headersOf(h.branch(a[3], 2, 1, 10))
	notChain := headersOf([]*chain.Block{a[2], a[2]})
	for name, hs := range map[string][]chain.Header{"unknown parent": orphanHs, "not a chain": notChain} {
		_, err := h.node.ProcessHeaders(hs)
		var rerr chain.RuleError
		if !errors.Is(err, ErrUnconnectedHeaders) || errors.As(err, &rerr) {
			t.Errorf("%s: %v, want ErrUnconnectedHeaders and no rule error", name, err)
		}
	}
	h.checkInvariants()
}

// TestProcessHeadersBound: beyond MaxHeaderOnly header-only nodes new
// headers are refused with ErrTooManyHeaders, which is no rule error;
// blocks make room again.
func TestProcessHeadersBound(t *testing.T) {
	h := newHarness(t, false, Config{})
	a := h.branch(h.genesis, 4, 1, 1)
	h.node.headerOnly = MaxHeaderOnly - 2 // as if that many were held
	res, err := h.node.ProcessHeaders(headersOf(a))
	var rerr chain.RuleError
	if !errors.Is(err, ErrTooManyHeaders) || errors.As(err, &rerr) {
		t.Fatalf("ProcessHeaders over the bound: %v, want ErrTooManyHeaders", err)
	}
	if res.Added != 2 || res.Last.Hash != a[1].Hash() {
		t.Fatalf("result %+v, want 2 added up to a2", res)
	}
	h.mustProcess(a[0]) // a1's node is no longer header-only: room for a3
	h.mustHeaders(a[:3], 1)
	if h.node.headerOnly != MaxHeaderOnly {
		t.Fatalf("%d header-only nodes, want %d", h.node.headerOnly, MaxHeaderOnly)
	}
}

// TestHeadersReorg: a branch heavier than the tip is learnt by headers
// first: the tip stays until the branch's blocks are stored and heavier,
// then the node reorganizes to it.
func TestHeadersReorg(t *testing.T) {
	h := newHarness(t, false, Config{})
	a := h.branch(h.genesis, 3, 1, 1)
	h.mustProcess(a...)
	b := h.branch(h.genesis, 4, 2, 2)
	h.mustHeaders(b, 4)
	h.wantTip(a[2])
	if best := h.node.BestHeader(); best.Hash != b[3].Hash() {
		t.Fatalf("BestHeader %v, want b4", best.Hash)
	}
	if got := h.node.MissingBlocks(10); !slices.Equal(got, hashesOf(b)) {
		t.Fatalf("MissingBlocks = %v, want b1..b4", got)
	}
	for _, blk := range b[:3] {
		if res := h.mustProcess(blk); res.MainChain {
			t.Fatalf("block %v of equal or less work became the tip", blk.Hash())
		}
	}
	h.wantTip(a[2])
	if got := h.node.MissingBlocks(10); !slices.Equal(got, hashesOf(b[3:])) {
		t.Fatalf("MissingBlocks = %v, want b4", got)
	}
	res := h.mustProcess(b[3])
	if !res.MainChain {
		t.Fatalf("b4: %+v", res)
	}
	h.wantTip(b[3])
	var disconnected int
	for _, e := range h.events {
		if e.Kind == BlockDisconnected {
			disconnected++
		}
	}
	if disconnected != 3 {
		t.Fatalf("%d blocks disconnected, want 3", disconnected)
	}
}

// TestHeaderOnlyInvalid: a block attached to its header-only node that
// fails when connected marks its header-only descendants invalid, and
// BestHeader and MissingBlocks leave the branch.
func TestHeaderOnlyInvalid(t *testing.T) {
	h := newHarness(t, false, Config{})
	a := h.branch(h.genesis, 2, 1, 1)
	h.mustProcess(a...)
	x := h.nextExtra(a[1], 2, 1, 1) // overpays: fails when connected
	rest := h.branch(x, 3, 2, 1)
	h.mustHeaders(append([]*chain.Block{x}, rest...), 4)
	_, err := h.process(x)
	wantCode(t, err, chain.ErrBadCoinbaseValue)
	h.wantStatus(rest[2], storage.StatusInvalidAncestor)
	if best := h.node.BestHeader(); best.Hash != a[1].Hash() {
		t.Fatalf("BestHeader %v, want the tip a2", best.Hash)
	}
	if got := h.node.MissingBlocks(10); got != nil {
		t.Fatalf("MissingBlocks = %v, want none", got)
	}
	if _, err := h.node.ProcessHeaders(headersOf(h.branch(rest[2], 1, 2, 1))); err == nil {
		t.Fatal("a header on the invalid branch was accepted")
	}
	h.checkInvariants()
}

// TestHeadersRestart: header-only nodes are not stored; a node restarted
// on the store has none, fetches the headers again and takes the blocks.
func TestHeadersRestart(t *testing.T) {
	h := newHarness(t, false, Config{})
	a := h.branch(h.genesis, 5, 1, 1)
	h.mustProcess(a[:2]...)
	h.mustHeaders(a, 3)
	before := h.counts()
	n2, err := New(Config{Params: h.p, Genesis: h.genesis, Store: h.store, Now: func() time.Time { return h.now }})
	if err != nil {
		t.Fatal(err)
	}
	h.node = n2
	if got := h.counts(); got != before {
		t.Fatalf("restart changed the store: %+v, then %+v", before, got)
	}
	h.wantTip(a[1])
	if best := n2.BestHeader(); best.Hash != a[1].Hash() {
		t.Fatalf("BestHeader after the restart %v, want the tip", best.Hash)
	}
	if _, ok := n2.BlockInfo(a[2].Hash()); ok || n2.MissingBlocks(10) != nil || len(n2.ChainTips()) != 1 {
		t.Fatal("a header-only node survived the restart")
	}
	h.mustHeaders(a, 3)
	h.mustProcess(a[2:]...)
	h.wantTip(a[4])
}

// TestHeadersConcurrent runs ProcessHeaders, ProcessBlock and the read
// methods from separate goroutines (for the race detector): blocks and
// headers of one chain arrive in any interleaving, and the node ends on
// its tip with no header-only node left.
func TestHeadersConcurrent(t *testing.T) {
	h := newHarness(t, false, Config{})
	a := h.branch(h.genesis, 60, 1, 1)
	var wg sync.WaitGroup
	done := make(chan struct{})
	wg.Add(3)
	go func() {
		defer wg.Done()
		for i := 0; i < len(a); i += 10 {
			if _, err := h.node.ProcessHeaders(headersOf(a[i : i+10])); err != nil {
				t.Error(err)
			}
		}
	}()
	go func() {
		defer wg.Done()
		defer close(done)
		for _, b := range a {
			if _, err := h.node.ProcessBlock(b); err != nil {
				t.Error(err)
			}
		}
	}()
	go func() {
		defer wg.Done()
		for {
			select {
			case <-done:
				return
			default:
			}
			tip := h.node.Tip() // first: the best header only grows here
			best := h.node.BestHeader()
			_ = h.node.MissingBlocks(8)
			_ = h.node.HeaderLocator()
			_ = h.node.MainChainHeaders([]chain.Hash{best.Hash}, 4)
			_ = h.node.ChainTips()
			if tip.Work.Cmp(best.Work) > 0 {
				t.Errorf("tip %v heavier than the best header %v", tip.Hash, best.Hash)
			}
		}
	}()
	wg.Wait()
	h.checkInvariants()
	h.wantTip(a[len(a)-1])
	if h.node.headerOnly != 0 || h.node.MissingBlocks(10) != nil || h.node.BestHeader().Hash != a[len(a)-1].Hash() {
		t.Fatalf("%d header-only nodes, best header %v", h.node.headerOnly, h.node.BestHeader().Hash)
	}
}

// TestMissingBlocksTo: the headers of a branch lighter than the tip are
// not the best header, so MissingBlocks does not ask for their blocks;
// MissingBlocksTo that branch's tip does, in height order and within the
// limit, and nothing for an unknown hash or a tip whose blocks are
// stored.
func TestMissingBlocksTo(t *testing.T) {
	h := newHarness(t, true, Config{})
	a := h.branch(h.genesis, 4, 1, 10)
	h.mustProcess(a...)
	b := h.branch(h.genesis, 2, 2, 10)
	h.mustHeaders(b, 2)
	if got := h.node.MissingBlocks(100); got != nil {
		t.Fatalf("MissingBlocks = %v, want none: the lighter branch is not the best header", got)
	}
	if got := h.node.MissingBlocksTo(b[1].Hash(), 100); !slices.Equal(got, hashesOf(b)) {
		t.Fatalf("MissingBlocksTo(b2) = %v, want %v", got, hashesOf(b))
	}
	if got := h.node.MissingBlocksTo(b[1].Hash(), 1); !slices.Equal(got, hashesOf(b[:1])) {
		t.Fatalf("MissingBlocksTo(b2, 1) = %v", got)
	}
	if got := h.node.MissingBlocksTo(chain.Hash{1}, 100); got != nil {
		t.Fatalf("MissingBlocksTo(unknown) = %v", got)
	}
	if got := h.node.MissingBlocksTo(a[3].Hash(), 100); got != nil {
		t.Fatalf("MissingBlocksTo(tip) = %v", got)
	}
	h.mustProcess(b...)
	h.wantTip(a[3])
	if got := h.node.MissingBlocksTo(b[1].Hash(), 100); got != nil {
		t.Fatalf("MissingBlocksTo(b2) after its blocks = %v", got)
	}
}

// TestForgetHeaders: ForgetHeaders drops a header-only node and its
// header-only descendants, on every branch above it, never a node with
// a stored block; BestHeader and MissingBlocks move to the next heaviest
// header chain. The forgotten root is refused as a header for
// ForgetWindow, with no rule error, while its block is taken at once.
func TestForgetHeaders(t *testing.T) {
	h := newHarness(t, false, Config{})
	a := h.branch(h.genesis, 2, 1, 1)
	h.mustProcess(a...)
	b := h.branch(h.genesis, 5, 2, 2) // b1, b2 stored; b3..b5 header-only
	h.mustHeaders(b, 5)
	h.mustProcess(b[:2]...)
	c := h.branch(b[2], 1, 3, 3) // a header-only sibling of b4
	h.mustHeaders(c, 1)
	d := h.branch(a[1], 2, 4, 4) // the next heaviest header chain
	h.mustHeaders(d, 2)
	if best := h.node.BestHeader(); best.Hash != b[4].Hash() {
		t.Fatalf("BestHeader %v, want b5", best.Hash)
	}
	held := h.node.headerOnly

	for _, stored := range []*chain.Block{h.genesis, a[1], b[1]} {
		if n, err := h.node.ForgetHeaders(stored.Hash()); !errors.Is(err, ErrNotHeaderOnly) || n != 0 {
			t.Fatalf("ForgetHeaders(stored %v) = %d, %v; want ErrNotHeaderOnly", stored.Hash(), n, err)
		}
	}
	if n, err := h.node.ForgetHeaders(chain.Hash{7}); err != nil || n != 0 {
		t.Fatalf("ForgetHeaders(unknown) = %d, %v", n, err)
	}
	if n, err := h.node.ForgetHeaders(b[2].Hash()); err != nil || n != 4 {
		t.Fatalf("ForgetHeaders(b3) = %d, %v; want b3, b4, b5 and c1", n, err)
	}
	h.checkInvariants()
	for _, gone := range []*chain.Block{b[2], b[3], b[4], c[0]} {
		if _, ok := h.node.BlockInfo(gone.Hash()); ok {
			t.Fatalf("%v still in the index", gone.Hash())
		}
	}
	if _, ok := h.node.BlockInfo(b[1].Hash()); !ok || h.node.headerOnly != held-4 {
		t.Fatalf("b2 known %v, %d header-only nodes; want b2 kept and %d", ok, h.node.headerOnly, held-4)
	}
	if best := h.node.BestHeader(); best.Hash != d[1].Hash() {
		t.Fatalf("BestHeader %v, want d2", best.Hash)
	}
	if got := h.node.MissingBlocks(10); !slices.Equal(got, hashesOf(d)) {
		t.Fatalf("MissingBlocks = %v, want d1, d2", got)
	}
	h.wantTip(a[1])

	// The headers of the forgotten root are refused for a while, with no
	// rule error; its block is taken, and then the headers after it.
	res, err := h.node.ProcessHeaders(headersOf(b[2:]))
	var rerr chain.RuleError
	if !errors.Is(err, ErrForgottenHeader) || errors.As(err, &rerr) || res.Added != 0 {
		t.Fatalf("forgotten headers again: %+v, %v; want ErrForgottenHeader", res, err)
	}
	h.mustProcess(b[2])
	h.mustHeaders(b[3:], 2)
	if best := h.node.BestHeader(); best.Hash != b[4].Hash() {
		t.Fatalf("BestHeader %v, want b5 again", best.Hash)
	}

	// After ForgetWindow the headers come back.
	if n, err := h.node.ForgetHeaders(d[0].Hash()); err != nil || n != 2 {
		t.Fatalf("ForgetHeaders(d1) = %d, %v", n, err)
	}
	if _, err := h.node.ProcessHeaders(headersOf(d)); !errors.Is(err, ErrForgottenHeader) {
		t.Fatalf("d again: %v, want ErrForgottenHeader", err)
	}
	h.now = h.now.Add(ForgetWindow)
	h.mustHeaders(d, 2)
}

// TestForgottenSetBound: the set of forgotten roots holds at most its
// limit, the oldest going first.
func TestForgottenSetBound(t *testing.T) {
	f := newHashRing[time.Time](2)
	now := time.Unix(1000, 0)
	until := now.Add(time.Minute)
	for i := range 3 {
		f.add(chain.Hash{byte(i)}, until, true)
	}
	if refusedUntil(f, chain.Hash{0}, now) || !refusedUntil(f, chain.Hash{1}, now) || !refusedUntil(f, chain.Hash{2}, now) || len(f.vals) != 2 {
		t.Fatalf("set %v, want the last two hashes", f.vals)
	}
	if refusedUntil(f, chain.Hash{2}, until) {
		t.Fatal("refused at the end of its time")
	}
}

// TestPoSForgetHeaders: in pure proof of stake a made-up header chain
// (sealed by a registered key, for slots it was not all elected for)
// with a header in every slot outweighs an honest chain that missed
// slots, so it is BestHeader and MissingBlocks asks for its blocks,
// which never come. Forgotten, it leaves BestHeader and MissingBlocks to
// the honest chain, whose blocks then sync; sent again, its headers are
// refused.
func TestPoSForgetHeaders(t *testing.T) {
	c := newPosChain(t)
	c.at(21)
	genesis := c.n.Tip().Hash
	var honest []*chain.Block // every other slot
	parent := genesis
	for slot := uint64(2); slot <= 20; slot += 2 {
		b := c.block(parent, int64(slot/2), slot, c.priv, slot/uint64(c.p.EpochLength))
		honest = append(honest, b)
		parent = b.Hash()
	}
	if _, err := c.n.ProcessSealedHeaders(sealedHeaders(honest...)); err != nil {
		t.Fatal(err)
	}
	var slots []uint64 // every slot
	for slot := uint64(1); slot <= 20; slot++ {
		slots = append(slots, slot)
	}
	fake, fakeSeals := c.sealedRun(genesis, 9, slots...)
	if _, err := c.n.ProcessSealedHeaders(fake, fakeSeals); err != nil {
		t.Fatal(err)
	}
	parent = fake[len(fake)-1].Hash()
	if best := c.n.BestHeader(); best.Hash != parent {
		t.Fatalf("BestHeader %v, want the made-up tip", best.Hash)
	}
	if got := c.n.MissingBlocks(1); len(got) != 1 || got[0] != fake[0].Hash() {
		t.Fatalf("MissingBlocks = %v, want the made-up first block", got)
	}
	if n, err := c.n.ForgetHeaders(fake[0].Hash()); err != nil || n != len(fake) {
		t.Fatalf("ForgetHeaders = %d, %v; want %d", n, err, len(fake))
	}
	if best := c.n.BestHeader(); best.Hash != honest[len(honest)-1].Hash() {
		t.Fatalf("BestHeader %v, want the honest tip", best.Hash)
	}
	for _, h := range c.n.MissingBlocks(MaxHeaderOnly) {
		b := honest[slices.IndexFunc(honest, func(b *chain.Block) bool { return b.Hash() == h })]
		if _, err := c.n.ProcessBlock(b); err != nil {
			t.Fatal(err)
		}
	}
	if tip := c.n.Tip(); tip.Hash != honest[len(honest)-1].Hash() || c.n.headerOnly != 0 {
		t.Fatalf("tip %v, %d header-only nodes; want the honest tip and none", tip.Hash, c.n.headerOnly)
	}
	if _, err := c.n.ProcessSealedHeaders(fake, fakeSeals); !errors.Is(err, ErrForgottenHeader) {
		t.Fatalf("the made-up headers again: %v, want ErrForgottenHeader", err)
	}
}
