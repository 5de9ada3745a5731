package dashboard

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/powmine/powmine/chain"
)

func TestNewConfig(t *testing.T) {
	if _, err := New(Config{}); err == nil {
		t.Fatal("New without a Chain succeeded")
	}
	if _, err := New(Config{Chain: newFakeChain(), MaxStreams: -1}); err == nil {
		t.Fatal("New with a negative MaxStreams succeeded")
	}
}

func TestOverviewJSON(t *testing.T) {
	ts := newTestServer(t, 10, 2, nil)
	code, body := ts.get(t, "/api/overview")
	if code != http.StatusOK {
		t.Fatalf("status %d: %s", code, body)
	}
	var o Overview
	if err := json.Unmarshal([]byte(body), &o); err != nil {
		t.Fatal(err)
	}
	tip := ts.chain.Tip()
	if o.Height != 10 || o.Tip != tip.Hash.String() || !o.Pool || o.Workers != 2 || o.BlocksFound != 3 || o.PoolHashrate != 5e6 {
		t.Fatalf("overview %+v, want height 10, tip %s, the pool's figures", o, tip.Hash)
	}
	// Work 2 per block over 10 s per block.
	if o.NetworkHashrate != 0.2 {
		t.Errorf("network hashrate %g, want 0.2", o.NetworkHashrate)
	}
	if o.Display["height"] != "10" || o.Display["pool_hashrate"] != "5.00 MH/s" {
		t.Errorf("display %v", o.Display)
	}
	// Without a pool the pool's figures say so.
	ts = newTestServer(t, 1, 0, func(c *Config) { c.Pool = nil })
	_, body = ts.get(t, "/api/overview")
	if err := json.Unmarshal([]byte(body), &o); err != nil {
		t.Fatal(err)
	}
	if o.Pool || o.Display["pool_hashrate"] != "no pool" {
		t.Errorf("overview without a pool: %+v", o)
	}
}

func TestPages(t *testing.T) {
	ts := newTestServer(t, 30, 3, nil)
	tip := ts.chain.Tip()
	blk, _ := ts.chain.Block(tip.Hash)
	txid := blk.Transactions[0].TxID().String()
	for _, tc := range []struct {
		name, path string
		want       []string
	}{
		{"overview", "/", []string{"Network hashrate", `data-k="height">30<`, "5.00 MH/s", "<svg class=\"chart\""}},
		{"charts", "/charts", []string{"Hashrate, last 24 hours", "Share difficulty", "block interval, last 30 blocks"}},
		{"workers", "/workers", []string{`<tr class="worker">`, "rigc", "hashrate ▼"}},
		{"tree", "/tree", []string{`<svg class="tree"`, `class="block main tip"`, "the peer it came from"}},
		{"peers", "/peers", []string{"Networking is off"}},
		{"block by height", "/block/30", []string{tip.Hash.String(), "main chain", txid}},
		{"block by hash", "/block/" + tip.Hash.String(), []string{"confirmations</th><td>1<"}},
		{"tx in block", "/tx/" + txid + "?block=" + tip.Hash.String(), []string{"coinbase", testAddr(1).String(), "50.00000000"}},
		{"tx by scan", "/tx/" + txid, []string{"coinbase"}},
		{"address", "/address/" + testAddr(1).String(), []string{`id="balance">0.00000000<`}},
		{"static", "/static/app.js", []string{"EventSource"}},
		{"fragment", "/frag/workers?sort=worker&dir=asc", []string{"worker ▲"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, body := ts.get(t, tc.path)
			if code != http.StatusOK {
				t.Fatalf("status %d: %s", code, body)
			}
			for _, w := range tc.want {
				if !strings.Contains(body, w) {
					t.Errorf("%s lacks %q", tc.path, w)
				}
			}
		})
	}
}

func TestSearch(t *testing.T) {
	ts := newTestServer(t, 5, 0, nil)
	tip := ts.chain.Tip()
	blk, _ := ts.chain.Block(tip.Hash)
	txid := blk.Transactions[0].TxID().String()
	for _, tc := range []struct{ q, want string }{
		{"3", "/block/3"},
		{tip.Hash.String(), "/block/" + tip.Hash.String()},
		{txid, "/tx/" + txid},
		{testAddr(7).String(), "/address/" + testAddr(7).String()},
	} {
		cl := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
		resp, err := cl.Get(ts.url + "/search?q=" + tc.q)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != tc.want {
			t.Errorf("search %q: %d to %q, want %q", tc.q, resp.StatusCode, resp.Header.Get("Location"), tc.want)
		}
	}
}

// TestBadInput: unknown hashes, huge or negative heights, malformed ids
// and other methods get a 404 (or 405) page, never a panic.
func TestBadInput(t *testing.T) {
	ts := newTestServer(t, 5, 0, nil)
	unknown := strings.Repeat("ab", chain.HashSize)
	for _, tc := range []struct {
		path string
		code int
	}{
		{"/block/" + unknown, 404},
		{"/block/6", 404},
		{"/block/9223372036854775807", 404},
		{"/block/99999999999999999999999999", 404},
		{"/block/-1", 404},
		{"/block/0x10", 404},
		{"/block/" + strings.Repeat("z", 64), 404},
		{"/tx/" + unknown, 404},
		{"/tx/nothex", 404},
		{"/address/nope", 404},
		{"/search?q=%3Cscript%3E", 404},
		{"/search?q=", 404},
		{"/nowhere", 404},
		{"/static/none.js", 404},
	} {
		code, body := ts.get(t, tc.path)
		if code != tc.code {
			t.Errorf("%s: status %d, want %d", tc.path, code, tc.code)
		}
		if strings.Contains(body, "<script>") {
			t.Errorf("%s: unescaped script in %s", tc.path, body)
		}
	}
	resp, err := http.Post(ts.url+"/", "application/json", strings.NewReader("{}"))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusMethodNotAllowed {
		t.Errorf("POST /: status %d, want 405", resp.StatusCode)
	}
}

// TestWorkerNameEscaped: a worker name with script in it is shown as
// text.
func TestWorkerNameEscaped(t *testing.T) {
	ts := newTestServer(t, 1, 1, nil)
	ts.pool.workers[0].Worker = `x.<script>alert("pwned")</script><img src=x onerror=alert(1)>`
	for _, path := range []string{"/workers", "/frag/workers"} {
		_, body := ts.get(t, path)
		if strings.Contains(body, "<script>alert") || strings.Contains(body, "<img src=x") {
			t.Fatalf("%s: worker name not escaped", path)
		}
		if !strings.Contains(body, "&lt;script&gt;alert(&#34;pwned&#34;)&lt;/script&gt;") {
			t.Fatalf("%s: escaped name missing", path)
		}
	}
}

func TestWorkersSortedAndBounded(t *testing.T) {
	ts := newTestServer(t, 1, MaxWorkerRows+5, nil)
	var rows []WorkerRow
	_, body := ts.get(t, "/api/workers?sort=accepted&dir=asc")
	if err := json.Unmarshal([]byte(body), &rows); err != nil {
		t.Fatal(err)
	}
	if len(rows) != MaxWorkerRows || rows[0].Accepted != 1 || rows[1].Accepted != 2 {
		t.Fatalf("%d rows from accepted %d, want %d from 1", len(rows), rows[0].Accepted, MaxWorkerRows)
	}
	if rows[0].Stale != 1 || rows[0].RejectedBy["stale"] != 1 || rows[0].Difficulty != 0.5 || rows[0].LastShare != 1_800_000_000 {
		t.Errorf("row %+v", rows[0])
	}
	_, body = ts.get(t, "/api/workers")
	if err := json.Unmarshal([]byte(body), &rows); err != nil {
		t.Fatal(err)
	}
	if rows[0].Hashrate != MaxWorkerRows+5 {
		t.Errorf("default order starts at hashrate %g, want the fastest", rows[0].Hashrate)
	}
	_, page := ts.get(t, "/workers")
	if !strings.Contains(page, "the first 1000 shown") {
		t.Error("the workers page does not say it is cut")
	}
}

// fixedFinality is a Finality with fixed checkpoints.
type fixedFinality Checkpoints

func (f fixedFinality) Checkpoints() Checkpoints { return Checkpoints(f) }

// TestTree: a stale branch and an invalid block are drawn as such, with
// edges to their parents, and the finality hook marks its checkpoints.
func TestTree(t *testing.T) {
	var fin fixedFinality
	ts := newTestServer(t, 10, 0, func(c *Config) { c.Finality = &fin })
	c := ts.chain
	b8, _ := c.BlockByHeight(8)
	b5, _ := c.BlockByHeight(5)
	s9 := c.add(b8.Hash, 9, false, 1)
	s10 := c.add(s9, 10, false, 1)
	bad := c.add(b5.Hash, 6, false, 2)
	c.markInvalid(bad)
	fin.Justified, fin.Finalized = b8.Hash, b5.Hash
	ts.refresh()
	var tree Tree
	_, body := ts.get(t, "/api/tree")
	if err := json.Unmarshal([]byte(body), &tree); err != nil {
		t.Fatal(err)
	}
	status := map[string]TreeNode{}
	for _, n := range tree.Nodes {
		status[n.Hash] = n
	}
	if len(tree.Nodes) != 11+3 || tree.Lanes != 3 {
		t.Fatalf("%d nodes in %d lanes, want 14 in 3: %+v", len(tree.Nodes), tree.Lanes, tree.Nodes)
	}
	for h, want := range map[chain.Hash]string{s9: "stale", s10: "stale", bad: "invalid", b8.Hash: "main"} {
		if n := status[h.String()]; n.Status != want {
			t.Errorf("block %s: %+v, want %s", h, n, want)
		}
	}
	if n := status[s9.String()]; n.Parent != b8.Hash.String() || n.Lane == 0 {
		t.Errorf("stale block %+v, want parent %s off lane 0", n, b8.Hash)
	}
	if !status[b8.Hash.String()].Justified || !status[b5.Hash.String()].Finalized {
		t.Error("checkpoints not marked")
	}
	_, page := ts.get(t, "/tree")
	for _, w := range []string{`class="block stale"`, `class="block invalid"`, "✕", `class="edge stale"`, `class="mark justified"`, `class="mark finalized"`, `href="/block/` + bad.String()} {
		if !strings.Contains(page, w) {
			t.Errorf("tree page lacks %q", w)
		}
	}
	if code, body := ts.get(t, "/block/"+bad.String()); code != 200 || !strings.Contains(body, "invalid") {
		t.Errorf("invalid block's page: %d", code)
	}
	if code, body := ts.get(t, "/block/"+s9.String()); code != 200 || !strings.Contains(body, "stale (side branch)") {
		t.Errorf("stale block's page: %d", code)
	}
}
