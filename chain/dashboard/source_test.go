package dashboard

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/powmine/powmine/chain"
)

// fixedSources is a Sources with a fixed map.
type fixedSources struct {
	self peer.ID
	from map[chain.Hash]peer.ID
}

func (f fixedSources) BlockSource(h chain.Hash) (peer.ID, bool) {
	p, ok := f.from[h]
	return p, ok
}

func (f fixedSources) ID() peer.ID { return f.self }

// TestBlockSources: the tree shows the short id of the peer a block
// came from, "this node" for the node's own blocks and nothing for the
// others; the block page shows the full id.
func TestBlockSources(t *testing.T) {
	const remote = peer.ID("remote-peer-XYZ123")
	src := fixedSources{self: "me", from: map[chain.Hash]peer.ID{}}
	ts := newTestServer(t, 5, 0, func(c *Config) { c.Sources = src })
	b4, _ := ts.chain.BlockByHeight(4)
	b5, _ := ts.chain.BlockByHeight(5)
	b3, _ := ts.chain.BlockByHeight(3)
	src.from[b4.Hash] = remote
	src.from[b5.Hash] = "me"
	ts.refresh()
	var tree Tree
	_, body := ts.get(t, "/api/tree")
	if err := json.Unmarshal([]byte(body), &tree); err != nil {
		t.Fatal(err)
	}
	want := map[string]string{b4.Hash.String(): "…" + remote.String()[len(remote.String())-shortPeerLen:], b5.Hash.String(): LocalSource, b3.Hash.String(): ""}
	for _, n := range tree.Nodes {
		if w, ok := want[n.Hash]; ok && n.Source != w {
			t.Errorf("block %d source %q, want %q", n.Height, n.Source, w)
		}
	}
	_, page := ts.get(t, "/tree")
	for _, w := range []string{`<text class="src"`, ">" + LocalSource + "<", want[b4.Hash.String()]} {
		if !strings.Contains(page, w) {
			t.Errorf("tree page lacks %q", w)
		}
	}
	if _, page := ts.get(t, "/block/"+b4.Hash.String()); !strings.Contains(page, remote.String()) {
		t.Error("block page lacks the full peer id")
	}
	if _, page := ts.get(t, "/block/"+b3.Hash.String()); strings.Contains(page, `id="source"`) {
		t.Error("block page shows a source for a block without one")
	}
}
