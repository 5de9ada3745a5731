package node

import (
	"testing"
	"time"

	"github.com/powmine/powmine/chain"
	"github.com/powmine/powmine/chain/storage"
)

// TestLoadSkipsBodilessEntries restarts on a store written by a version
// that recorded the children of invalid blocks without their bodies: the
// node leaves those entries out of its index, so they are no chain tips,
// writes nothing, and refuses such a child again when it comes back.
func TestLoadSkipsBodilessEntries(t *testing.T) {
	h := newHarness(t, false, Config{})
	a := h.branch(h.genesis, 2, 1, 1)
	h.mustProcess(a...)
	x := h.invalidBlock(a[1])
	tips := len(h.node.ChainTips())
	c1 := h.next(x, 2)
	c2 := h.next(c1, 2)
	d1 := h.nextExtra(x, 3, 2, 0)
	var legacy []storage.IndexEntry
	for i, b := range []*chain.Block{c1, c2, d1} {
		legacy = append(legacy, storage.IndexEntry{Hash: b.Hash(), Height: h.ctxOf(b).PrevHeight, Header: b.Header,
			Status: storage.StatusInvalidAncestor, Seq: uint64(100 + i)})
	}
	if err := h.store.Commit(&storage.Batch{Index: legacy}); err != nil {
		t.Fatal(err)
	}
	before := h.counts()

	n2, err := New(Config{Params: h.p, Genesis: h.genesis, Store: h.store, Now: func() time.Time { return h.now }})
	if err != nil {
		t.Fatal(err)
	}
	h.node = n2
	if got := len(n2.ChainTips()); got != tips {
		t.Errorf("%d chain tips after the restart, want %d", got, tips)
	}
	for _, b := range []*chain.Block{c1, c2, d1} {
		if _, ok := n2.BlockInfo(b.Hash()); ok {
			t.Errorf("body-less entry %v loaded", b.Hash())
		}
	}
	_, err = h.process(c1)
	wantCode(t, err, chain.ErrInvalidAncestorBlock)
	h.wantStatus(x, storage.StatusDataStored|storage.StatusValidateFailed)
	h.wantTip(a[1])
	if got := h.counts(); got != before {
		t.Errorf("store went from %+v to %+v", before, got)
	}
}
