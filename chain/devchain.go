package chain

import "fmt"

// DevGenesisTemplate returns a dev-network genesis block stamped with
// time and nonce 0: a lone coinbase paying DevParams.InitialSubsidy to the
// zero address under its merkle root, with the dev genesis bits. Its
// header does not meet the target yet; the caller mines it (chain/daemon
// does, for a fresh local chain) by searching the nonce, and DevParamsFor
// then accepts it. DevParams' own genesis is the template at 2025-01-01
// with the first nonce that meets the target.
//
// A fresh local chain starts from a genesis made at its creation: ASERT
// measures the chain's schedule from its genesis, so a chain started long
// after DevParams' fixed genesis would sit at the limit target until it
// had mined a block for every 5 seconds since then.
func DevGenesisTemplate(time uint32) *Block {
	b := &Block{
		Header: Header{Version: 1, Timestamp: time, Bits: devGenesisBits},
		Transactions: []Transaction{{Coinbase: &Coinbase{
			Height:     0,
			Extranonce: []byte("powmine dev genesis"),
			Outputs:    []Output{{Address: Address{}, Amount: DevParams.InitialSubsidy}},
		}}},
	}
	b.Header.MerkleRoot, _ = b.MerkleRoot()
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
