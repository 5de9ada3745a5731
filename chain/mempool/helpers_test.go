package mempool

import (
	"crypto/ed25519"
	"encoding/binary"
	"errors"
	"math/big"
	"sync"
	"testing"
	"time"

	"github.com/powmine/powmine/chain"
	"github.com/powmine/powmine/chain/node"
)

// *node.Node must satisfy Chain.
var _ Chain = (*node.Node)(nil)

// key returns a deterministic key pair for account i.
func key(i int) (chain.PublicKey, ed25519.PrivateKey) {
	var seed [ed25519.SeedSize]byte
	binary.LittleEndian.PutUint64(seed[:], uint64(i)+1)
	priv := ed25519.NewKeyFromSeed(seed[:])
	return chain.PublicKey(priv.Public().(ed25519.PublicKey)), priv
}

// addr returns account i's address.
func addr(i int) chain.Address {
	pub, _ := key(i)
	return pub.Address()
}

// transfer returns a transfer of amount from account from to account to,
// signed for the dev network (the network of newPool's pools).
func transfer(tb testing.TB, from, to int, amount, fee, seq uint64) *chain.Transaction {
	tb.Helper()
	return transferFor(tb, chain.DevParams.GenesisHash, from, to, amount, fee, seq)
}

// transferFor is transfer signed for the given network.
func transferFor(tb testing.TB, network chain.Hash, from, to int, amount, fee, seq uint64) *chain.Transaction {
	tb.Helper()
	_, priv := key(from)
	t := &chain.Transfer{To: addr(to), Amount: amount, Fee: fee, Sequence: seq}
	if err := t.Sign(priv, network); err != nil {
		tb.Fatal(err)
	}
	return &chain.Transaction{Transfer: t}
}

// fakeChain is a Chain with settable accounts.
type fakeChain struct {
	mu       sync.Mutex
	accounts map[chain.Address]chain.Account
	height   int64
}

func newFakeChain() *fakeChain { return &fakeChain{accounts: make(map[chain.Address]chain.Account)} }

func (c *fakeChain) Account(a chain.Address) chain.Account {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.accounts[a]
}

func (c *fakeChain) Tip() node.BlockInfo {
	c.mu.Lock()
	defer c.mu.Unlock()
	return node.BlockInfo{Height: c.height}
}

func (c *fakeChain) set(i int, balance, seq uint64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.accounts[addr(i)] = chain.Account{Balance: balance, Sequence: seq}
}

// newPool returns a dev-network pool on c with the given byte bound (0:
// default).
func newPool(tb testing.TB, c Chain, maxBytes int) *Pool {
	tb.Helper()
	return newPoolFor(tb, &chain.DevParams, c, maxBytes)
}

// newPoolFor is newPool for the network of params.
func newPoolFor(tb testing.TB, params *chain.Params, c Chain, maxBytes int) *Pool {
	tb.Helper()
	p, err := New(Config{Params: params, Chain: c, MaxPoolBytes: maxBytes})
	if err != nil {
		tb.Fatal(err)
	}
	return p
}

// mustAccept fails the test when Accept rejects tx.
func mustAccept(tb testing.TB, p *Pool, txs ...*chain.Transaction) {
	tb.Helper()
	for _, tx := range txs {
		if err := p.Accept(tx); err != nil {
			tb.Fatalf("Accept: %v", err)
		}
	}
}

// wantReason fails unless err is a *RejectError with reason.
func wantReason(tb testing.TB, err error, reason RejectReason) {
	tb.Helper()
	var rerr *RejectError
	if !errors.As(err, &rerr) {
		tb.Fatalf("got %v, want a RejectError %v", err, reason)
	}
	if rerr.Reason != reason {
		tb.Fatalf("got reason %v (%v), want %v", rerr.Reason, err, reason)
	}
}

// ids returns the ids of the entries, in order.
func ids(es []Entry) []chain.Hash {
	out := make([]chain.Hash, len(es))
	for i := range es {
		out[i] = es[i].ID
	}
	return out
}

// checkPool checks the pool's internal invariants: indexes agree, byte
// count matches, each sender's transfers are sorted and contiguous, and
// the heap holds every entry at its recorded index.
func checkPool(tb testing.TB, p *Pool) {
	tb.Helper()
	p.mu.Lock()
	defer p.mu.Unlock()
	n, bytes := 0, 0
	for from, pending := range p.bySender {
		if len(pending) == 0 {
			tb.Fatalf("sender %v has an empty list", from)
		}
		for i, e := range pending {
			if p.byID[e.ID] != e || e.from != from {
				tb.Fatalf("entry %v of %v not indexed", e.ID, from)
			}
			if i > 0 && e.seq() != pending[i-1].seq()+1 {
				tb.Fatalf("sender %v: sequence %d after %d", from, e.seq(), pending[i-1].seq())
			}
			if p.evict[e.evictAt] != e {
				tb.Fatalf("entry %v not at its heap index", e.ID)
			}
			n++
			bytes += e.Size
		}
	}
	if n != len(p.byID) || n != len(p.evict) || bytes != p.bytes {
		tb.Fatalf("%d entries by sender, %d by id, %d in heap; %d bytes counted, %d recorded",
			n, len(p.byID), len(p.evict), bytes, p.bytes)
	}
	if p.bytes > p.maxBytes {
		tb.Fatalf("pool holds %d bytes, bound %d", p.bytes, p.maxBytes)
	}
}

// Node test chain.

// easyBits is the easiest target below the test PowLimit.
const easyBits = 0x207fffff

// testChain is a node on easy fixed-difficulty params whose genesis funds
// accounts 0..funded-1 with 1,000 coins each.
type testChain struct {
	tb     testing.TB
	p      *chain.Params
	node   *node.Node
	blocks map[chain.Hash]*chain.Block
	height map[chain.Hash]int64
}

// newTestChain starts a node; notify receives its events.
func newTestChain(tb testing.TB, funded int, notify func(node.Event)) *testChain {
	tb.Helper()
	p := chain.MainNetParams
	p.Name = "mempooltest"
	p.PowLimit = new(big.Int).Sub(new(big.Int).Lsh(big.NewInt(1), 255), big.NewInt(1))
	p.PowLimitBits = easyBits
	p.NoRetargeting = true
	outs := make([]chain.Output, funded)
	for i := range outs {
		outs[i] = chain.Output{Address: addr(i), Amount: 1000 * chain.BaseUnitsPerCoin}
	}
	g := &chain.Block{
		Header:       chain.Header{Version: 1, Timestamp: 1_700_000_000, Bits: easyBits},
		Transactions: []chain.Transaction{{Coinbase: &chain.Coinbase{Outputs: outs}}},
	}
	seal(tb, g, &p)
	p.GenesisHeader, p.GenesisHash = g.Header, g.Hash()
	n, err := node.New(node.Config{Params: &p, Genesis: g, Notify: notify,
		Now: func() time.Time { return time.Unix(1_800_000_000, 0) }})
	if err != nil {
		tb.Fatal(err)
	}
	return &testChain{tb: tb, p: &p, node: n, blocks: map[chain.Hash]*chain.Block{g.Hash(): g},
		height: map[chain.Hash]int64{g.Hash(): 0}}
}

// seal sets the merkle root and finds a nonce.
func seal(tb testing.TB, b *chain.Block, p *chain.Params) {
	tb.Helper()
	b.Header.MerkleRoot, _ = b.MerkleRoot()
	for b.Header.Nonce = 0; chain.CheckProofOfWork(b.Hash(), b.Header.Bits, p.PowLimit) != nil; b.Header.Nonce++ {
	}
}

// child builds a block on parent paying subsidy and fees to account
// miner, carrying txs, and processes it.
func (c *testChain) child(parent chain.Hash, miner int, txs ...*chain.Transaction) *chain.Block {
	c.tb.Helper()
	height := c.height[parent] + 1
	value := chain.CalcBlockSubsidy(height, c.p)
	body := []chain.Transaction{{}}
	for _, tx := range txs {
		value += tx.Transfer.Fee
		body = append(body, *tx)
	}
	body[0].Coinbase = &chain.Coinbase{Height: uint32(height), Extranonce: []byte{byte(miner)},
		Outputs: []chain.Output{{Address: addr(miner), Amount: value}}}
	b := &chain.Block{
		Header: chain.Header{Version: 1, PrevBlock: parent, Bits: easyBits,
			Timestamp: c.blocks[parent].Header.Timestamp + 1},
		Transactions: body,
	}
	seal(c.tb, b, c.p)
	c.blocks[b.Hash()], c.height[b.Hash()] = b, height
	if _, err := c.node.ProcessBlock(b); err != nil {
		c.tb.Fatalf("ProcessBlock at height %d: %v", height, err)
	}
	return b
}
