package sim

import (
	"encoding/binary"
	"fmt"
	"math/big"
	"time"

	"github.com/powmine/powmine/chain"
	"github.com/powmine/powmine/chain/node"
)

// genesisTime is the timestamp of the simulated chain's genesis block;
// virtual time 0 is this instant.
const genesisTime = 1_735_689_600 // 2025-01-01 00:00:00 UTC

// easiestBits is the easiest target under a PowLimit of 2^255-1: about
// one nonce in two meets it.
const easiestBits = 0x207fffff

// realParams are the consensus params and genesis block of the simulated
// chain, made once per Simulate call and shared, read-only, by its runs.
type realParams struct {
	params  *chain.Params
	genesis *chain.Block
}

// newRealParams returns mainnet's rules with a fixed target at the
// easiest bits (no retargeting), so that blocks cost about two hashes,
// and a genesis block of their own.
func newRealParams() *realParams {
	p := chain.MainNetParams
	p.Name = "sim"
	p.PowLimit = new(big.Int).Sub(new(big.Int).Lsh(big.NewInt(1), 255), big.NewInt(1))
	p.PowLimitBits = easiestBits
	p.NoRetargeting = true
	g := &chain.Block{
		Header: chain.Header{Version: 1, Timestamp: genesisTime, Bits: easiestBits},
		Transactions: []chain.Transaction{{Coinbase: &chain.Coinbase{
			Extranonce: []byte("powmine sim genesis"),
			Outputs:    []chain.Output{{Amount: p.InitialSubsidy}},
		}}},
	}
	seal(g, &p)
	p.GenesisHeader = g.Header
	p.GenesisHash = g.Hash()
	p.GenesisBlock = g
	return &realParams{params: &p, genesis: g}
}

// seal sets b's merkle root and searches a nonce meeting its bits.
func seal(b *chain.Block, p *chain.Params) {
	b.Header.MerkleRoot, _ = b.MerkleRoot()
	b.Header.Nonce = 0
	for chain.CheckProofOfWork(b.Header.Hash(), b.Header.Bits, p.PowLimit) != nil {
		b.Header.Nonce++
	}
}

// realChain is the Heaviest rule's state in one run: a chain/node.Node
// per simulated node, whose clock is the virtual time, and the real block
// of every simulated one.
type realChain struct {
	*realParams
	nodes  []*node.Node
	blocks []*chain.Block // by simulator id
	byHash map[chain.Hash]int32
}

// newRealChain starts one node per simulated node of s, each on its own
// MemStore, all at genesis.
func newRealChain(rp *realParams, s *simulation) (*realChain, error) {
	rc := &realChain{
		realParams: rp,
		nodes:      make([]*node.Node, len(s.nodes)),
		blocks:     make([]*chain.Block, 1, cap(s.blocks)),
		byHash:     make(map[chain.Hash]int32, cap(s.blocks)),
	}
	rc.blocks[genesisID] = rp.genesis
	rc.byHash[rp.params.GenesisHash] = genesisID
	now := func() time.Time { return time.Unix(genesisTime, 0).Add(s.now) }
	for i := range rc.nodes {
		n, err := node.New(node.Config{Params: rp.params, Genesis: rp.genesis, Store: node.NewMemStore(), Now: now})
		if err != nil {
			return nil, err
		}
		rc.nodes[i] = n
	}
	return rc, nil
}

// build makes the real block of simulated block id, found by node finder
// at the current virtual time on its tip: a coinbase paying the subsidy
// to an address naming the finder, stamped with the virtual time (or just
// above the median time past), mined at the easiest target.
func (rc *realChain) build(s *simulation, finder, id int32) error {
	ctx := rc.nodes[finder].NextHeaderContext()
	parent := s.blocks[id].parent
	if ctx.PrevHash != rc.blocks[parent].Hash() {
		return chain.AssertError(fmt.Sprintf("sim: node %d's tip %v is not block %d", finder, ctx.PrevHash, parent))
	}
	height := ctx.PrevHeight + 1
	var miner chain.Address
	binary.BigEndian.PutUint32(miner[:], uint32(finder))
	extranonce := binary.BigEndian.AppendUint32(nil, uint32(id))
	b := &chain.Block{
		Header: chain.Header{
			Version:   1,
			PrevBlock: ctx.PrevHash,
			Timestamp: uint32(max(genesisTime+int64(s.now/time.Second), ctx.MedianTime+1)),
			Bits:      ctx.NextBits(rc.params),
		},
		Transactions: []chain.Transaction{{Coinbase: &chain.Coinbase{
			Height:     uint32(height),
			Extranonce: extranonce,
			Outputs:    []chain.Output{{Address: miner, Amount: chain.CalcBlockSubsidy(height, rc.params)}},
		}}},
	}
	seal(b, rc.params)
	rc.blocks = append(rc.blocks, b)
	rc.byHash[b.Hash()] = id
	return nil
}

// process hands block id to node n's ProcessBlock and returns the
// simulator id of the node's tip afterwards.
func (rc *realChain) process(n, id int32) (int32, error) {
	if _, err := rc.nodes[n].ProcessBlock(rc.blocks[id]); err != nil {
		return 0, fmt.Errorf("node %d, block %d: %w", n, id, err)
	}
	tip, ok := rc.byHash[rc.nodes[n].Tip().Hash]
	if !ok {
		return 0, chain.AssertError(fmt.Sprintf("sim: node %d's tip is no simulated block", n))
	}
	return tip, nil
}
