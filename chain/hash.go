package chain

import (
	"encoding/hex"
	"errors"
	"fmt"
	"math/big"
)

// HashSize is the length of a Hash in bytes.
const HashSize = 32

// MaxHashStringSize is the length of a Hash in its display (hex) form.
const MaxHashStringSize = 2 * HashSize

// ErrHashStrSize is returned (wrapped) by NewHashFromStr when the string is
// not exactly MaxHashStringSize characters long.
var ErrHashStrSize = errors.New("chain: hash string must be 64 hex characters")

// ErrHashRange is returned (wrapped) by BigToHash for a number that is
// negative or does not fit in 256 bits.
var ErrHashRange = errors.New("chain: number out of hash range")

// Hash is a double SHA-256 digest in internal byte order: the bytes exactly
// as the hash function produced them and as they appear inside a serialized
// header. Block explorers and RPC show the bytes reversed; String and
// NewHashFromStr convert to and from that display form.
type Hash [HashSize]byte

// String returns the hash as block explorers show it: the bytes reversed,
// in lowercase hex.
func (h Hash) String() string {
	rev := h.reversed()
	return hex.EncodeToString(rev[:])
}

// reversed returns h with its bytes in the opposite order: the display
// form, which is also the big-endian form of the number h holds.
func (h Hash) reversed() Hash {
	for i, j := 0, HashSize-1; i < j; i, j = i+1, j-1 {
		h[i], h[j] = h[j], h[i]
	}
	return h
}

// NewHashFromStr parses a hash in display form (64 hex characters, most
// significant byte first, as String prints it).
func NewHashFromStr(s string) (Hash, error) {
	if len(s) != MaxHashStringSize {
		return Hash{}, fmt.Errorf("%w, got %d", ErrHashStrSize, len(s))
	}
	var rev Hash
	if _, err := hex.Decode(rev[:], []byte(s)); err != nil {
		return Hash{}, fmt.Errorf("chain: invalid hash string %q: %w", s, err)
	}
	return rev.reversed(), nil
}

// HashToBig reads the hash as a little-endian 256-bit unsigned number, the
// value the proof-of-work check compares with the target.
func HashToBig(h *Hash) *big.Int {
	be := h.reversed()
	return new(big.Int).SetBytes(be[:])
}

// BigToHash is the inverse of HashToBig: it writes n as a little-endian
// 256-bit number. The miner uses it to turn a target into digest byte order.
// It fails for negative numbers and numbers wider than 256 bits.
func BigToHash(n *big.Int) (Hash, error) {
	if n.Sign() < 0 || n.BitLen() > 8*HashSize {
		return Hash{}, fmt.Errorf("%w: %#x", ErrHashRange, n)
	}
	var be Hash
	n.FillBytes(be[:])
	return be.reversed(), nil
}
