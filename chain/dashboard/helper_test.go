package dashboard

import (
	"cmp"
	"math/big"
	"net/http"
	"net/http/httptest"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/powmine/powmine/chain"
	"github.com/powmine/powmine/chain/node"
	"github.com/powmine/powmine/chain/storage"
)

// fakeChain is an in-memory block index satisfying Chain, with no proof
// of work: enough to draw pages of any shape.
type fakeChain struct {
	mu       sync.Mutex
	index    map[chain.Hash]node.BlockInfo
	blocks   map[chain.Hash]*chain.Block
	main     []chain.Hash // by height
	accounts map[chain.Address]chain.Account
	orphans  []node.OrphanInfo
	tipCh    chan struct{}
}

func newFakeChain() *fakeChain {
	c := &fakeChain{index: map[chain.Hash]node.BlockInfo{}, blocks: map[chain.Hash]*chain.Block{}, accounts: map[chain.Address]chain.Account{}, tipCh: make(chan struct{})}
	c.add(chain.Hash{}, 0, true, 0)
	return c
}

// testAddr returns a distinct address for n.
func testAddr(n byte) chain.Address {
	var a chain.Address
	a[0], a[1] = 0xab, n
	return a
}

// add makes a block on parent (the zero hash for genesis) at height,
// on the main chain or not, and returns its hash. Blocks are 10 s apart.
func (c *fakeChain) add(parent chain.Hash, height int64, main bool, salt uint32) chain.Hash {
	c.mu.Lock()
	defer c.mu.Unlock()
	b := &chain.Block{Transactions: []chain.Transaction{{Coinbase: &chain.Coinbase{Height: uint32(height), Extranonce: []byte{byte(salt)},
		Outputs: []chain.Output{{Address: testAddr(1), Amount: 50 * chain.BaseUnitsPerCoin}}}}}}
	b.Header = chain.Header{Version: 1, PrevBlock: parent, Timestamp: uint32(1_800_000_000 + 10*height), Bits: 0x207fffff, Nonce: salt}
	b.Header.MerkleRoot, _ = b.MerkleRoot()
	h := b.Hash()
	c.index[h] = node.BlockInfo{Hash: h, Height: height, Header: b.Header, Work: big.NewInt(2 * (height + 1)),
		Status: storage.StatusDataStored | storage.StatusValid}
	c.blocks[h] = b
	if main {
		c.main = append(c.main[:height], h)
		close(c.tipCh)
		c.tipCh = make(chan struct{})
	}
	return h
}

// extend adds n blocks on the main chain.
func (c *fakeChain) extend(n int) {
	for range n {
		tip := c.Tip()
		c.add(tip.Hash, tip.Height+1, true, 0)
	}
}

func (c *fakeChain) markInvalid(h chain.Hash) {
	c.mu.Lock()
	defer c.mu.Unlock()
	b := c.index[h]
	b.Status = storage.StatusDataStored | storage.StatusValidateFailed
	c.index[h] = b
}

func (c *fakeChain) Tip() node.BlockInfo {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.index[c.main[len(c.main)-1]]
}

func (c *fakeChain) BlockInfo(h chain.Hash) (node.BlockInfo, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	b, ok := c.index[h]
	return b, ok
}

func (c *fakeChain) BlockByHeight(h int64) (node.BlockInfo, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if h < 0 || h >= int64(len(c.main)) {
		return node.BlockInfo{}, false
	}
	return c.index[c.main[h]], true
}

func (c *fakeChain) MainChainHas(h chain.Hash) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	b, ok := c.index[h]
	return ok && b.Height < int64(len(c.main)) && c.main[b.Height] == h
}

func (c *fakeChain) Block(h chain.Hash) (*chain.Block, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if b := c.blocks[h]; b != nil {
		return b, nil
	}
	return nil, storage.ErrNotFound
}

func (c *fakeChain) Account(a chain.Address) chain.Account {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.accounts[a]
}

func (c *fakeChain) ChainTips() []node.ChainTip {
	c.mu.Lock()
	defer c.mu.Unlock()
	parents := map[chain.Hash]bool{}
	for _, b := range c.index {
		parents[b.Header.PrevBlock] = true
	}
	tip := c.main[len(c.main)-1]
	tips := []node.ChainTip{{BlockInfo: c.index[tip], Active: true}}
	for h, b := range c.index {
		if !parents[h] && h != tip {
			tips = append(tips, node.ChainTip{BlockInfo: b})
		}
	}
	slices.SortStableFunc(tips[1:], func(a, b node.ChainTip) int { return cmp.Compare(b.Height, a.Height) })
	return tips
}

func (c *fakeChain) OrphanCount() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.orphans)
}

func (c *fakeChain) Orphans() []node.OrphanInfo {
	c.mu.Lock()
	defer c.mu.Unlock()
	return slices.Clone(c.orphans)
}

func (c *fakeChain) TipChanged() <-chan struct{} {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.tipCh
}

// fakePool satisfies Pool with fixed workers.
type fakePool struct {
	mu      sync.Mutex
	stats   PoolStats
	workers []WorkerStats
}

func (p *fakePool) PoolStats() PoolStats {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.stats
}

func (p *fakePool) WorkerStats() []WorkerStats {
	p.mu.Lock()
	defer p.mu.Unlock()
	return slices.Clone(p.workers)
}

// newFakePool returns a pool with n workers, worker i having hashrate
// and accepted i+1.
func newFakePool(n int) *fakePool {
	p := &fakePool{stats: PoolStats{Conns: n, Workers: n, Accepted: 1000, Blocks: 3, Hashrate: 5e6}}
	for i := range n {
		w := WorkerStats{Worker: testAddr(byte(i)).String() + ".rig" + string(rune('a'+i%26)), Address: testAddr(byte(i)).String(),
			Hashrate: float64(i + 1), Accepted: uint64(i + 1), Difficulty: 0.5, LastShare: time.Unix(1_800_000_000, 0),
			Rejected: 1, RejectedBy: map[string]uint64{"stale": 1}, Stale: 1}
		p.workers = append(p.workers, w)
	}
	return p
}

// testServer is a dashboard over a fake chain and pool, served by
// httptest on loopback.
type testServer struct {
	*Server
	chain *fakeChain
	pool  *fakePool
	url   string
}

func newTestServer(t testing.TB, blocks, workers int, edit func(*Config)) *testServer {
	t.Helper()
	c := newFakeChain()
	c.extend(blocks)
	p := newFakePool(workers)
	cfg := Config{Chain: c, Pool: p, TipChanged: c.TipChanged, UpdateInterval: time.Hour, SampleInterval: time.Hour}
	if edit != nil {
		edit(&cfg)
	}
	s, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(s.Handler())
	t.Cleanup(hs.Close)
	return &testServer{Server: s, chain: c, pool: p, url: hs.URL}
}

// get fetches path and returns its status and body.
func (ts *testServer) get(t testing.TB, path string) (int, string) {
	t.Helper()
	cl := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := cl.Get(ts.url + path)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var b []byte
	buf := make([]byte, 32<<10)
	for {
		n, err := resp.Body.Read(buf)
		b = append(b, buf[:n]...)
		if err != nil {
			break
		}
	}
	return resp.StatusCode, string(b)
}
