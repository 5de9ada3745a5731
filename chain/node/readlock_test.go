package node

import (
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/powmine/powmine/chain"
	"github.com/powmine/powmine/chain/storage"
)

// gatedStore is a MemStore whose Commits of a new tip stop, once armed,
// until released: a connect whose fsync takes as long as the test wants.
type gatedStore struct {
	*MemStore
	mu      sync.Mutex
	armed   bool
	entered chan struct{} // closed when an armed Commit starts waiting
	release chan struct{} // closed to let it finish
}

// Commit waits for release when armed and b moves the tip.
func (s *gatedStore) Commit(b *storage.Batch) error {
	s.mu.Lock()
	wait := s.armed && b.Tip != nil
	if wait {
		s.armed = false
	}
	s.mu.Unlock()
	if wait {
		close(s.entered)
		<-s.release
	}
	return s.MemStore.Commit(b)
}

// TestReadsDoNotWaitForCommit blocks the Store.Commit of a block connect
// and reads the node meanwhile: every read method returns while the commit
// is still blocked, and shows the state before the connect. The deadline
// only bounds a failure (a read waiting behind the commit would wait until
// release); nothing here measures speed.
func TestReadsDoNotWaitForCommit(t *testing.T) {
	const deadline = 30 * time.Second
	h := newHarness(t, false, Config{}) // builds the blocks
	a1 := h.next(h.genesis, 5)          // account 5 is not funded by genesis
	a2 := h.next(a1, 6)
	gate := &gatedStore{MemStore: NewMemStore(), entered: make(chan struct{}), release: make(chan struct{})}
	n, err := New(Config{Params: h.p, Genesis: h.genesis, Store: gate, Now: func() time.Time { return h.now }})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := n.ProcessBlock(a1); err != nil {
		t.Fatal(err)
	}

	gate.mu.Lock()
	gate.armed = true
	gate.mu.Unlock()
	var released sync.Once
	unblock := func() { released.Do(func() { close(gate.release) }) }
	defer unblock()
	processed := make(chan error, 1)
	go func() {
		_, err := n.ProcessBlock(a2)
		processed <- err
	}()
	select {
	case <-gate.entered:
	case err := <-processed:
		t.Fatalf("ProcessBlock(a2) returned %v before committing its connect", err)
	case <-time.After(deadline):
		t.Fatal("the connect of a2 never reached Commit")
	}

	// The connect's Commit is blocked now. Read everything.
	type reads struct {
		tip, byHash, byHeight, a2Info BlockInfo
		a2Known, mainHas, a2Main      bool
		block, a2Block                *chain.Block
		blockErr, a2BlockErr, dupErr  error
		account                       chain.Account
		locator                       []chain.Hash
		next                          chain.HeaderContext
		orphans                       int
		tips                          []ChainTip
	}
	done := make(chan reads, 1)
	go func() {
		var r reads
		r.tip = n.Tip()
		r.byHash, _ = n.BlockInfo(a1.Hash())
		r.byHeight, _ = n.BlockByHeight(1)
		r.a2Info, r.a2Known = n.BlockInfo(a2.Hash())
		r.mainHas, r.a2Main = n.MainChainHas(a1.Hash()), n.MainChainHas(a2.Hash())
		r.block, r.blockErr = n.Block(a1.Hash())
		r.a2Block, r.a2BlockErr = n.Block(a2.Hash())
		r.account = n.Account(addr(5))
		r.locator = n.Locator()
		r.next = n.NextHeaderContext()
		r.orphans = n.OrphanCount()
		r.tips = n.ChainTips()
		_, r.dupErr = n.ProcessBlock(a1)
		done <- r
	}()
	var r reads
	select {
	case r = <-done:
	case <-time.After(deadline):
		unblock()
		t.Fatalf("reads still waiting after %v behind a blocked Commit", deadline)
	}
	select {
	case err := <-processed:
		t.Fatalf("ProcessBlock(a2) returned %v while its Commit was blocked", err)
	default:
	}

	// The state before the connect: a1 is the tip, a2 is accepted
	// (indexed, stored) but not connected.
	if r.tip.Hash != a1.Hash() || r.tip.Height != 1 || r.byHash.Hash != a1.Hash() || r.byHeight.Hash != a1.Hash() {
		t.Fatalf("tip %v, by hash %v, by height %v; want a1 %v", r.tip.Hash, r.byHash.Hash, r.byHeight.Hash, a1.Hash())
	}
	if !r.a2Known || r.a2Info.Status != storage.StatusDataStored || r.a2Main || !r.mainHas {
		t.Fatalf("a2 known %v, status %04b, on the main chain %v (a1: %v); want accepted, not connected",
			r.a2Known, r.a2Info.Status, r.a2Main, r.mainHas)
	}
	if r.blockErr != nil || r.block.Hash() != a1.Hash() || r.a2BlockErr != nil || r.a2Block.Hash() != a2.Hash() {
		t.Fatalf("Block(a1): %v; Block(a2): %v", r.blockErr, r.a2BlockErr)
	}
	if r.account.Balance != chain.CalcBlockSubsidy(1, h.p) {
		t.Fatalf("miner of a1 has %d, want the subsidy %d", r.account.Balance, chain.CalcBlockSubsidy(1, h.p))
	}
	if len(r.locator) != 2 || r.locator[0] != a1.Hash() || r.next.PrevHash != a1.Hash() || r.orphans != 0 {
		t.Fatalf("locator %v, next context on %v, %d orphans", r.locator, r.next.PrevHash, r.orphans)
	}
	if len(r.tips) != 2 || r.tips[0].Hash != a1.Hash() || r.tips[1].Hash != a2.Hash() {
		t.Fatalf("chain tips %+v, want a1 active and a2 beside it", r.tips)
	}
	if !errors.Is(r.dupErr, ErrDuplicate) {
		t.Fatalf("ProcessBlock(a1) again: %v, want ErrDuplicate", r.dupErr)
	}

	unblock()
	select {
	case err := <-processed:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(deadline):
		t.Fatal("ProcessBlock(a2) did not finish after its Commit was released")
	}
	if tip := n.Tip(); tip.Hash != a2.Hash() {
		t.Fatalf("tip %v after the commit, want a2", tip.Hash)
	}
}
