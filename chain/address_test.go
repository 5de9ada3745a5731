package chain

import (
	"crypto/sha256"
	"encoding"
	"encoding/hex"
	"errors"
	"strings"
	"testing"
)

var (
	_ encoding.TextMarshaler   = Address{}
	_ encoding.TextUnmarshaler = (*Address)(nil)
)

// doubleSHA256 is an independent double SHA-256 from the standard library.
func doubleSHA256(b []byte) [32]byte {
	first := sha256.Sum256(b)
	return sha256.Sum256(first[:])
}

func TestAddressString(t *testing.T) {
	// The checksum is the first 4 bytes of sha256(sha256(address)).
	zeroSum := doubleSHA256(make([]byte, AddressSize))
	want := "pm" + strings.Repeat("00", AddressSize) + hex.EncodeToString(zeroSum[:4])
	if got := (Address{}).String(); got != want || len(got) != AddressStringSize {
		t.Fatalf("zero address = %q, want %q", got, want)
	}
	if want != "pm0000000000000000000000000000000000000000f6eab7b9" {
		t.Errorf("doc comment example is stale: %s", want)
	}
	for i := range 20 {
		a := testAddr(i)
		s := a.String()
		got, err := ParseAddress(s)
		if err != nil || got != a {
			t.Fatalf("ParseAddress(%q) = %x, %v; want %x", s, got, err, a)
		}
		up, err := ParseAddress("pm" + strings.ToUpper(s[2:]))
		if err != nil || up != a {
			t.Fatalf("upper-case hex: %x, %v", up, err)
		}
		text, _ := a.MarshalText()
		var back Address
		if err := back.UnmarshalText(text); err != nil || back != a {
			t.Fatalf("text round trip: %x, %v", back, err)
		}
	}
}

func TestPublicKeyAddress(t *testing.T) {
	pub, _ := testKey(7)
	sum := doubleSHA256(pub[:])
	if got := pub.Address(); string(got[:]) != string(sum[:AddressSize]) {
		t.Fatalf("Address = %x, want %x", got, sum[:AddressSize])
	}
}

func TestParseAddressErrors(t *testing.T) {
	good := testAddr(3).String()
	flip := func(s string, i int) string {
		b := []byte(s)
		if b[i] == '0' {
			b[i] = '1'
		} else {
			b[i] = '0'
		}
		return string(b)
	}
	tests := []struct {
		name string
		in   string
		want error
	}{
		{"empty", "", ErrAddressFormat},
		{"short", good[:len(good)-1], ErrAddressFormat},
		{"long", good + "0", ErrAddressFormat},
		{"wrong prefix", "px" + good[2:], ErrAddressFormat},
		{"upper-case prefix", "PM" + good[2:], ErrAddressFormat},
		{"not hex", good[:10] + "zz" + good[12:], ErrAddressFormat},
		{"flipped address digit", flip(good, 2), ErrAddressChecksum},
		{"flipped last address digit", flip(good, 2+2*AddressSize-1), ErrAddressChecksum},
		{"flipped checksum digit", flip(good, len(good)-1), ErrAddressChecksum},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a, err := ParseAddress(tt.in)
			if !errors.Is(err, tt.want) {
				t.Fatalf("ParseAddress(%q) = %x, %v; want %v", tt.in, a, err, tt.want)
			}
			var u Address
			if err := u.UnmarshalText([]byte(tt.in)); !errors.Is(err, tt.want) || u != (Address{}) {
				t.Fatalf("UnmarshalText = %v, left %x", err, u)
			}
		})
	}
}
