package chain

import (
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/powmine/powmine/hash/sha256d"
)

// HeaderSize is the length of a serialized block header in bytes.
const HeaderSize = 80

// ErrHeaderSize is returned (wrapped) by UnmarshalBinary when the input is
// not exactly HeaderSize bytes long.
var ErrHeaderSize = errors.New("chain: header must be 80 bytes")

// Header is a Bitcoin block header. Its serialized form is 80 bytes:
//
//	offset size field
//	     0    4 Version     int32, little-endian
//	     4   32 PrevBlock   internal byte order
//	    36   32 MerkleRoot  internal byte order
//	    68    4 Timestamp   uint32 seconds since 1970, little-endian
//	    72    4 Bits        compact target, little-endian
//	    76    4 Nonce       little-endian
type Header struct {
	Version    int32
	PrevBlock  Hash
	MerkleRoot Hash
	Timestamp  uint32
	Bits       uint32
	Nonce      uint32
}

// Serialize returns the header's 80-byte wire encoding. It does not
// allocate.
func (h *Header) Serialize() [HeaderSize]byte {
	var b [HeaderSize]byte
	binary.LittleEndian.PutUint32(b[0:4], uint32(h.Version))
	copy(b[4:36], h.PrevBlock[:])
	copy(b[36:68], h.MerkleRoot[:])
	binary.LittleEndian.PutUint32(b[68:72], h.Timestamp)
	binary.LittleEndian.PutUint32(b[72:76], h.Bits)
	binary.LittleEndian.PutUint32(b[76:80], h.Nonce)
	return b
}

// AppendBinary appends the 80-byte encoding to b (encoding.BinaryAppender).
// It never fails and does not allocate when b has room.
func (h *Header) AppendBinary(b []byte) ([]byte, error) {
	s := h.Serialize()
	return append(b, s[:]...), nil
}

// MarshalBinary returns the 80-byte encoding in a new slice
// (encoding.BinaryMarshaler). It never fails.
func (h *Header) MarshalBinary() ([]byte, error) {
	return h.AppendBinary(make([]byte, 0, HeaderSize))
}

// UnmarshalBinary decodes an 80-byte encoding (encoding.BinaryUnmarshaler).
// Any other length fails with an error wrapping ErrHeaderSize and leaves h
// unchanged. Every 80-byte input decodes; validity is the Check functions'
// concern.
func (h *Header) UnmarshalBinary(data []byte) error {
	if len(data) != HeaderSize {
		return fmt.Errorf("%w, got %d", ErrHeaderSize, len(data))
	}
	h.Version = int32(binary.LittleEndian.Uint32(data[0:4]))
	copy(h.PrevBlock[:], data[4:36])
	copy(h.MerkleRoot[:], data[36:68])
	h.Timestamp = binary.LittleEndian.Uint32(data[68:72])
	h.Bits = binary.LittleEndian.Uint32(data[72:76])
	h.Nonce = binary.LittleEndian.Uint32(data[76:80])
	return nil
}

// Hash returns the block hash: double SHA-256 of the 80-byte encoding, in
// internal byte order.
func (h *Header) Hash() Hash {
	b := h.Serialize()
	return sha256d.DoubleSum(b[:])
}
