package store

import (
	"crypto/ed25519"
	"errors"
	"path/filepath"
	"testing"
	"time"

	"github.com/powmine/powmine/chain"
	"github.com/powmine/powmine/chain/node"
	"github.com/powmine/powmine/chain/pos"
)

// TestProposerSlashReindex: on a proof-of-stake chain in a DB, a block
// slashing the genesis validator for sealing two blocks of one slot
// connects, and node.Reindex rebuilds the same state from the stored
// blocks: the validator's exit, the reporter's share, the slashed record
// (the evidence is refused again) and the tip.
func TestProposerSlashReindex(t *testing.T) {
	seed := make([]byte, ed25519.SeedSize)
	seed[0] = 0x51
	priv := ed25519.NewKeyFromSeed(seed)
	pub := chain.PublicKey(priv.Public().(ed25519.PublicKey))
	const t0 = 1_800_000_000
	g := chain.DevPoSGenesisTemplate(t0, pub)
	p, err := chain.DevPoSParamsFor(g)
	if err != nil {
		t.Fatal(err)
	}
	p.SlotDuration = time.Second
	p.EpochLength = 2
	cfg := node.Config{Params: &p, Genesis: g, Now: func() time.Time { return time.Unix(t0+20, 0) }}
	// sealed returns a block on parent for slot paying pay, with txs.
	sealed := func(parent chain.Hash, height int64, slot, pay uint64, txs ...chain.Transaction) *chain.Block {
		b := &chain.Block{
			Header: chain.Header{Version: 1, PrevBlock: parent, Timestamp: uint32(t0 + slot), Bits: p.PowLimitBits},
			Transactions: append([]chain.Transaction{{Coinbase: &chain.Coinbase{
				Height: uint32(height), Outputs: []chain.Output{{Address: pub.Address(), Amount: pay}},
			}}}, txs...),
		}
		b.Header.MerkleRoot, _ = b.MerkleRoot()
		reveal, err := pos.NewReveal(priv, p.GenesisHash, slot/uint64(p.EpochLength))
		if err != nil {
			t.Fatal(err)
		}
		s, err := pos.NewSeal(priv, p.GenesisHash, slot, b.Hash(), reveal)
		if err != nil {
			t.Fatal(err)
		}
		enc, _ := s.MarshalBinary()
		b.Seal = (*chain.BlockSeal)(enc)
		return b
	}
	db, err := Open(filepath.Join(t.TempDir(), "chain.db"), &p)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = db.Close() })
	cfg.Store = db
	n, err := node.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	gh := n.Tip().Hash
	b1 := sealed(gh, 1, 1, 1)
	twinA, twinB := sealed(b1.Hash(), 2, 2, 1), sealed(b1.Hash(), 2, 2, 2)
	w := node.NewSealWatch(&p, func(k chain.PublicKey) bool { return n.Validator(k) != (chain.Validator{}) })
	var ev chain.ProposerEvidence
	for _, b := range []*chain.Block{b1, twinA, twinB} {
		if e, ok := w.Observe(b, cfg.Now()); ok {
			ev = e
		}
		if _, err := n.ProcessBlock(b); err != nil {
			t.Fatal(err)
		}
	}
	reporter := chain.Address{0x77}
	slash := chain.Transaction{ProposerSlash: &chain.ProposerSlash{Evidence: ev, Reporter: reporter}}
	b3 := sealed(twinA.Hash(), 3, 3, 1, slash)
	if _, err := n.ProcessBlock(b3); err != nil {
		t.Fatal(err)
	}
	val, share := n.Validator(pub), n.Account(reporter).Balance
	if val.ExitEpoch == 0 || share != p.MinDeposit/p.SlashReporterShareDenom || n.Tip().Hash != b3.Hash() {
		t.Fatalf("after the slash: validator %+v, reporter %d, tip %v", val, share, n.Tip().Hash)
	}

	cfg.Store = nil
	re, err := node.Reindex(cfg, db)
	if err != nil {
		t.Fatal(err)
	}
	if re.Tip().Hash != b3.Hash() || re.Validator(pub) != val || re.Account(reporter).Balance != share || re.Account(pub.Address()) != n.Account(pub.Address()) {
		t.Fatalf("reindexed: tip %v, validator %+v, reporter %d", re.Tip().Hash, re.Validator(pub), re.Account(reporter).Balance)
	}
	var rerr chain.RuleError
	if err := re.CheckFinalityTx(&slash); !errors.As(err, &rerr) || rerr.Code != chain.ErrSlashedValidator {
		t.Fatalf("the evidence again after the reindex: %v, want ErrSlashedValidator", err)
	}
}
