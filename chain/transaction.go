package chain

import (
	"encoding/binary"

	"github.com/powmine/powmine/hash/sha256d"
)

// Transaction limits. The decoder refuses encodings beyond them
// (ErrTooLarge); CheckTransactionSanity refuses transactions built in
// memory beyond them (RuleError).
const (
	// MaxTxSize is the largest serialized transaction in bytes. A
	// coinbase with MaxCoinbaseOutputs outputs and the longest extranonce
	// takes 28,041 bytes; a transfer always takes TransferSize.
	MaxTxSize = 32 * 1024

	// MaxExtranonceSize is the longest coinbase extranonce in bytes,
	// enough for a pool's extranonce1 and a miner's extranonce2.
	MaxExtranonceSize = 32

	// MaxCoinbaseOutputs is the most payouts one coinbase may carry.
	MaxCoinbaseOutputs = 1000
)

// TxVersion is the only transaction format version defined. It is the
// first byte of every serialized transaction. Version 1, never used on a
// network, had the coinbase's height and extranonce before its outputs.
const TxVersion = 2

// TxType is the second byte of a serialized transaction and says which
// body follows.
type TxType uint8

// The transaction types.
const (
	// TxTypeCoinbase marks a coinbase: new coins paid to the miner or
	// the pool's workers. Only the first transaction of a block.
	TxTypeCoinbase TxType = 1

	// TxTypeTransfer marks a signed transfer between accounts.
	TxTypeTransfer TxType = 2

	// TxTypeDeposit marks a stake deposit (see Deposit).
	TxTypeDeposit TxType = 3

	// TxTypeWithdraw marks a validator's exit or partial withdrawal
	// (see Withdraw).
	TxTypeWithdraw TxType = 4

	// TxTypeVote marks a validator's Casper FFG vote (see Vote).
	TxTypeVote TxType = 5

	// TxTypeSlash marks slashing evidence and its reporter (see Slash).
	TxTypeSlash TxType = 6

	// TxTypeProposerSlash marks proof-of-stake proposer equivocation
	// evidence and its reporter (see ProposerSlash).
	TxTypeProposerSlash TxType = 7
)

// Transaction is one entry of a block: a coinbase, a transfer, a stake
// transaction (a deposit or a withdraw, see stake.go) or a finality
// transaction (a vote or a slash, see vote.go, or a proposer slash, see
// proposer.go). Exactly one of Coinbase, Transfer, Deposit, Withdraw,
// Vote, Slash and ProposerSlash is non-nil; a Transaction with
// none or several is not well formed and cannot be encoded (its TxID is
// the zero hash). The decoder only produces well-formed transactions.
//
// Serialized form (all integers little-endian, varints are canonical
// unsigned LEB128 as encoding/binary's Uvarint reads them):
//
//	size  field
//	   1  version, TxVersion (1)
//	   1  type: 1 coinbase, 2 transfer, 3 deposit, 4 withdraw, 5 vote,
//	      6 slash, 7 proposer slash
//	      body, by type:
//
//	coinbase                            transfer (TransferSize = 142 bytes)
//	 var  len(Outputs) varint <= 1000      32  From      ed25519 public key
//	28*n  Outputs: 20 Address, 8 Amount    20  To        address
//	 var  len(Extranonce) varint <= 32      8  Amount    uint64
//	 len  Extranonce                        8  Fee       uint64
//	   4  Height        uint32              8  Sequence  uint64
//	                                       64  Signature ed25519
//
// The stake types share the version byte and extend the type byte, so
// every transfer and coinbase encodes exactly as before (Deposit and
// Withdraw document their bodies):
//
//	deposit (DepositSize = 218 bytes)   withdraw (WithdrawSize = 154 bytes)
//	  32  From      owner's key           32  From      owner's key
//	  32  Validator validator's key       32  Validator validator's key
//	   8  Amount    uint64                 8  Amount    uint64 (0: all)
//	   8  Fee       uint64                 8  Fee       uint64
//	   8  Sequence  uint64                 8  Sequence  uint64
//	  64  Signature owner's               64  Signature owner's
//	  64  ValidatorSignature
//
// The finality types pay no fee and carry no sequence number:
//
//	vote (VoteTxSize = 179 bytes)       slash (SlashTxSize = 376 bytes)
//	 177  the Vote's encoding             354  the Evidence's encoding
//	                                       20  Reporter  address
//
//	proposer slash (ProposerSlashTxSize = 295 bytes)
//	 273  the ProposerEvidence's encoding
//	  20  Reporter  address
//
// A proposer slash has its own type rather than a second kind inside a
// slash: a slash body is a fixed 354-byte encoding with no kind tag, so a
// second kind would have to change that encoding (and every slash's id)
// or be told apart by length; a new type byte extends the format the way
// the stake and finality types did.
//
// The coinbase's extranonce comes after its outputs and only the height
// follows it, so a Stratum job's coinb2 is 4 bytes whatever the number of
// payouts, and a pool hashes a share's coinbase from a SHA-256 midstate
// of coinb1 computed once per job (stratum.CoinbasePrefix).
//
// The transaction id is the double SHA-256 of this serialization (for a
// transfer it covers the signature). Transaction values are not safe for
// concurrent modification; reading them concurrently is safe.
type Transaction struct {
	Coinbase *Coinbase
	Transfer *Transfer
	Deposit  *Deposit
	Withdraw *Withdraw
	Vote     *Vote
	Slash    *Slash

	ProposerSlash *ProposerSlash
}

// Coinbase creates coins: the block subsidy plus the block's fees, paid to
// one or more outputs (a pool pays many workers). The sum of the outputs
// is limited by the chain state (subsidy plus fees), checked when the
// block is connected.
type Coinbase struct {
	// Height is the height of the block carrying the coinbase. It makes
	// every coinbase, and so every block's merkle tree, unique.
	Height uint32

	// Extranonce is free space for the miner or pool (Stratum's
	// extranonce1 and extranonce2), at most MaxExtranonceSize bytes.
	Extranonce []byte

	// Outputs are the payouts, 1 to MaxCoinbaseOutputs of them.
	Outputs []Output
}

// Output is one coinbase payout.
type Output struct {
	Address Address
	Amount  uint64 // base units
}

// outputSize is the serialized size of an Output.
const outputSize = AddressSize + 8

// Transfer moves Amount base units from the account of From to the account
// To and pays Fee to the block's miner. Sequence is the sender's transfer
// count: the first transfer of an account carries 0 and each accepted one
// increments it, so a transfer cannot be replayed. Balance and sequence
// checks need the chain state and happen when the block is connected.
type Transfer struct {
	From      PublicKey
	To        Address
	Amount    uint64 // base units
	Fee       uint64 // base units
	Sequence  uint64
	Signature Signature // over SigningMessage, set by Sign
}

// Sizes of the serialized forms.
const (
	// txPrefixSize covers the version and type bytes.
	txPrefixSize = 2

	// transferUnsignedSize is a transfer's serialization without its
	// signature: what the signature covers (after a domain string).
	transferUnsignedSize = txPrefixSize + PublicKeySize + AddressSize + 3*8

	// TransferSize is the serialized size of every transfer.
	TransferSize = transferUnsignedSize + SignatureSize

	// minCoinbaseSize is the smallest serialized coinbase: empty
	// extranonce and no outputs (the decoder accepts it, the sanity
	// check does not).
	minCoinbaseSize = txPrefixSize + 4 + 1 + 1

	// minTxSize is the smallest serialized transaction of any type.
	minTxSize = minCoinbaseSize

	// maxCoinbaseSize is the largest coinbase the decoder accepts: the
	// longest extranonce and the most outputs.
	maxCoinbaseSize = txPrefixSize + 4 + 1 + MaxExtranonceSize + 2 + outputSize*MaxCoinbaseOutputs
)

// The field limits must keep every decodable transaction within MaxTxSize;
// this array type fails to compile otherwise.
type _ [MaxTxSize - maxCoinbaseSize]struct{}

// Type returns the transaction's type, or 0 when it is not well formed.
func (tx *Transaction) Type() TxType {
	var typ TxType
	n := 0
	if tx.Coinbase != nil {
		typ, n = TxTypeCoinbase, n+1
	}
	if tx.Transfer != nil {
		typ, n = TxTypeTransfer, n+1
	}
	if tx.Deposit != nil {
		typ, n = TxTypeDeposit, n+1
	}
	if tx.Withdraw != nil {
		typ, n = TxTypeWithdraw, n+1
	}
	if tx.Vote != nil {
		typ, n = TxTypeVote, n+1
	}
	if tx.Slash != nil {
		typ, n = TxTypeSlash, n+1
	}
	if tx.ProposerSlash != nil {
		typ, n = TxTypeProposerSlash, n+1
	}
	if n != 1 {
		return 0
	}
	return typ
}

// IsCoinbase reports whether tx is a well-formed coinbase.
func (tx *Transaction) IsCoinbase() bool { return tx.Type() == TxTypeCoinbase }

// SerializeSize returns the length of the serialization, or 0 when tx is
// not well formed.
func (tx *Transaction) SerializeSize() int {
	switch tx.Type() {
	case TxTypeCoinbase:
		return tx.Coinbase.serializeSize()
	case TxTypeTransfer:
		return TransferSize
	case TxTypeDeposit:
		return DepositSize
	case TxTypeWithdraw:
		return WithdrawSize
	case TxTypeVote:
		return VoteTxSize
	case TxTypeSlash:
		return SlashTxSize
	case TxTypeProposerSlash:
		return ProposerSlashTxSize
	}
	return 0
}

// serializeSize returns the length of the coinbase's serialization.
func (c *Coinbase) serializeSize() int {
	return txPrefixSize + 4 +
		uvarintSize(uint64(len(c.Extranonce))) + len(c.Extranonce) +
		uvarintSize(uint64(len(c.Outputs))) + outputSize*len(c.Outputs)
}

// AppendBinary appends the serialization to b (encoding.BinaryAppender).
// It fails only for a transaction that is not well formed, with an
// AssertError. Limits are not checked: a transaction over them encodes,
// but neither decodes nor passes CheckTransactionSanity.
func (tx *Transaction) AppendBinary(b []byte) ([]byte, error) {
	switch tx.Type() {
	case TxTypeCoinbase:
		return tx.Coinbase.append(b), nil
	case TxTypeTransfer:
		return tx.Transfer.append(b), nil
	case TxTypeDeposit:
		return tx.Deposit.append(b), nil
	case TxTypeWithdraw:
		return tx.Withdraw.append(b), nil
	case TxTypeVote:
		return appendVoteTx(b, tx.Vote), nil
	case TxTypeSlash:
		return tx.Slash.append(b), nil
	case TxTypeProposerSlash:
		return tx.ProposerSlash.append(b), nil
	}
	return b, AssertError("transaction must have exactly one of Coinbase, Transfer, Deposit, Withdraw, Vote, Slash and ProposerSlash")
}

// MarshalBinary returns the serialization in a new slice
// (encoding.BinaryMarshaler); see AppendBinary.
func (tx *Transaction) MarshalBinary() ([]byte, error) {
	return tx.AppendBinary(make([]byte, 0, tx.SerializeSize()))
}

// append appends the coinbase's serialization to b.
func (c *Coinbase) append(b []byte) []byte {
	b = append(b, TxVersion, byte(TxTypeCoinbase))
	b = binary.AppendUvarint(b, uint64(len(c.Outputs)))
	for i := range c.Outputs {
		b = append(b, c.Outputs[i].Address[:]...)
		b = binary.LittleEndian.AppendUint64(b, c.Outputs[i].Amount)
	}
	b = binary.AppendUvarint(b, uint64(len(c.Extranonce)))
	b = append(b, c.Extranonce...)
	return binary.LittleEndian.AppendUint32(b, c.Height)
}

// appendUnsigned appends the transfer's serialization without the
// signature to b.
func (t *Transfer) appendUnsigned(b []byte) []byte {
	b = append(b, TxVersion, byte(TxTypeTransfer))
	b = append(b, t.From[:]...)
	b = append(b, t.To[:]...)
	b = binary.LittleEndian.AppendUint64(b, t.Amount)
	b = binary.LittleEndian.AppendUint64(b, t.Fee)
	return binary.LittleEndian.AppendUint64(b, t.Sequence)
}

// append appends the transfer's serialization to b.
func (t *Transfer) append(b []byte) []byte {
	return append(t.appendUnsigned(b), t.Signature[:]...)
}

// TxID returns the transaction id: the double SHA-256 of the
// serialization, in internal byte order (Hash.String shows it the way
// explorers do). It is the zero hash for a transaction that is not well
// formed. A transfer's id does not allocate.
func (tx *Transaction) TxID() Hash {
	switch tx.Type() {
	case TxTypeTransfer:
		var buf [TransferSize]byte
		return sha256d.DoubleSum(tx.Transfer.append(buf[:0]))
	case TxTypeCoinbase:
		var buf [256]byte
		return sha256d.DoubleSum(tx.Coinbase.append(buf[:0]))
	case TxTypeDeposit:
		var buf [DepositSize]byte
		return sha256d.DoubleSum(tx.Deposit.append(buf[:0]))
	case TxTypeWithdraw:
		var buf [WithdrawSize]byte
		return sha256d.DoubleSum(tx.Withdraw.append(buf[:0]))
	case TxTypeVote:
		var buf [VoteTxSize]byte
		return sha256d.DoubleSum(appendVoteTx(buf[:0], tx.Vote))
	case TxTypeSlash:
		var buf [SlashTxSize]byte
		return sha256d.DoubleSum(tx.Slash.append(buf[:0]))
	case TxTypeProposerSlash:
		var buf [ProposerSlashTxSize]byte
		return sha256d.DoubleSum(tx.ProposerSlash.append(buf[:0]))
	}
	return Hash{}
}

// UnmarshalBinary decodes exactly one serialized transaction
// (encoding.BinaryUnmarshaler), replacing tx's contents. Errors wrap
// ErrMalformed (see there); on error tx is left unchanged. The decoder
// accepts only the canonical encoding, so a successful decode re-encodes
// to the same bytes, and it allocates no more than the input justifies.
func (tx *Transaction) UnmarshalBinary(data []byte) error {
	if len(data) > MaxTxSize {
		return decodeError(ErrTooLarge, "transaction of %d bytes exceeds MaxTxSize %d", len(data), MaxTxSize)
	}
	d := decoder{buf: data}
	var out Transaction
	d.decodeTx(&out)
	if err := d.finish("transaction"); err != nil {
		return err
	}
	*tx = out
	return nil
}

// decodeTx reads one transaction into tx, enforcing MaxTxSize.
func (d *decoder) decodeTx(tx *Transaction) {
	start := d.off
	version := d.uint8("transaction version")
	typ := TxType(d.uint8("transaction type"))
	if d.err != nil {
		return
	}
	if version != TxVersion {
		d.fail(decodeError(ErrUnknownType, "transaction version %d at offset %d", version, start))
		return
	}
	switch typ {
	case TxTypeCoinbase:
		c := new(Coinbase)
		d.decodeCoinbase(c)
		tx.Coinbase = c
	case TxTypeTransfer:
		t := new(Transfer)
		d.decodeTransfer(t)
		tx.Transfer = t
	case TxTypeDeposit:
		dep := new(Deposit)
		d.decodeDeposit(dep)
		tx.Deposit = dep
	case TxTypeWithdraw:
		w := new(Withdraw)
		d.decodeWithdraw(w)
		tx.Withdraw = w
	case TxTypeVote:
		v := new(Vote)
		d.decodeVote(v)
		tx.Vote = v
	case TxTypeSlash:
		sl := new(Slash)
		d.decodeSlash(sl)
		tx.Slash = sl
	case TxTypeProposerSlash:
		ps := new(ProposerSlash)
		d.decodeProposerSlash(ps)
		tx.ProposerSlash = ps
	default:
		d.fail(decodeError(ErrUnknownType, "transaction type %d at offset %d", typ, start))
		return
	}
	// No size check is needed here: the field limits keep every decodable
	// transaction within MaxTxSize (see maxCoinbaseSize).
}

// decodeCoinbase reads a coinbase body.
func (d *decoder) decodeCoinbase(c *Coinbase) {
	n := d.count(MaxCoinbaseOutputs, outputSize, "coinbase output count")
	if n > 0 && d.err == nil {
		c.Outputs = make([]Output, n)
		for i := range c.Outputs {
			d.copyTo(c.Outputs[i].Address[:], "output address")
			c.Outputs[i].Amount = d.uint64("output amount")
		}
	}
	n = d.count(MaxExtranonceSize, 1, "extranonce length")
	if n > 0 && d.err == nil {
		c.Extranonce = make([]byte, n)
		d.copyTo(c.Extranonce, "extranonce")
	}
	c.Height = d.uint32("coinbase height")
}

// decodeTransfer reads a transfer body.
func (d *decoder) decodeTransfer(t *Transfer) {
	d.copyTo(t.From[:], "transfer sender")
	d.copyTo(t.To[:], "transfer recipient")
	t.Amount = d.uint64("transfer amount")
	t.Fee = d.uint64("transfer fee")
	t.Sequence = d.uint64("transfer sequence")
	d.copyTo(t.Signature[:], "transfer signature")
}
