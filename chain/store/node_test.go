package store

import (
	"errors"
	"os"
	"testing"

	"github.com/powmine/powmine/chain"
	"github.com/powmine/powmine/chain/node"
	"github.com/powmine/powmine/chain/storage"
)

// DB is the node's Store, and its Reindexer. The assertion lives in a
// test: the package itself does not import chain/node.
var _ node.Reindexer = (*DB)(nil)

// runScenario runs the scenario on a node over st and returns it.
func runScenario(t *testing.T, c *testChain, s *scenario, st node.Store) *node.Node {
	t.Helper()
	n, err := node.New(c.config(st))
	if err != nil {
		t.Fatal(err)
	}
	s.run(t, n)
	return n
}

// reopen opens the store at path again and starts a node on it.
func reopen(t *testing.T, c *testChain, path string) (*DB, *node.Node) {
	t.Helper()
	db, err := Open(path, c.p)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = db.Close() })
	n, err := node.New(c.config(db))
	if err != nil {
		t.Fatal(err)
	}
	return db, n
}

// TestNodeReopen runs a node on a DB through a reorg and invalid blocks,
// closes the file, and checks that a new node on it has the same tip,
// index statuses and accounts as a node that ran on a MemStore, and
// that it goes on extending the chain.
func TestNodeReopen(t *testing.T) {
	c := newTestChain(t, "reopen", 5)
	s := c.buildScenario()
	want := runScenario(t, c, s, node.NewMemStore())
	db, path := openTemp(t, c)
	got := runScenario(t, c, s, db)
	wantSameNode(t, want, got, c, s, false)
	if tip := want.Tip(); tip.Hash != s.blocks[6].Hash() {
		t.Fatalf("scenario ends on %v at %d, want b4", tip.Hash, tip.Height)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}

	_, again := reopen(t, c, path)
	wantSameNode(t, want, again, c, s, false)

	// The reopened node extends its chain and disconnects with stored undo.
	b4 := s.blocks[6]
	b5 := c.next(b4, 11, 0, transfer(t, 4, 0, 1, 0, 0))
	a5 := c.next(s.blocks[7], 10, 0)
	a6 := c.next(a5, 10, 0, transfer(t, 2, 0, 1, 0, 0))
	for _, b := range []*chain.Block{b5, a5, a6} {
		for _, n := range []*node.Node{want, again} {
			if _, err := n.ProcessBlock(b); err != nil {
				t.Fatal(err)
			}
		}
	}
	s.blocks = append(s.blocks, b5, a5, a6)
	if again.Tip().Hash != a6.Hash() {
		t.Fatalf("tip %v, want a6 after the second reorg", again.Tip().Hash)
	}
	wantSameNode(t, want, again, c, s, false)
}

// TestReindex rebuilds the state of a DB from its blocks and compares
// the node with one that ran on a MemStore; blocks without bodies are
// gone, and statuses, including validate-failed, come back.
func TestReindex(t *testing.T) {
	c := newTestChain(t, "reindex", 5)
	s := c.buildScenario()
	want := runScenario(t, c, s, node.NewMemStore())
	db, _ := openTemp(t, c)
	runScenario(t, c, s, db)

	got, err := node.Reindex(c.config(nil), db)
	if err != nil {
		t.Fatal(err)
	}
	wantSameNode(t, want, got, c, s, true)
	child := s.blocks[9]
	if _, ok := got.BlockInfo(child.Hash()); ok {
		t.Fatal("the body-less child of an invalid block survived the reindex")
	}
	if p, _ := db.ReindexPending(); p {
		t.Fatal("reindex still pending")
	}
	if info, _ := got.BlockInfo(s.blocks[8].Hash()); info.Status&storage.StatusValidateFailed == 0 {
		t.Fatalf("bad block status %04b after reindex", info.Status)
	}
}

// TestReindexNotPending asks for the entries of a reindex that was never
// started: none, and finishing it fails instead of panicking.
func TestReindexNotPending(t *testing.T) {
	c := newTestChain(t, "notpending", 1)
	db, _ := openTemp(t, c)
	entries, err := db.ReindexEntries()
	if err != nil || len(entries) != 0 {
		t.Fatalf("ReindexEntries: %v, %v; want none", entries, err)
	}
	if err := db.FinishReindex(nil); err == nil {
		t.Fatal("FinishReindex without a pending reindex succeeded")
	}
}

// TestReindexResume interrupts a reindex with a failing Commit and
// resumes it; a block that breaks the rules (planted in the store) is
// refused and its body dropped.
func TestReindexResume(t *testing.T) {
	c := newTestChain(t, "resume", 5)
	s := c.buildScenario()
	want := runScenario(t, c, s, node.NewMemStore())
	db, path := openTemp(t, c)
	runScenario(t, c, s, db)

	// A block with a bad merkle root, indexed as if it had been accepted.
	bogus := c.next(s.blocks[6], 14, 0)
	bogus.Transactions[0].Coinbase.Outputs[0].Amount--
	entry := storage.IndexEntry{Hash: bogus.Hash(), Height: 5, Header: bogus.Header, Status: storage.StatusDataStored, Seq: 1000}
	if err := db.Commit(&storage.Batch{Blocks: []*chain.Block{bogus}, Index: []storage.IndexEntry{entry}}); err != nil {
		t.Fatal(err)
	}

	commits := 0
	boom := errors.New("disk on fire")
	db.commitHook = func(stage string) error {
		if stage == "tip" {
			if commits++; commits == 6 {
				return boom
			}
		}
		return nil
	}
	if _, err := node.Reindex(c.config(db), db); !errors.Is(err, boom) {
		t.Fatalf("Reindex error %v, want %v", err, boom)
	}
	db.commitHook = nil
	if p, _ := db.ReindexPending(); !p {
		t.Fatal("interrupted reindex not pending")
	}
	// A node started now sees a consistent prefix.
	if _, err := node.New(c.config(db)); err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}

	db, err := Open(path, c.p)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	got, err := node.Reindex(c.config(db), db)
	if err != nil {
		t.Fatal(err)
	}
	wantSameNode(t, want, got, c, s, true)
	if _, err := db.Block(bogus.Hash()); !errors.Is(err, storage.ErrNotFound) {
		t.Fatalf("refused block body: %v, want ErrNotFound", err)
	}
	for _, e := range mustLoad(t, db).Index {
		if e.Hash == bogus.Hash() {
			t.Fatal("refused block still indexed")
		}
	}
}

// TestNodeInvalidAncestorFlood is the attack on a DB: thousands
// of cheap children and descendants of an invalid block, and blocks with
// wrong bits on a valid parent, are refused without a Commit, so the
// file, its index and the chain tips stay as they were.
func TestNodeInvalidAncestorFlood(t *testing.T) {
	const n = 1000
	c := newTestChain(t, "flood", 1)
	db, path := openTemp(t, c)
	nd, err := node.New(c.config(db))
	if err != nil {
		t.Fatal(err)
	}
	a1 := c.next(c.genesis, 1, 0)
	x := c.next(a1, 2, 1) // overpays its coinbase
	if _, err := nd.ProcessBlock(a1); err != nil {
		t.Fatal(err)
	}
	wantRule(t, nd, x, chain.ErrBadCoinbaseValue)
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	entries, tips := len(mustLoad(t, db).Index), len(nd.ChainTips())
	commits := 0
	db.commitHook = func(stage string) error {
		if stage == "tip" { // the last stage of every Commit
			commits++
		}
		return nil
	}
	desc := x
	for i := range n {
		wantRule(t, nd, c.next(x, 3, uint64(i)), chain.ErrInvalidAncestorBlock)
		desc = c.next(desc, 4, 0)
		wantRule(t, nd, desc, chain.ErrInvalidAncestorBlock)
		wrong := c.next(a1, 5, uint64(i))
		wrong.Header.Bits = 0x203fffff // the chain requires easyBits
		seal(t, wrong, c.p)
		wantRule(t, nd, wrong, chain.ErrUnexpectedDifficulty)
	}
	db.commitHook = nil
	if commits != 0 {
		t.Errorf("%d commits for refused blocks", commits)
	}
	if got := len(mustLoad(t, db).Index); got != entries {
		t.Errorf("%d index entries, want %d", got, entries)
	}
	if got := len(nd.ChainTips()); got != tips {
		t.Errorf("%d chain tips, want %d", got, tips)
	}
	if fi2, err := os.Stat(path); err != nil || fi2.Size() != fi.Size() {
		t.Errorf("file of %d bytes grew to %v (%v)", fi.Size(), fi2.Size(), err)
	}
}

// wantRule fails unless ProcessBlock refuses b with code.
func wantRule(t *testing.T, nd *node.Node, b *chain.Block, code chain.ErrorCode) {
	t.Helper()
	_, err := nd.ProcessBlock(b)
	var rerr chain.RuleError
	if !errors.As(err, &rerr) || rerr.Code != code {
		t.Fatalf("ProcessBlock(%v): %v, want %v", b.Hash(), err, code)
	}
}
