package chain

import (
	"bytes"
	"errors"
	"testing"
	"time"
)

// sealedBlock returns a coinbase-only block carrying a seal of bytes
// 0, 1, 2, … (the chain package never reads a seal's contents).
func sealedBlock(tb testing.TB) *Block {
	tb.Helper()
	b := buildBlock(tb, coinbaseTx(1, 50*BaseUnitsPerCoin))
	var s BlockSeal
	for i := range s {
		s[i] = byte(i)
	}
	b.Seal = &s
	return b
}

func TestBlockSealRoundTrip(t *testing.T) {
	b := sealedBlock(t)
	enc, err := b.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	if len(enc) != b.SerializeSize() {
		t.Fatalf("encoding has %d bytes, SerializeSize %d", len(enc), b.SerializeSize())
	}
	var got Block
	if err := got.UnmarshalBinary(enc); err != nil {
		t.Fatal(err)
	}
	if got.Seal == nil || *got.Seal != *b.Seal {
		t.Fatalf("seal %v after the round trip, want %v", got.Seal, b.Seal)
	}
	enc[len(enc)-1] ^= 1 // the decoded block must not alias its input
	if got.Seal[SealSize-1] != b.Seal[SealSize-1] {
		t.Fatal("decoded seal aliases the input")
	}
	if got.Hash() != b.Hash() {
		t.Fatal("the seal changed the block hash")
	}

	unsealed := *b
	unsealed.Seal = nil
	plain, _ := unsealed.MarshalBinary()
	for _, extra := range []int{1, SealSize - 1, SealSize + 1} {
		data := append(bytes.Clone(plain), make([]byte, extra)...)
		if err := new(Block).UnmarshalBinary(data); !errors.Is(err, ErrMalformed) {
			t.Errorf("%d trailing bytes: error %v, want ErrMalformed", extra, err)
		}
	}
}

func TestCheckBlockSanitySeal(t *testing.T) {
	pos := testParams
	pos.Consensus = ConsensusPoS
	sealed := sealedBlock(t)
	unsealed := *sealed
	unsealed.Seal = nil
	genesis := *sealed
	genesis.Header.PrevBlock = Hash{}
	genesis.Header.MerkleRoot, _ = genesis.MerkleRoot()
	for _, c := range []struct {
		name string
		b    *Block
		p    *Params
		ok   bool
	}{
		{"pos sealed", sealed, &pos, true},
		{"pos unsealed", &unsealed, &pos, false},
		{"pos sealed genesis", &genesis, &pos, false},
		{"pow sealed", sealed, &testParams, false},
		{"pow unsealed", &unsealed, &testParams, true},
	} {
		err := CheckBlockSanity(c.b, c.p, BFNoPoWCheck)
		var rerr RuleError
		switch {
		case c.ok && err != nil:
			t.Errorf("%s: %v", c.name, err)
		case !c.ok && (!errors.As(err, &rerr) || rerr.Code != ErrBadSeal):
			t.Errorf("%s: error %v, want ErrBadSeal", c.name, err)
		}
	}
}

func TestPoSHeaderRules(t *testing.T) {
	pub, _ := testKey(7)
	g := DevPoSGenesisTemplate(1_800_000_000, pub)
	p, err := DevPoSParamsFor(g)
	if err != nil {
		t.Fatal(err)
	}
	if p.Consensus != ConsensusPoS || p.GenesisValidator != pub || p.GenesisHash != g.Hash() || p.SlotDuration != DevSlotDuration {
		t.Fatalf("params %v %v %v %v", p.Consensus, p.GenesisValidator, p.GenesisHash, p.SlotDuration)
	}
	if err := CheckBlockSanity(g, &p, BFNone); err != nil {
		t.Fatalf("genesis: %v", err)
	}
	// No work is checked, but the bits are fixed.
	h := Header{Bits: p.PowLimitBits, Nonce: 1}
	if err := CheckHeaderSanity(&h, &p); err != nil {
		t.Fatal(err)
	}
	h.Bits--
	var rerr RuleError
	if err := CheckHeaderSanity(&h, &p); !errors.As(err, &rerr) || rerr.Code != ErrUnexpectedDifficulty {
		t.Fatalf("bits %08x: error %v, want ErrUnexpectedDifficulty", h.Bits, err)
	}
	// A timestamp may repeat its parent's (sub-second slots), not go back.
	ctx := HeaderContext{PrevHash: p.GenesisHash, PrevBits: p.PowLimitBits, PrevTime: int64(g.Header.Timestamp), MedianTime: int64(g.Header.Timestamp)}
	child := Header{PrevBlock: p.GenesisHash, Bits: p.PowLimitBits, Timestamp: g.Header.Timestamp}
	now := time.Unix(int64(g.Header.Timestamp), 0)
	if err := CheckHeaderContext(&child, &p, &ctx, now); err != nil {
		t.Fatalf("same second as the parent: %v", err)
	}
	child.Timestamp--
	if err := CheckHeaderContext(&child, &p, &ctx, now); !errors.As(err, &rerr) || rerr.Code != ErrTimeTooOld {
		t.Fatalf("before the parent: error %v, want ErrTimeTooOld", err)
	}

	bad := *g
	bad.Transactions = []Transaction{coinbaseTx(0, 1)}
	bad.Header.MerkleRoot, _ = bad.MerkleRoot()
	if _, err := DevPoSParamsFor(&bad); err == nil {
		t.Fatal("a genesis without a key in its extranonce was accepted")
	}
}
