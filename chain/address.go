package chain

import (
	"encoding/hex"
	"errors"
	"fmt"
	"strings"

	"github.com/powmine/powmine/hash/sha256d"
)

// AddressSize is the length of an Address in bytes.
const AddressSize = 20

// AddressPrefix starts the human form of every address.
const AddressPrefix = "pm"

// addressChecksumSize is the number of checksum bytes in the human form.
const addressChecksumSize = 4

// AddressStringSize is the length of an address's human form: the prefix
// and the hex of the address followed by its checksum.
const AddressStringSize = len(AddressPrefix) + 2*(AddressSize+addressChecksumSize)

// Errors from ParseAddress, wrapped with detail (test with errors.Is).
var (
	// ErrAddressFormat: wrong length, wrong prefix or a non-hex character.
	ErrAddressFormat = errors.New("chain: malformed address")

	// ErrAddressChecksum: well formed but the checksum does not match,
	// usually a typing error.
	ErrAddressChecksum = errors.New("chain: address checksum mismatch")
)

// Address identifies an account: the first 20 bytes of the double SHA-256
// of the account's 32-byte ed25519 public key (PublicKey.Address).
//
// Its human form (String, ParseAddress) is AddressPrefix followed by 48
// lowercase hex digits: the 20 address bytes, then a 4-byte checksum, the
// first 4 bytes of the double SHA-256 of the 20 address bytes. For example
// the zero address is "pm0000000000000000000000000000000000000000f6eab7b9".
type Address [AddressSize]byte

// checksum returns the 4 checksum bytes of the human form.
func (a Address) checksum() [addressChecksumSize]byte {
	sum := sha256d.DoubleSum(a[:])
	return [addressChecksumSize]byte(sum[:addressChecksumSize])
}

// String returns the human form: "pm" and 48 lowercase hex digits.
func (a Address) String() string {
	var raw [AddressSize + addressChecksumSize]byte
	copy(raw[:], a[:])
	sum := a.checksum()
	copy(raw[AddressSize:], sum[:])
	return AddressPrefix + hex.EncodeToString(raw[:])
}

// ParseAddress parses an address in human form, as String prints it. Hex
// digits may be upper or lower case; the prefix must be lowercase "pm".
// Errors wrap ErrAddressFormat or ErrAddressChecksum.
func ParseAddress(s string) (Address, error) {
	if len(s) != AddressStringSize {
		return Address{}, fmt.Errorf("%w: %d characters, want %d", ErrAddressFormat, len(s), AddressStringSize)
	}
	if !strings.HasPrefix(s, AddressPrefix) {
		return Address{}, fmt.Errorf("%w: %q does not start with %q", ErrAddressFormat, s, AddressPrefix)
	}
	var raw [AddressSize + addressChecksumSize]byte
	if _, err := hex.Decode(raw[:], []byte(s[len(AddressPrefix):])); err != nil {
		return Address{}, fmt.Errorf("%w: %q: %v", ErrAddressFormat, s, err)
	}
	a := Address(raw[:AddressSize])
	if sum := a.checksum(); [addressChecksumSize]byte(raw[AddressSize:]) != sum {
		return Address{}, fmt.Errorf("%w: %q", ErrAddressChecksum, s)
	}
	return a, nil
}

// MarshalText implements encoding.TextMarshaler with the human form.
func (a Address) MarshalText() ([]byte, error) {
	return []byte(a.String()), nil
}

// UnmarshalText implements encoding.TextUnmarshaler with ParseAddress.
func (a *Address) UnmarshalText(text []byte) error {
	parsed, err := ParseAddress(string(text))
	if err != nil {
		return err
	}
	*a = parsed
	return nil
}
