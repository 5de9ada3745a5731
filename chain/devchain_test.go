package chain

import (
	"errors"
	"testing"
)

// TestDevGenesisTemplate rebuilds DevParams' genesis from the template at
// its time and nonce: the template is the block DevParamsFor expects.
func TestDevGenesisTemplate(t *testing.T) {
	g := DevGenesisTemplate(devGenesisTime)
	if g.Header.Nonce != 0 {
		t.Fatalf("template nonce %d, want 0", g.Header.Nonce)
	}
	g.Header.Nonce = DevParams.GenesisHeader.Nonce
	if g.Hash() != DevParams.GenesisHash {
		t.Fatalf("template with the genesis nonce hashes to %v, want %v", g.Hash(), DevParams.GenesisHash)
	}
	p, err := DevParamsFor(g)
	if err != nil {
		t.Fatal(err)
	}
	if p.GenesisHash != DevParams.GenesisHash || p.ASERTAnchor != DevParams.ASERTAnchor {
		t.Fatalf("params %+v differ from DevParams", p.ASERTAnchor)
	}
	// The fixed DevParams genesis passes the same checks.
	if _, err := DevParamsFor(DevParams.GenesisBlock); err != nil {
		t.Fatalf("DevParams genesis: %v", err)
	}
}

func TestDevParamsForRejects(t *testing.T) {
	good := DevParams.GenesisBlock
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
	// Nonce 0 of a template does not meet the target.
	if _, err := DevParamsFor(DevGenesisTemplate(1_800_000_000)); !errors.As(err, new(RuleError)) {
		t.Errorf("unmined template: %v, want a RuleError", err)
	}
}
