package store

import (
	"bytes"
	"cmp"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/powmine/powmine/chain"
	"github.com/powmine/powmine/chain/node"
	"github.com/powmine/powmine/chain/storage"
)

// recorder is a node.Store that records every Batch on its way to a
// MemStore.
type recorder struct {
	*node.MemStore
	batches []*storage.Batch
}

// Commit records b and applies it.
func (r *recorder) Commit(b *storage.Batch) error {
	r.batches = append(r.batches, b)
	return r.MemStore.Commit(b)
}

// wantSameStore fails unless got and want return the same Load, and the
// same Block and Undo results for every hash in hashes.
func wantSameStore(t *testing.T, step string, want, got node.Store, hashes []chain.Hash) {
	t.Helper()
	ws, err := want.Load()
	if err != nil {
		t.Fatal(err)
	}
	gs, err := got.Load()
	if err != nil {
		t.Fatalf("%s: Load: %v", step, err)
	}
	if (ws == nil) != (gs == nil) {
		t.Fatalf("%s: Load snapshot %v, want %v", step, gs, ws)
	}
	if ws != nil {
		if gs.Tip != ws.Tip {
			t.Fatalf("%s: tip %v, want %v", step, gs.Tip, ws.Tip)
		}
		byHash := func(a, b storage.IndexEntry) int { return bytes.Compare(a.Hash[:], b.Hash[:]) }
		byAddr := func(a, b storage.AccountEntry) int { return bytes.Compare(a.Address[:], b.Address[:]) }
		slices.SortFunc(ws.Index, byHash)
		slices.SortFunc(gs.Index, byHash)
		slices.SortFunc(ws.Accounts, byAddr)
		slices.SortFunc(gs.Accounts, byAddr)
		if !slices.Equal(gs.Index, ws.Index) {
			t.Fatalf("%s: index\n%+v\nwant\n%+v", step, gs.Index, ws.Index)
		}
		if !slices.Equal(gs.Accounts, ws.Accounts) {
			t.Fatalf("%s: accounts\n%+v\nwant\n%+v", step, gs.Accounts, ws.Accounts)
		}
		byKey := func(a, b storage.ValidatorEntry) int { return bytes.Compare(a.Key[:], b.Key[:]) }
		slices.SortFunc(ws.Validators, byKey)
		slices.SortFunc(gs.Validators, byKey)
		if !slices.Equal(gs.Validators, ws.Validators) {
			t.Fatalf("%s: validators\n%+v\nwant\n%+v", step, gs.Validators, ws.Validators)
		}
		byFinKey := func(a, b storage.FinalityEntry) int { return strings.Compare(a.Key, b.Key) }
		slices.SortFunc(ws.Finality, byFinKey)
		slices.SortFunc(gs.Finality, byFinKey)
		if !slices.EqualFunc(gs.Finality, ws.Finality, func(a, b storage.FinalityEntry) bool {
			return a.Key == b.Key && bytes.Equal(a.Value, b.Value)
		}) {
			t.Fatalf("%s: finality\n%+v\nwant\n%+v", step, gs.Finality, ws.Finality)
		}
		// The index comes back in height order, parents first.
		if !slices.IsSortedFunc(mustLoad(t, got).Index, func(a, b storage.IndexEntry) int { return cmp.Compare(a.Height, b.Height) }) {
			t.Fatalf("%s: index not in height order", step)
		}
	}
	for _, h := range hashes {
		wb, werr := want.Block(h)
		gb, gerr := got.Block(h)
		if errors.Is(werr, storage.ErrNotFound) != errors.Is(gerr, storage.ErrNotFound) || (werr == nil) != (gerr == nil) {
			t.Fatalf("%s: Block(%v) error %v, want %v", step, h, gerr, werr)
		}
		if werr == nil {
			wbytes, _ := wb.MarshalBinary()
			gbytes, _ := gb.MarshalBinary()
			if !bytes.Equal(wbytes, gbytes) {
				t.Fatalf("%s: Block(%v) differs", step, h)
			}
		}
		wu, werr := want.Undo(h)
		gu, gerr := got.Undo(h)
		if errors.Is(werr, storage.ErrNotFound) != errors.Is(gerr, storage.ErrNotFound) || (werr == nil) != (gerr == nil) {
			t.Fatalf("%s: Undo(%v) error %v, want %v", step, h, gerr, werr)
		}
		if werr == nil && (!slices.Equal(wu.Accounts, gu.Accounts) || !slices.Equal(wu.Validators, gu.Validators)) {
			t.Fatalf("%s: Undo(%v) = %+v, want %+v", step, h, gu, wu)
		}
	}
}

// mustLoad loads st.
func mustLoad(t *testing.T, st node.Store) *storage.Snapshot {
	t.Helper()
	s, err := st.Load()
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// TestConformance replays the batches a real node commits (a reorg, an
// equal-work branch, invalid blocks), then hand-made edge cases, against
// a MemStore and a DB, comparing Load, Block and Undo after each one.
func TestConformance(t *testing.T) {
	c := newTestChain(t, "conformance", 5)
	s := c.buildScenario()
	rec := &recorder{MemStore: node.NewMemStore()}
	n, err := node.New(c.config(rec))
	if err != nil {
		t.Fatal(err)
	}
	s.run(t, n)

	hashes := []chain.Hash{c.genesis.Hash(), {1, 2, 3}}
	for _, b := range s.blocks {
		hashes = append(hashes, b.Hash())
	}
	// Edge cases the node does not produce in this history.
	g := c.genesis.Hash()
	a1 := s.blocks[0]
	a1Entry := storage.IndexEntry{Hash: a1.Hash(), Height: 1, Header: a1.Header, Status: storage.StatusDataStored, Seq: 1 << 40}
	extra := []*storage.Batch{
		{},                                     // empty: changes nothing
		{Index: []storage.IndexEntry{a1Entry}}, // overwrite an entry
		{Accounts: []storage.AccountEntry{{Address: addr(0)}, {Address: addr(77), Account: chain.Account{Balance: 1}}}}, // delete, create
		{DeleteUndo: []chain.Hash{{9}, g}},
		{PutUndo: []storage.UndoEntry{{Hash: g, Undo: &storage.Undo{}}}, Tip: &g}, // empty undo record
		{PutUndo: []storage.UndoEntry{{Hash: g, Undo: &storage.Undo{Accounts: []storage.AccountEntry{{Address: addr(1)}}}}}},
		// Later parts of one batch win over earlier ones.
		{Accounts: []storage.AccountEntry{{Address: addr(5), Account: chain.Account{Balance: 3}}, {Address: addr(5)}}},
		{PutUndo: []storage.UndoEntry{{Hash: a1.Hash(), Undo: &storage.Undo{}}}, DeleteUndo: []chain.Hash{a1.Hash()}},
	}
	batches := append(rec.batches, extra...)
	if len(rec.batches) < 20 {
		t.Fatalf("only %d batches recorded", len(rec.batches))
	}

	mem := node.NewMemStore()
	db, _ := openTemp(t, c)
	wantSameStore(t, "empty", mem, db, hashes)
	for i, b := range batches {
		if err := mem.Commit(b); err != nil {
			t.Fatal(err)
		}
		if err := db.Commit(b); err != nil {
			t.Fatalf("batch %d: %v", i, err)
		}
		wantSameStore(t, fmt.Sprintf("batch %d", i), mem, db, hashes)
	}
}
