package chain

import (
	"errors"
	"math/big"
	"testing"
)

const genesisHashStr = "000000000019d6689c085ae165831e934ff763ae46a2a6c172b3f1b60a8ce26f"

func TestHashString(t *testing.T) {
	h, err := NewHashFromStr(genesisHashStr)
	if err != nil {
		t.Fatal(err)
	}
	// Internal order is the reverse of the display form.
	if h[0] != 0x6f || h[31] != 0x00 || h[24] != 0x68 {
		t.Errorf("internal bytes %x are not the reversed display form", h[:])
	}
	if h != MainNetParams.GenesisHash {
		t.Errorf("parsed %v, MainNetParams.GenesisHash is %v", h, MainNetParams.GenesisHash)
	}
	if got := h.String(); got != genesisHashStr {
		t.Errorf("String() = %s, want %s", got, genesisHashStr)
	}
	upper, err := NewHashFromStr("000000000019D6689C085AE165831E934FF763AE46A2A6C172B3F1B60A8CE26F")
	if err != nil || upper != h {
		t.Errorf("upper-case parse = %v, %v", upper, err)
	}
}

func TestNewHashFromStrErrors(t *testing.T) {
	tests := []struct {
		name   string
		in     string
		isSize bool
	}{
		{"empty", "", true},
		{"short", genesisHashStr[:63], true},
		{"long", genesisHashStr + "0", true},
		{"0x prefix", "0x" + genesisHashStr[2:], false},
		{"non-hex", "zz" + genesisHashStr[2:], false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h, err := NewHashFromStr(tt.in)
			if err == nil {
				t.Fatalf("NewHashFromStr(%q) = %v, want an error", tt.in, h)
			}
			if got := errors.Is(err, ErrHashStrSize); got != tt.isSize {
				t.Errorf("errors.Is(%v, ErrHashStrSize) = %v, want %v", err, got, tt.isSize)
			}
			if h != (Hash{}) {
				t.Errorf("failed parse returned non-zero hash %v", h)
			}
		})
	}
}

func TestHashBig(t *testing.T) {
	max256 := new(big.Int).Sub(new(big.Int).Lsh(big.NewInt(1), 256), big.NewInt(1))
	tests := []struct {
		name string
		hash string // display form, which reads as the big-endian number
		n    *big.Int
	}{
		{"zero", "0000000000000000000000000000000000000000000000000000000000000000", new(big.Int)},
		{"one", "0000000000000000000000000000000000000000000000000000000000000001", big.NewInt(1)},
		{"genesis", genesisHashStr, mustBig(t, "19d6689c085ae165831e934ff763ae46a2a6c172b3f1b60a8ce26f")},
		{"pow limit", "00000000ffffffffffffffffffffffffffffffffffffffffffffffffffffffff", MainNetParams.PowLimit},
		{"max", "ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff", max256},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h, err := NewHashFromStr(tt.hash)
			if err != nil {
				t.Fatal(err)
			}
			if got := HashToBig(&h); got.Cmp(tt.n) != 0 {
				t.Errorf("HashToBig = %x, want %x", got, tt.n)
			}
			back, err := BigToHash(tt.n)
			if err != nil || back != h {
				t.Errorf("BigToHash(%x) = %v, %v; want %v", tt.n, back, err, h)
			}
		})
	}
	for _, bad := range []*big.Int{big.NewInt(-1), new(big.Int).Lsh(big.NewInt(1), 256)} {
		if _, err := BigToHash(bad); !errors.Is(err, ErrHashRange) {
			t.Errorf("BigToHash(%x) error = %v, want ErrHashRange", bad, err)
		}
	}
}

func mustBig(t testing.TB, hexStr string) *big.Int {
	t.Helper()
	n, ok := new(big.Int).SetString(hexStr, 16)
	if !ok {
		t.Fatalf("bad hex %q", hexStr)
	}
	return n
}
