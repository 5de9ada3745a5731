package node

import (
	"bytes"
	"crypto/ed25519"
	"encoding/binary"
	"errors"
	"maps"
	"math/big"
	"sync"
	"testing"
	"time"

	"github.com/powmine/powmine/chain"
	"github.com/powmine/powmine/chain/storage"
)

// genesisTime is the timestamp of the test genesis block.
const genesisTime = 1_700_000_000

// easyBits is the easiest target below the test PowLimit: about one
// nonce in two meets it.
const easyBits = 0x207fffff

// testKey returns a deterministic key pair for account i.
func testKey(i int) (chain.PublicKey, ed25519.PrivateKey) {
	var seed [ed25519.SeedSize]byte
	binary.LittleEndian.PutUint64(seed[:], uint64(i)+1)
	priv := ed25519.NewKeyFromSeed(seed[:])
	return chain.PublicKey(priv.Public().(ed25519.PublicKey)), priv
}

var addrCache = map[int]chain.Address{}

// addr returns account i's address.
func addr(i int) chain.Address {
	if a, ok := addrCache[i]; ok {
		return a
	}
	pub, _ := testKey(i)
	addrCache[i] = pub.Address()
	return addrCache[i]
}

// signers maps the public keys transfer has used to their private keys,
// so that block builders can sign for their network.
var (
	signersMu sync.Mutex
	signers   = map[chain.PublicKey]ed25519.PrivateKey{}
)

// transfer returns a transfer from account from, not yet signed: the
// harness signs it for its network when it builds a block (signBlockTxs),
// since every harness has its own genesis hash.
func transfer(tb testing.TB, from, to int, amount, fee, seq uint64) chain.Transaction {
	tb.Helper()
	pub, priv := testKey(from)
	signersMu.Lock()
	signers[pub] = priv
	signersMu.Unlock()
	return chain.Transaction{Transfer: &chain.Transfer{From: pub, To: addr(to), Amount: amount, Fee: fee, Sequence: seq}}
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

// mine finds a nonce meeting the header's own bits.
func mine(tb testing.TB, h *chain.Header, p *chain.Params) {
	tb.Helper()
	for nonce := uint32(0); ; nonce++ {
		h.Nonce = nonce
		if chain.CheckProofOfWork(h.Hash(), h.Bits, p.PowLimit) == nil {
			return
		}
		if nonce == 1<<20 {
			tb.Fatalf("no nonce for bits %08x", h.Bits)
		}
	}
}

// seal sets the merkle root and mines the header.
func seal(tb testing.TB, b *chain.Block, p *chain.Params) *chain.Block {
	tb.Helper()
	b.Header.MerkleRoot, _ = b.MerkleRoot()
	mine(tb, &b.Header, p)
	return b
}

// genesisAlloc is the initial allocation: accounts 0..3 get 1,000 coins.
func genesisAlloc(n int) []chain.Output {
	outs := make([]chain.Output, n)
	for i := range outs {
		outs[i] = chain.Output{Address: addr(i), Amount: 1000 * chain.BaseUnitsPerCoin}
	}
	return outs
}

// testParams returns fast regression-style params with a genesis block
// paying genesisAlloc(funded); retarget selects 4-block difficulty
// periods of 40 seconds (and a lower PowLimit) instead of fixed
// difficulty.
func testParams(tb testing.TB, funded int, retarget bool) (*chain.Params, *chain.Block) {
	p := chain.MainNetParams
	p.Name = "nodetest"
	p.PowLimit = new(big.Int).Sub(new(big.Int).Lsh(big.NewInt(1), 255), big.NewInt(1))
	p.PowLimitBits = easyBits
	p.NoRetargeting = !retarget
	// Stake: epochs of 5 blocks, 3 validators at most, unlock one epoch
	// after exit.
	p.EpochLength = 5
	p.MinDeposit = 10 * chain.BaseUnitsPerCoin
	p.MaxValidators = 3
	p.WithdrawDelayEpochs = 1
	p.MaxVotesPerBlock = 50
	p.MaxSlashesPerBlock = 4
	p.VoteReward = chain.BaseUnitsPerCoin / 100
	p.SlashReporterShareDenom = 16
	if retarget {
		// RetargetBits multiplies the target by the clamped span (at most
		// 160 s) before dividing, modulo 2^256 as Core's arith_uint256
		// does: the limit must stay below 2^256/160 not to wrap.
		p.PowLimit = new(big.Int).Sub(new(big.Int).Lsh(big.NewInt(1), 248), big.NewInt(1))
		p.PowLimitBits = chain.BigToCompact(p.PowLimit)
		p.TargetSpacing = 10 * time.Second
		p.RetargetInterval = 4
		p.TargetTimespan = 4 * p.TargetSpacing
	}
	g := &chain.Block{
		Header: chain.Header{Version: 1, Timestamp: genesisTime, Bits: p.PowLimitBits},
		Transactions: []chain.Transaction{{Coinbase: &chain.Coinbase{
			Height: 0, Outputs: genesisAlloc(funded),
		}}},
	}
	seal(tb, g, &p)
	p.GenesisHeader = g.Header
	p.GenesisHash = g.Hash()
	return &p, g
}

// harness drives a Node on test params and remembers every block built.
type harness struct {
	tb      testing.TB
	p       *chain.Params
	genesis *chain.Block
	store   *MemStore
	node    *Node
	blocks  map[chain.Hash]*chain.Block
	events  []Event
	now     time.Time
}

// newHarness starts a node; cfg's Params, Genesis, Store, Now and Notify
// are filled in.
func newHarness(tb testing.TB, retarget bool, cfg Config) *harness {
	tb.Helper()
	return newHarnessFunded(tb, 4, retarget, cfg)
}

// newHarnessFunded is newHarness with the first funded accounts funded.
func newHarnessFunded(tb testing.TB, funded int, retarget bool, cfg Config) *harness {
	tb.Helper()
	p, g := testParams(tb, funded, retarget)
	h := &harness{tb: tb, p: p, genesis: g, store: NewMemStore(), blocks: map[chain.Hash]*chain.Block{g.Hash(): g},
		now: time.Unix(genesisTime+10_000_000, 0)}
	cfg.Params, cfg.Genesis, cfg.Store = p, g, h.store
	cfg.Now = func() time.Time { return h.now }
	cfg.Notify = func(e Event) { h.events = append(h.events, e) }
	n, err := New(cfg)
	if err != nil {
		tb.Fatal(err)
	}
	h.node = n
	return h
}

// ctxOf returns the header context of a child of parent, from the blocks
// built so far.
func (h *harness) ctxOf(parent *chain.Block) chain.HeaderContext {
	var chainBack []*chain.Block // parent first
	for b := parent; ; {
		chainBack = append(chainBack, b)
		if b.Header.PrevBlock == (chain.Hash{}) {
			break
		}
		b = h.blocks[b.Header.PrevBlock]
	}
	height := int64(len(chainBack) - 1)
	c := chain.HeaderContext{PrevHash: parent.Hash(), PrevHeight: height, PrevBits: parent.Header.Bits,
		PrevTime: int64(parent.Header.Timestamp)}
	if next := height + 1; !h.p.NoRetargeting && next%h.p.RetargetInterval == 0 {
		c.PeriodStartTime = int64(chainBack[next-1-(next-h.p.RetargetInterval)].Header.Timestamp)
	}
	var ts []int64
	for i := 0; i < len(chainBack) && i < h.p.MedianTimeBlocks; i++ {
		ts = append(ts, int64(chainBack[i].Header.Timestamp))
	}
	c.MedianTime = chain.MedianTimePast(ts)
	return c
}

// next builds and mines a child of parent: its timestamp dt seconds
// later, its coinbase paying subsidy plus fees plus extra to account
// miner (extra lets a test overpay).
func (h *harness) nextExtra(parent *chain.Block, miner int, dt uint32, extra uint64, txs ...chain.Transaction) *chain.Block {
	h.tb.Helper()
	ctx := h.ctxOf(parent)
	height := ctx.PrevHeight + 1
	var fees uint64
	for _, tx := range txs {
		d, _ := tx.Debit()
		fees += d.Fee
	}
	value := chain.CalcBlockSubsidy(height, h.p) + fees + extra
	signTxs(h.tb, h.p.GenesisHash, txs)
	b := &chain.Block{
		Header: chain.Header{Version: 1, PrevBlock: parent.Hash(), Timestamp: parent.Header.Timestamp + dt,
			Bits: ctx.NextBits(h.p)},
		Transactions: append([]chain.Transaction{{Coinbase: &chain.Coinbase{
			Height: uint32(height), Extranonce: []byte{byte(miner)},
			Outputs: []chain.Output{{Address: addr(miner), Amount: value}},
		}}}, txs...),
	}
	seal(h.tb, b, h.p)
	h.blocks[b.Hash()] = b
	return b
}

// next is nextExtra with dt 1 and no extra.
func (h *harness) next(parent *chain.Block, miner int, txs ...chain.Transaction) *chain.Block {
	h.tb.Helper()
	return h.nextExtra(parent, miner, 1, 0, txs...)
}

// branch builds n empty blocks on parent, mined by miner, dt seconds apart.
func (h *harness) branch(parent *chain.Block, n, miner int, dt uint32) []*chain.Block {
	h.tb.Helper()
	out := make([]*chain.Block, n)
	for i := range out {
		parent = h.nextExtra(parent, miner, dt, 0)
		out[i] = parent
	}
	return out
}

// process runs ProcessBlock and checks the invariants afterwards.
func (h *harness) process(b *chain.Block) (Result, error) {
	h.tb.Helper()
	res, err := h.node.ProcessBlock(b)
	h.checkInvariants()
	return res, err
}

// mustProcess processes blocks and fails the test on any error.
func (h *harness) mustProcess(blocks ...*chain.Block) Result {
	h.tb.Helper()
	var res Result
	for _, b := range blocks {
		var err error
		if res, err = h.process(b); err != nil {
			h.tb.Fatalf("ProcessBlock(%v): %v", b.Hash(), err)
		}
	}
	return res
}

// wantTip fails unless the tip is b.
func (h *harness) wantTip(b *chain.Block) {
	h.tb.Helper()
	if got := h.node.Tip(); got.Hash != b.Hash() {
		h.tb.Fatalf("tip %v at height %d, want %v", got.Hash, got.Height, b.Hash())
	}
}

// wantCode fails unless err holds a chain.RuleError with code.
func wantCode(tb testing.TB, err error, code chain.ErrorCode) {
	tb.Helper()
	var rerr chain.RuleError
	if !errors.As(err, &rerr) {
		tb.Fatalf("got error %v, want a RuleError %v", err, code)
	}
	if rerr.Code != code {
		tb.Fatalf("got %v (%v), want %v", rerr.Code, err, code)
	}
}

// wantStatus fails unless the block's status is exactly s.
func (h *harness) wantStatus(b *chain.Block, s storage.BlockStatus) {
	h.tb.Helper()
	info, ok := h.node.BlockInfo(b.Hash())
	if !ok {
		h.tb.Fatalf("block %v not in the index", b.Hash())
	}
	if info.Status != s {
		h.tb.Fatalf("block %v status %04b, want %04b", b.Hash(), info.Status, s)
	}
}

// checkInvariants checks, after every ProcessBlock:
//   - the account state equals a fresh replay of the best chain from
//     genesis, and the store's accounts and tip equal the node's;
//   - the sum of balances and stakes is the sum of the coinbase outputs of the best
//     chain minus the fees its transfers burned from their senders (the
//     coinbases claim those fees back);
//   - the chain view, undo records and candidates are consistent.
func (h *harness) checkInvariants() {
	h.tb.Helper()
	n := h.node
	n.mu.Lock()
	defer n.mu.Unlock()
	replay := make(map[chain.Address]chain.Account)
	replayVals := make(map[chain.PublicKey]chain.Validator)
	replayFin := make(map[string][]byte)
	var minted, fees, issued, burned uint64
	for height := int64(0); height < int64(len(n.view.nodes)); height++ {
		node := n.view.nodes[height]
		if node.height != height || (height > 0 && node.parent != n.view.nodes[height-1]) {
			h.tb.Fatalf("chain view broken at height %d", height)
		}
		if node.status&storage.StatusValid == 0 || node.status.KnownInvalid() {
			h.tb.Fatalf("block %v on the best chain has status %04b", node.hash, node.status)
		}
		if _, err := h.store.Undo(node.hash); err != nil {
			h.tb.Fatalf("block %v on the best chain: %v", node.hash, err)
		}
		b := h.blocks[node.hash]
		fc := &finalityCtx{records: replayFin, genesis: h.p.GenesisHash,
			checkpoint: func(e uint64) chain.Hash { return n.view.nodes[int64(e)*h.p.EpochLength].hash }}
		d, err := connectDelta(replay, replayVals, fc, b, height, h.p, height > 0)
		if err != nil {
			h.tb.Fatalf("replay of block %v at height %d: %v", node.hash, height, err)
		}
		applyEntries(replay, d.entries())
		applyValidators(replayVals, d.validatorEntries())
		applyFinality(replayFin, d.finalityEntries())
		issued += d.issued
		burned += d.burned
		for _, out := range b.Transactions[0].Coinbase.Outputs {
			minted += out.Amount
		}
		for _, tx := range b.Transactions[1:] {
			d, _ := tx.Debit()
			fees += d.Fee
		}
	}
	if !maps.Equal(replayVals, n.validators) {
		h.tb.Fatalf("validators %+v, replay says %+v", n.validators, replayVals)
	}
	var sum uint64
	for _, v := range n.validators {
		sum += v.Stake
	}
	for a, acc := range n.accounts {
		sum += acc.Balance
		if replay[a] != acc {
			h.tb.Fatalf("account %v is %+v, replay says %+v", a, acc, replay[a])
		}
	}
	if len(replay) != len(n.accounts) {
		h.tb.Fatalf("%d accounts, replay has %d", len(n.accounts), len(replay))
	}
	snap, _ := h.store.Load()
	if sum != minted-fees+issued-burned {
		h.tb.Fatalf("balances and stakes sum to %d, coinbases minted %d, transfers burned %d fees, finality issued %d and burned %d",
			sum, minted, fees, issued, burned)
	}
	if !maps.EqualFunc(replayFin, n.finality, bytes.Equal) {
		h.tb.Fatalf("finality records %d, replay has %d", len(n.finality), len(replayFin))
	}
	storedFin := make(map[string][]byte)
	applyFinality(storedFin, snap.Finality)
	if !maps.EqualFunc(storedFin, n.finality, bytes.Equal) {
		h.tb.Fatalf("store has %d finality records, node %d", len(storedFin), len(n.finality))
	}
	if snap.Tip != n.view.tip().hash {
		h.tb.Fatalf("store tip %v, node tip %v", snap.Tip, n.view.tip().hash)
	}
	if len(snap.Accounts) != len(n.accounts) {
		h.tb.Fatalf("store has %d accounts, node %d", len(snap.Accounts), len(n.accounts))
	}
	for _, e := range snap.Accounts {
		if n.accounts[e.Address] != e.Account {
			h.tb.Fatalf("store account %v = %+v, node %+v", e.Address, e.Account, n.accounts[e.Address])
		}
	}
	stored := make(map[chain.PublicKey]chain.Validator)
	applyValidators(stored, snap.Validators)
	if len(snap.Validators) != len(stored) || !maps.Equal(stored, n.validators) {
		h.tb.Fatalf("store validators %+v, node %+v", snap.Validators, n.validators)
	}
	for c := range n.candidates {
		if c.status.KnownInvalid() || c.status&storage.StatusDataStored == 0 {
			h.tb.Fatalf("candidate %v has status %04b", c.hash, c.status)
		}
	}
}
