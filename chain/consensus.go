package chain

import (
	"bytes"
	"fmt"
	"time"
)

// Consensus is the way a network makes blocks.
type Consensus uint8

const (
	// ConsensusPoW is proof of work: a header's hash must meet its bits,
	// which the difficulty algorithm sets. The zero value.
	ConsensusPoW Consensus = iota

	// ConsensusPoS is pure proof of stake: time is cut into slots of
	// Params.SlotDuration from the genesis time, each slot's proposer is
	// elected by stake (chain/pos), and a block carries its proposer's
	// Seal after its transactions. The header keeps its 80-byte layout
	// with other meanings: Bits is always PowLimitBits and its work is
	// not checked (the limit is regression-test easy, so every block
	// counts the same, one slot's proposal), Nonce is 0 and ignored,
	// and Timestamp is the start of the block's slot, rounded down to
	// the second.
	ConsensusPoS
)

// String returns "pow" or "pos".
func (c Consensus) String() string {
	switch c {
	case ConsensusPoW:
		return "pow"
	case ConsensusPoS:
		return "pos"
	}
	return fmt.Sprintf("Consensus(%d)", uint8(c))
}

// SealSize is the length of a block seal: chain/pos's Seal encoding
// (version, slot, proposer key, reveal, signature), which this package
// carries without reading.
const SealSize = 185

// BlockSeal is the encoded proposer seal of a proof-of-stake block
// (chain/pos.Seal decodes and verifies it). It is not covered by the
// block hash: it signs the header hash.
type BlockSeal [SealSize]byte

// DevSlotDuration is the slot length of a proof-of-stake dev chain.
const DevSlotDuration = 2 * time.Second

// DevPoSGenesisTemplate returns the genesis block of a new
// proof-of-stake dev chain created by the validator whose key is
// validator, stamped with time. Its lone coinbase pays DevParams'
// InitialSubsidy to the key's address and holds the key as its
// extranonce (exactly MaxExtranonceSize, 32 bytes), so that the genesis
// hash commits to the first validator. Its bits are DevParams'
// PowLimitBits and its nonce 0: nothing is mined.
func DevPoSGenesisTemplate(time uint32, validator PublicKey) *Block {
	b := &Block{
		Header: Header{Version: 1, Timestamp: time, Bits: DevParams.PowLimitBits},
		Transactions: []Transaction{{Coinbase: &Coinbase{
			Height:     0,
			Extranonce: bytes.Clone(validator[:]),
			Outputs:    []Output{{Address: validator.Address(), Amount: DevParams.InitialSubsidy}},
		}}},
	}
	b.Header.MerkleRoot, _ = b.MerkleRoot()
	return b
}

// DevPoSParamsFor returns the rules of the proof-of-stake dev chain whose
// block 0 is genesis (made by DevPoSGenesisTemplate): DevParams with
// Consensus ConsensusPoS, SlotDuration DevSlotDuration, slots of the
// same epochs as the stake epochs (EpochLength, 50), and the validator
// named by the genesis coinbase's extranonce as GenesisValidator.
//
// Genesis stake: a chain whose proposers are elected by stake cannot
// start without stake, so the node registers GenesisValidator when it
// connects block 0, with the key's address as owner and MinDeposit as
// stake, active from epoch 1 (the first epoch a deposit can reach),
// proposing from slot 1 on (chain/node elects the proposers of slot
// epoch 0 from the set of epoch 1). That stake is
// minted at genesis beside the coinbase, as the coinbase itself is.
func DevPoSParamsFor(genesis *Block) (Params, error) {
	if len(genesis.Transactions) != 1 || genesis.Transactions[0].Coinbase == nil || genesis.Transactions[0].Coinbase.Height != 0 {
		return Params{}, fmt.Errorf("chain: pos dev genesis must hold exactly one coinbase at height 0")
	}
	cb := genesis.Transactions[0].Coinbase
	if len(cb.Extranonce) != PublicKeySize {
		return Params{}, fmt.Errorf("chain: pos dev genesis extranonce has %d bytes, want a %d-byte validator key", len(cb.Extranonce), PublicKeySize)
	}
	if root, mutated := genesis.MerkleRoot(); mutated || root != genesis.Header.MerkleRoot {
		return Params{}, ruleError(ErrBadMerkleRoot, "pos dev genesis merkle root does not match its coinbase")
	}
	h := genesis.Header
	if h.Bits != DevParams.PowLimitBits || h.PrevBlock != (Hash{}) || h.Nonce != 0 || genesis.Seal != nil {
		return Params{}, fmt.Errorf("chain: pos dev genesis must have bits %#08x, nonce 0, no parent and no seal", DevParams.PowLimitBits)
	}
	p := DevParams
	p.Consensus = ConsensusPoS
	p.SlotDuration = DevSlotDuration
	p.GenesisValidator = PublicKey(cb.Extranonce)
	p.GenesisHeader = h
	p.GenesisHash = h.Hash()
	p.GenesisBlock = genesis
	p.ASERTAnchor = ASERTAnchor{Height: 0, Bits: h.Bits, ParentTime: int64(h.Timestamp) - int64(devTargetSpacing/time.Second)}
	p.NoRetargeting = true
	return p, nil
}
