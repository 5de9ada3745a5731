package p2p

import (
	"bytes"
	"encoding"
	"errors"
	"math/big"
	"strings"
	"testing"

	pb "github.com/libp2p/go-libp2p-pubsub/pb"
	"github.com/powmine/powmine/chain"
)

func TestStatusRoundTrip(t *testing.T) {
	max := new(big.Int).Sub(new(big.Int).Lsh(big.NewInt(1), 256), big.NewInt(1))
	for _, s := range []Status{
		{},
		{Genesis: chain.Hash{1}, TipHash: chain.Hash{2}, Height: 7, Justified: 3, Work: big.NewInt(0x1234)},
		{Height: 1<<63 - 1, Justified: 1<<63 - 1, Work: max},
	} {
		raw, err := s.MarshalBinary()
		if err != nil {
			t.Fatal(err)
		}
		var got Status
		if err := got.UnmarshalBinary(raw); err != nil {
			t.Fatal(err)
		}
		want := s
		if want.Work == nil {
			want.Work = new(big.Int)
		}
		if got.Genesis != want.Genesis || got.TipHash != want.TipHash || got.Height != want.Height || got.Justified != want.Justified || got.Work.Cmp(want.Work) != 0 {
			t.Errorf("round trip of %+v gave %+v", s, got)
		}
	}
	for _, bad := range []Status{{Height: -1}, {Height: 4, Justified: 5}, {Work: big.NewInt(-1)}, {Work: new(big.Int).Lsh(big.NewInt(1), 256)}} {
		if _, err := bad.MarshalBinary(); !errors.Is(err, ErrBadHello) {
			t.Errorf("MarshalBinary(%+v) = %v, want ErrBadHello", bad, err)
		}
	}
}

func TestStatusDecodeErrors(t *testing.T) {
	good, err := (&Status{Height: 1, Work: big.NewInt(5)}).MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name string
		data []byte
	}{
		{"empty", nil},
		{"short", good[:helloFixedSize-1]},
		{"trailing byte", append(bytes.Clone(good), 0)},
		{"missing work", good[:len(good)-1]},
		{"negative height", func() []byte { b := bytes.Clone(good); b[2*chain.HashSize] = 0x80; return b }()},
		{"justified above height", func() []byte { b := bytes.Clone(good); b[2*chain.HashSize+15] = 2; return b }()},
		{"leading zero", func() []byte {
			b := bytes.Clone(good[:helloFixedSize])
			b[helloFixedSize-1] = 2
			return append(b, 0, 5)
		}()},
		{"work too long", make([]byte, MaxHelloSize+1)},
	} {
		var s Status
		if err := s.UnmarshalBinary(c.data); !errors.Is(err, ErrBadHello) {
			t.Errorf("%s: %v, want ErrBadHello", c.name, err)
		}
	}
}

// FuzzStatus: decoding never panics, and what decodes encodes back to the
// same bytes (only the canonical encoding is accepted).
func FuzzStatus(f *testing.F) {
	fuzzRoundTrip[Status](f)
}

// TestMessageID: a block's id starts with its hash and changes with its
// body and its seal; a transfer's is its txid; junk gets a stable id.
func TestMessageID(t *testing.T) {
	p := &chain.DevParams
	id := messageID(BlocksTopic(p.GenesisHash))
	tt := TransfersTopic(p.GenesisHash)
	bt := BlocksTopic(p.GenesisHash)
	b := testBlock(t, p, 1, 1, true)
	raw, err := b.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	hash := b.Hash()
	got := id(&pb.Message{Topic: &bt, Data: raw})
	if !strings.HasPrefix(got, string(hash[:])) || got != id(&pb.Message{Topic: &bt, Data: bytes.Clone(raw)}) {
		t.Errorf("block id %x", got)
	}
	b.Transactions[0].Coinbase.Extranonce = []byte{9} // same header, other body
	mutated, err := b.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	if other := id(&pb.Message{Topic: &bt, Data: mutated}); other == got || !strings.HasPrefix(other, string(hash[:])) {
		t.Errorf("mutated block id %x, block id %x", other, got)
	}
	// A proof-of-stake block whose seal differs (the hash does not cover
	// it) is another message: a forged copy gossiped first does not make
	// pubsub drop the honest one as seen.
	b.Transactions[0].Coinbase.Extranonce = nil
	b.Seal = &chain.BlockSeal{1}
	forged, err := b.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	b.Seal = &chain.BlockSeal{2}
	honest, err := b.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	fid, hid := id(&pb.Message{Topic: &bt, Data: forged}), id(&pb.Message{Topic: &bt, Data: honest})
	if fid == hid || !strings.HasPrefix(fid, string(hash[:])) || !strings.HasPrefix(hid, string(hash[:])) {
		t.Errorf("ids of two seals of one block: %x and %x", fid, hid)
	}
	tx := testTransfer(t, p, 1)
	traw, err := tx.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	txid := tx.TxID()
	if got := id(&pb.Message{Topic: &tt, Data: traw}); got != string(txid[:]) {
		t.Errorf("transfer id %x, want %x", got, txid)
	}
	if id(&pb.Message{Topic: &tt, Data: []byte("junk")}) != id(&pb.Message{Topic: &bt, Data: []byte("junk")}) {
		t.Error("junk ids differ")
	}
}

// fuzzRoundTrip fuzzes a wire decoder: decoding never panics, and what
// decodes encodes back to the same bytes (only the canonical encoding is
// accepted).
func fuzzRoundTrip[T any, P interface {
	*T
	encoding.BinaryMarshaler
	encoding.BinaryUnmarshaler
}](f *testing.F) {
	f.Fuzz(func(t *testing.T, data []byte) {
		var v T
		if err := P(&v).UnmarshalBinary(data); err != nil {
			return
		}
		raw, err := P(&v).MarshalBinary()
		if err != nil {
			t.Fatalf("decoded %x but cannot encode it: %v", data, err)
		}
		if !bytes.Equal(raw, data) {
			t.Fatalf("decoded %x, encodes as %x", data, raw)
		}
	})
}
