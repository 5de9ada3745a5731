package mining

import (
	"crypto/ed25519"
	"encoding/binary"
	"errors"
	"math"
	"math/big"
	"math/rand/v2"
	"sync"
	"testing"
	"time"

	"github.com/powmine/powmine/chain"
	"github.com/powmine/powmine/chain/mempool"
	"github.com/powmine/powmine/chain/node"
	"github.com/powmine/powmine/chain/template"
)

// The node and the pool must satisfy the interfaces.
var (
	_ Chain    = (*node.Node)(nil)
	_ TxSource = (*mempool.Pool)(nil)
)

// key returns a deterministic key pair for account i.
func key(i int) (chain.PublicKey, ed25519.PrivateKey) {
	var seed [ed25519.SeedSize]byte
	binary.LittleEndian.PutUint64(seed[:], uint64(i)+1)
	priv := ed25519.NewKeyFromSeed(seed[:])
	return chain.PublicKey(priv.Public().(ed25519.PublicKey)), priv
}

func addr(i int) chain.Address {
	pub, _ := key(i)
	return pub.Address()
}

func transfer(tb testing.TB, from, to int, amount, fee, seq uint64) *chain.Transaction {
	tb.Helper()
	_, priv := key(from)
	t := &chain.Transfer{To: addr(to), Amount: amount, Fee: fee, Sequence: seq}
	if err := t.Sign(priv, nodeParams().GenesisHash); err != nil {
		tb.Fatal(err)
	}
	return &chain.Transaction{Transfer: t}
}

// nodeParams are easy fixed-difficulty params whose genesis funds
// accounts 0..2; every test shares them, so transfers can be signed for
// their network up front.
var nodeParams = sync.OnceValue(func() *chain.Params {
	p := chain.MainNetParams
	p.Name = "miningtest"
	p.PowLimit = new(big.Int).Sub(new(big.Int).Lsh(big.NewInt(1), 255), big.NewInt(1))
	p.PowLimitBits = 0x207fffff
	p.NoRetargeting = true
	outs := []chain.Output{}
	for i := range 3 {
		outs = append(outs, chain.Output{Address: addr(i), Amount: 1000 * chain.BaseUnitsPerCoin})
	}
	g := &chain.Block{
		Header:       chain.Header{Version: 1, Timestamp: 1_700_000_000, Bits: p.PowLimitBits},
		Transactions: []chain.Transaction{{Coinbase: &chain.Coinbase{Outputs: outs}}},
	}
	g.Header.MerkleRoot, _ = g.MerkleRoot()
	for chain.CheckProofOfWork(g.Hash(), g.Header.Bits, p.PowLimit) != nil {
		g.Header.Nonce++
	}
	p.GenesisHeader, p.GenesisHash, p.GenesisBlock = g.Header, g.Hash(), g
	return &p
})

// newNode starts a node on nodeParams; notify receives its events.
func newNode(tb testing.TB, notify func(node.Event)) (*node.Node, *chain.Params) {
	tb.Helper()
	p := nodeParams()
	n, err := node.New(node.Config{Params: p, Genesis: p.GenesisBlock, Notify: notify,
		Now: func() time.Time { return time.Unix(1_800_000_000, 0) }})
	if err != nil {
		tb.Fatal(err)
	}
	return n, p
}

// solve rolls the nonce (and the extranonce's first byte when the nonce
// space runs out, which it never does on easy params) until the block
// meets its target.
func solve(tb testing.TB, t *template.Template, p *chain.Params, extranonce []byte) *chain.Block {
	tb.Helper()
	for nonce := uint32(0); nonce < 1<<20; nonce++ {
		b, err := t.Block(extranonce, t.Header.Timestamp, nonce)
		if err != nil {
			tb.Fatal(err)
		}
		if chain.CheckProofOfWork(b.Hash(), b.Header.Bits, p.PowLimit) == nil {
			return b
		}
	}
	tb.Fatal("no nonce found")
	return nil
}

// TestTemplateMinedByNode mines template blocks carrying pool transfers
// and checks the node accepts them and pays the fees to the payouts.
func TestTemplateMinedByNode(t *testing.T) {
	var pool *mempool.Pool
	n, p := newNode(t, func(e node.Event) { pool.HandleEvent(e) })
	pool, err := mempool.New(mempool.Config{Params: p, Chain: n})
	if err != nil {
		t.Fatal(err)
	}
	txs := []*chain.Transaction{
		transfer(t, 0, 1, 5_000, 2_000, 0),
		transfer(t, 0, 2, 7_000, 9_000, 1),
		transfer(t, 1, 0, 1_000, 3_000, 0),
	}
	for _, tx := range txs {
		if err := pool.Accept(tx); err != nil {
			t.Fatal(err)
		}
	}
	builder := &Builder{Params: p, Chain: n, Txs: pool}
	payouts := []template.Payout{{Address: addr(7), Weight: 3}, {Address: addr(8), Weight: 1}}
	now := time.Unix(1_700_000_100, 0)
	for height := int64(1); height <= 2; height++ {
		tmpl, err := builder.NewTemplate(payouts, now)
		if err != nil {
			t.Fatal(err)
		}
		if tmpl.Height != height || tmpl.Header.PrevBlock != n.Tip().Hash {
			t.Fatalf("template at height %d on %v, tip %+v", tmpl.Height, tmpl.Header.PrevBlock, n.Tip())
		}
		b := solve(t, tmpl, p, []byte{1, 2, 3, 4, 5, 6, 7, 8})
		if _, err := n.ProcessBlock(b); err != nil {
			t.Fatalf("node rejects the template block at height %d: %v", height, err)
		}
	}
	if pool.Info().Count != 0 {
		t.Fatalf("transfers left in the pool: %d", pool.Info().Count)
	}
	subsidy := chain.CalcBlockSubsidy(1, p)
	reward := 2*subsidy + 2_000 + 9_000 + 3_000
	// Block 1 carries all three transfers, block 2 none; account 8 has
	// one part in four of each reward, rounded down.
	got7, got8 := n.Account(addr(7)).Balance, n.Account(addr(8)).Balance
	if got7+got8 != reward || got8 != (subsidy+14_000)/4+subsidy/4 {
		t.Fatalf("payouts got %d and %d, want %d in all and %d for the second", got7, got8, reward, (subsidy+14_000)/4+subsidy/4)
	}
	if acc := n.Account(addr(0)); acc.Sequence != 2 {
		t.Fatalf("sender 0 at sequence %d, want 2", acc.Sequence)
	}
}

// fakeChain gives every address a large balance and sequence 0 unless
// set otherwise, at a fixed tip.
type fakeChain struct {
	ctx      chain.HeaderContext
	accounts map[chain.Address]chain.Account
}

func (c *fakeChain) NextHeaderContext() chain.HeaderContext { return c.ctx }
func (c *fakeChain) Account(a chain.Address) chain.Account {
	if acc, ok := c.accounts[a]; ok {
		return acc
	}
	return chain.Account{Balance: 1 << 40}
}

// sliceSource is a TxSource over a fixed list.
type sliceSource []chain.Transaction

func (s sliceSource) Transactions(max int) []chain.Transaction { return s[:min(max, len(s))] }

// unsigned returns n transfers from distinct senders (unsigned: templates
// do not verify signatures), fee i+1 each.
func unsigned(n int) sliceSource {
	out := make(sliceSource, n)
	for i := range out {
		var t chain.Transfer
		binary.LittleEndian.PutUint64(t.From[:], uint64(i))
		t.Fee = uint64(i + 1)
		out[i] = chain.Transaction{Transfer: &t}
	}
	return out
}

func newFake() *fakeChain {
	return &fakeChain{
		ctx:      chain.HeaderContext{PrevHash: chain.Hash{9}, PrevHeight: 99, PrevBits: 0x207fffff, PrevTime: 5000, MedianTime: 4000},
		accounts: map[chain.Address]chain.Account{},
	}
}

func fakeParams() *chain.Params {
	p := chain.MainNetParams
	p.NoRetargeting = true
	return &p
}

func TestTemplateLimits(t *testing.T) {
	src := unsigned(chain.MaxTxPerBlock + 10)
	payouts := []template.Payout{{Weight: 1}}
	tests := []struct {
		name    string
		b       Builder
		wantTxs int
	}{
		{"MaxBlockSize", Builder{}, (chain.MaxBlockSize - chain.HeaderSize - 2 - (2 + 4 + 1 + 8 + 1 + 28)) / chain.TransferSize},
		{"MaxTxs", Builder{MaxTxs: 5}, 4},
		{"small size", Builder{MaxBlockSize: 1000}, (1000 - chain.HeaderSize - 1 - (2 + 4 + 1 + 8 + 1 + 28)) / chain.TransferSize},
		{"no room", Builder{MaxTxs: 1}, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			b := tc.b
			b.Params, b.Chain, b.Txs = fakeParams(), newFake(), src
			tmpl, err := b.NewTemplate(payouts, time.Unix(0, 0))
			if err != nil {
				t.Fatal(err)
			}
			blk, err := tmpl.Block(make([]byte, tmpl.ExtranonceSize), tmpl.MinTimestamp, 0)
			if err != nil {
				t.Fatal(err)
			}
			maxSize, maxTxs := b.MaxBlockSize, b.MaxTxs
			if maxSize == 0 {
				maxSize = chain.MaxBlockSize
			}
			if maxTxs == 0 {
				maxTxs = chain.MaxTxPerBlock
			}
			if got := len(blk.Transactions) - 1; got != tc.wantTxs {
				t.Fatalf("%d transfers, want %d", got, tc.wantTxs)
			}
			if blk.SerializeSize() > maxSize || len(blk.Transactions) > maxTxs {
				t.Fatalf("block of %d bytes and %d transactions, limits %d and %d",
					blk.SerializeSize(), len(blk.Transactions), maxSize, maxTxs)
			}
			if err := chain.CheckBlockSanity(blk, b.Params, chain.BFNoPoWCheck); err != nil && tc.wantTxs == 0 {
				t.Fatalf("coinbase-only template fails sanity: %v", err)
			}
		})
	}
}

func TestTemplateSkipsInvalid(t *testing.T) {
	c := newFake()
	txs := unsigned(4)
	// Sender 1 is at sequence 1: its transfer is stale. Sender 2 cannot
	// pay its second transfer; its third follows a skipped one.
	c.accounts[txs[1].Transfer.From.Address()] = chain.Account{Balance: 1 << 40, Sequence: 1}
	s2 := txs[2].Transfer
	c.accounts[s2.From.Address()] = chain.Account{Balance: 10}
	second := *s2
	second.Sequence, second.Amount, second.Fee = 1, 100, 1
	third := *s2
	third.Sequence, third.Fee = 2, 1
	src := append(txs, chain.Transaction{Transfer: &second}, chain.Transaction{Transfer: &third})
	b := &Builder{Params: fakeParams(), Chain: c, Txs: src}
	tmpl, err := b.NewTemplate([]template.Payout{{Weight: 1}}, time.Unix(0, 0))
	if err != nil {
		t.Fatal(err)
	}
	var got []chain.Hash
	for _, tx := range tmpl.Transactions[1:] {
		got = append(got, tx.TxID())
	}
	want := []chain.Hash{txs[0].TxID(), txs[2].TxID(), txs[3].TxID()}
	if len(got) != len(want) || got[0] != want[0] || got[1] != want[1] || got[2] != want[2] {
		t.Fatalf("selected %v, want %v", got, want)
	}
	if tmpl.Fees != 1+3+4 {
		t.Fatalf("fees %d, want 8", tmpl.Fees)
	}
}

func TestSplitReward(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for range 1000 {
		n := 1 + rng.IntN(20)
		payouts := make([]template.Payout, n)
		var total uint64
		for i := range payouts {
			payouts[i].Weight = 1 + rng.Uint64N(math.MaxUint64/uint64(n))
			total += payouts[i].Weight
		}
		reward := rng.Uint64()
		amounts := splitReward(reward, payouts)
		var sum uint64
		for i, a := range amounts {
			sum += a
			// floor(reward*w/total), the first also gets the remainder (< n).
			want := new(big.Int).Mul(new(big.Int).SetUint64(reward), new(big.Int).SetUint64(payouts[i].Weight))
			want.Div(want, new(big.Int).SetUint64(total))
			if i > 0 && a != want.Uint64() || i == 0 && (a < want.Uint64() || a-want.Uint64() >= uint64(n)) {
				t.Fatalf("payout %d of %d: %d, proportional share %v", i, n, a, want)
			}
		}
		if sum != reward {
			t.Fatalf("payouts sum to %d, reward %d", sum, reward)
		}
	}
	if got := splitReward(10, []template.Payout{{Weight: 1}, {Weight: 1}, {Weight: 1}}); got[0] != 4 || got[1] != 3 || got[2] != 3 {
		t.Fatalf("10 in three: %v", got)
	}
}

func TestTemplateTimestamp(t *testing.T) {
	c := newFake()
	b := &Builder{Params: fakeParams(), Chain: c}
	for _, now := range []int64{0, 3999, 4000, 4001, 9000} {
		tmpl, err := b.NewTemplate([]template.Payout{{Weight: 1}}, time.Unix(now, 0))
		if err != nil {
			t.Fatal(err)
		}
		want := max(now, 4001)
		if int64(tmpl.Header.Timestamp) != want || tmpl.MinTimestamp != 4001 {
			t.Fatalf("now %d: timestamp %d (min %d), want %d", now, tmpl.Header.Timestamp, tmpl.MinTimestamp, want)
		}
		hc := c.ctx
		if err := chain.CheckHeaderContext(&tmpl.Header, b.Params, &hc, time.Unix(9000, 0)); err != nil {
			t.Fatalf("now %d: %v", now, err)
		}
		if _, err := tmpl.Block(make([]byte, tmpl.ExtranonceSize), 4000, 0); !errors.Is(err, template.ErrTimeTooOld) {
			t.Fatalf("timestamp at the median time: %v", err)
		}
	}
	if _, err := b.NewTemplate([]template.Payout{{Weight: 1}}, time.Unix(1<<33, 0)); !errors.Is(err, ErrTimeRange) {
		t.Fatalf("timestamp beyond uint32: %v", err)
	}
}

// TestBuilderExtranonceSize builds a template with a 12-byte extranonce
// and six transfers: the template carries them, and its blocks have the
// merkle root of their transactions.
func TestBuilderExtranonceSize(t *testing.T) {
	b := &Builder{Params: fakeParams(), Chain: newFake(), Txs: unsigned(6), ExtranonceSize: 12}
	tmpl, err := b.NewTemplate([]template.Payout{{Weight: 1}}, time.Unix(0, 0))
	if err != nil {
		t.Fatal(err)
	}
	if tmpl.ExtranonceSize != 12 || len(tmpl.Transactions) != 7 || tmpl.Height != 100 {
		t.Fatalf("extranonce %d bytes, %d transactions, height %d; want 12, 7, 100",
			tmpl.ExtranonceSize, len(tmpl.Transactions), tmpl.Height)
	}
	blk, err := tmpl.Block(make([]byte, 12), tmpl.MinTimestamp, 0)
	if err != nil {
		t.Fatal(err)
	}
	if full, mutated := blk.MerkleRoot(); mutated || full != tmpl.Header.MerkleRoot || blk.Header.MerkleRoot != full {
		t.Fatalf("header root %v, full recomputation %v", tmpl.Header.MerkleRoot, full)
	}
}

func TestBadConfig(t *testing.T) {
	ok := Builder{Params: fakeParams(), Chain: newFake()}
	tests := []struct {
		name    string
		mod     func(*Builder)
		payouts []template.Payout
	}{
		{"no params", func(b *Builder) { b.Params = nil }, []template.Payout{{Weight: 1}}},
		{"no chain", func(b *Builder) { b.Chain = nil }, []template.Payout{{Weight: 1}}},
		{"extranonce too long", func(b *Builder) { b.ExtranonceSize = chain.MaxExtranonceSize + 1 }, []template.Payout{{Weight: 1}}},
		{"negative size", func(b *Builder) { b.MaxBlockSize = -1 }, []template.Payout{{Weight: 1}}},
		{"no payouts", func(*Builder) {}, nil},
		{"zero weight", func(*Builder) {}, []template.Payout{{Weight: 1}, {Weight: 0}}},
		{"weights overflow", func(*Builder) {}, []template.Payout{{Weight: math.MaxUint64}, {Weight: 1}}},
		{"too many payouts", func(*Builder) {}, make([]template.Payout, chain.MaxCoinbaseOutputs+1)},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			b := ok
			tc.mod(&b)
			if _, err := b.NewTemplate(tc.payouts, time.Unix(0, 0)); !errors.Is(err, ErrBadConfig) {
				t.Fatalf("got %v, want ErrBadConfig", err)
			}
		})
	}
}
