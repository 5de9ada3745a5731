package dashboard_test

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/log"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"
	ma "github.com/multiformats/go-multiaddr"

	"github.com/powmine/powmine/chain"
	"github.com/powmine/powmine/chain/daemon"
	"github.com/powmine/powmine/chain/dashboard"
	"github.com/powmine/powmine/hash/sha256d"
	"github.com/powmine/powmine/miner"
	"github.com/powmine/powmine/stratum/client"
	"github.com/powmine/powmine/stratum/pool"
)

// findChromium returns a Chromium or Chrome binary, or skips the test
// (fails it where POWMINE_REQUIRE_BROWSER=1, as CI sets).
func findChromium(t *testing.T) string {
	t.Helper()
	for _, name := range []string{"/usr/bin/chromium", "chromium", "chromium-browser", "google-chrome", "google-chrome-stable"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	if os.Getenv("POWMINE_REQUIRE_BROWSER") == "1" {
		t.Fatal("no Chromium found and POWMINE_REQUIRE_BROWSER=1: install it (apt-get install -y chromium)")
	}
	t.Skip("no Chromium found (apt-get install -y chromium to run the browser test; POWMINE_REQUIRE_BROWSER=1 makes this a failure)")
	return ""
}

// artifactDir is where screenshots go: $POWMINE_ARTIFACTS, or a
// temporary directory.
func artifactDir(t *testing.T) string {
	dir := os.Getenv("POWMINE_ARTIFACTS")
	if dir == "" {
		return t.TempDir()
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	return dir
}

// payout returns a test address.
func payout(n byte) chain.Address {
	var a chain.Address
	a[0], a[1] = 0x5a, n
	return a
}

// liveNode is a dev-chain node on loopback with a pool and one worker
// mining on it.
type liveNode struct {
	d      *daemon.Daemon
	params *chain.Params
	url    string
	worker string
}

// startLiveNode starts a daemon, its pool and the project's miner on
// one thread connected to the pool; the test's cleanup stops them.
func startLiveNode(t *testing.T) *liveNode {
	t.Helper()
	params, err := daemon.DevParams("", time.Now())
	if err != nil {
		t.Fatal(err)
	}
	rpcLn, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	d, err := daemon.New(daemon.Config{Params: params, RPCListener: rpcLn, RPCUser: "u", RPCPassword: "p",
		Network: &daemon.Network{Listen: []ma.Multiaddr{ma.StringCast("/ip4/127.0.0.1/tcp/0")}}})
	if err != nil {
		t.Fatal(err)
	}
	stratumLn, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv, err := pool.New(pool.Config{Node: d, PoolAddress: payout(1), Listener: stratumLn, StartDifficulty: 1e-4, MinDifficulty: 1e-6, ShareInterval: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	d.SetDashboardPool(poolView{srv})
	m, err := miner.New(miner.Config{Threads: 1})
	if err != nil {
		t.Fatal(err)
	}
	n := &liveNode{d: d, params: params, url: "http://" + rpcLn.Addr().String(), worker: payout(2).String() + ".browser"}
	cl, err := client.New(client.Config{URLs: []string{"stratum+tcp://" + stratumLn.Addr().String()}, User: n.worker, Password: "x", Miner: m})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Go(func() {
		if err := d.Run(ctx); err != nil {
			t.Error(err)
		}
	})
	wg.Go(func() { _ = srv.Run(ctx) })
	wg.Go(func() { m.Run(ctx) })
	wg.Go(func() { _ = cl.Run(ctx) })
	t.Cleanup(func() {
		cancel()
		wg.Wait()
		d.Close()
	})
	return n
}

// startPeer starts a second daemon on n's chain, without RPC or pool,
// connected to n; the test's cleanup stops it.
func (n *liveNode) startPeer(t *testing.T) *daemon.Daemon {
	t.Helper()
	d, err := daemon.New(daemon.Config{Params: n.params, Network: &daemon.Network{
		Listen: []ma.Multiaddr{ma.StringCast("/ip4/127.0.0.1/tcp/0")}, Peers: n.d.NetworkAddrs()[:1]}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Close() })
	return d
}

// get returns the body at url.
func get(t *testing.T, url string) string {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// poolView adapts the pool's statistics to the dashboard's types, as
// cmd/node does.
type poolView struct{ srv *pool.Server }

func (v poolView) PoolStats() dashboard.PoolStats {
	ps := v.srv.PoolStats()
	return dashboard.PoolStats{Conns: ps.Conns, Workers: ps.Workers, Accepted: ps.Accepted, Blocks: ps.Blocks, Hashrate: ps.Hashrate}
}

func (v poolView) WorkerStats() []dashboard.WorkerStats {
	var out []dashboard.WorkerStats
	for _, w := range v.srv.WorkerStats() {
		out = append(out, dashboard.WorkerStats{Worker: w.Worker, Address: w.Address.String(), Hashrate: w.Hashrate,
			Accepted: w.Accepted, Stale: w.Stale, Rejected: w.Rejected.Total(), RejectedBy: w.Rejected.Map(),
			LastShare: w.LastShare, Difficulty: w.Difficulty})
	}
	return out
}

// competingBlocks mines two blocks on the tip with different coinbases.
func (n *liveNode) competingBlocks(t *testing.T) (*chain.Block, *chain.Block) {
	t.Helper()
	tip := n.d.Node().Tip()
	hctx := n.d.Node().NextHeaderContext()
	bits := hctx.NextBits(n.params)
	mk := func(salt byte) *chain.Block {
		height := tip.Height + 1
		b := &chain.Block{Transactions: []chain.Transaction{{Coinbase: &chain.Coinbase{
			Height: uint32(height), Extranonce: []byte{salt, 0xfe, 0xed},
			Outputs: []chain.Output{{Address: payout(salt), Amount: chain.CalcBlockSubsidy(height, n.params)}},
		}}}}
		b.Header = chain.Header{Version: 1, PrevBlock: tip.Hash, Timestamp: max(tip.Header.Timestamp+1, uint32(time.Now().Unix())), Bits: bits}
		b.Header.MerkleRoot, _ = b.MerkleRoot()
		target, err := chain.BigToHash(chain.CompactToBig(bits))
		if err != nil {
			t.Fatal(err)
		}
		hdr, tg := b.Header.Serialize(), [32]byte(target)
		job := sha256d.NewJob(&hdr, &tg)
		s := sha256d.NewScanner(sha256d.Choose().Kernel)
		var hits []uint32
		for start := uint64(0); len(hits) == 0 && start < 1<<32; start += 1 << 20 {
			hits = s.Scan(job, uint32(start), 1<<20, hits)
		}
		if len(hits) == 0 {
			t.Fatal("no nonce")
		}
		b.Header.Nonce = hits[0]
		return b
	}
	return mk(7), mk(8)
}

// TestBrowser drives headless Chromium against a real node mining a dev
// chain with a pool worker: the page loads with no console error, the
// height rises as blocks are found, the worker appears in the table, and
// the tree shows a fork after two competing blocks, each block marked
// as the node's own, and the peers table shows a peer.
func TestBrowser(t *testing.T) {
	chromium := findChromium(t)
	if testing.Short() {
		t.Skip("browser test in -short mode")
	}
	arts := artifactDir(t)
	n := startLiveNode(t)

	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(chromium),
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(1280, 900),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("no-first-run", true),
	)
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	defer cancelAlloc()
	bctx, cancelCtx := chromedp.NewContext(actx)
	defer cancelCtx()

	var mu sync.Mutex
	var consoleErrors []string
	// Listen starts the browser, on a context without a timeout (the
	// browser lives as long as it); the actions below get a bound.
	err := chromedp.Listen(bctx, func(ev any) {
		var msg string
		switch ev := ev.(type) {
		case *runtime.EventConsoleAPICalled:
			if ev.Type == "error" {
				var parts []string
				for _, a := range ev.Args {
					parts = append(parts, string(a.Value)+a.Description)
				}
				msg = "console.error: " + strings.Join(parts, " ")
			}
		case *runtime.EventExceptionThrown:
			msg = "exception: " + ev.ExceptionDetails.Text
			if ev.ExceptionDetails.Exception != nil {
				msg += " " + ev.ExceptionDetails.Exception.Description
			}
		case *log.EventEntryAdded:
			if ev.Entry.Level == log.EntryLevelError {
				msg = "log: " + ev.Entry.Text + " " + ev.Entry.URL
			}
		}
		if msg != "" {
			mu.Lock()
			consoleErrors = append(consoleErrors, msg)
			mu.Unlock()
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(bctx, 3*time.Minute)
	defer cancel()
	checkConsole := func(where string) {
		t.Helper()
		mu.Lock()
		defer mu.Unlock()
		if len(consoleErrors) > 0 {
			t.Errorf("%s: console errors: %q", where, consoleErrors)
			consoleErrors = nil
		}
	}
	// waitFor evaluates js until it is true, within limit.
	waitFor := func(what, js string, limit time.Duration) {
		t.Helper()
		deadline := time.Now().Add(limit)
		for {
			ok, err := chromedp.Run(ctx, chromedp.Evaluate[bool](js))
			if err != nil {
				t.Fatalf("%s: %v", what, err)
			}
			if ok {
				return
			}
			if time.Now().After(deadline) {
				html, _ := chromedp.Run(ctx, chromedp.Evaluate[string](`document.querySelector("main").innerHTML`))
				resp, err := http.Get(n.url + "/api/tree")
				var tree []byte
				if err == nil {
					tree, _ = io.ReadAll(resp.Body)
					resp.Body.Close()
				}
				t.Fatalf("%s: not within %v; the page's main: %s\n/api/tree: %s", what, limit, html, tree)
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	eval := func(js string) string {
		t.Helper()
		v, err := chromedp.Run(ctx, chromedp.Evaluate[string](js))
		if err != nil {
			t.Fatalf("%s: %v", js, err)
		}
		return v
	}
	open := func(path, visible string) {
		t.Helper()
		if err := chromedp.Do(ctx, chromedp.Navigate(n.url+path), chromedp.WaitVisible(chromedp.CSS(visible))); err != nil {
			t.Fatalf("%s: %v", path, err)
		}
	}
	screenshot := func(name string) {
		t.Helper()
		png, err := chromedp.Run(ctx, chromedp.CaptureScreenshot())
		if err != nil {
			t.Fatal(err)
		}
		p := filepath.Join(arts, name)
		if err := os.WriteFile(p, png, 0o644); err != nil {
			t.Fatal(err)
		}
		t.Logf("screenshot %s (%d bytes)", p, len(png))
	}

	// Overview: it loads, goes live, and the height rises as the
	// worker's blocks are found.
	start := time.Now()
	open("/", "#height")
	first := eval(`document.getElementById("height").textContent`)
	t.Logf("overview loaded in %v at height %s", time.Since(start), first)
	h0, err := strconv.ParseInt(first, 10, 64)
	if err != nil {
		t.Fatalf("height %q on the page: %v", first, err)
	}
	waitFor("the page goes live", `document.getElementById("live").textContent === "live"`, 20*time.Second)
	waitFor("the height rises by 2 without a reload", fmt.Sprintf(`parseInt(document.getElementById("height").textContent) >= %d`, h0+2), 60*time.Second)
	waitFor("the pool's hashrate shows", `!/^0 H\/s|no pool/.test(document.getElementById("pool-hashrate").textContent)`, 60*time.Second)
	screenshot("dashboard-overview.png")
	checkConsole("overview")

	// Workers: the miner's worker is in the table.
	open("/workers", "#workers")
	waitFor("the worker is in the table", fmt.Sprintf(`[...document.querySelectorAll("#workers td.name")].some(td => td.textContent === %q)`, n.worker), 30*time.Second)
	screenshot("dashboard-workers.png")
	checkConsole("workers")

	// Block tree: two competing blocks make a fork, drawn without a
	// reload.
	open("/tree", "#tree svg")
	a, b := n.competingBlocks(t)
	submitted := time.Now()
	for _, blk := range []*chain.Block{a, b} {
		if _, err := n.d.SubmitBlock(blk); err != nil {
			t.Fatalf("competing block: %v", err)
		}
	}
	// The page hears of the node's tip after them without a reload (or of
	// a later one the miner found meanwhile). The target is 1 s;
	// the bound here is loose for loaded CI machines.
	tip := n.d.Node().Tip()
	waitFor("the page shows the tip after the competing blocks", fmt.Sprintf(`document.getElementById("tip").textContent === %q || parseInt(document.getElementById("height").textContent) > %d`, tip.Hash.String(), tip.Height), 5*time.Second)
	t.Logf("the page showed tip %d %v after the blocks were submitted (polled every 50 ms)", tip.Height, time.Since(submitted))
	sa, sb := a.Hash().String(), b.Hash().String()
	t.Logf("competing blocks %s and %s at height %d", sa, sb, a.Transactions[0].Coinbase.Height)
	// Both are drawn and at least one as stale (the other is the tip,
	// or stale too where the miner's block at that height came first).
	waitFor("the tree shows the fork", fmt.Sprintf(`(() => {
		const a = document.querySelector('#tree a[data-hash=%q]'), b = document.querySelector('#tree a[data-hash=%q]');
		return a !== null && b !== null && (a.classList.contains("stale") || b.classList.contains("stale"));
	})()`, sa, sb), 60*time.Second)
	waitFor("the tree says the competing blocks came from this node", fmt.Sprintf(`document.querySelector('#tree a[data-hash=%q]').textContent.includes(%q)`, sa, dashboard.LocalSource), 5*time.Second)
	screenshot("dashboard-tree.png")
	checkConsole("tree")

	// From the tree to the stale block's page by a click, and from there
	// to the first transaction and its address. The click event is
	// dispatched in the page, in one evaluation: the live tree is redrawn
	// on every update, and a node that chromedp looked up first may be
	// gone when its click comes ("Could not find node with given id").
	click := fmt.Sprintf(`(() => { const a = document.querySelector('#tree a[data-hash=%q]'); if (a === null) return false; a.dispatchEvent(new MouseEvent('click', {bubbles: true, cancelable: true, view: window})); return true; })()`, sb)
	if clicked, err := chromedp.Run(ctx, chromedp.Evaluate[bool](click)); err != nil || !clicked {
		t.Fatalf("click on the block in the tree: clicked %v, %v", clicked, err)
	}
	if err := chromedp.Do(ctx, chromedp.WaitVisible(chromedp.ID("block"))); err != nil {
		t.Fatalf("click on the block in the tree: %v", err)
	}
	if got := eval(`document.querySelector("#block code").textContent`); got != sb {
		t.Fatalf("the click led to block %s, want %s", got, sb)
	}
	status := eval(`document.querySelector(".kv td[class^=status-]").textContent`)
	if !n.d.Node().MainChainHas(b.Hash()) && status != "stale (side branch)" {
		t.Errorf("the second competing block's page says %q", status)
	}
	if err := chromedp.Do(ctx, chromedp.Click(chromedp.CSS(`a[href^="/tx/"]`)), chromedp.WaitVisible(chromedp.ID("tx"))); err != nil {
		t.Fatalf("click on the coinbase: %v", err)
	}
	if got := eval(`document.querySelector("#tx tr:nth-child(2) td").textContent`); got != "coinbase" {
		t.Errorf("transaction page type %q, want coinbase", got)
	}
	checkConsole("block and transaction pages")

	// Peers: a second node connects; the table lists it.
	peerID := n.startPeer(t).NetworkAddrs()[0]
	id, err := peerID.ValueForProtocol(ma.P_P2P)
	if err != nil {
		t.Fatal(err)
	}
	// The table is not live: open it once the node lists the peer.
	deadline := time.Now().Add(20 * time.Second)
	for !strings.Contains(get(t, n.url+"/api/peers"), id) {
		if time.Now().After(deadline) {
			t.Fatal("the node lists no peer")
		}
		time.Sleep(20 * time.Millisecond)
	}
	open("/peers", "table.peers")
	if got := eval(`[...document.querySelectorAll("table.peers td code")].map(c => c.textContent).join(" ")`); !strings.Contains(got, id) {
		t.Fatalf("the peers table lacks %s: %q", id, got)
	}
	checkConsole("peers")

	// The search box: a height leads to the main chain's block there.
	if err := chromedp.Do(ctx, chromedp.SendKeys(chromedp.ID("q"), "1"), chromedp.Submit(chromedp.ID("q")), chromedp.WaitVisible(chromedp.ID("block"))); err != nil {
		t.Fatalf("search: %v", err)
	}
	one, _ := n.d.Node().BlockByHeight(1)
	if got := eval(`document.querySelector("#block code").textContent`); got != one.Hash.String() {
		t.Errorf("search for height 1 led to %s, want %s", got, one.Hash)
	}
	checkConsole("search")
}
