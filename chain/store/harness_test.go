package store

import (
	"crypto/ed25519"
	"encoding/binary"
	"errors"
	"math/big"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/powmine/powmine/chain"
	"github.com/powmine/powmine/chain/node"
	"github.com/powmine/powmine/chain/storage"
)

// A minimal copy of chain/node's test harness: easy fixed-difficulty
// params, deterministic keys, blocks mined in a few hashes.

// genesisTime is the timestamp of the test genesis block.
const genesisTime = 1_700_000_000

// easyBits is about one nonce in two.
const easyBits = 0x207fffff

// testKey returns a deterministic key pair for account i.
func testKey(i int) ed25519.PrivateKey {
	var seed [ed25519.SeedSize]byte
	binary.LittleEndian.PutUint64(seed[:], uint64(i)+1)
	return ed25519.NewKeyFromSeed(seed[:])
}

// addr returns account i's address.
func addr(i int) chain.Address {
	return chain.PublicKey(testKey(i).Public().(ed25519.PublicKey)).Address()
}

// signers maps the public keys transfer has used to their private keys,
// so that block builders can sign for their network.
var (
	signersMu sync.Mutex
	signers   = map[chain.PublicKey]ed25519.PrivateKey{}
)

// transfer returns a transfer from account from, not yet signed: next
// signs it for the chain's network, since each test chain has its own
// genesis hash.
func transfer(tb testing.TB, from, to int, amount, fee, seq uint64) chain.Transaction {
	tb.Helper()
	priv := testKey(from)
	pub := chain.PublicKey(priv.Public().(ed25519.PublicKey))
	signersMu.Lock()
	signers[pub] = priv
	signersMu.Unlock()
	return chain.Transaction{Transfer: &chain.Transfer{From: pub, To: addr(to), Amount: amount, Fee: fee, Sequence: seq}}
}

// deposit returns an unsigned deposit by account owner for the
// validator key of account 100+v; next signs it with both keys.
func deposit(tb testing.TB, owner, v int, amount, fee, seq uint64) chain.Transaction {
	tb.Helper()
	priv, vpriv := testKey(owner), testKey(100+v)
	pub, vpub := chain.PublicKey(priv.Public().(ed25519.PublicKey)), chain.PublicKey(vpriv.Public().(ed25519.PublicKey))
	signersMu.Lock()
	signers[pub], signers[vpub] = priv, vpriv
	signersMu.Unlock()
	return chain.Transaction{Deposit: &chain.Deposit{From: pub, Validator: vpub, Amount: amount, Fee: fee, Sequence: seq}}
}

// withdraw returns an unsigned withdraw (an exit) by account owner for
// the validator key of account 100+v.
func withdraw(tb testing.TB, owner, v int, fee, seq uint64) chain.Transaction {
	tb.Helper()
	return partialWithdraw(tb, owner, v, 0, fee, seq)
}

// partialWithdraw returns an unsigned withdraw of amount by account owner
// for the validator key of account 100+v.
func partialWithdraw(tb testing.TB, owner, v int, amount, fee, seq uint64) chain.Transaction {
	tb.Helper()
	d := deposit(tb, owner, v, 0, 0, 0).Deposit
	return chain.Transaction{Withdraw: &chain.Withdraw{From: d.From, Validator: d.Validator, Amount: amount, Fee: fee, Sequence: seq}}
}

// signTxs signs every unsigned transfer, deposit and withdraw of txs for
// network.
func signTxs(tb testing.TB, network chain.Hash, txs []chain.Transaction) {
	tb.Helper()
	signersMu.Lock()
	defer signersMu.Unlock()
	var err error
	for _, tx := range txs {
		switch {
		case tx.Transfer != nil && tx.Transfer.Signature == (chain.Signature{}):
			err = tx.Transfer.Sign(signers[tx.Transfer.From], network)
		case tx.Deposit != nil && tx.Deposit.Signature == (chain.Signature{}):
			err = tx.Deposit.Sign(signers[tx.Deposit.From], signers[tx.Deposit.Validator], network)
		case tx.Withdraw != nil && tx.Withdraw.Signature == (chain.Signature{}):
			err = tx.Withdraw.Sign(signers[tx.Withdraw.From], network)
		}
		if err != nil {
			tb.Fatal(err)
		}
	}
}

// seal sets the merkle root and finds a nonce meeting the header's bits.
func seal(tb testing.TB, b *chain.Block, p *chain.Params) *chain.Block {
	tb.Helper()
	b.Header.MerkleRoot, _ = b.MerkleRoot()
	for nonce := uint32(0); ; nonce++ {
		b.Header.Nonce = nonce
		if chain.CheckProofOfWork(b.Header.Hash(), b.Header.Bits, p.PowLimit) == nil {
			return b
		}
		if nonce == 1<<20 {
			tb.Fatalf("no nonce for bits %08x", b.Header.Bits)
		}
	}
}

// testChain builds blocks on test params.
type testChain struct {
	tb      testing.TB
	p       *chain.Params
	genesis *chain.Block
	height  map[chain.Hash]int64
}

// newTestChain returns params named name whose genesis gives accounts
// 0..funded-1 1,000 coins each; salt changes the genesis (another network).
func newTestChain(tb testing.TB, name string, funded int) *testChain {
	tb.Helper()
	p := chain.MainNetParams
	p.Name = name
	p.PowLimit = new(big.Int).Sub(new(big.Int).Lsh(big.NewInt(1), 255), big.NewInt(1))
	p.PowLimitBits = easyBits
	p.NoRetargeting = true
	p.EpochLength = 5
	p.MinDeposit = 10 * chain.BaseUnitsPerCoin
	p.MaxValidators = 8
	p.WithdrawDelayEpochs = 1
	p.MaxVotesPerBlock = 50
	p.MaxSlashesPerBlock = 4
	p.VoteReward = chain.BaseUnitsPerCoin / 100
	p.SlashReporterShareDenom = 16
	outs := make([]chain.Output, funded)
	for i := range outs {
		outs[i] = chain.Output{Address: addr(i), Amount: 1000 * chain.BaseUnitsPerCoin}
	}
	g := &chain.Block{
		Header: chain.Header{Version: 1, Timestamp: genesisTime, Bits: easyBits},
		Transactions: []chain.Transaction{{Coinbase: &chain.Coinbase{
			Height: 0, Extranonce: []byte(name), Outputs: outs,
		}}},
	}
	seal(tb, g, &p)
	p.GenesisHeader = g.Header
	p.GenesisHash = g.Hash()
	p.GenesisBlock = g
	return &testChain{tb: tb, p: &p, genesis: g, height: map[chain.Hash]int64{g.Hash(): 0}}
}

// next builds a child of parent paying subsidy, fees and extra to miner.
func (c *testChain) next(parent *chain.Block, miner int, extra uint64, txs ...chain.Transaction) *chain.Block {
	c.tb.Helper()
	height := c.height[parent.Hash()] + 1
	signTxs(c.tb, c.p.GenesisHash, txs)
	var fees uint64
	for _, tx := range txs {
		d, _ := tx.Debit()
		fees += d.Fee
	}
	b := &chain.Block{
		Header: chain.Header{Version: 1, PrevBlock: parent.Hash(), Timestamp: parent.Header.Timestamp + 1, Bits: easyBits},
		Transactions: append([]chain.Transaction{{Coinbase: &chain.Coinbase{
			Height: uint32(height), Extranonce: []byte{byte(miner)},
			Outputs: []chain.Output{{Address: addr(miner), Amount: chain.CalcBlockSubsidy(height, c.p) + fees + extra}},
		}}}, txs...),
	}
	seal(c.tb, b, c.p)
	c.height[b.Hash()] = height
	return b
}

// config returns a node configuration on st with a clock well after
// the test blocks.
func (c *testChain) config(st node.Store) node.Config {
	return node.Config{Params: c.p, Genesis: c.genesis, Store: st,
		Now: func() time.Time { return time.Unix(genesisTime+10_000_000, 0) }}
}

// scenario is a chain history with a reorg, an equal-work side branch
// and invalid blocks. Blocks lists every block in the order processed.
type scenario struct {
	blocks []*chain.Block
	addrs  []chain.Address
}

// buildScenario builds the blocks:
//
//	g - a1 - a2 - a3 - a4'          (a4' ties b4: the first seen stays)
//	  \ b1 - b2 - b3 - b4 - bad - child-of-bad
//	                      \ overpay
func (c *testChain) buildScenario() *scenario {
	c.tb.Helper()
	g := c.genesis
	a1 := c.next(g, 10, 0, transfer(c.tb, 0, 1, 5, 1, 0))
	a2 := c.next(a1, 10, 0, transfer(c.tb, 1, 2, 7, 2, 0), transfer(c.tb, 0, 4, 3, 0, 1))
	a3 := c.next(a2, 10, 0)
	b1 := c.next(g, 11, 0)
	b2 := c.next(b1, 11, 0, transfer(c.tb, 0, 3, 9, 1, 0))
	b3 := c.next(b2, 11, 0, transfer(c.tb, 3, 0, 2, 0, 0))
	b4 := c.next(b3, 11, 0)
	a4 := c.next(a3, 10, 0)
	bad := c.next(b4, 12, 0, transfer(c.tb, 2, 1, 1, 0, 5)) // wrong sequence
	child := c.next(bad, 12, 0)
	overpay := c.next(b4, 13, 1)
	s := &scenario{blocks: []*chain.Block{a1, a2, a3, b1, b2, b3, b4, a4, bad, child, overpay}}
	for _, i := range []int{0, 1, 2, 3, 4, 10, 11, 12, 13} {
		s.addrs = append(s.addrs, addr(i))
	}
	return s
}

// run processes the scenario's blocks; rule errors are expected for the
// invalid ones and ignored, others fail the test.
func (s *scenario) run(tb testing.TB, n *node.Node) {
	tb.Helper()
	for _, b := range s.blocks {
		if _, err := n.ProcessBlock(b); err != nil {
			var rerr chain.RuleError
			if !errors.As(err, &rerr) {
				tb.Fatalf("ProcessBlock(%v): %v", b.Hash(), err)
			}
		}
	}
}

// wantSameNode fails unless got has want's tip, index (for blocks, and
// for headers without bodies unless bodiesOnly) and accounts.
func wantSameNode(tb testing.TB, want, got *node.Node, c *testChain, s *scenario, bodiesOnly bool) {
	tb.Helper()
	if w, g := want.Tip(), got.Tip(); w.Hash != g.Hash || w.Height != g.Height || w.Work.Cmp(g.Work) != 0 {
		tb.Fatalf("tip %v at %d, want %v at %d", g.Hash, g.Height, w.Hash, w.Height)
	}
	for _, b := range append([]*chain.Block{c.genesis}, s.blocks...) {
		w, wok := want.BlockInfo(b.Hash())
		g, gok := got.BlockInfo(b.Hash())
		if bodiesOnly && (!wok || w.Status&storage.StatusDataStored == 0) {
			continue
		}
		if wok != gok || (wok && (w.Status != g.Status || w.Height != g.Height || w.Work.Cmp(g.Work) != 0)) {
			tb.Fatalf("block %v: got %+v (known %v), want %+v (known %v)", b.Hash(), g, gok, w, wok)
		}
		if want.MainChainHas(b.Hash()) != got.MainChainHas(b.Hash()) {
			tb.Fatalf("block %v: main chain %v, want %v", b.Hash(), got.MainChainHas(b.Hash()), want.MainChainHas(b.Hash()))
		}
	}
	for _, a := range s.addrs {
		if w, g := want.Account(a), got.Account(a); w != g {
			tb.Fatalf("account %v = %+v, want %+v", a, g, w)
		}
	}
	if w, g := want.Finality(), got.Finality(); w != g {
		tb.Fatalf("finality %+v, want %+v", g, w)
	}
}

// openTemp opens a new store in a temporary directory.
func openTemp(tb testing.TB, c *testChain, opts ...Option) (*DB, string) {
	tb.Helper()
	path := filepath.Join(tb.TempDir(), "chain.db")
	db, err := Open(path, c.p, opts...)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { _ = db.Close() })
	return db, path
}
