package chain

import (
	"encoding/binary"
	"errors"
	"fmt"
)

// Decoding errors. Every error from Transaction.UnmarshalBinary and
// Block.UnmarshalBinary wraps ErrMalformed and exactly one of the more
// specific sentinels below (test with errors.Is). A malformed encoding says
// nothing about the block hash it arrived under: it is not a RuleError.
var (
	// ErrMalformed is wrapped by every decoding error.
	ErrMalformed = errors.New("chain: malformed encoding")

	// ErrTruncated: the input ends inside a field.
	ErrTruncated = errors.New("chain: unexpected end of input")

	// ErrNonCanonical: a varint is not in its shortest form, or bytes
	// follow the encoded value.
	ErrNonCanonical = errors.New("chain: non-canonical encoding")

	// ErrUnknownType: an unknown transaction version or type.
	ErrUnknownType = errors.New("chain: unknown transaction version or type")

	// ErrTooLarge: a length, a count or the whole input exceeds its limit
	// (MaxTxSize, MaxBlockSize, MaxTxPerBlock, MaxCoinbaseOutputs,
	// MaxExtranonceSize).
	ErrTooLarge = errors.New("chain: encoding exceeds a size limit")
)

// decodeError builds an error wrapping ErrMalformed and kind.
func decodeError(kind error, format string, args ...any) error {
	return fmt.Errorf("%w: %w: %s", ErrMalformed, kind, fmt.Sprintf(format, args...))
}

// decoder reads the binary format from a byte slice. The first failure is
// sticky: later reads return zero values and err keeps the first error, so
// callers check err once after a group of reads.
type decoder struct {
	buf []byte
	off int
	err error
}

// remaining returns the number of unread bytes.
func (d *decoder) remaining() int { return len(d.buf) - d.off }

// fail records err unless an earlier error is already recorded.
func (d *decoder) fail(err error) {
	if d.err == nil {
		d.err = err
	}
}

// next returns the next n bytes without copying, or nil after a failure.
func (d *decoder) next(n int, what string) []byte {
	if d.err != nil {
		return nil
	}
	if n > d.remaining() {
		d.fail(decodeError(ErrTruncated, "%s needs %d bytes at offset %d, %d left", what, n, d.off, d.remaining()))
		return nil
	}
	b := d.buf[d.off : d.off+n]
	d.off += n
	return b
}

// uint8 reads one byte.
func (d *decoder) uint8(what string) uint8 {
	if b := d.next(1, what); b != nil {
		return b[0]
	}
	return 0
}

// uint32 reads a little-endian uint32.
func (d *decoder) uint32(what string) uint32 {
	if b := d.next(4, what); b != nil {
		return binary.LittleEndian.Uint32(b)
	}
	return 0
}

// uint64 reads a little-endian uint64.
func (d *decoder) uint64(what string) uint64 {
	if b := d.next(8, what); b != nil {
		return binary.LittleEndian.Uint64(b)
	}
	return 0
}

// copyTo fills dst from the input.
func (d *decoder) copyTo(dst []byte, what string) {
	if b := d.next(len(dst), what); b != nil {
		copy(dst, b)
	}
}

// count reads a canonical uvarint and checks it against max and against
// the bytes left: each counted item takes at least minItem bytes, so a
// count the input cannot hold fails before anything is allocated for it.
func (d *decoder) count(max, minItem int, what string) int {
	if d.err != nil {
		return 0
	}
	v, n := binary.Uvarint(d.buf[d.off:])
	switch {
	case n == 0:
		d.fail(decodeError(ErrTruncated, "%s varint at offset %d is cut short", what, d.off))
		return 0
	case n < 0:
		d.fail(decodeError(ErrNonCanonical, "%s varint at offset %d overflows 64 bits", what, d.off))
		return 0
	case n > 1 && d.buf[d.off+n-1] == 0:
		// A final group of zero bits means a shorter form exists.
		d.fail(decodeError(ErrNonCanonical, "%s varint at offset %d is not minimal", what, d.off))
		return 0
	}
	d.off += n
	if v > uint64(max) {
		d.fail(decodeError(ErrTooLarge, "%s %d exceeds the limit %d", what, v, max))
		return 0
	}
	if minItem > 0 && v > uint64(d.remaining()/minItem) {
		d.fail(decodeError(ErrTruncated, "%s %d needs at least %d bytes, %d left", what, v, int(v)*minItem, d.remaining()))
		return 0
	}
	return int(v)
}

// finish fails unless the whole input was consumed, and returns the error.
func (d *decoder) finish(what string) error {
	if d.err == nil && d.remaining() != 0 {
		d.fail(decodeError(ErrNonCanonical, "%d trailing bytes after the %s", d.remaining(), what))
	}
	return d.err
}

// uvarintSize returns the length of v's uvarint encoding.
func uvarintSize(v uint64) int {
	n := 1
	for v >= 0x80 {
		v >>= 7
		n++
	}
	return n
}
