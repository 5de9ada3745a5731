package p2p

import (
	"crypto/ed25519"
	"encoding/binary"
	"errors"
	"math/big"
	"testing"
	"time"

	"github.com/powmine/powmine/chain"
	"github.com/powmine/powmine/chain/node"
	"github.com/powmine/powmine/chain/pos"
	"github.com/powmine/powmine/chain/storage"
)

// The proof-of-stake sync tests run real chain/node nodes behind real
// p2p nodes on 127.0.0.1: slots of a second, epochs of two slots, the
// genesis validator V0 (posKey(0)), and a clock fixed at slot
// posClockSlot, so that every block of the tests has its slot started.

const (
	posGenesisTime = 1_800_000_000
	posClockSlot   = 1000
)

// posKey returns validator i's key.
func posKey(i int) ed25519.PrivateKey {
	var seed [ed25519.SeedSize]byte
	binary.LittleEndian.PutUint64(seed[:], uint64(i)+7700)
	return ed25519.NewKeyFromSeed(seed[:])
}

// posPub returns validator i's public key.
func posPub(i int) chain.PublicKey {
	return chain.PublicKey(posKey(i).Public().(ed25519.PublicKey))
}

// posNet is the chain of a proof-of-stake sync test.
type posNet struct {
	t *testing.T
	p *chain.Params
	g *chain.Block
}

func newPosNet(t *testing.T) *posNet {
	t.Helper()
	g := chain.DevPoSGenesisTemplate(posGenesisTime, posPub(0))
	p, err := chain.DevPoSParamsFor(g)
	if err != nil {
		t.Fatal(err)
	}
	p.SlotDuration = time.Second
	p.EpochLength = 2
	return &posNet{t: t, p: &p, g: g}
}

// posPeer is a chain/node node of the test chain with its p2p node.
type posPeer struct {
	*Node
	chain *node.Node
}

// peer returns a node of the chain holding only genesis, with its p2p
// node listening on 127.0.0.1.
func (c *posNet) peer() *posPeer {
	c.t.Helper()
	clock := pos.SlotStart(time.Unix(posGenesisTime, 0), c.p.SlotDuration, posClockSlot)
	n, err := node.New(node.Config{Params: c.p, Genesis: c.g, Store: node.NewMemStore(), Now: func() time.Time { return clock }})
	if err != nil {
		c.t.Fatal(err)
	}
	nc := nodeChain{n}
	pn, err := New(Config{Params: c.p, Chain: nc, Mempool: nc, Listen: loopback(c.t), MaxInvalid: 3, SyncTimeout: time.Second})
	if err != nil {
		c.t.Fatal(err)
	}
	c.t.Cleanup(func() { pn.Close() })
	return &posPeer{Node: pn, chain: n}
}

// block returns a block on parent (at height) for slot, holding txs
// after its coinbase, sealed by validator v with its reveal.
func (c *posNet) block(parent chain.Hash, height int64, slot uint64, v int, txs ...chain.Transaction) *chain.Block {
	c.t.Helper()
	start := pos.SlotStart(time.Unix(posGenesisTime, 0), c.p.SlotDuration, slot)
	b := &chain.Block{
		Header: chain.Header{Version: 1, PrevBlock: parent, Timestamp: uint32(start.Unix()), Bits: c.p.PowLimitBits},
		Transactions: append([]chain.Transaction{{Coinbase: &chain.Coinbase{
			Height: uint32(height), Outputs: []chain.Output{{Address: posPub(v).Address(), Amount: 1}},
		}}}, txs...),
	}
	b.Header.MerkleRoot, _ = b.MerkleRoot()
	reveal, err := pos.NewReveal(posKey(v), c.p.GenesisHash, slot/uint64(c.p.EpochLength))
	if err != nil {
		c.t.Fatal(err)
	}
	s, err := pos.NewSeal(posKey(v), c.p.GenesisHash, slot, b.Hash(), reveal)
	if err != nil {
		c.t.Fatal(err)
	}
	enc, _ := s.MarshalBinary()
	b.Seal = (*chain.BlockSeal)(enc)
	return b
}

// propose has the elected proposer of slot, among validators 0 to 2,
// make the block of slot on n's tip holding txs, and processes it.
func (c *posNet) propose(n *node.Node, slot uint64, txs ...chain.Transaction) *chain.Block {
	c.t.Helper()
	info, err := n.Proposer(slot)
	if err != nil {
		c.t.Fatal(err)
	}
	v := -1
	for i := range 3 {
		if posPub(i) == info.Proposer {
			v = i
		}
	}
	if v < 0 {
		c.t.Fatalf("slot %d: proposer %v is none of the test's", slot, info.Proposer)
	}
	tip := n.Tip()
	b := c.block(tip.Hash, tip.Height+1, slot, v, txs...)
	if _, err := n.ProcessBlock(b); err != nil {
		c.t.Fatalf("slot %d: %v", slot, err)
	}
	return b
}

// deposit returns V0's deposit of the minimum for validator v's key.
func (c *posNet) deposit(v int, sequence uint64) chain.Transaction {
	c.t.Helper()
	d := chain.Deposit{From: posPub(0), Validator: posPub(v), Amount: c.p.MinDeposit, Sequence: sequence}
	if err := d.Sign(posKey(0), posKey(v), c.p.GenesisHash); err != nil {
		c.t.Fatal(err)
	}
	return chain.Transaction{Deposit: &d}
}

// proposerOf returns the key that sealed b.
func proposerOf(t *testing.T, b *chain.Block) chain.PublicKey {
	t.Helper()
	var s pos.Seal
	if err := s.UnmarshalBinary(b.Seal[:]); err != nil {
		t.Fatal(err)
	}
	return s.Proposer
}

// asTestNode lets connect and its helpers take a posPeer.
func (pp *posPeer) asTestNode() *testNode { return &testNode{Node: pp.Node} }

// TestSyncSealedHeadersValidatorsGrow: a node holding only genesis syncs
// a proof-of-stake chain whose block 1 deposits V1 and V2, who then
// propose, through sealed headers. The first answer's headers are taken
// up to the first sealed by V1 or V2, keys not registered at the node's
// tip: that is no fault, the sync fetches the blocks before it (which
// register V1 and V2) and asks for headers again, and the node ends on
// the chain's tip with no fault counted and no header branch forgotten.
func TestSyncSealedHeadersValidatorsGrow(t *testing.T) {
	c := newPosNet(t)
	src := c.peer()
	blocks := []*chain.Block{c.propose(src.chain, 1, c.deposit(1, 0), c.deposit(2, 1))}
	for slot := uint64(2); slot <= 40; slot++ {
		blocks = append(blocks, c.propose(src.chain, slot))
	}
	newcomer := 0
	for i, b := range blocks {
		if proposerOf(t, b) != posPub(0) {
			newcomer = i
			break
		}
	}
	if newcomer == 0 {
		t.Fatal("test bug: V0 proposed every block")
	}
	tip := blocks[len(blocks)-1].Hash()

	dst := c.peer()
	connect(t, dst.asTestNode(), src.asTestNode())
	waitFor(t, "the chain's tip", func() bool { return dst.chain.Tip().Hash == tip })
	st := dst.SyncStats()
	t.Logf("block %d is the first by V1 or V2; sync stats %+v", newcomer+1, st)
	if st.HeaderRequests < 2 || st.Failed != 0 || st.Forgotten != 0 || st.Blocks != int64(len(blocks)) || st.Headers != int64(len(blocks)) {
		t.Fatalf("sync stats %+v: want two headers rounds at least (the first stopped at block %d), every header and block once, nothing failed", st, newcomer+1)
	}
	if n := dst.invalidCount(src.ID()); n != 0 {
		t.Fatalf("%d faults counted against the honest peer", n)
	}
	noSyncStreams(t, dst.Node)
}

// TestSyncSealedHeadersForged: a peer that says it is far ahead and
// serves made-up sealed headers whose seals are forged (the registered
// genesis validator's key, a bad signature) gets a fault at once: the
// node takes none of them and asks it for no block (no branch to
// forget). Then the honest chain syncs from an honest peer.
func TestSyncSealedHeadersForged(t *testing.T) {
	c := newPosNet(t)
	src := c.peer()
	var honest []*chain.Block
	for slot := uint64(1); slot <= 10; slot++ {
		honest = append(honest, c.propose(src.chain, slot))
	}
	var fake []*chain.Block // a header in every slot: heavier
	parent := c.g.Hash()
	for slot := uint64(1); slot <= 30; slot++ {
		b := c.block(parent, int64(slot), slot, 0)
		b.Seal[chain.SealSize-1] ^= 1 // the signature's last byte
		fake = append(fake, b)
		parent = b.Hash()
	}

	dst := c.peer()
	liar := newRawPeer(t, c.p, 1<<40, fake)
	liar.sayHello(t, dst.Node)
	waitFor(t, "the fault", func() bool { return liar.invalidCountAt(dst.Node) == 1 })
	for _, b := range fake {
		if _, ok := dst.chain.BlockInfo(b.Hash()); ok {
			t.Fatalf("made-up header %v taken", b.Hash())
		}
	}

	// The honest sync runs after the liar's has ended (one at a time);
	// its blocks fit in the honest peer's first request.
	connect(t, dst.asTestNode(), src.asTestNode())
	tip := honest[len(honest)-1].Hash()
	waitFor(t, "the honest tip", func() bool { return dst.chain.Tip().Hash == tip })
	if n := liar.blockRequests.Load(); n != 0 {
		t.Fatalf("%d blocks requests to the liar", n)
	}
	if st := dst.SyncStats(); st.Headers != int64(len(honest)) || st.Forgotten != 0 || st.HeaderRequests != 2 {
		t.Fatalf("sync stats %+v: want the honest headers alone taken, in two headers requests, nothing forgotten", st)
	}
	if dst.invalidCount(src.ID()) != 0 || liar.invalidCountAt(dst.Node) != 1 {
		t.Fatalf("faults: honest %d, liar %d; want 0 and 1", dst.invalidCount(src.ID()), liar.invalidCountAt(dst.Node))
	}
	noSyncStreams(t, dst.Node)
}

// TestConfigPoSNeedsSealedChain: a proof-of-stake node needs a Chain
// that takes and gives sealed headers.
func TestConfigPoSNeedsSealedChain(t *testing.T) {
	c := newPosNet(t)
	f := newFakeChain()
	if _, err := New(Config{Params: c.p, Chain: f, Mempool: f}); !errors.Is(err, ErrConfig) {
		t.Fatalf("a proof-of-stake node on a Chain without sealed headers: %v, want ErrConfig", err)
	}
}

// nodeChain is a chain/node node as the p2p node sees it, as chain/daemon
// adapts it (without a mempool: transfers are known).
type nodeChain struct{ n *node.Node }

func (c nodeChain) Status() Status {
	tip, justified := c.n.TipJustified()
	return Status{TipHash: tip.Hash, Height: tip.Height, Justified: justified, Work: new(big.Int).Set(tip.Work)}
}

func (c nodeChain) HaveBlock(hash chain.Hash) bool {
	info, ok := c.n.BlockInfo(hash)
	return ok && info.Status&storage.StatusDataStored != 0
}

func (c nodeChain) ProcessBlock(b *chain.Block) error {
	res, err := c.n.ProcessBlock(b)
	switch {
	case errors.Is(err, node.ErrDuplicate):
		return errors.Join(ErrKnown, err)
	case err != nil:
		return err
	case res.Orphan:
		return ErrOrphan
	}
	return nil
}

func (c nodeChain) ProcessHeaders(hs []chain.Header) (int, error) {
	return invalidHeaders(c.n.ProcessHeaders(hs))
}

func (c nodeChain) ProcessSealedHeaders(hs []chain.Header, seals []chain.BlockSeal) (int, error) {
	return invalidHeaders(c.n.ProcessSealedHeaders(hs, seals))
}

// invalidHeaders marks headers that do not connect or are known invalid
// as invalid.
func invalidHeaders(res node.HeadersResult, err error) (int, error) {
	if errors.Is(err, node.ErrUnconnectedHeaders) || errors.Is(err, node.ErrKnownInvalid) {
		err = errors.Join(ErrInvalid, err)
	}
	return res.Added, err
}

func (c nodeChain) HeaderLocator() []chain.Hash        { return c.n.HeaderLocator() }
func (c nodeChain) MissingBlocks(max int) []chain.Hash { return c.n.MissingBlocks(max) }
func (c nodeChain) MissingBlocksTo(tip chain.Hash, max int) []chain.Hash {
	return c.n.MissingBlocksTo(tip, max)
}

func (c nodeChain) HaveHeader(hash chain.Hash) bool {
	_, ok := c.n.BlockInfo(hash)
	return ok
}

func (c nodeChain) ForgetHeaders(hash chain.Hash) (int, error) { return c.n.ForgetHeaders(hash) }
func (c nodeChain) MainChainHeaders(locator []chain.Hash, max int) []chain.Header {
	return c.n.MainChainHeaders(locator, max)
}

func (c nodeChain) MainChainSealedHeaders(locator []chain.Hash, max int) ([]chain.Header, []chain.BlockSeal, error) {
	return c.n.MainChainSealedHeaders(locator, max)
}

func (c nodeChain) Block(hash chain.Hash) (*chain.Block, error) { return c.n.Block(hash) }
func (c nodeChain) AcceptTransfer(*chain.Transaction) error     { return ErrKnown }
