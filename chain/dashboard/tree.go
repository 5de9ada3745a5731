package dashboard

import (
	"cmp"
	"fmt"
	"html/template"
	"slices"
	"strings"

	"github.com/powmine/powmine/chain"
	"github.com/powmine/powmine/chain/node"
	"github.com/powmine/powmine/chain/storage"
)

// TreeNode is one block of the tree, as /api/tree serves it.
type TreeNode struct {
	Hash   string `json:"hash"`
	Height int64  `json:"height"`
	Parent string `json:"parent"`
	// Status is "main" (on the best chain), "stale" (a valid or not yet
	// validated side branch), "invalid", "headers-only" or "orphan" (in
	// the orphan pool: its parent unknown, its height the one its
	// coinbase claims).
	Status string `json:"status"`
	// Lane is the row the tree draws it in: 0 for the best chain.
	Lane int  `json:"lane"`
	Tip  bool `json:"tip,omitempty"`
	// Source is the peer the block came from (its last characters,
	// see shortPeer), "this node" for a block mined or submitted
	// locally, empty when unknown.
	Source    string `json:"source,omitempty"`
	Justified bool   `json:"justified,omitempty"`
	Finalized bool   `json:"finalized,omitempty"`
}

// Tree is the recent block tree: the best chain's last TreeHeights
// blocks and the side branches that fork from them.
type Tree struct {
	Low, High int64      `json:"-"`
	Lanes     int        `json:"lanes"`
	Nodes     []TreeNode `json:"nodes"`
	// Orphans counts the blocks waiting for an unknown parent; the
	// tree draws MaxTreeOrphans of them at most.
	Orphans int `json:"orphans"`
}

// buildTree collects the tree below tip.
func (s *Server) buildTree(tip node.BlockInfo) Tree {
	c := s.cfg.Chain
	var cp Checkpoints
	if s.cfg.Finality != nil {
		cp = s.cfg.Finality.Checkpoints()
	}
	t := Tree{Low: max(0, tip.Height-TreeHeights+1), High: tip.Height, Lanes: 1, Orphans: c.OrphanCount()}
	add := func(b node.BlockInfo, status string, lane int) {
		n := TreeNode{Hash: b.Hash.String(), Height: b.Height, Status: status, Lane: lane, Tip: b.Hash == tip.Hash, Source: s.source(b.Hash, true)}
		if b.Height > 0 {
			n.Parent = b.Header.PrevBlock.String()
		}
		var zero chain.Hash
		n.Justified = cp.Justified != zero && cp.Justified == b.Hash
		n.Finalized = cp.Finalized != zero && cp.Finalized == b.Hash
		t.Nodes = append(t.Nodes, n)
		t.High = max(t.High, b.Height)
	}
	for h := t.Low; h <= tip.Height; h++ {
		if b, ok := c.BlockByHeight(h); ok {
			add(b, "main", 0)
		}
	}
	seen := make(map[chain.Hash]bool)
	for _, ct := range c.ChainTips() {
		if ct.Active || ct.Height < t.Low || ct.Height > tip.Height+TreeHeights {
			continue
		}
		if t.Lanes > MaxTreeBranches {
			break
		}
		lane := t.Lanes
		b, drew := ct.BlockInfo, false
		for range 2 * TreeHeights {
			if b.Height < t.Low || seen[b.Hash] || c.MainChainHas(b.Hash) {
				break
			}
			seen[b.Hash] = true
			status := "stale"
			switch {
			case b.Status.KnownInvalid():
				status = "invalid"
			case b.Status&storage.StatusDataStored == 0:
				status = "headers-only"
			}
			add(b, status, lane)
			drew = true
			parent, ok := c.BlockInfo(b.Header.PrevBlock)
			if !ok {
				break
			}
			b = parent
		}
		if drew {
			t.Lanes++
		}
	}
	s.addOrphans(&t, tip)
	return t
}

// addOrphans draws the orphans whose claimed height is in the tree's
// range, on rows below the branches: an orphan follows its parent on the
// parent's row when the parent is an orphan drawn one height below,
// else it starts a row.
func (s *Server) addOrphans(t *Tree, tip node.BlockInfo) {
	orphans := s.cfg.Chain.Orphans()
	slices.SortStableFunc(orphans, func(a, b node.OrphanInfo) int { return cmp.Compare(a.Height, b.Height) })
	lanes := make(map[chain.Hash]int) // drawn orphan -> its row
	last := make(map[int]int64)       // row -> its last height
	drawn := 0
	for _, o := range orphans {
		if drawn == MaxTreeOrphans {
			break
		}
		if o.Height < t.Low || o.Height > tip.Height+TreeHeights {
			continue
		}
		lane, ok := lanes[o.Parent]
		if !ok || last[lane] != o.Height-1 {
			lane = t.Lanes
			t.Lanes++
		}
		lanes[o.Hash], last[lane] = lane, o.Height
		t.Nodes = append(t.Nodes, TreeNode{Hash: o.Hash.String(), Height: o.Height, Parent: o.Parent.String(), Status: "orphan",
			Lane: lane, Source: s.source(o.Hash, true)})
		t.High = max(t.High, o.Height)
		drawn++
	}
}

// Tree layout, in SVG user units.
const (
	treeCol    = 66
	treeLane   = 46
	treeMargin = 24
	treeBoxW   = 60
	treeBoxH   = 28
)

// treeSVG draws the tree: a column per height, the best chain on the
// first row, each side branch on a row of its own, an edge from each
// block to its parent.
func (s *Server) treeSVG(t Tree) template.HTML {
	width := int(t.High-t.Low+1)*treeCol + 2*treeMargin
	height := t.Lanes*treeLane + 2*treeMargin + 14
	var b strings.Builder
	fmt.Fprintf(&b, `<svg class="tree" xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" viewBox="0 0 %d %d" role="img" aria-label="block tree">`, width, height, width, height)
	pos := make(map[string][2]int, len(t.Nodes))
	for _, n := range t.Nodes {
		x := treeMargin + int(n.Height-t.Low)*treeCol
		y := treeMargin + 14 + n.Lane*treeLane
		pos[n.Hash] = [2]int{x, y}
	}
	for h := t.Low; h <= t.High; h++ {
		x := treeMargin + int(h-t.Low)*treeCol + treeBoxW/2
		fmt.Fprintf(&b, `<text class="axis" x="%d" y="%d" text-anchor="middle">%d</text>`, x, treeMargin, h)
	}
	for _, n := range t.Nodes {
		p, ok := pos[n.Parent]
		if !ok {
			continue
		}
		c := pos[n.Hash]
		fmt.Fprintf(&b, `<path class="edge %s" d="M%d %d C%d %d %d %d %d %d" fill="none"/>`, n.Status,
			p[0]+treeBoxW, p[1]+treeBoxH/2, p[0]+treeBoxW+6, p[1]+treeBoxH/2, c[0]-6, c[1]+treeBoxH/2, c[0], c[1]+treeBoxH/2)
	}
	for _, n := range t.Nodes {
		c := pos[n.Hash]
		cls := "block " + n.Status
		if n.Tip {
			cls += " tip"
		}
		short := n.Hash[len(n.Hash)-6:]
		from := ""
		if n.Source != "" {
			from = " from " + n.Source
		}
		// An orphan is not in the index: no page to link to.
		open, end := fmt.Sprintf(`<a href="/block/%s" class="%s" data-hash="%s">`, n.Hash, cls, n.Hash), `</a>`
		if n.Status == "orphan" {
			open, end = fmt.Sprintf(`<g class="%s" data-hash="%s">`, cls, n.Hash), `</g>`
		}
		fmt.Fprintf(&b, `%s<title>%s block %d %s%s</title>`, open, n.Status, n.Height, n.Hash, template.HTMLEscapeString(from))
		fmt.Fprintf(&b, `<rect x="%d" y="%d" width="%d" height="%d" rx="4"/>`, c[0], c[1], treeBoxW, treeBoxH)
		fmt.Fprintf(&b, `<text x="%d" y="%d" text-anchor="middle">%s</text>`, c[0]+treeBoxW/2, c[1]+18, template.HTMLEscapeString(short))
		if n.Source != "" {
			fmt.Fprintf(&b, `<text class="src" x="%d" y="%d" text-anchor="middle">%s</text>`, c[0]+treeBoxW/2, c[1]+treeBoxH+10, template.HTMLEscapeString(n.Source))
		}
		if n.Status == "invalid" {
			fmt.Fprintf(&b, `<text class="mark" x="%d" y="%d">✕</text>`, c[0]+treeBoxW-10, c[1]+10)
		}
		switch {
		case n.Finalized:
			fmt.Fprintf(&b, `<text class="mark finalized" x="%d" y="%d">F</text>`, c[0]+2, c[1]+10)
		case n.Justified:
			fmt.Fprintf(&b, `<text class="mark justified" x="%d" y="%d">J</text>`, c[0]+2, c[1]+10)
		}
		if n.Status == "orphan" {
			fmt.Fprintf(&b, `<text class="mark orphan" x="%d" y="%d">?</text>`, c[0]+treeBoxW-10, c[1]+10)
		}
		b.WriteString(end)
	}
	b.WriteString(`</svg>`)
	return template.HTML(b.String()) // every string in it is a hex hash, a number or escaped
}

// LocalSource is the source shown for a block mined or submitted by
// this node.
const LocalSource = "this node"

// shortPeerLen is how many trailing characters of a peer id the tree
// shows (the leading ones are the same for every Ed25519 key).
const shortPeerLen = 6

// source returns the block's source as the pages show it: LocalSource,
// the peer id (its last shortPeerLen characters when short), or "" when
// unknown or without Config.Sources.
func (s *Server) source(hash chain.Hash, short bool) string {
	src := s.cfg.Sources
	if src == nil {
		return ""
	}
	p, ok := src.BlockSource(hash)
	switch {
	case !ok:
		return ""
	case p == src.ID():
		return LocalSource
	}
	id := p.String()
	if short && len(id) > shortPeerLen {
		return "…" + id[len(id)-shortPeerLen:]
	}
	return id
}
