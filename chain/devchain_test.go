package chain

import (
	"errors"
	"testing"
)

func TestNewDevGenesis(t *testing.T) {
	const at = 1_800_000_000
	g := NewDevGenesis(at)
	p, err := DevParamsFor(g)
	if err != nil {
		t.Fatal(err)
	}
	if p.GenesisHash != g.Hash() || p.GenesisBlock != g || p.GenesisHeader.Timestamp != at {
		t.Fatalf("params do not describe the genesis: %+v", p.GenesisHeader)
	}
	if p.ASERTAnchor.ParentTime != at-5 || p.ASERTAnchor.Bits != g.Header.Bits {
		t.Fatalf("anchor %+v", p.ASERTAnchor)
	}
	if err := CheckProofOfWork(g.Hash(), g.Header.Bits, p.PowLimit); err != nil {
		t.Fatal(err)
	}
	// A block on schedule right after genesis keeps the genesis target.
	c := HeaderContext{PrevHash: p.GenesisHash, PrevHeight: 0, PrevBits: g.Header.Bits, PrevTime: at, MedianTime: at}
	if got := c.NextBits(&p); got != g.Header.Bits {
		t.Fatalf("next bits %#x, want the genesis target %#x", got, g.Header.Bits)
	}
	// The fixed DevParams genesis passes the same checks.
	if _, err := DevParamsFor(DevParams.GenesisBlock); err != nil {
		t.Fatalf("DevParams genesis: %v", err)
	}
}

func TestDevParamsForRejects(t *testing.T) {
	good := NewDevGenesis(1_800_000_000)
	cases := map[string]func(b *Block){
		"nonce":         func(b *Block) { b.Header.Nonce++ },
		"merkle":        func(b *Block) { b.Transactions[0].Coinbase.Extranonce = []byte("x") },
		"height":        func(b *Block) { b.Transactions[0].Coinbase.Height = 1 },
		"two coinbases": func(b *Block) { b.Transactions = append(b.Transactions, b.Transactions[0]) },
		"parent":        func(b *Block) { b.Header.PrevBlock[0] = 1 },
	}
	for name, mutate := range cases {
		b := *good
		cb := *good.Transactions[0].Coinbase
		b.Transactions = []Transaction{{Coinbase: &cb}}
		mutate(&b)
		if _, err := DevParamsFor(&b); err == nil {
			t.Errorf("%s: accepted", name)
		} else if name == "nonce" && !errors.As(err, new(RuleError)) {
			t.Errorf("nonce: %v, want a RuleError", err)
		}
	}
}
