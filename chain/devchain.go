package chain

import (
	"fmt"

	"github.com/powmine/powmine/hash/sha256d"
)

// NewDevGenesis returns a dev-network genesis block stamped with time,
// mined to DevParams' genesis target. A fresh local chain starts from one
// made at its creation: ASERT measures the chain's schedule from its
// genesis, so a chain started long after DevParams' fixed genesis would
// sit at the limit target until it had mined a block for every 5 seconds
// since then.
func NewDevGenesis(time uint32) *Block {
	b := &Block{
		Header: Header{Version: 1, Timestamp: time, Bits: devGenesisBits},
		Transactions: []Transaction{{Coinbase: &Coinbase{
			Height:     0,
			Extranonce: []byte("powmine dev genesis"),
			Outputs:    []Output{{Address: Address{}, Amount: DevParams.InitialSubsidy}},
		}}},
	}
	b.Header.MerkleRoot, _ = b.MerkleRoot()
	target, _ := BigToHash(CompactToBig(devGenesisBits))
	hdr := b.Header.Serialize()
	t := [sha256d.Size]byte(target)
	job := sha256d.NewJob(&hdr, &t)
	k := sha256d.Choose().Kernel
	s := sha256d.NewScanner(k)
	// About one nonce in 2^22 meets the target: the chance that none of
	// the 2^32 does is below e^-1000.
	const step = 1 << 20
	var hits []uint32
	for start := uint64(0); len(hits) == 0 && start < sha256d.MaxScan; start += step {
		hits = s.Scan(job, uint32(start), step, hits)
	}
	b.Header.Nonce = hits[0]
	return b
}

// DevParamsFor returns DevParams with genesis as block 0 and the ASERT
// anchor at it. It checks that genesis is a dev genesis block: a lone
// coinbase at height 0 under the right merkle root, meeting DevParams'
// genesis target.
func DevParamsFor(genesis *Block) (Params, error) {
	if len(genesis.Transactions) != 1 || genesis.Transactions[0].Coinbase == nil || genesis.Transactions[0].Coinbase.Height != 0 {
		return Params{}, fmt.Errorf("chain: dev genesis must hold exactly one coinbase at height 0")
	}
	if root, mutated := genesis.MerkleRoot(); mutated || root != genesis.Header.MerkleRoot {
		return Params{}, ruleError(ErrBadMerkleRoot, "dev genesis merkle root does not match its coinbase")
	}
	h := genesis.Header
	if h.Bits != devGenesisBits || h.PrevBlock != (Hash{}) {
		return Params{}, fmt.Errorf("chain: dev genesis must have bits %#08x and no parent", uint32(devGenesisBits))
	}
	if err := CheckProofOfWork(h.Hash(), h.Bits, devPowLimit); err != nil {
		return Params{}, err
	}
	p := DevParams
	p.GenesisHeader = h
	p.GenesisHash = h.Hash()
	p.GenesisBlock = genesis
	p.ASERTAnchor.ParentTime = int64(h.Timestamp) - int64(devTargetSpacing.Seconds())
	return p, nil
}
