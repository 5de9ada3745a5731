//go:build linux

package main

import (
	"bytes"
	"crypto/ed25519"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"maps"
	"math/big"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/powmine/powmine/chain"
	"github.com/powmine/powmine/chain/daemon"
	"github.com/powmine/powmine/chain/storage"
	"github.com/powmine/powmine/chain/store"
	"github.com/powmine/powmine/hash/sha256d"
)

// The crash test's knobs.
const (
	crashRounds    = 24                     // SIGKILLs, then one clean stop
	crashMinDelay  = 2 * time.Millisecond   // shortest time from the first block to the kill
	crashMaxDelay  = 300 * time.Millisecond // longest
	crashKeys      = 4                      // signing keys; as many receive-only addresses
	crashMaxDepth  = 10                     // deepest reorg
	crashMaxBlocks = 200                    // blocks and branches submitted in a round at most; then the kill comes at once
	crashTimeout   = time.Minute            // node start, one RPC call
)

var crashSeed = flag.Uint64("crash.seed", 0, "seed of TestCrashConsistency (0: from the clock)")

// TestCrashConsistency kills the real node (this test binary re-executed
// as the node, see TestMain: the real bbolt store, fsync and all) with
// SIGKILL at random moments while blocks with signed transfers are
// submitted to it and while it reorganizes onto heavier competing
// branches. After every kill it restarts the node on the same data
// directory and checks:
//
//   - the store left on disk: every block the node accepted (submitblock
//     answered null, or "inconclusive" for a side block) is in the index
//     with its body; the stored tip's ancestors are all there and
//     connected, with an undo record each and no other block has one; the
//     accounts are exactly what the test's own replay of the blocks from
//     genesis to the stored tip gives, and their balances sum to the
//     genesis allocation plus the subsidies of blocks 1 to the stored tip
//     (fees only move coins);
//   - the restarted node: its tip's chainwork (getblockheader) equals the
//     sum of chain.CalcWork over the headers from genesis to the tip and
//     is at least the work of every accepted block (a reorg may take a
//     block off the main chain, never out of the index); it knows every
//     accepted block; the keys' accounts match the replay; it accepts the
//     next block.
//
// A last round stops the node with SIGTERM and checks the store the same
// way. Run it alone, with a fixed seed to replay a failure:
//
//	go test -run Crash -v ./cmd/node [-crash.seed=N]
func TestCrashConsistency(t *testing.T) {
	start := time.Now()
	seed := *crashSeed
	if seed == 0 {
		seed = uint64(time.Now().UnixNano())
	}
	t.Logf("seed %d (rerun with -crash.seed=%d)", seed, seed)
	rng := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))

	dir := t.TempDir()
	// A genesis a day old, so that blocks one second apart stay far ahead
	// of ASERT's schedule (at the proof-of-work limit, cheap to mine) and
	// within the two hours into the future the node accepts.
	params, err := daemon.DevParams(dir, time.Now().Add(-24*time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	m := newCrashModel(t, params, rng)
	c := &crashRun{t: t, m: m, rng: rng, dir: dir, stored: make(map[chain.Hash]bool)}

	var st crashStats
	for round := range crashRounds + 1 {
		n := c.start()
		c.checkNode(n)
		// The restarted node accepts the next block.
		tip := c.tipOf(n)
		b := m.build(tip, 2)
		if reply, ok := n.submit(t, b); !ok || reply != "" {
			t.Fatalf("round %d: the restarted node refused the next block: %q\n%s", round, reply, n.log)
		}
		c.accepted(b)
		tip = b
		if round == crashRounds {
			n.stop(t)
			if stored := c.checkStore(&st); stored != tip {
				t.Fatalf("after a clean stop the stored tip is %v at height %d, want %v at height %d", stored.hash, stored.height, tip.hash, tip.height)
			}
			break
		}
		reorgs := round%3 != 0
		delay := crashMinDelay + time.Duration(rng.Int64N(int64(crashMaxDelay-crashMinDelay)))
		var inReorg, killedInReorg atomic.Bool
		timer := time.AfterFunc(delay, func() {
			killedInReorg.Store(inReorg.Load())
			n.kill()
		})
		for submitted := 0; !n.killed.Load(); submitted++ {
			if submitted == crashMaxBlocks {
				n.kill() // a fast disk: keep timestamps within two hours of now
				break
			}
			if reorgs && tip.height > 1 && rng.IntN(3) > 0 {
				st.branches++
				var depth int
				if tip, depth = c.reorg(n, tip, &inReorg); depth > 0 {
					st.reorgs++
					st.maxDepth = max(st.maxDepth, depth)
				}
				continue
			}
			b := m.build(tip, rng.IntN(4))
			reply, ok := n.submit(t, b)
			if !ok {
				break // killed
			}
			if reply != "" {
				t.Fatalf("round %d: block %v on the tip: %q\n%s", round, b.hash, reply, n.log)
			}
			c.accepted(b)
			tip = b
		}
		timer.Stop()
		n.wait(t)
		st.kills++
		if killedInReorg.Load() {
			st.killsInReorg++
		}
		t.Logf("round %d: killed after %v at height %d (reorg round %v, during a reorg %v)",
			round, delay.Round(time.Millisecond), tip.height, reorgs, killedInReorg.Load())
		if stored := c.checkStore(&st); stored.work.Cmp(tip.work) < 0 {
			st.midReorg++ // the kill interrupted a reorg
		}
	}
	t.Logf("%d kills (%d during a reorg's submitblock, %d leaving the store mid-reorg), %d branches submitted, %d reorgs completed (deepest %d), "+
		"%d blocks built, %d accepted, %d transfers, %d accounts, height %d, %v",
		st.kills, st.killsInReorg, st.midReorg, st.branches, st.reorgs, st.maxDepth, len(m.blocks)-1, len(c.stored),
		m.transfers, st.accounts, st.height, time.Since(start).Round(time.Millisecond))
}

// crashStats are the figures the test logs.
type crashStats struct {
	kills, killsInReorg, midReorg int
	branches, reorgs, maxDepth    int
	accounts                      int
	height                        int64
}

// crashRun is the state of TestCrashConsistency.
type crashRun struct {
	t      *testing.T
	m      *crashModel
	rng    *rand.Rand
	dir    string
	addr   string              // the RPC address, kept across restarts
	stored map[chain.Hash]bool // blocks the node said it stored
	fresh  []chain.Hash        // of those, the ones not yet checked through RPC
}

// reorg builds a branch from an ancestor of tip that ends heavier than
// tip and submits it; it returns the new tip and the depth of the reorg,
// or tip and 0 when the node was killed before the reorg.
func (c *crashRun) reorg(n *crashNode, tip *crashBlock, inReorg *atomic.Bool) (*crashBlock, int) {
	depth := 1 + c.rng.IntN(min(crashMaxDepth, int(tip.height)))
	fork := tip
	for range depth {
		fork = fork.parent
	}
	var branch []*crashBlock
	for p := fork; p.work.Cmp(tip.work) <= 0 || c.rng.IntN(3) == 0; {
		p = c.m.build(p, c.rng.IntN(3))
		branch = append(branch, p)
	}
	old := tip
	for _, b := range branch {
		heavier := b.work.Cmp(tip.work) > 0
		inReorg.Store(heavier && tip == old)
		reply, ok := n.submit(c.t, b)
		inReorg.Store(false)
		if !ok {
			return tip, 0 // killed
		}
		switch {
		case heavier && reply == "":
			tip = b
		case !heavier && reply == "inconclusive":
		default:
			c.t.Fatalf("branch block %v at height %d (heavier than the tip: %v): %q\n%s", b.hash, b.height, heavier, reply, n.log)
		}
		c.accepted(b)
	}
	return tip, depth
}

// accepted records a block the node said it stored.
func (c *crashRun) accepted(b *crashBlock) {
	c.stored[b.hash] = true
	c.fresh = append(c.fresh, b.hash)
}

// tipOf returns the node's tip, which must be a block of the model.
func (c *crashRun) tipOf(n *crashNode) *crashBlock {
	var best string
	if err := n.call("getbestblockhash", &best); err != nil {
		c.t.Fatal(err)
	}
	h, err := chain.NewHashFromStr(best)
	if err != nil {
		c.t.Fatal(err)
	}
	b := c.m.blocks[h]
	if b == nil {
		c.t.Fatalf("the node's tip %v is no block of the test's", h)
	}
	return b
}

// crashHeader is what the test reads of getblockheader.
type crashHeader struct {
	Hash      string `json:"hash"`
	Height    int64  `json:"height"`
	ChainWork string `json:"chainwork"`
}

// checkNode checks a freshly started node through RPC: its tip's
// chainwork, that it knows the blocks accepted since the last check and
// is at least as heavy as any accepted block, and the keys' accounts.
func (c *crashRun) checkNode(n *crashNode) {
	t := c.t
	tip := c.tipOf(n)
	var hdr crashHeader
	if err := n.call("getblockheader", &hdr, tip.hash.String()); err != nil {
		t.Fatal(err)
	}
	if want := fmt.Sprintf("%064x", tip.work); hdr.ChainWork != want || hdr.Height != tip.height {
		t.Fatalf("tip %v: height %d chainwork %s, the headers from genesis give height %d work %s",
			tip.hash, hdr.Height, hdr.ChainWork, tip.height, want)
	}
	for h := range c.stored {
		if b := c.m.blocks[h]; b.work.Cmp(tip.work) > 0 {
			t.Fatalf("restarted on tip %v (height %d), lighter than accepted block %v (height %d)", tip.hash, tip.height, h, b.height)
		}
	}
	for _, h := range c.fresh {
		if err := n.call("getblockheader", &hdr, h.String()); err != nil {
			t.Fatalf("accepted block %v unknown after the restart: %v", h, err)
		}
	}
	c.fresh = c.fresh[:0]
	state := c.m.stateOf(tip)
	for _, a := range c.m.addrs {
		var acct struct {
			Balance  json.Number `json:"balance"`
			Sequence uint64      `json:"sequence"`
		}
		if err := n.call("getaccount", &acct, a.String()); err != nil {
			t.Fatal(err)
		}
		want := state[a]
		if acct.Balance.String() != fmt.Sprintf("%d.%08d", want.Balance/chain.BaseUnitsPerCoin, want.Balance%chain.BaseUnitsPerCoin) || acct.Sequence != want.Sequence {
			t.Fatalf("account %v at tip %v: balance %s sequence %d, want %+v", a, tip.hash, acct.Balance, acct.Sequence, want)
		}
	}
}

// checkStore opens the store of a stopped node, checks it against the
// model and returns the stored tip.
func (c *crashRun) checkStore(st *crashStats) *crashBlock {
	t := c.t
	db, err := store.Open(filepath.Join(c.dir, "chain.db"), c.m.params)
	if err != nil {
		t.Fatalf("open the store of the killed node: %v", err)
	}
	defer db.Close()
	snap, err := db.Load()
	if err != nil || snap == nil {
		t.Fatalf("load the store: %v %v", snap, err)
	}
	index := make(map[chain.Hash]storage.IndexEntry, len(snap.Index))
	for _, e := range snap.Index {
		b := c.m.blocks[e.Hash]
		if b == nil || b.height != e.Height {
			t.Fatalf("stored index entry %v at height %d is no block of the test's", e.Hash, e.Height)
		}
		if e.Status&storage.StatusDataStored == 0 || e.Status.KnownInvalid() {
			t.Fatalf("stored block %v has status %#x", e.Hash, e.Status)
		}
		if _, err := db.Block(e.Hash); err != nil {
			t.Fatalf("stored block %v: %v", e.Hash, err)
		}
		index[e.Hash] = e
	}
	for h := range c.stored {
		if _, ok := index[h]; !ok {
			t.Fatalf("accepted block %v (height %d) is not in the store", h, c.m.blocks[h].height)
		}
	}

	// The stored main chain: complete, connected, and its chainwork.
	stored := c.m.blocks[snap.Tip]
	if stored == nil {
		t.Fatalf("stored tip %v is no block of the test's", snap.Tip)
	}
	main := make(map[chain.Hash]bool)
	work := new(big.Int)
	for h := snap.Tip; ; {
		e, ok := index[h]
		if !ok {
			t.Fatalf("block %v of the stored main chain is not in the index", h)
		}
		if e.Status&storage.StatusValid == 0 {
			t.Fatalf("block %v of the stored main chain was never connected (status %#x)", h, e.Status)
		}
		main[h] = true
		work.Add(work, chain.CalcWork(e.Header.Bits))
		if e.Height == 0 {
			break
		}
		h = e.Header.PrevBlock
	}
	if work.Cmp(stored.work) != 0 {
		t.Fatalf("stored tip %v: the stored headers give work %x, the test's %x", snap.Tip, work, stored.work)
	}
	for h := range index {
		_, err := db.Undo(h)
		switch {
		case err == nil && !main[h]:
			t.Fatalf("block %v off the stored main chain has an undo record", h)
		case errors.Is(err, storage.ErrNotFound) && main[h]:
			t.Fatalf("block %v of the stored main chain has no undo record", h)
		case err != nil && !errors.Is(err, storage.ErrNotFound):
			t.Fatalf("undo of block %v: %v", h, err)
		}
	}

	// The accounts: exactly the replayed state, and no coin made or lost.
	got := make(map[chain.Address]chain.Account, len(snap.Accounts))
	var sum big.Int
	for _, a := range snap.Accounts {
		got[a.Address] = a.Account
		sum.Add(&sum, new(big.Int).SetUint64(a.Account.Balance))
	}
	issued := new(big.Int)
	for _, o := range c.m.params.GenesisBlock.Transactions[0].Coinbase.Outputs {
		issued.Add(issued, new(big.Int).SetUint64(o.Amount))
	}
	for h := int64(1); h <= stored.height; h++ {
		issued.Add(issued, new(big.Int).SetUint64(chain.CalcBlockSubsidy(h, c.m.params)))
	}
	if sum.Cmp(issued) != 0 {
		t.Fatalf("stored tip %v (height %d): balances sum to %v, %v coins were issued", snap.Tip, stored.height, &sum, issued)
	}
	if want := c.m.stateOf(stored); !maps.Equal(got, want) {
		t.Fatalf("stored tip %v (height %d): accounts\n%v\nwant\n%v", snap.Tip, stored.height, got, want)
	}
	st.accounts = max(st.accounts, len(got))
	st.height = max(st.height, stored.height)
	return stored
}

// start starts the node on the data directory and waits for its RPC.
func (c *crashRun) start() *crashNode {
	t := c.t
	for attempt := 0; ; attempt++ {
		if c.addr == "" {
			ln, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			c.addr = ln.Addr().String()
			ln.Close()
		}
		n, err := startNode(c.dir, c.addr)
		if err == nil {
			return n
		}
		if attempt < 3 && strings.Contains(n.log.String(), "RPC listen") {
			c.addr = "" // another process took the port
			continue
		}
		t.Fatalf("start the node: %v\n%s", err, n.log)
	}
}

// crashNode is the node running in a child process.
type crashNode struct {
	cmd     *exec.Cmd
	url     string
	http    *http.Client
	log     *tailWriter
	killed  atomic.Bool
	done    chan struct{} // closed when the process has exited
	waitErr error         // set before done is closed
}

// startNode runs the node on dir, with RPC on addr, and waits until it
// answers.
func startNode(dir, addr string) (*crashNode, error) {
	args := []string{"--dev", "--listen", "", "--datadir", dir, "--rpc", addr, "--rpcuser", "u", "--rpcpassword", "p"}
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), "NODE_TEST_MAIN=1", "NODE_TEST_ARGS="+strings.Join(args, "\n"))
	n := &crashNode{
		cmd:  cmd,
		url:  "http://" + addr,
		http: &http.Client{Transport: &http.Transport{}, Timeout: crashTimeout},
		log:  &tailWriter{max: 16 << 10},
		done: make(chan struct{}),
	}
	cmd.Stderr = n.log
	if err := cmd.Start(); err != nil {
		return n, err
	}
	go func() {
		n.waitErr = cmd.Wait()
		close(n.done)
	}()
	deadline := time.Now().Add(crashTimeout)
	for {
		var height int64
		err := n.call("getblockcount", &height)
		if err == nil {
			return n, nil
		}
		select {
		case <-n.done:
			return n, fmt.Errorf("the node exited: %v", n.waitErr)
		case <-time.After(10 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			n.kill()
			<-n.done
			return n, fmt.Errorf("no RPC after %v: %v", crashTimeout, err)
		}
	}
}

// kill sends SIGKILL; it is safe to call from any goroutine.
func (n *crashNode) kill() {
	n.killed.Store(true)
	_ = n.cmd.Process.Signal(syscall.SIGKILL)
}

// wait waits for the killed process and checks that SIGKILL ended it.
func (n *crashNode) wait(t *testing.T) {
	t.Helper()
	<-n.done
	n.http.CloseIdleConnections()
	var ee *exec.ExitError
	if !errors.As(n.waitErr, &ee) {
		t.Fatalf("the node did not die of SIGKILL: %v\n%s", n.waitErr, n.log)
	}
	if ws, ok := ee.Sys().(syscall.WaitStatus); !ok || !ws.Signaled() || ws.Signal() != syscall.SIGKILL {
		t.Fatalf("the node did not die of SIGKILL: %v\n%s", n.waitErr, n.log)
	}
}

// stop stops the node with SIGTERM and checks that it exits cleanly.
func (n *crashNode) stop(t *testing.T) {
	t.Helper()
	if err := n.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	<-n.done
	n.http.CloseIdleConnections()
	if n.waitErr != nil {
		t.Fatalf("the node's clean stop: %v\n%s", n.waitErr, n.log)
	}
}

// call makes one JSON-RPC call. A JSON-RPC error comes back as
// *crashRPCError; anything else is a transport error.
func (n *crashNode) call(method string, out any, params ...any) error {
	if params == nil {
		params = []any{}
	}
	body, err := json.Marshal(map[string]any{"jsonrpc": "2.0", "id": 1, "method": method, "params": params})
	if err != nil {
		return err
	}
	req, err := http.NewRequest(http.MethodPost, n.url, bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.SetBasicAuth("u", "p")
	resp, err := n.http.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		return err
	}
	var reply struct {
		Result json.RawMessage `json:"result"`
		Error  *crashRPCError  `json:"error"`
	}
	if err := json.Unmarshal(raw, &reply); err != nil {
		return fmt.Errorf("%s: bad reply %q: %w", method, raw, err)
	}
	if reply.Error != nil {
		return reply.Error
	}
	if out == nil {
		return nil
	}
	return json.Unmarshal(reply.Result, out)
}

// crashRPCError is a JSON-RPC error reply.
type crashRPCError struct {
	Code    int    `json:"code"`
	Message string `json:"message"`
}

func (e *crashRPCError) Error() string { return fmt.Sprintf("rpc error %d: %s", e.Code, e.Message) }

// submit submits b and returns submitblock's answer ("" for null), and
// false when the node was killed before it answered. A JSON-RPC error,
// or a transport error before the kill, fails the test.
func (n *crashNode) submit(t *testing.T, b *crashBlock) (string, bool) {
	t.Helper()
	raw, err := b.block.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	var reply *string
	err = n.call("submitblock", &reply, hex.EncodeToString(raw))
	var rerr *crashRPCError
	switch {
	case err == nil && reply == nil:
		return "", true
	case err == nil:
		return *reply, true
	case errors.As(err, &rerr) || !n.killed.Load():
		t.Fatalf("submitblock %v at height %d: %v\n%s", b.hash, b.height, err, n.log)
	}
	return "", false
}

// tailWriter keeps the last max bytes written to it.
type tailWriter struct {
	mu  sync.Mutex
	buf []byte
	max int
}

func (w *tailWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.buf = append(w.buf, p...)
	if len(w.buf) > w.max {
		w.buf = append(w.buf[:0], w.buf[len(w.buf)-w.max:]...)
	}
	return len(p), nil
}

func (w *tailWriter) String() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return string(w.buf)
}

// crashModel is the test's own copy of the chain: every block it built,
// with its cumulative work, and the account state after it, computed by
// replaying the blocks from genesis with the node's rules.
type crashModel struct {
	t         *testing.T
	params    *chain.Params
	rng       *rand.Rand
	keys      []ed25519.PrivateKey
	addrs     []chain.Address // the keys' addresses, then receive-only ones
	blocks    map[chain.Hash]*crashBlock
	scanner   *sha256d.Scanner
	nonce     uint64 // makes every coinbase unique
	transfers int
}

// crashBlock is a block of the model.
type crashBlock struct {
	block  *chain.Block
	hash   chain.Hash
	height int64
	parent *crashBlock
	work   *big.Int                        // chainwork up to and including the block
	state  map[chain.Address]chain.Account // after the block; nil until stateOf
}

func newCrashModel(t *testing.T, params *chain.Params, rng *rand.Rand) *crashModel {
	k := sha256d.Choose().Kernel
	m := &crashModel{t: t, params: params, rng: rng, blocks: make(map[chain.Hash]*crashBlock), scanner: sha256d.NewScanner(k)}
	keyRand := rand.NewChaCha8([32]byte{byte(rng.Uint64())})
	for range crashKeys {
		pub, priv, err := chain.GenerateKey(keyRand)
		if err != nil {
			t.Fatal(err)
		}
		m.keys = append(m.keys, priv)
		m.addrs = append(m.addrs, pub.Address())
	}
	for range crashKeys {
		var a chain.Address
		binary.BigEndian.PutUint64(a[:], rng.Uint64())
		m.addrs = append(m.addrs, a)
	}
	g := &crashBlock{block: params.GenesisBlock, hash: params.GenesisHash, work: chain.CalcWork(params.GenesisBlock.Header.Bits),
		state: make(map[chain.Address]chain.Account)}
	applyBlock(g.state, g.block)
	m.blocks[g.hash] = g
	return m
}

// applyBlock applies b's transfers, then its coinbase, to state, deleting
// emptied accounts, as the node does; b must be valid on state.
func applyBlock(state map[chain.Address]chain.Account, b *chain.Block) {
	set := func(a chain.Address, acc chain.Account) {
		if acc == (chain.Account{}) {
			delete(state, a)
		} else {
			state[a] = acc
		}
	}
	for _, tx := range b.Transactions[1:] {
		t := tx.Transfer
		from := t.From.Address()
		s := state[from]
		s.Balance -= t.Amount + t.Fee
		s.Sequence++
		set(from, s)
		r := state[t.To]
		r.Balance += t.Amount
		set(t.To, r)
	}
	for _, o := range b.Transactions[0].Coinbase.Outputs {
		r := state[o.Address]
		r.Balance += o.Amount
		set(o.Address, r)
	}
}

// stateOf returns the account state after b; the caller must not modify it.
func (m *crashModel) stateOf(b *crashBlock) map[chain.Address]chain.Account {
	var path []*crashBlock
	for ; b.state == nil; b = b.parent {
		path = append(path, b)
	}
	for i := len(path) - 1; i >= 0; i-- {
		s := maps.Clone(b.state)
		applyBlock(s, path[i].block)
		path[i].state = s
		b = path[i]
	}
	return b.state
}

// build mines a valid child of parent with up to ntx transfers between
// the model's addresses, one second after it, paying subsidy plus fees
// to one of them.
func (m *crashModel) build(parent *crashBlock, ntx int) *crashBlock {
	rng := m.rng
	state := maps.Clone(m.stateOf(parent))
	txs := []chain.Transaction{{}}
	var fees uint64
	for range ntx {
		k := rng.IntN(crashKeys)
		from := m.addrs[k]
		s := state[from]
		fee := 1000 + rng.Uint64N(1000)
		if s.Balance < fee+2 {
			continue
		}
		to := m.addrs[(k+1+rng.IntN(len(m.addrs)-1))%len(m.addrs)]
		tr := &chain.Transfer{To: to, Amount: 1 + rng.Uint64N((s.Balance-fee)/2), Fee: fee, Sequence: s.Sequence}
		if err := tr.Sign(m.keys[k], m.params.GenesisHash); err != nil {
			m.t.Fatal(err)
		}
		s.Balance -= tr.Amount + fee
		s.Sequence++
		state[from] = s
		r := state[to]
		r.Balance += tr.Amount
		state[to] = r
		fees += fee
		txs = append(txs, chain.Transaction{Transfer: tr})
		m.transfers++
	}
	payout := m.addrs[rng.IntN(crashKeys)]
	if rng.IntN(4) == 0 {
		payout = m.addrs[crashKeys+rng.IntN(crashKeys)]
	}
	return m.finish(parent, txs, fees, payout)
}

// finish mines a child of parent holding txs after a coinbase slot
// (txs[0]), paying subsidy plus fees to payout, one second after parent.
func (m *crashModel) finish(parent *crashBlock, txs []chain.Transaction, fees uint64, payout chain.Address) *crashBlock {
	height := parent.height + 1
	m.nonce++
	txs[0].Coinbase = &chain.Coinbase{
		Height:     uint32(height),
		Extranonce: binary.BigEndian.AppendUint64(nil, m.nonce),
		Outputs:    []chain.Output{{Address: payout, Amount: chain.CalcBlockSubsidy(height, m.params) + fees}},
	}
	b := &chain.Block{Transactions: txs}
	ts := parent.block.Header.Timestamp + 1
	if parent.height == 0 {
		ts = uint32(time.Now().Add(-time.Hour).Unix())
	}
	ctx := chain.HeaderContext{PrevHash: parent.hash, PrevHeight: parent.height, PrevBits: parent.block.Header.Bits, PrevTime: int64(parent.block.Header.Timestamp)}
	b.Header = chain.Header{Version: 1, PrevBlock: parent.hash, Timestamp: ts, Bits: ctx.NextBits(m.params)}
	b.Header.MerkleRoot, _ = b.MerkleRoot()
	target, err := chain.BigToHash(chain.CompactToBig(b.Header.Bits))
	if err != nil {
		m.t.Fatal(err)
	}
	hdr, tg := b.Header.Serialize(), [32]byte(target)
	job := sha256d.NewJob(&hdr, &tg)
	var hits []uint32
	for start := uint64(0); len(hits) == 0; start += 64 {
		if start >= sha256d.MaxScan {
			m.t.Fatalf("no nonce for bits %#x", b.Header.Bits)
		}
		hits = m.scanner.Scan(job, uint32(start), 64, hits)
	}
	b.Header.Nonce = hits[0]
	cb := &crashBlock{block: b, hash: b.Hash(), height: height, parent: parent,
		work: new(big.Int).Add(parent.work, chain.CalcWork(b.Header.Bits))}
	m.blocks[cb.hash] = cb
	return cb
}
