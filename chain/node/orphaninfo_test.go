package node

import (
	"testing"
	"time"
)

// TestOrphanList: Orphans lists the pool's blocks oldest first, with
// their parent, claimed height and arrival, no more than the pool's
// limit, and leaves out the expired ones before the pool drops them.
func TestOrphanList(t *testing.T) {
	const limit = 3
	h := newHarness(t, false, Config{MaxOrphans: limit})
	a := h.branch(h.genesis, 6, 1, 1)
	start := h.now
	for i, b := range a[1:] { // all orphans: a[0] never arrives
		h.now = start.Add(time.Duration(i) * time.Minute)
		h.mustProcess(b)
	}
	got := h.node.Orphans()
	if len(got) != limit {
		t.Fatalf("%d orphans listed, want the limit %d", len(got), limit)
	}
	for i, o := range got {
		k := len(a) - limit + i // a[3], a[4], a[5]
		if o.Hash != a[k].Hash() || o.Parent != a[k-1].Hash() || o.Height != int64(k+1) || !o.Arrived.Equal(start.Add(time.Duration(k-1)*time.Minute)) {
			t.Errorf("orphan %d: %+v, want block %d (height %d)", i, o, k, k+1)
		}
	}
	h.now = start.Add(2*time.Minute + OrphanTTL + time.Second) // a[3] expired, a[4] and a[5] not
	if got := h.node.Orphans(); len(got) != 2 || got[0].Hash != a[4].Hash() {
		t.Fatalf("after expiry: %+v, want blocks 4 and 5", got)
	}
}
