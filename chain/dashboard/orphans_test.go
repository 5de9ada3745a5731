package dashboard

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/powmine/powmine/chain"
	"github.com/powmine/powmine/chain/node"
)

// TestTreeOrphans: the orphan pool's blocks are drawn apart, marked
// orphan, at their claimed heights, a chain of two orphans on one row
// with an edge between them, without a link to a page the node cannot
// serve; an orphan far above the tip is left out; at most
// MaxTreeOrphans are drawn.
func TestTreeOrphans(t *testing.T) {
	ts := newTestServer(t, 10, 0, nil)
	c := ts.chain
	arrived := time.Unix(1_800_000_500, 0)
	o12, o13, lone := chain.Hash{0xa1}, chain.Hash{0xa2}, chain.Hash{0xa3}
	c.mu.Lock()
	c.orphans = []node.OrphanInfo{
		{Hash: o13, Parent: o12, Height: 13, Arrived: arrived},
		{Hash: o12, Parent: chain.Hash{0xee}, Height: 12, Arrived: arrived},
		{Hash: lone, Parent: chain.Hash{0xef}, Height: 12, Arrived: arrived},
		{Hash: chain.Hash{0xa4}, Parent: chain.Hash{0xf0}, Height: 10 + TreeHeights + 1, Arrived: arrived},
	}
	c.mu.Unlock()
	ts.refresh()
	var tree Tree
	_, body := ts.get(t, "/api/tree")
	if err := json.Unmarshal([]byte(body), &tree); err != nil {
		t.Fatal(err)
	}
	got := map[string]TreeNode{}
	for _, n := range tree.Nodes {
		if n.Status == "orphan" {
			got[n.Hash] = n
		}
	}
	if len(got) != 3 || tree.Orphans != 4 || tree.Lanes != 3 {
		t.Fatalf("orphans drawn %+v in %d lanes, %d counted; want 3 in 2 rows of their own, 4 counted", got, tree.Lanes, tree.Orphans)
	}
	a, b, l := got[o12.String()], got[o13.String()], got[lone.String()]
	if a.Height != 12 || b.Height != 13 || a.Lane == 0 || a.Lane != b.Lane || l.Lane == a.Lane || l.Lane == 0 || b.Parent != o12.String() {
		t.Errorf("orphan rows: %+v %+v %+v", a, b, l)
	}
	_, page := ts.get(t, "/tree")
	for _, w := range []string{`<g class="block orphan" data-hash="` + o12.String(), `class="edge orphan"`, `class="mark orphan"`} {
		if !strings.Contains(page, w) {
			t.Errorf("tree page lacks %q", w)
		}
	}
	if strings.Contains(page, `href="/block/`+o12.String()) {
		t.Error("an orphan links to a block page")
	}

	c.mu.Lock()
	c.orphans = nil
	for i := range 2 * MaxTreeOrphans {
		c.orphans = append(c.orphans, node.OrphanInfo{Hash: chain.Hash{0xb0, byte(i)}, Parent: chain.Hash{0xc0, byte(i)}, Height: 11, Arrived: arrived})
	}
	c.mu.Unlock()
	_, body = ts.get(t, "/api/tree")
	tree = Tree{}
	if err := json.Unmarshal([]byte(body), &tree); err != nil {
		t.Fatal(err)
	}
	drawn := 0
	for _, n := range tree.Nodes {
		if n.Status == "orphan" {
			drawn++
		}
	}
	if drawn != MaxTreeOrphans || tree.Orphans != 2*MaxTreeOrphans {
		t.Fatalf("%d orphans drawn of %d, want %d", drawn, tree.Orphans, MaxTreeOrphans)
	}
}
