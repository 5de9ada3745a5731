package store

import (
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/powmine/powmine/chain"
	"github.com/powmine/powmine/chain/storage"
)

// Value formats. Every value this package writes but a block starts with
// a format byte, so that a later version can change the encoding of one
// kind of value and still read the old one. Blocks are stored in their
// consensus encoding (chain.Block.MarshalBinary), which is committed to by
// the block hash and never changes.
const (
	// indexFormat is the format byte of index values:
	//
	//	size  field
	//	   1  indexFormat (1)
	//	  80  Header (chain.Header encoding)
	//	   1  Status (storage.BlockStatus bits)
	//	 var  Seq, canonical uvarint
	//
	// Height and Hash are in the key: 8-byte big-endian height || hash,
	// so that a cursor walk returns parents before children.
	indexFormat = 1

	// undoFormat is the format byte of undo values:
	//
	//	size  field
	//	   1  undoFormat (1)
	//	 var  number of entries, canonical uvarint
	//	      each entry: 20 address, uvarint balance, uvarint sequence
	//
	// An entry with balance and sequence 0 restores an absent account.
	// A block that touched no validator keeps this format, byte for byte
	// what versions before stake wrote.
	undoFormat = 1

	// undoStakeFormat is the format byte of undo values of blocks that
	// touched the validator set: undoFormat's layout, then
	//
	//	 var  number of validator entries, canonical uvarint
	//	      each entry: 32 validator key, then a validator (see
	//	      validatorFormat, without its format byte)
	//
	// An entry of all zeros restores an absent validator.
	undoStakeFormat = 2

	// undoFinalityFormat is the format byte of undo values of blocks that
	// touched the finality state: undoStakeFormat's layout (its validator
	// count may be 0 here), then
	//
	//	 var  number of finality entries, canonical uvarint, at least 1
	//	      each entry: uvarint key length, key, uvarint value length,
	//	      value (an empty value restores an absent record)
	undoFinalityFormat = 3

	// accountFormat is the format byte of account values:
	//
	//	size  field
	//	   1  accountFormat (1)
	//	 var  Balance, canonical uvarint
	//	 var  Sequence, canonical uvarint
	//
	// The zero account is never stored (a Batch entry holding it deletes
	// the key), so a stored zero account is corrupt.
	accountFormat = 1

	// validatorFormat is the format byte of values of the validators
	// bucket, keyed by the 32-byte validator key:
	//
	//	size  field
	//	   1  validatorFormat (2)
	//	  20  Owner address
	//	 var  Stake, canonical uvarint
	//	 var  ActivationEpoch, canonical uvarint
	//	 var  ExitEpoch, canonical uvarint
	//	 var  Withdrawing, canonical uvarint
	//	 var  WithdrawEpoch, canonical uvarint
	//
	// The zero validator is never stored. WithdrawEpoch is 0 exactly when
	// Withdrawing is, and Withdrawing is below Stake. Format 1, of
	// SchemaVersion 2, lacked the last two fields.
	validatorFormat = 2
)

// Key and value sizes.
const (
	indexKeySize      = 8 + chain.HashSize
	minIndexValueSize = 1 + chain.HeaderSize + 1 + 1
	minUndoEntrySize  = chain.AddressSize + 2

	minValidatorSize          = chain.AddressSize + 5
	minUndoValidatorEntrySize = chain.PublicKeySize + minValidatorSize
)

// errValue is wrapped by the reasons the decoders give.
var (
	errTruncated    = errors.New("truncated")
	errNonCanonical = errors.New("non-canonical varint")
	errTrailing     = errors.New("trailing bytes")
	errFormat       = errors.New("unknown format version")
)

// indexKey returns the index key of (height, hash). height must not be
// negative.
func indexKey(height int64, hash chain.Hash) []byte {
	k := make([]byte, indexKeySize)
	binary.BigEndian.PutUint64(k, uint64(height))
	copy(k[8:], hash[:])
	return k
}

// appendIndexValue appends the value of e to dst.
func appendIndexValue(dst []byte, e *storage.IndexEntry) []byte {
	dst = append(dst, indexFormat)
	dst, _ = e.Header.AppendBinary(dst) // never fails
	dst = append(dst, byte(e.Status))
	return binary.AppendUvarint(dst, e.Seq)
}

// decodeIndexEntry decodes an index key and value. It checks the formats
// and that the header hashes to the key's hash.
func decodeIndexEntry(key, val []byte) (storage.IndexEntry, error) {
	var e storage.IndexEntry
	if len(key) != indexKeySize {
		return e, fmt.Errorf("key of %d bytes, want %d", len(key), indexKeySize)
	}
	h := binary.BigEndian.Uint64(key)
	if h > 1<<63-1 {
		return e, fmt.Errorf("height %d out of range", h)
	}
	e.Height = int64(h)
	copy(e.Hash[:], key[8:])
	if len(val) < minIndexValueSize {
		return e, fmt.Errorf("%w: value of %d bytes, want at least %d", errTruncated, len(val), minIndexValueSize)
	}
	if val[0] != indexFormat {
		return e, fmt.Errorf("%w %d", errFormat, val[0])
	}
	_ = e.Header.UnmarshalBinary(val[1 : 1+chain.HeaderSize]) // cannot fail: 80 bytes
	e.Status = storage.BlockStatus(val[1+chain.HeaderSize])
	rest := val[2+chain.HeaderSize:]
	var n int
	var err error
	if e.Seq, n, err = readUvarint(rest, "seq"); err != nil {
		return e, err
	}
	if n != len(rest) {
		return e, fmt.Errorf("%w: %d after seq", errTrailing, len(rest)-n)
	}
	if got := e.Header.Hash(); got != e.Hash {
		return e, fmt.Errorf("header hashes to %v, key says %v", got, e.Hash)
	}
	return e, nil
}

// appendUndo appends the value of u to dst.
func appendUndo(dst []byte, u *storage.Undo) []byte {
	format := byte(undoFormat)
	switch {
	case len(u.Finality) > 0:
		format = undoFinalityFormat
	case len(u.Validators) > 0:
		format = undoStakeFormat
	}
	dst = append(dst, format)
	dst = binary.AppendUvarint(dst, uint64(len(u.Accounts)))
	for _, e := range u.Accounts {
		dst = append(dst, e.Address[:]...)
		dst = binary.AppendUvarint(dst, e.Account.Balance)
		dst = binary.AppendUvarint(dst, e.Account.Sequence)
	}
	if format != undoFormat {
		dst = binary.AppendUvarint(dst, uint64(len(u.Validators)))
		for _, e := range u.Validators {
			dst = append(dst, e.Key[:]...)
			dst = appendValidatorFields(dst, e.Validator)
		}
	}
	if format == undoFinalityFormat {
		dst = binary.AppendUvarint(dst, uint64(len(u.Finality)))
		for _, e := range u.Finality {
			dst = binary.AppendUvarint(dst, uint64(len(e.Key)))
			dst = append(dst, e.Key...)
			dst = binary.AppendUvarint(dst, uint64(len(e.Value)))
			dst = append(dst, e.Value...)
		}
	}
	return dst
}

// decodeUndo decodes an undo value of either format. A record with no
// entries decodes to an Undo with nil Accounts (and nil Validators).
func decodeUndo(val []byte) (*storage.Undo, error) {
	if len(val) < 2 {
		return nil, fmt.Errorf("%w: value of %d bytes", errTruncated, len(val))
	}
	format := val[0]
	if format != undoFormat && format != undoStakeFormat && format != undoFinalityFormat {
		return nil, fmt.Errorf("%w %d", errFormat, val[0])
	}
	count, n, err := readUvarint(val[1:], "entry count")
	if err != nil {
		return nil, err
	}
	rest := val[1+n:]
	if count > uint64(len(rest)/minUndoEntrySize) {
		return nil, fmt.Errorf("%w: %d entries cannot fit in %d bytes", errTruncated, count, len(rest))
	}
	u := &storage.Undo{}
	if count > 0 {
		u.Accounts = make([]storage.AccountEntry, count)
	}
	for i := range u.Accounts {
		e := &u.Accounts[i]
		if len(rest) < chain.AddressSize {
			return nil, fmt.Errorf("%w: entry %d address", errTruncated, i)
		}
		copy(e.Address[:], rest)
		rest = rest[chain.AddressSize:]
		if e.Account, n, err = readAccount(rest); err != nil {
			return nil, fmt.Errorf("entry %d: %w", i, err)
		}
		rest = rest[n:]
	}
	if format != undoFormat {
		if rest, err = decodeUndoValidators(u, rest, format == undoStakeFormat); err != nil {
			return nil, err
		}
	}
	if format == undoFinalityFormat {
		if rest, err = decodeUndoFinality(u, rest); err != nil {
			return nil, err
		}
	}
	if len(rest) != 0 {
		return nil, fmt.Errorf("%w: %d after the last entry", errTrailing, len(rest))
	}
	return u, nil
}

// decodeUndoValidators reads the validator entries of an undoStakeFormat
// record into u and returns what follows them. The format exists only for
// records with validator entries, so a count of 0 is not canonical.
func decodeUndoValidators(u *storage.Undo, rest []byte, nonEmpty bool) ([]byte, error) {
	count, n, err := readUvarint(rest, "validator count")
	if err != nil {
		return nil, err
	}
	rest = rest[n:]
	if count == 0 && nonEmpty {
		return nil, fmt.Errorf("%w: stake undo record without validator entries", errNonCanonical)
	}
	if count > uint64(len(rest)/minUndoValidatorEntrySize) {
		return nil, fmt.Errorf("%w: %d validator entries cannot fit in %d bytes", errTruncated, count, len(rest))
	}
	u.Validators = make([]storage.ValidatorEntry, count)
	for i := range u.Validators {
		e := &u.Validators[i]
		if len(rest) < chain.PublicKeySize {
			return nil, fmt.Errorf("%w: validator entry %d key", errTruncated, i)
		}
		copy(e.Key[:], rest)
		rest = rest[chain.PublicKeySize:]
		if e.Validator, n, err = readValidator(rest); err != nil {
			return nil, fmt.Errorf("validator entry %d: %w", i, err)
		}
		rest = rest[n:]
	}
	return rest, nil
}

// appendValidatorFields appends v's fields, without a format byte.
func appendValidatorFields(dst []byte, v chain.Validator) []byte {
	dst = append(dst, v.Owner[:]...)
	dst = binary.AppendUvarint(dst, v.Stake)
	dst = binary.AppendUvarint(dst, v.ActivationEpoch)
	dst = binary.AppendUvarint(dst, v.ExitEpoch)
	dst = binary.AppendUvarint(dst, v.Withdrawing)
	return binary.AppendUvarint(dst, v.WithdrawEpoch)
}

// readValidator reads a validator's fields and returns the bytes read.
func readValidator(b []byte) (chain.Validator, int, error) {
	var v chain.Validator
	if len(b) < chain.AddressSize {
		return v, 0, fmt.Errorf("%w: owner", errTruncated)
	}
	copy(v.Owner[:], b)
	off := chain.AddressSize
	for _, f := range []struct {
		dst  *uint64
		what string
	}{{&v.Stake, "stake"}, {&v.ActivationEpoch, "activation epoch"}, {&v.ExitEpoch, "exit epoch"},
		{&v.Withdrawing, "withdrawing"}, {&v.WithdrawEpoch, "withdraw epoch"}} {
		x, n, err := readUvarint(b[off:], f.what)
		if err != nil {
			return v, 0, err
		}
		*f.dst = x
		off += n
	}
	if (v.Withdrawing == 0) != (v.WithdrawEpoch == 0) || (v.Withdrawing != 0 && v.Withdrawing >= v.Stake) {
		return v, 0, fmt.Errorf("withdrawing %d at epoch %d of a stake of %d", v.Withdrawing, v.WithdrawEpoch, v.Stake)
	}
	return v, off, nil
}

// appendValidator appends the value of v to dst.
func appendValidator(dst []byte, v chain.Validator) []byte {
	return appendValidatorFields(append(dst, validatorFormat), v)
}

// decodeValidator decodes a validator value; the zero validator is
// corrupt.
func decodeValidator(val []byte) (chain.Validator, error) {
	if len(val) == 0 {
		return chain.Validator{}, fmt.Errorf("%w: empty value", errTruncated)
	}
	if val[0] != validatorFormat {
		return chain.Validator{}, fmt.Errorf("%w %d", errFormat, val[0])
	}
	v, n, err := readValidator(val[1:])
	if err != nil {
		return v, err
	}
	if n != len(val)-1 {
		return v, fmt.Errorf("%w: %d after the validator", errTrailing, len(val)-1-n)
	}
	if v == (chain.Validator{}) {
		return v, errors.New("zero validator stored (it should have been deleted)")
	}
	return v, nil
}

// appendAccount appends the value of a to dst.
func appendAccount(dst []byte, a chain.Account) []byte {
	dst = append(dst, accountFormat)
	dst = binary.AppendUvarint(dst, a.Balance)
	return binary.AppendUvarint(dst, a.Sequence)
}

// decodeAccount decodes an account value; the zero account is corrupt.
func decodeAccount(val []byte) (chain.Account, error) {
	if len(val) == 0 {
		return chain.Account{}, fmt.Errorf("%w: empty value", errTruncated)
	}
	if val[0] != accountFormat {
		return chain.Account{}, fmt.Errorf("%w %d", errFormat, val[0])
	}
	a, n, err := readAccount(val[1:])
	if err != nil {
		return a, err
	}
	if n != len(val)-1 {
		return a, fmt.Errorf("%w: %d after the account", errTrailing, len(val)-1-n)
	}
	if a == (chain.Account{}) {
		return a, errors.New("zero account stored (it should have been deleted)")
	}
	return a, nil
}

// readAccount reads a balance and a sequence and returns the bytes read.
func readAccount(b []byte) (chain.Account, int, error) {
	var a chain.Account
	bal, n1, err := readUvarint(b, "balance")
	if err != nil {
		return a, 0, err
	}
	seq, n2, err := readUvarint(b[n1:], "sequence")
	if err != nil {
		return a, 0, err
	}
	return chain.Account{Balance: bal, Sequence: seq}, n1 + n2, nil
}

// readUvarint reads a canonical (shortest-form) uvarint.
func readUvarint(b []byte, what string) (uint64, int, error) {
	v, n := binary.Uvarint(b)
	switch {
	case n == 0:
		return 0, 0, fmt.Errorf("%w: %s", errTruncated, what)
	case n < 0:
		return 0, 0, fmt.Errorf("%w: %s overflows 64 bits", errNonCanonical, what)
	case n > 1 && b[n-1] == 0:
		return 0, 0, fmt.Errorf("%w: %s is not minimal", errNonCanonical, what)
	}
	return v, n, nil
}

// decodeUndoFinality reads the finality entries of an undoFinalityFormat
// record: at least one.
func decodeUndoFinality(u *storage.Undo, rest []byte) ([]byte, error) {
	count, n, err := readUvarint(rest, "finality entry count")
	if err != nil {
		return nil, err
	}
	rest = rest[n:]
	if count == 0 {
		return nil, fmt.Errorf("%w: finality undo record without finality entries", errNonCanonical)
	}
	if count > uint64(len(rest)/2) {
		return nil, fmt.Errorf("%w: %d finality entries cannot fit in %d bytes", errTruncated, count, len(rest))
	}
	u.Finality = make([]storage.FinalityEntry, count)
	for i := range u.Finality {
		var field [2][]byte
		for j := range field {
			l, n, err := readUvarint(rest, "finality entry length")
			if err != nil {
				return nil, fmt.Errorf("finality entry %d: %w", i, err)
			}
			rest = rest[n:]
			if l > uint64(len(rest)) {
				return nil, fmt.Errorf("%w: finality entry %d", errTruncated, i)
			}
			field[j] = rest[:l:l]
			rest = rest[l:]
		}
		u.Finality[i] = storage.FinalityEntry{Key: string(field[0]), Value: append([]byte(nil), field[1]...)}
	}
	return rest, nil
}
