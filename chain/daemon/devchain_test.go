package daemon

import (
	"testing"

	"github.com/powmine/powmine/chain"
)

// TestMineDevGenesis mines a dev genesis at a new time: DevParamsFor takes
// it, anchors ASERT at it, and a block on schedule keeps its target. At
// DevParams' genesis time it finds DevParams' genesis.
func TestMineDevGenesis(t *testing.T) {
	const at = 1_800_000_000
	g, err := mineDevGenesis(at)
	if err != nil {
		t.Fatal(err)
	}
	p, err := chain.DevParamsFor(g)
	if err != nil {
		t.Fatal(err)
	}
	if p.GenesisHash != g.Hash() || p.GenesisBlock != g || p.GenesisHeader.Timestamp != at {
		t.Fatalf("params do not describe the genesis: %+v", p.GenesisHeader)
	}
	if p.ASERTAnchor.ParentTime != at-5 || p.ASERTAnchor.Bits != g.Header.Bits {
		t.Fatalf("anchor %+v", p.ASERTAnchor)
	}
	if err := chain.CheckProofOfWork(g.Hash(), g.Header.Bits, p.PowLimit); err != nil {
		t.Fatal(err)
	}
	// A block on schedule right after genesis keeps the genesis target.
	c := chain.HeaderContext{PrevHash: p.GenesisHash, PrevHeight: 0, PrevBits: g.Header.Bits, PrevTime: at, MedianTime: at}
	if got := c.NextBits(&p); got != g.Header.Bits {
		t.Fatalf("next bits %#x, want the genesis target %#x", got, g.Header.Bits)
	}

	fixed, err := mineDevGenesis(chain.DevParams.GenesisHeader.Timestamp)
	if err != nil {
		t.Fatal(err)
	}
	if fixed.Hash() != chain.DevParams.GenesisHash {
		t.Fatalf("mined at the dev genesis time: %v (nonce %d), want DevParams' genesis %v",
			fixed.Hash(), fixed.Header.Nonce, chain.DevParams.GenesisHash)
	}
}
