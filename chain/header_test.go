package chain

import (
	"bytes"
	"encoding"
	"encoding/hex"
	"errors"
	"testing"

	"github.com/powmine/powmine/hash/sha256d"
)

// genesisHeaderBytes is Bitcoin's block 0 header on the wire, field by field.
var genesisHeaderBytes = mustHex(
	"01000000" + // Version 1
		"0000000000000000000000000000000000000000000000000000000000000000" + // PrevBlock
		"3ba3edfd7a7b12b27ac72c3e67768f617fc81bc3888a51323a9fb8aa4b1e5e4a" + // MerkleRoot, internal order
		"29ab5f49" + // Timestamp 1231006505
		"ffff001d" + // Bits 0x1d00ffff
		"1dac2b7c") // Nonce 2083236893

func mustHex(s string) []byte {
	b, err := hex.DecodeString(s)
	if err != nil {
		panic(err)
	}
	return b
}

var (
	_ encoding.BinaryMarshaler   = (*Header)(nil)
	_ encoding.BinaryUnmarshaler = (*Header)(nil)
	_ encoding.BinaryAppender    = (*Header)(nil)
)

func TestHeaderGenesis(t *testing.T) {
	h := MainNetParams.GenesisHeader
	ser := h.Serialize()
	if !bytes.Equal(ser[:], genesisHeaderBytes) {
		t.Fatalf("Serialize = %x\nwant        %x", ser, genesisHeaderBytes)
	}
	m, err := h.MarshalBinary()
	if err != nil || !bytes.Equal(m, genesisHeaderBytes) {
		t.Fatalf("MarshalBinary = %x, %v", m, err)
	}
	prefix := []byte("abc")
	a, err := h.AppendBinary(prefix)
	if err != nil || !bytes.Equal(a[:3], prefix) || !bytes.Equal(a[3:], genesisHeaderBytes) {
		t.Fatalf("AppendBinary = %x, %v", a, err)
	}

	var d Header
	if err := d.UnmarshalBinary(genesisHeaderBytes); err != nil {
		t.Fatal(err)
	}
	if d != h {
		t.Errorf("decoded %+v, want %+v", d, h)
	}
	if got := h.Hash(); got.String() != genesisHashStr {
		t.Errorf("Hash = %v, want %s", got, genesisHashStr)
	}
	if got := h.MerkleRoot.String(); got != "4a5e1e4baab89f3a32518a88c31bc87f618f76673e2cc77ab2127b7afdeda33b" {
		t.Errorf("merkle root displays as %s", got)
	}
}

func TestHeaderNegativeVersion(t *testing.T) {
	// Version is signed on the wire; the top bit must survive.
	h := Header{Version: -2, Timestamp: 0xfffffffe, Bits: 1, Nonce: 0x80000000}
	b := h.Serialize()
	if !bytes.Equal(b[:4], []byte{0xfe, 0xff, 0xff, 0xff}) {
		t.Errorf("version bytes %x", b[:4])
	}
	var d Header
	if err := d.UnmarshalBinary(b[:]); err != nil || d != h {
		t.Errorf("round trip = %+v, %v; want %+v", d, err, h)
	}
}

func TestHeaderUnmarshalSize(t *testing.T) {
	for _, n := range []int{0, 1, 79, 81, 160} {
		data := make([]byte, n)
		copy(data, genesisHeaderBytes)
		h := MainNetParams.GenesisHeader
		err := h.UnmarshalBinary(data)
		if !errors.Is(err, ErrHeaderSize) {
			t.Errorf("%d bytes: error %v, want ErrHeaderSize", n, err)
		}
		if h != MainNetParams.GenesisHeader {
			t.Errorf("%d bytes: failed decode modified the header", n)
		}
	}
}

func TestHeaderAllocs(t *testing.T) {
	h := MainNetParams.GenesisHeader
	buf := make([]byte, 0, HeaderSize)
	var sink Hash
	var d Header
	tests := []struct {
		name string
		fn   func()
	}{
		{"Hash", func() { sink = h.Hash() }},
		{"Serialize", func() { b := h.Serialize(); sink[0] = b[0] }},
		{"AppendBinary", func() { buf, _ = h.AppendBinary(buf[:0]) }},
		{"UnmarshalBinary", func() { _ = d.UnmarshalBinary(genesisHeaderBytes) }},
	}
	for _, tt := range tests {
		if n := testing.AllocsPerRun(100, tt.fn); n != 0 {
			t.Errorf("%s: %v allocations, want 0", tt.name, n)
		}
	}
	_ = sink
}

func FuzzHeaderUnmarshal(f *testing.F) {
	f.Add(genesisHeaderBytes)
	f.Add(mustHex("00e0ff3f82f7aacf60fac3873b0beade61d0701639090ae5f47800000000000000000000acbc1b3381c671b2b7753bb2252d3ebd6900486ec8153ceb10e954a86e3f9e1468788665b3e80317f5171649")) // height 822528
	f.Add([]byte{})
	f.Add(genesisHeaderBytes[:79])
	f.Add(append(bytes.Clone(genesisHeaderBytes), 0))
	f.Add(bytes.Repeat([]byte{0xff}, HeaderSize))
	f.Fuzz(func(t *testing.T, data []byte) {
		var h Header
		err := h.UnmarshalBinary(data)
		if len(data) != HeaderSize {
			if !errors.Is(err, ErrHeaderSize) {
				t.Fatalf("%d bytes: error %v, want ErrHeaderSize", len(data), err)
			}
			if h != (Header{}) {
				t.Fatalf("failed decode wrote %+v", h)
			}
			return
		}
		if err != nil {
			t.Fatalf("80 bytes rejected: %v", err)
		}
		out, err := h.MarshalBinary()
		if err != nil || !bytes.Equal(out, data) {
			t.Fatalf("round trip = %x, %v; want %x", out, err, data)
		}
		if got, want := h.Hash(), Hash(sha256d.DoubleSum(data)); got != want {
			t.Fatalf("Hash = %v, want %v", got, want)
		}
	})
}

func BenchmarkHeaderHash(b *testing.B) {
	h := MainNetParams.GenesisHeader
	b.SetBytes(HeaderSize)
	b.ReportAllocs()
	var sink Hash
	for b.Loop() {
		h.Nonce++
		sink = h.Hash()
	}
	_ = sink
}

func BenchmarkHeaderUnmarshal(b *testing.B) {
	var h Header
	b.SetBytes(HeaderSize)
	b.ReportAllocs()
	for b.Loop() {
		if err := h.UnmarshalBinary(genesisHeaderBytes); err != nil {
			b.Fatal(err)
		}
	}
}
