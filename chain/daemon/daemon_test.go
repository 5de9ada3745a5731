package daemon

import (
	"bytes"
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/powmine/powmine/chain"
	"github.com/powmine/powmine/chain/store"
	"github.com/powmine/powmine/hash/sha256d"
)

// testDaemon is a daemon on a fresh dev chain with its RPC on loopback.
type testDaemon struct {
	*Daemon
	url   string
	clock atomic.Value // time.Time: the daemon's clock (setNow, testNow)
	miner chain.Address
	stop  func() // stops the node; the test's cleanup calls it
}

// setNow sets the daemon's clock; the daemon's goroutines (the
// dashboard's sampler among them) read it concurrently.
func (td *testDaemon) setNow(t time.Time) { td.clock.Store(t) }

// testNow reads the daemon's clock.
func (td *testDaemon) testNow() time.Time { return td.clock.Load().(time.Time) }

func newTestDaemon(t *testing.T) *testDaemon {
	t.Helper()
	return newTestDaemonIn(t, "", false)
}

// newTestDaemonIn is newTestDaemon with a data directory and --reindex.
func newTestDaemonIn(t *testing.T, dataDir string, reindex bool) *testDaemon {
	t.Helper()
	now := time.Unix(1_800_000_000, 0)
	p, err := DevParams(dataDir, now)
	if err != nil {
		t.Fatal(err)
	}
	return startTestDaemon(t, now, Config{Params: p, DataDir: dataDir, Reindex: reindex})
}

// startTestDaemon runs a daemon of cfg with its RPC on loopback and its
// clock at now.
func startTestDaemon(t testing.TB, now time.Time, cfg Config) *testDaemon {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	td := &testDaemon{url: "http://" + addr}
	td.setNow(now)
	cfg.RPCAddr, cfg.RPCUser, cfg.RPCPassword = addr, "u", "p"
	cfg.Now = td.testNow
	d, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	td.Daemon = d
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- d.Run(ctx) }()
	var once sync.Once
	td.stop = func() {
		once.Do(func() {
			cancel()
			if err := <-done; err != nil {
				t.Error(err)
			}
			d.Close()
		})
	}
	t.Cleanup(func() { td.stop() })
	td.miner[0] = 0x42
	for range 100 { // wait for the listener
		if _, err := http.Get(td.url); err == nil {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	return td
}

// mineBlock builds and mines a block with the given transfers on the tip,
// paying subsidy plus fees to td.miner, 5 s after the tip.
func (td *testDaemon) mineBlock(t testing.TB, transfers ...chain.Transaction) *chain.Block {
	t.Helper()
	tip := td.Node().Tip()
	ctx := td.Node().NextHeaderContext()
	var fees uint64
	for _, tx := range transfers {
		fees += tx.Transfer.Fee
	}
	height := uint32(tip.Height + 1)
	b := &chain.Block{Transactions: append([]chain.Transaction{{Coinbase: &chain.Coinbase{
		Height:     height,
		Extranonce: []byte{1, 2, 3, 4},
		Outputs:    []chain.Output{{Address: td.miner, Amount: chain.CalcBlockSubsidy(int64(height), td.params) + fees}},
	}}}, transfers...)}
	b.Header = chain.Header{Version: 1, PrevBlock: tip.Hash, Timestamp: tip.Header.Timestamp + 5, Bits: ctx.NextBits(td.params)}
	b.Header.MerkleRoot, _ = b.MerkleRoot()
	td.setNow(time.Unix(int64(b.Header.Timestamp), 0))
	solve(t, &b.Header)
	return b
}

// solve sets h's nonce to the first that meets h's own bits.
func solve(t testing.TB, h *chain.Header) {
	t.Helper()
	target, err := chain.BigToHash(chain.CompactToBig(h.Bits))
	if err != nil {
		t.Fatal(err)
	}
	// An easy target (as the sync tests use) is met within a few nonces.
	for h.Nonce = 0; h.Nonce < 64; h.Nonce++ {
		if chain.CheckProofOfWork(h.Hash(), h.Bits, chain.CompactToBig(h.Bits)) == nil {
			return
		}
	}
	hdr, tg := h.Serialize(), [32]byte(target)
	job := sha256d.NewJob(&hdr, &tg)
	s := sha256d.NewScanner(sha256d.Choose().Kernel)
	var hits []uint32
	for start := uint64(0); len(hits) == 0; start += 1 << 20 {
		hits = s.Scan(job, uint32(start), 1<<20, hits)
	}
	h.Nonce = hits[0]
}

// call makes one JSON-RPC call and decodes the result into out.
func (td *testDaemon) call(t *testing.T, out any, method string, params ...any) *struct {
	Code    int
	Message string
} {
	t.Helper()
	body, _ := json.Marshal(map[string]any{"jsonrpc": "2.0", "id": 1, "method": method, "params": params})
	req, _ := http.NewRequest(http.MethodPost, td.url, bytes.NewReader(body))
	req.SetBasicAuth("u", "p")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	var reply struct {
		Result json.RawMessage
		Error  *struct {
			Code    int
			Message string
		}
	}
	if err := json.Unmarshal(raw, &reply); err != nil {
		t.Fatalf("%s: bad reply %q: %v", method, raw, err)
	}
	if reply.Error == nil && out != nil {
		if err := json.Unmarshal(reply.Result, out); err != nil {
			t.Fatalf("%s: result %s: %v", method, reply.Result, err)
		}
	}
	return reply.Error
}

func hexBlock(t *testing.T, b *chain.Block) string {
	raw, err := b.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(raw)
}

func TestChainMethods(t *testing.T) {
	td := newTestDaemon(t)
	var blocks []*chain.Block
	for range 3 {
		b := td.mineBlock(t)
		var res *string
		if e := td.call(t, &res, "submitblock", hexBlock(t, b)); e != nil || res != nil {
			t.Fatalf("submitblock: %v %v", e, res)
		}
		blocks = append(blocks, b)
	}
	var dup string
	td.call(t, &dup, "submitblock", hexBlock(t, blocks[2]))
	if dup != "duplicate" {
		t.Fatalf("resubmitted block: %q", dup)
	}
	var count int64
	td.call(t, &count, "getblockcount")
	var best string
	td.call(t, &best, "getbestblockhash")
	if count != 3 || best != blocks[2].Hash().String() {
		t.Fatalf("count %d best %s", count, best)
	}
	var h1 string
	td.call(t, &h1, "getblockhash", 1)
	if h1 != blocks[0].Hash().String() {
		t.Fatalf("getblockhash 1 = %s", h1)
	}
	if e := td.call(t, nil, "getblockhash", 99); e == nil || e.Code != -8 {
		t.Fatalf("out-of-range height: %+v", e)
	}
	for _, c := range []struct {
		method string
		params []any
		code   int
		msg    string
	}{
		{"getblockhash", nil, -32602, "missing required parameter"},
		{"getblockhash", []any{nil}, -32602, "missing required parameter"},
		{"getblock", nil, -32602, "missing required parameter"},
		{"getblockheader", []any{"00"}, -8, "blockhash must be of length 64 (not 2, for '00')"},
		{"getblock", []any{strings.Repeat("zz", 32)}, -8, "blockhash must be hexadecimal string (not 'zzzz"},
		{"getbalance", nil, -32602, "missing required parameter"},
		{"submitblock", nil, -32602, "missing required parameter"},
		{"sendrawtransaction", nil, -32602, "missing required parameter"},
	} {
		if e := td.call(t, nil, c.method, c.params...); e == nil || e.Code != c.code || !strings.Contains(e.Message, c.msg) {
			t.Errorf("%s %v: %+v, want %d %q", c.method, c.params, e, c.code, c.msg)
		}
	}
	var hdr headerJSON
	td.call(t, &hdr, "getblockheader", h1)
	if hdr.Height != 1 || hdr.Confirmations != 3 || hdr.Next != blocks[1].Hash().String() || hdr.Previous != td.params.GenesisHash.String() || len(hdr.ChainWork) != 64 {
		t.Fatalf("header %+v", hdr)
	}
	var rawHdr string
	td.call(t, &rawHdr, "getblockheader", h1, false)
	want := blocks[0].Header.Serialize()
	if rawHdr != hex.EncodeToString(want[:]) {
		t.Fatalf("raw header %s", rawHdr)
	}
	var blk struct {
		headerJSON
		Tx []string
	}
	td.call(t, &blk, "getblock", h1)
	if len(blk.Tx) != 1 || blk.Tx[0] != blocks[0].Transactions[0].TxID().String() {
		t.Fatalf("getblock tx %v", blk.Tx)
	}
	var rawBlk string
	td.call(t, &rawBlk, "getblock", h1, 0)
	if rawBlk != hexBlock(t, blocks[0]) {
		t.Fatal("getblock verbosity 0 differs from the block")
	}
	var decoded struct{ Tx []txJSON }
	td.call(t, &decoded, "getblock", h1, 2)
	if len(decoded.Tx) != 1 || decoded.Tx[0].Type != "coinbase" || decoded.Tx[0].Outputs[0].Address != td.miner.String() {
		t.Fatalf("getblock verbosity 2: %+v", decoded.Tx)
	}
	if e := td.call(t, nil, "getblock", strings.Repeat("0", 64)); e == nil || e.Code != -5 {
		t.Fatalf("unknown block: %+v", e)
	}
	if e := td.call(t, nil, "getblock", "zz"); e == nil || e.Code != -8 {
		t.Fatalf("bad hash: %+v", e)
	}
	var bal json.Number
	td.call(t, &bal, "getbalance", td.miner.String())
	if bal.String() != "150.00000000" {
		t.Fatalf("balance %s, want 150 coins", bal)
	}
	if e := td.call(t, nil, "getbalance", "nope"); e == nil || e.Code != -5 {
		t.Fatalf("bad address: %+v", e)
	}
}

func TestSubmitBlockReasonsAndTips(t *testing.T) {
	td := newTestDaemon(t)
	a := td.mineBlock(t)
	bad := *a
	bad.Header.Nonce++ // almost surely fails its target now
	for chain.CheckProofOfWork(bad.Hash(), bad.Header.Bits, td.params.PowLimit) == nil {
		bad.Header.Nonce++
	}
	var reason string
	td.call(t, &reason, "submitblock", hexBlock(t, &bad))
	if reason != "high-hash" {
		t.Fatalf("bad block reason %q", reason)
	}
	if e := td.call(t, nil, "submitblock", "00ff"); e == nil || e.Code != -22 {
		t.Fatalf("garbage block: %+v", e)
	}
	td.call(t, nil, "submitblock", hexBlock(t, a))
	// A side block at the same height: same work, first seen stays.
	side := td.sideBlock(t, a)
	td.call(t, &reason, "submitblock", hexBlock(t, side))
	if reason != "inconclusive" {
		t.Fatalf("side block: %q", reason)
	}
	// Bits that break the difficulty rule, met by the hash all the same:
	// refused before it is stored, and known invalid when sent again.
	wrong := td.mineBlock(t)
	wrong.Header.Bits = td.params.PowLimitBits
	if next := td.Node().NextHeaderContext(); wrong.Header.Bits == next.NextBits(td.params) {
		t.Fatal("the dev chain expects the proof-of-work limit: pick other bits")
	}
	solve(t, &wrong.Header)
	for _, want := range []string{"bad-diffbits", "duplicate-invalid"} {
		td.call(t, &reason, "submitblock", hexBlock(t, wrong))
		if reason != want {
			t.Fatalf("block with wrong bits: %q, want %q", reason, want)
		}
	}
	var tips []chainTipJSON
	td.call(t, &tips, "getchaintips")
	if len(tips) != 2 || tips[0].Status != "active" || tips[0].Hash != a.Hash().String() || tips[1].Status != "valid-headers" || tips[1].BranchLen != 1 {
		t.Fatalf("tips %+v", tips)
	}
	// A header without its block: a headers-only tip above the active one.
	next := td.mineBlock(t)
	if _, err := td.Node().ProcessHeaders([]chain.Header{next.Header}); err != nil {
		t.Fatal(err)
	}
	tips = nil
	td.call(t, &tips, "getchaintips")
	if len(tips) != 3 || tips[0].Hash != a.Hash().String() || tips[1].Hash != next.Hash().String() ||
		tips[1].Status != "headers-only" || tips[1].BranchLen != 1 {
		t.Fatalf("tips %+v, want a headers-only tip", tips)
	}

	// BIP22's strings for the other reasons the issue named: a child of
	// the known-invalid block, and a coinbase paying one unit too many.
	child := td.mineBlock(t)
	child.Header.PrevBlock = wrong.Hash()
	solve(t, &child.Header)
	td.call(t, &reason, "submitblock", hexBlock(t, child))
	if reason != "bad-prevblk" {
		t.Fatalf("child of an invalid block: %q, want bad-prevblk", reason)
	}
	greedy := td.mineBlock(t)
	cb := *greedy.Transactions[0].Coinbase
	cb.Outputs = []chain.Output{{Address: td.miner, Amount: cb.Outputs[0].Amount + 1}}
	greedy.Transactions = []chain.Transaction{{Coinbase: &cb}}
	greedy.Header.MerkleRoot, _ = greedy.MerkleRoot()
	solve(t, &greedy.Header)
	td.call(t, &reason, "submitblock", hexBlock(t, greedy))
	if reason != "bad-cb-amount" {
		t.Fatalf("coinbase over the subsidy: %q, want bad-cb-amount", reason)
	}
}

// sideBlock mines a sibling of b (same parent, other coinbase).
func (td *testDaemon) sideBlock(t *testing.T, b *chain.Block) *chain.Block {
	t.Helper()
	s := *b
	cb := *b.Transactions[0].Coinbase
	cb.Extranonce = []byte{9, 9, 9, 9}
	s.Transactions = []chain.Transaction{{Coinbase: &cb}}
	s.Header.MerkleRoot, _ = s.MerkleRoot()
	for s.Header.Nonce = 0; chain.CheckProofOfWork(s.Hash(), s.Header.Bits, td.params.PowLimit) != nil; s.Header.Nonce++ {
		if s.Header.Nonce == 1<<32-1 {
			t.Fatal("no nonce")
		}
	}
	return &s
}

func TestMetrics(t *testing.T) {
	td := newTestDaemon(t)
	td.call(t, nil, "submitblock", hexBlock(t, td.mineBlock(t)))
	resp, err := http.Get(td.url + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	for _, want := range []string{"powmine_tip_height 1", "powmine_blocks_connected_total 1", "powmine_block_validation_seconds_count 1", "powmine_reorgs_total 0"} {
		if !strings.Contains(string(raw), want) {
			t.Errorf("metrics lack %q", want)
		}
	}
	if t.Failed() {
		t.Log(string(raw))
	}
}

func TestDevParamsPersistGenesis(t *testing.T) {
	dir := t.TempDir()
	p1, err := DevParams(dir, time.Unix(1_800_000_000, 0))
	if err != nil {
		t.Fatal(err)
	}
	p2, err := DevParams(dir, time.Unix(1_900_000_000, 0))
	if err != nil {
		t.Fatal(err)
	}
	if p1.GenesisHash != p2.GenesisHash {
		t.Fatal("a second start made a new genesis")
	}
	if err := os.WriteFile(filepath.Join(dir, genesisFile), []byte("garbage"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := DevParams(dir, time.Now()); err == nil || !strings.Contains(err.Error(), "corrupt") {
		t.Fatalf("a corrupt genesis file: %v", err)
	}
}

// TestRestartAndReindex stops a node with blocks in its data directory,
// starts it again (same tip, same balances) and then with --reindex (the
// state rebuilt from the stored blocks gives the same tip and balances).
func TestRestartAndReindex(t *testing.T) {
	dir := t.TempDir()
	td := newTestDaemonIn(t, dir, false)
	for range 4 {
		td.call(t, nil, "submitblock", hexBlock(t, td.mineBlock(t)))
	}
	tip, bal := td.Node().Tip(), td.Node().Account(td.miner)
	td.stop()
	td.stop = func() {}
	for _, reindex := range []bool{false, true} {
		again := newTestDaemonIn(t, dir, reindex)
		if got := again.Node().Tip(); got.Hash != tip.Hash || got.Work.Cmp(tip.Work) != 0 {
			t.Fatalf("reindex=%v: tip %v at %d, want %v at %d", reindex, got.Hash, got.Height, tip.Hash, tip.Height)
		}
		if got := again.Node().Account(td.miner); got != bal {
			t.Fatalf("reindex=%v: miner account %+v, want %+v", reindex, got, bal)
		}
		again.stop()
		again.stop = func() {}
	}
}

// TestSecondNodeOnDataDir starts a second daemon on the data directory of
// a running one: it fails with store.ErrLocked, naming the directory,
// after its lock timeout, and the first goes on; once the first stops, the
// directory opens. A negative lock timeout is a configuration error.
func TestSecondNodeOnDataDir(t *testing.T) {
	dir := t.TempDir()
	td := newTestDaemonIn(t, dir, false)
	p, err := DevParams(dir, td.testNow())
	if err != nil {
		t.Fatal(err)
	}
	_, err = New(Config{Params: p, DataDir: dir, LockTimeout: 100 * time.Millisecond})
	if !errors.Is(err, store.ErrLocked) || !strings.Contains(err.Error(), dir) {
		t.Fatalf("second node: %v, want store.ErrLocked naming %s", err, dir)
	}
	td.call(t, nil, "submitblock", hexBlock(t, td.mineBlock(t)))
	if h := td.Node().Tip().Height; h != 1 {
		t.Fatalf("first node at height %d after the second's attempt, want 1", h)
	}
	if _, err := New(Config{Params: p, DataDir: dir, LockTimeout: -time.Second}); !errors.Is(err, ErrConfig) {
		t.Fatalf("negative lock timeout: %v, want ErrConfig", err)
	}

	td.stop()
	td.stop = func() {}
	d, err := New(Config{Params: p, DataDir: dir, LockTimeout: 100 * time.Millisecond})
	if err != nil {
		t.Fatalf("after the first node stopped: %v", err)
	}
	defer d.Close()
	if h := d.Node().Tip().Height; h != 1 {
		t.Fatalf("reopened at height %d, want 1", h)
	}
}
