package template

import (
	"bytes"
	"encoding/binary"
	"errors"
	"testing"

	"github.com/powmine/powmine/chain"
	"github.com/powmine/powmine/hash/sha256d"
)

// unsigned returns n transfers from distinct senders (unsigned: a
// template does not verify signatures), fee i+1 each.
func unsigned(n int) []chain.Transaction {
	out := make([]chain.Transaction, n)
	for i := range out {
		var t chain.Transfer
		binary.LittleEndian.PutUint64(t.From[:], uint64(i))
		t.Fee = uint64(i + 1)
		out[i] = chain.Transaction{Transfer: &t}
	}
	return out
}

// newTemplate returns a template at height 100 with a 12-byte extranonce,
// two payouts and six transfers.
func newTemplate(t *testing.T) *Template {
	t.Helper()
	cb := &chain.Coinbase{
		Height:     100,
		Extranonce: make([]byte, 12),
		Outputs:    []chain.Output{{Amount: 30}, {Address: chain.Address{1}, Amount: 20}},
	}
	txs := append([]chain.Transaction{{Coinbase: cb}}, unsigned(6)...)
	h := chain.Header{Version: 1, PrevBlock: chain.Hash{9}, Timestamp: 4001, Bits: 0x207fffff}
	tmpl, err := New(h, 100, txs, 29, 21, 4001)
	if err != nil {
		t.Fatal(err)
	}
	return tmpl
}

func TestExtranonceAndMerkleRoot(t *testing.T) {
	tmpl := newTemplate(t)
	if tmpl.ExtranonceSize != 12 || tmpl.Height != 100 || tmpl.Subsidy != 29 || tmpl.Fees != 21 || tmpl.MinTimestamp != 4001 {
		t.Fatalf("template %+v", tmpl)
	}
	prefix, suffix := tmpl.CoinbaseParts()
	// Only the height follows the extranonce: coinb2 does not grow with
	// the payouts.
	if want := binary.LittleEndian.AppendUint32(nil, uint32(tmpl.Height)); !bytes.Equal(suffix, want) {
		t.Fatalf("coinb2 %x, want the height %x", suffix, want)
	}
	seen := map[chain.Hash]bool{}
	for i := range 5 {
		en := bytes.Repeat([]byte{byte(i)}, 12)
		blk, err := tmpl.Block(en, tmpl.MinTimestamp+1, 7)
		if err != nil {
			t.Fatal(err)
		}
		full, mutated := blk.MerkleRoot()
		if mutated || blk.Header.MerkleRoot != full {
			t.Fatalf("extranonce %x: header root %v, full recomputation %v", en, blk.Header.MerkleRoot, full)
		}
		if seen[full] {
			t.Fatalf("extranonce %x repeats a merkle root", en)
		}
		seen[full] = true
		if i == 0 && full != tmpl.Header.MerkleRoot {
			t.Fatal("the template's header root is not the zero-extranonce root")
		}
		// Stratum's way: coinb1 || extranonce || coinb2, then the branch.
		raw, _ := blk.Transactions[0].MarshalBinary()
		joined := append(append(append([]byte{}, prefix...), en...), suffix...)
		if !bytes.Equal(raw, joined) {
			t.Fatalf("coinb1 || extranonce || coinb2 is not the coinbase")
		}
		if r := chain.MerkleRootFromBranch(sha256d.DoubleSum(joined), tmpl.MerkleBranch()); r != full {
			t.Fatal("the branch does not give the root")
		}
		if r, err := tmpl.MerkleRoot(en); err != nil || r != full {
			t.Fatalf("MerkleRoot: %v, %v", r, err)
		}
		if blk.Header.Timestamp != tmpl.MinTimestamp+1 || blk.Header.Nonce != 7 {
			t.Fatal("timestamp or nonce not set")
		}
	}
	for _, en := range [][]byte{nil, make([]byte, 11), make([]byte, 13)} {
		if _, err := tmpl.Block(en, tmpl.MinTimestamp, 0); !errors.Is(err, ErrExtranonceSize) {
			t.Fatalf("extranonce of %d bytes: %v", len(en), err)
		}
		if _, err := tmpl.MerkleRoot(en); !errors.Is(err, ErrExtranonceSize) {
			t.Fatalf("MerkleRoot, extranonce of %d bytes: %v", len(en), err)
		}
	}
	if _, err := tmpl.Block(make([]byte, 12), tmpl.MinTimestamp-1, 0); !errors.Is(err, ErrTimeTooOld) {
		t.Fatalf("timestamp before MinTimestamp: %v", err)
	}
	if tmpl.Transactions[0].Coinbase.Extranonce[0] != 0 {
		t.Fatal("Block modified the template")
	}
}

// TestNewMalformed gives New transactions it cannot make a template of:
// an error, never a panic.
func TestNewMalformed(t *testing.T) {
	coinbase := func(extranonce int) chain.Transaction {
		return chain.Transaction{Coinbase: &chain.Coinbase{Extranonce: make([]byte, extranonce), Outputs: []chain.Output{{Amount: 1}}}}
	}
	tests := []struct {
		name string
		txs  []chain.Transaction
	}{
		{"none", nil},
		{"transfer first", unsigned(1)},
		{"empty transaction", []chain.Transaction{{}}},
		{"no extranonce", []chain.Transaction{coinbase(0)}},
		{"extranonce too long", []chain.Transaction{coinbase(chain.MaxExtranonceSize + 1)}},
	}
	for _, tt := range tests {
		if _, err := New(chain.Header{}, 1, tt.txs, 0, 0, 0); !errors.Is(err, ErrMalformed) {
			t.Errorf("%s: %v, want ErrMalformed", tt.name, err)
		}
	}
}
