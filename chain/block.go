package chain

import "encoding/binary"

// Block limits. The decoder refuses encodings beyond them (ErrTooLarge);
// CheckBlockSanity refuses blocks built in memory beyond them (RuleError).
const (
	// MaxBlockSize is the largest serialized block in bytes, header
	// included. It admits about 7,000 transfers.
	MaxBlockSize = 1_000_000

	// MaxTxPerBlock is the most transactions, coinbase included, one block
	// may carry.
	MaxTxPerBlock = 10_000
)

// Block is a header and the transactions its merkle root commits to, the
// coinbase first.
//
// Serialized form:
//
//	size  field
//	  80  Header (see Header)
//	 var  len(Transactions), canonical uvarint <= MaxTxPerBlock
//	 ...  each transaction's serialization (see Transaction), back to back
//	 185  Seal, only in a proof-of-stake block (see BlockSeal); absent
//	      (0 bytes) otherwise
//
// The seal is a trailing optional field: after the transactions come
// either no bytes or exactly SealSize bytes, anything else is refused
// (ErrNonCanonical or ErrTruncated). Whether a block must carry one is a
// rule of its network (CheckBlockSanity: ErrBadSeal), not of the format.
//
// The block format has no version byte of its own: every byte of it is
// committed to by the block hash (the header directly, the transactions
// through the merkle root), and each transaction starts with its own
// version. Block values are not safe for concurrent modification; reading
// them concurrently is safe.
type Block struct {
	Header       Header
	Transactions []Transaction

	// Seal is the proposer's seal of a proof-of-stake block, nil in a
	// proof-of-work block and in every genesis block.
	Seal *BlockSeal
}

// Hash returns the block hash, the hash of its header.
func (b *Block) Hash() Hash { return b.Header.Hash() }

// TxIDs returns the transaction ids in block order.
func (b *Block) TxIDs() []Hash {
	ids := make([]Hash, len(b.Transactions))
	for i := range b.Transactions {
		ids[i] = b.Transactions[i].TxID()
	}
	return ids
}

// MerkleRoot computes the merkle root of the block's transactions and the
// mutation flag (see the MerkleRoot function). It does not look at the
// header.
func (b *Block) MerkleRoot() (root Hash, mutated bool) {
	return MerkleRoot(b.TxIDs())
}

// SerializeSize returns the length of the serialization. Transactions
// that are not well formed count as 0 bytes.
func (b *Block) SerializeSize() int {
	n := HeaderSize + uvarintSize(uint64(len(b.Transactions)))
	for i := range b.Transactions {
		n += b.Transactions[i].SerializeSize()
	}
	if b.Seal != nil {
		n += SealSize
	}
	return n
}

// AppendBinary appends the serialization to dst (encoding.BinaryAppender).
// It fails only when a transaction is not well formed, with an
// AssertError; limits are not checked.
func (b *Block) AppendBinary(dst []byte) ([]byte, error) {
	dst, _ = b.Header.AppendBinary(dst)
	dst = binary.AppendUvarint(dst, uint64(len(b.Transactions)))
	for i := range b.Transactions {
		var err error
		if dst, err = b.Transactions[i].AppendBinary(dst); err != nil {
			return dst, err
		}
	}
	if b.Seal != nil {
		dst = append(dst, b.Seal[:]...)
	}
	return dst, nil
}

// MarshalBinary returns the serialization in a new slice
// (encoding.BinaryMarshaler); see AppendBinary.
func (b *Block) MarshalBinary() ([]byte, error) {
	return b.AppendBinary(make([]byte, 0, b.SerializeSize()))
}

// UnmarshalBinary decodes exactly one serialized block
// (encoding.BinaryUnmarshaler), replacing b's contents. Errors wrap
// ErrMalformed; on error b is left unchanged. Inputs longer than
// MaxBlockSize fail before any decoding. Only the canonical encoding is
// accepted, so a successful decode re-encodes to the same bytes. Decoding
// checks the format, not the rules: run CheckBlockSanity next.
func (b *Block) UnmarshalBinary(data []byte) error {
	if len(data) > MaxBlockSize {
		return decodeError(ErrTooLarge, "block of %d bytes exceeds MaxBlockSize %d", len(data), MaxBlockSize)
	}
	d := decoder{buf: data}
	var out Block
	if hdr := d.next(HeaderSize, "block header"); hdr != nil {
		_ = out.Header.UnmarshalBinary(hdr) // cannot fail: 80 bytes
	}
	n := d.count(MaxTxPerBlock, minTxSize, "transaction count")
	if n > 0 && d.err == nil {
		out.Transactions = make([]Transaction, n)
		for i := range out.Transactions {
			d.decodeTx(&out.Transactions[i])
			if d.err != nil {
				break
			}
		}
	}
	if d.err == nil && d.remaining() == SealSize {
		out.Seal = (*BlockSeal)(d.next(SealSize, "block seal"))
		seal := *out.Seal // a copy: the block must not alias data
		out.Seal = &seal
	}
	if err := d.finish("block"); err != nil {
		return err
	}
	*b = out
	return nil
}
