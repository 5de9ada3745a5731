package p2p

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"errors"
	"math/big"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p"
	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/go-libp2p/p2p/transport/tcp"
	ma "github.com/multiformats/go-multiaddr"
	"github.com/powmine/powmine/chain"
)

// waitTimeout bounds every wait of these tests; they usually take
// milliseconds.
const waitTimeout = 20 * time.Second

// fakeChain is a Chain and Mempool that accepts every header, every
// block and transfer except blocks of version badVersion (which it then
// holds invalid), and records them. Its MissingBlocks follows the
// order headers came in, or with tree the longest header chain.
type fakeChain struct {
	mu        sync.Mutex
	blocks    map[chain.Hash]bool
	invalid   map[chain.Hash]bool
	headers   []chain.Hash // in the order received
	known     map[chain.Hash]bool
	parent    map[chain.Hash]chain.Hash // of each known header
	tree      bool                      // MissingBlocks follows the longest header chain
	transfers map[chain.Hash]bool
	calls     int          // ProcessBlock calls
	tip       chain.Hash   // the tip Status shows (setTip)
	work      int64        // the work Status shows: 7 unless set
	justified uint64       // the justified epoch Status shows
	towards   []chain.Hash // the tips MissingBlocksTo was asked for
}

const badVersion = 99

func newFakeChain() *fakeChain {
	return &fakeChain{blocks: make(map[chain.Hash]bool), invalid: make(map[chain.Hash]bool),
		known: make(map[chain.Hash]bool), parent: make(map[chain.Hash]chain.Hash), transfers: make(map[chain.Hash]bool), work: 7}
}

func (f *fakeChain) Status() Status {
	f.mu.Lock()
	defer f.mu.Unlock()
	return Status{TipHash: f.tip, Height: int64(len(f.blocks)) + int64(f.justified), Justified: f.justified, Work: big.NewInt(f.work)}
}

// setTip makes Status show tip h.
func (f *fakeChain) setTip(h chain.Hash) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.tip = h
}

func (f *fakeChain) HaveBlock(h chain.Hash) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.blocks[h]
}

func (f *fakeChain) ProcessBlock(b *chain.Block) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls++
	if b.Header.Version == badVersion {
		f.invalid[b.Hash()] = true
		return ErrInvalid
	}
	if f.blocks[b.Hash()] {
		return ErrKnown
	}
	f.blocks[b.Hash()] = true
	return nil
}

func (f *fakeChain) ProcessHeaders(hs []chain.Header) (int, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	var added int
	for i := range hs {
		if h := hs[i].Hash(); !f.known[h] {
			f.known[h] = true
			f.parent[h] = hs[i].PrevBlock
			f.headers = append(f.headers, h)
			added++
		}
	}
	return added, nil
}

func (f *fakeChain) HeaderLocator() []chain.Hash { return nil }

// MissingBlocks returns the headers without a block, not invalid, in the
// order they came.
func (f *fakeChain) MissingBlocks(limit int) []chain.Hash {
	f.mu.Lock()
	defer f.mu.Unlock()
	headers := f.headers
	if f.tree {
		headers = f.longest()
	}
	var out []chain.Hash
	for _, h := range headers {
		if len(out) == limit {
			break
		}
		if !f.blocks[h] && !f.invalid[h] {
			out = append(out, h)
		}
	}
	return out
}

// MissingBlocksTo records tip and returns nothing.
func (f *fakeChain) MissingBlocksTo(tip chain.Hash, _ int) []chain.Hash {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.towards = append(f.towards, tip)
	return nil
}

// longest returns the longest chain of known headers, from its root up
// (the first received of equal length); the caller holds mu.
func (f *fakeChain) longest() []chain.Hash {
	var best []chain.Hash
	for _, h := range f.headers {
		var path []chain.Hash
		for at := h; f.known[at]; at = f.parent[at] {
			path = append(path, at)
		}
		if len(path) > len(best) {
			best = path
		}
	}
	slices.Reverse(best)
	return best
}

func (f *fakeChain) HaveHeader(h chain.Hash) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.known[h]
}

// ForgetHeaders drops h and the headers after it, unless h's block is
// stored.
func (f *fakeChain) ForgetHeaders(h chain.Hash) (int, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.blocks[h] {
		return 0, errors.New("block stored")
	}
	above := func(x chain.Hash) bool {
		for at := x; f.known[at]; at = f.parent[at] {
			if at == h {
				return true
			}
		}
		return false
	}
	var kept, gone []chain.Hash
	for _, x := range f.headers {
		if above(x) {
			gone = append(gone, x)
		} else {
			kept = append(kept, x)
		}
	}
	for _, x := range gone {
		delete(f.known, x)
		delete(f.parent, x)
	}
	f.headers = kept
	return len(gone), nil
}

func (f *fakeChain) MainChainHeaders([]chain.Hash, int) []chain.Header { return nil }

func (f *fakeChain) Block(chain.Hash) (*chain.Block, error) {
	return nil, errors.New("no blocks served")
}

func (f *fakeChain) AcceptTransfer(tx *chain.Transaction) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if tx.Transfer != nil && tx.Transfer.Fee == 0 {
		return ErrInvalid
	}
	f.transfers[tx.TxID()] = true
	return nil
}

func (f *fakeChain) has(h chain.Hash, transfer bool) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	if transfer {
		return f.transfers[h]
	}
	return f.blocks[h]
}

// testNode is a Node on loopback with its fake chain.
type testNode struct {
	*Node
	fake *fakeChain
}

func loopback(t *testing.T) []ma.Multiaddr {
	t.Helper()
	var out []ma.Multiaddr
	for _, s := range []string{"/ip4/127.0.0.1/tcp/0", "/ip4/127.0.0.1/udp/0/quic-v1"} {
		a, err := ma.NewMultiaddr(s)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, a)
	}
	return out
}

func newTestNode(t *testing.T, p *chain.Params) *testNode {
	t.Helper()
	f := newFakeChain()
	n, err := New(Config{Params: p, Chain: f, Mempool: f, Listen: loopback(t), MaxInvalid: 3, Redial: 100 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := n.Close(); err != nil {
			t.Error(err)
		}
	})
	return &testNode{Node: n, fake: f}
}

// connect makes a dial b (once) and waits for the hello both ways.
func connect(t *testing.T, a, b *testNode) {
	t.Helper()
	if err := a.Connect(context.Background(), b.Addrs()[0]); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "hello", func() bool { return hasHello(a, b) && hasHello(b, a) })
}

func hasHello(a, b *testNode) bool {
	for _, p := range a.Peers() {
		if p.ID == b.ID() && p.Status != nil {
			return true
		}
	}
	return false
}

// meshed reports whether b is in a's mesh of both topics.
func meshed(a, b *testNode) bool {
	for _, p := range a.Peers() {
		if p.ID == b.ID() {
			return len(p.Mesh) == 2
		}
	}
	return false
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(waitTimeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// testBlock returns a block of the given version on a made-up parent,
// whose proof of work is valid (good) or not, against the dev limit.
func testBlock(t *testing.T, p *chain.Params, seed byte, version int32, good bool) *chain.Block {
	t.Helper()
	b := &chain.Block{Transactions: []chain.Transaction{{Coinbase: &chain.Coinbase{
		Height: 1, Extranonce: []byte{seed}, Outputs: []chain.Output{{Amount: 1}},
	}}}}
	b.Header = chain.Header{Version: version, PrevBlock: chain.Hash{seed}, Timestamp: 1_800_000_000, Bits: 0x207fffff}
	b.Header.MerkleRoot, _ = b.MerkleRoot()
	for nonce := uint32(0); nonce < 1000; nonce++ {
		b.Header.Nonce = nonce
		if err := chain.CheckHeaderSanity(&b.Header, p); (err == nil) == good {
			return b
		}
	}
	t.Fatal("no nonce found")
	return nil
}

func testTransfer(t *testing.T, p *chain.Params, fee uint64) *chain.Transaction {
	t.Helper()
	_, key, err := chain.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tx := &chain.Transaction{Transfer: &chain.Transfer{To: chain.Address{1}, Amount: 5, Fee: fee, Sequence: 0}}
	if err := tx.Transfer.Sign(key, p.GenesisHash); err != nil {
		t.Fatal(err)
	}
	return tx
}

// TestGossipReachesAll: five nodes in a line (0-1-2-3-4); a block and a
// transfer, a vote and a proposer slash published on node 0 reach all of
// them, relayed hop by hop after validation.
func TestGossipReachesAll(t *testing.T) {
	p := &chain.DevParams
	nodes := make([]*testNode, 5)
	for i := range nodes {
		nodes[i] = newTestNode(t, p)
	}
	for i := 1; i < len(nodes); i++ {
		connect(t, nodes[i-1], nodes[i])
	}
	for i := 1; i < len(nodes); i++ {
		waitFor(t, "mesh", func() bool { return meshed(nodes[i-1], nodes[i]) && meshed(nodes[i], nodes[i-1]) })
	}
	b := testBlock(t, p, 1, 1, true)
	tx := testTransfer(t, p, 1)
	// Votes share the transactions' topic.
	_, vkey, err := chain.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	vote := &chain.Transaction{Vote: &chain.Vote{Source: chain.Checkpoint{Epoch: 0, Hash: p.GenesisHash}, Target: chain.Checkpoint{Epoch: 1, Hash: chain.Hash{1}}}}
	if err := vote.Vote.Sign(vkey, p.GenesisHash); err != nil {
		t.Fatal(err)
	}
	// So do proposer slashes (the p2p node only decodes them).
	seal := func(h chain.Hash) chain.SignedHeader {
		m := chain.SealMessage(p.GenesisHash, 3, h)
		return chain.SignedHeader{HeaderHash: h, Slot: 3, Proposer: vote.Vote.Validator, Signature: chain.Signature(ed25519.Sign(vkey, m[:]))}
	}
	pslash := &chain.Transaction{ProposerSlash: &chain.ProposerSlash{Evidence: chain.NewProposerEvidence(seal(chain.Hash{1}), seal(chain.Hash{2}))}}
	start := time.Now()
	nodes[0].PublishBlock(b)
	nodes[0].PublishTransfer(tx)
	nodes[0].PublishTransfer(vote)
	nodes[0].PublishTransfer(pslash)
	for i, n := range nodes[1:] {
		waitFor(t, "block", func() bool { return n.fake.has(b.Hash(), false) })
		t.Logf("block at node %d after %v", i+1, time.Since(start))
		waitFor(t, "transfer", func() bool { return n.fake.has(tx.TxID(), true) })
		waitFor(t, "vote", func() bool { return n.fake.has(vote.TxID(), true) })
		waitFor(t, "proposer slash", func() bool { return n.fake.has(pslash.TxID(), true) })
	}
}

// TestInvalidBlocks: an attacker connected to node 1 only sends blocks
// with a bad proof of work and blocks the chain rejects; node 1 rejects
// them without relaying any to node 2, then disconnects and bans the
// attacker after MaxInvalid of them.
func TestInvalidBlocks(t *testing.T) {
	p := &chain.DevParams
	attacker, n1, n2 := newTestNode(t, p), newTestNode(t, p), newTestNode(t, p)
	connect(t, attacker, n1)
	connect(t, n1, n2)
	waitFor(t, "mesh", func() bool { return meshed(n1, n2) && meshed(n2, n1) && meshed(attacker, n1) })
	// A valid block first: it goes through, so the line relays.
	good := testBlock(t, p, 1, 1, true)
	attacker.PublishBlock(good)
	waitFor(t, "valid block at node 2", func() bool { return n2.fake.has(good.Hash(), false) })

	bad := []*chain.Block{testBlock(t, p, 2, 1, false), testBlock(t, p, 3, badVersion, true), testBlock(t, p, 4, 1, false)}
	for _, b := range bad {
		attacker.PublishBlock(b)
	}
	waitFor(t, "ban", func() bool { return n1.Banned(attacker.ID()) })
	if bans := n1.Bans(); len(bans) != 1 || bans[0].Peer != attacker.ID() || bans[0].Cause != BanInvalid {
		t.Errorf("Bans = %+v, want the attacker's, cause invalid", bans)
	}
	waitFor(t, "disconnect", func() bool {
		return n1.host.Network().Connectedness(attacker.ID()) != network.Connected
	})
	if err := n1.Connect(context.Background(), attacker.Addrs()[0]); err == nil {
		t.Error("node 1 dialed a banned peer")
	}
	_ = attacker.Connect(context.Background(), n1.Addrs()[0]) // refused by node 1's gater
	waitFor(t, "refused reconnection", func() bool {
		return attacker.host.Network().Connectedness(n1.ID()) != network.Connected
	})
	for _, p := range n1.Peers() {
		if p.ID == attacker.ID() {
			t.Error("a banned peer connected again")
		}
	}
	// Node 2 processed the valid block only: nothing invalid was relayed.
	n2.fake.mu.Lock()
	calls := n2.fake.calls
	n2.fake.mu.Unlock()
	if calls != 1 {
		t.Errorf("node 2 processed %d blocks, want 1", calls)
	}
	// Node 1 handed the chain only the block whose proof of work holds.
	n1.fake.mu.Lock()
	calls = n1.fake.calls
	n1.fake.mu.Unlock()
	if calls != 2 {
		t.Errorf("node 1 processed %d blocks, want 2 (the valid one and the one of bad version)", calls)
	}
	want := TopicStats{Accepted: 1, Rejected: 3}
	if st := n1.Stats(); st.Blocks != want || st.InvalidBans != 1 || st.OperatorBans != 0 || st.Banned != 1 {
		t.Errorf("node 1 stats %+v, want blocks %+v and one ban for invalid data", st, want)
	}
}

// TestOtherGenesisRefused: a node on another chain is disconnected at
// the hello.
func TestOtherGenesisRefused(t *testing.T) {
	p := &chain.DevParams
	other := chain.DevParams
	other.GenesisHash = chain.Hash{0xee}
	a, b := newTestNode(t, p), newTestNode(t, &other)
	if err := a.Connect(context.Background(), b.Addrs()[0]); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "refusal", func() bool { return a.Refused() == 1 && b.Refused() == 1 })
	if st := a.Stats(); st.Refused != 1 {
		t.Errorf("Stats().Refused = %d, want 1", st.Refused)
	}
	waitFor(t, "disconnect", func() bool { return len(a.Peers()) == 0 && len(b.Peers()) == 0 })
}

// TestAddPeerRedials: an added peer that disconnects is dialed again.
func TestAddPeerRedials(t *testing.T) {
	p := &chain.DevParams
	a, b := newTestNode(t, p), newTestNode(t, p)
	if err := a.AddPeer(context.Background(), b.Addrs()[0]); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "hello", func() bool { return hasHello(a, b) })
	if !b.Disconnect(a.ID()) {
		t.Fatal("Disconnect found no connection")
	}
	waitFor(t, "redial", func() bool { return hasHello(a, b) && hasHello(b, a) })
	if ok, err := a.RemovePeer(b.Addrs()[0]); !ok || err != nil {
		t.Fatalf("RemovePeer: %v %v", ok, err)
	}
}

func TestLoadKey(t *testing.T) {
	path := filepath.Join(t.TempDir(), "p2p.key")
	k1, err := LoadKey(path)
	if err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Stat(path); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("key file: %v %v", fi, err)
	}
	k2, err := LoadKey(path)
	if err != nil || !k1.Equals(k2) {
		t.Fatalf("second load: %v, same key %v", err, err == nil && k1.Equals(k2))
	}
	if err := os.WriteFile(path, []byte("garbage"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := LoadKey(path); err == nil {
		t.Fatal("a corrupt key file was accepted")
	}
}

func TestConfigErrors(t *testing.T) {
	f := newFakeChain()
	for _, c := range []Config{
		{Chain: f, Mempool: f},
		{Params: &chain.DevParams, Chain: f, Mempool: f, LowWater: 10, HighWater: 5},
		{Params: &chain.DevParams, Chain: f, Mempool: f, MaxInvalid: -1},
		{Params: &chain.DevParams, Chain: f, Mempool: f, MaxInvalid: 6},
		{Params: &chain.DevParams, Chain: f, Mempool: f, SyncTimeout: -1},
		{Params: &chain.DevParams, Chain: f, Mempool: f, MaxBans: -1},
	} {
		if _, err := New(c); !errors.Is(err, ErrConfig) {
			t.Errorf("New(%+v) = %v, want ErrConfig", c, err)
		}
	}
}

// TestSilentPeerClosed: a peer that dials in and never sends its hello is
// disconnected after HelloWait; peers that said hello stay connected.
func TestSilentPeerClosed(t *testing.T) {
	p := &chain.DevParams
	f := newFakeChain()
	n, err := New(Config{Params: p, Chain: f, Mempool: f, Listen: loopback(t), HelloWait: 300 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer n.Close()
	honest := newTestNode(t, p)
	connect(t, honest, &testNode{Node: n, fake: f})

	silent, err := libp2p.New(libp2p.ListenAddrStrings("/ip4/127.0.0.1/tcp/0"), libp2p.NoTransports, libp2p.Transport(tcp.NewTCPTransport),
		libp2p.DisableRelay(), libp2p.ResourceManager(&network.NullResourceManager{}))
	if err != nil {
		t.Fatal(err)
	}
	defer silent.Close()
	if err := silent.Connect(context.Background(), peer.AddrInfo{ID: n.ID(), Addrs: n.Addrs()}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the silent peer closed", func() bool {
		return n.host.Network().Connectedness(silent.ID()) != network.Connected
	})
	if n.host.Network().Connectedness(honest.ID()) != network.Connected {
		t.Fatal("the peer that said hello was closed too")
	}
}
