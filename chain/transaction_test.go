package chain

import (
	"bytes"
	"crypto/ed25519"
	"encoding"
	"errors"
	"strings"
	"testing"
)

var (
	_ encoding.BinaryMarshaler   = (*Transaction)(nil)
	_ encoding.BinaryUnmarshaler = (*Transaction)(nil)
	_ encoding.BinaryAppender    = (*Transaction)(nil)
)

// goldenTransfer and goldenTransferHex pin the transfer encoding field by
// field.
var goldenTransfer = Transfer{
	From:      PublicKey(bytes.Repeat([]byte{0x11}, PublicKeySize)),
	To:        Address(bytes.Repeat([]byte{0x22}, AddressSize)),
	Amount:    0x0102030405060708,
	Fee:       1000,
	Sequence:  7,
	Signature: Signature(bytes.Repeat([]byte{0x33}, SignatureSize)),
}

var goldenTransferHex = "02" + // version
	"02" + // type: transfer
	strings.Repeat("11", 32) + // From
	strings.Repeat("22", 20) + // To
	"0807060504030201" + // Amount, little-endian
	"e803000000000000" + // Fee 1000
	"0700000000000000" + // Sequence 7
	strings.Repeat("33", 64) // Signature

// goldenCoinbase and goldenCoinbaseHex pin the coinbase encoding.
var goldenCoinbase = Coinbase{
	Height:     840000,
	Extranonce: []byte{0xaa, 0xbb, 0xcc},
	Outputs: []Output{
		{Address: Address(bytes.Repeat([]byte{0x44}, AddressSize)), Amount: 5_000_000_000},
		{Address: Address(bytes.Repeat([]byte{0x55}, AddressSize)), Amount: 1},
	},
}

var goldenCoinbaseHex = "02" + // version
	"01" + // type: coinbase
	"02" + // two outputs
	strings.Repeat("44", 20) + "00f2052a01000000" + // 5,000,000,000
	strings.Repeat("55", 20) + "0100000000000000" +
	"03" + "aabbcc" + // Extranonce
	"40d10c00" // Height 840000

func TestTransactionGolden(t *testing.T) {
	tests := []struct {
		name string
		tx   Transaction
		hex  string
	}{
		{"transfer", Transaction{Transfer: &goldenTransfer}, goldenTransferHex},
		{"coinbase", Transaction{Coinbase: &goldenCoinbase}, goldenCoinbaseHex},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			want := mustHex(tt.hex)
			got, err := tt.tx.MarshalBinary()
			if err != nil || !bytes.Equal(got, want) {
				t.Fatalf("MarshalBinary = %x, %v\nwant            %x", got, err, want)
			}
			if n := tt.tx.SerializeSize(); n != len(want) {
				t.Errorf("SerializeSize = %d, want %d", n, len(want))
			}
			if id := tt.tx.TxID(); id != Hash(doubleSHA256(want)) {
				t.Errorf("TxID = %v, want sha256d of the encoding", id)
			}
			var back Transaction
			if err := back.UnmarshalBinary(want); err != nil {
				t.Fatal(err)
			}
			again, _ := back.MarshalBinary()
			if !bytes.Equal(again, want) || back.Type() != tt.tx.Type() {
				t.Errorf("round trip = %x", again)
			}
		})
	}
	if TransferSize != 142 || len(goldenTransferHex) != 2*TransferSize {
		t.Errorf("TransferSize = %d", TransferSize)
	}
}

func TestTransactionNotWellFormed(t *testing.T) {
	for _, tx := range []Transaction{{}, {Coinbase: &goldenCoinbase, Transfer: &goldenTransfer}} {
		if _, err := tx.MarshalBinary(); !errors.As(err, new(AssertError)) {
			t.Errorf("MarshalBinary error %v, want AssertError", err)
		}
		if tx.Type() != 0 || tx.SerializeSize() != 0 || tx.TxID() != (Hash{}) || tx.IsCoinbase() {
			t.Errorf("%+v: type %d, size %d", tx, tx.Type(), tx.SerializeSize())
		}
		if err := CheckTransactionSanity(&tx, &testParams); !errors.As(err, new(AssertError)) {
			t.Errorf("CheckTransactionSanity error %v, want AssertError", err)
		}
	}
}

func TestTransactionUnmarshalErrors(t *testing.T) {
	transfer := mustHex(goldenTransferHex)
	cb := mustHex(goldenCoinbaseHex)
	// coinbase builds a coinbase encoding from hex fields after the
	// version and type.
	coinbase := func(body string) []byte { return mustHex("0201" + body) }
	out := strings.Repeat("44", 20) + "0100000000000000"
	height := "01000000"
	tests := []struct {
		name string
		in   []byte
		want error
	}{
		{"empty", nil, ErrTruncated},
		{"version only", []byte{2}, ErrTruncated},
		{"version 0", append([]byte{0}, transfer[1:]...), ErrUnknownType},
		{"version 1", append([]byte{1}, transfer[1:]...), ErrUnknownType},
		{"version 3", append([]byte{3}, transfer[1:]...), ErrUnknownType},
		{"type 0", append([]byte{2, 0}, transfer[2:]...), ErrUnknownType},
		{"type 5", append([]byte{2, 5}, transfer[2:]...), ErrUnknownType},
		{"transfer one byte short", transfer[:len(transfer)-1], ErrTruncated},
		{"transfer trailing byte", append(bytes.Clone(transfer), 0), ErrNonCanonical},
		{"coinbase trailing byte", append(bytes.Clone(cb), 0), ErrNonCanonical},
		{"coinbase without height", coinbase("01" + out + "00"), ErrTruncated},
		{"coinbase height cut", coinbase("01" + out + "00" + "010000"), ErrTruncated},
		{"output count non-minimal", coinbase("8100" + out + "00" + height), ErrNonCanonical},
		{"output count overflows 64 bits", coinbase("ffffffffffffffffff7f"), ErrNonCanonical},
		{"output count 1001", coinbase("e907"), ErrTooLarge},
		{"output count beyond input", coinbase("05" + out), ErrTruncated},
		{"output cut", coinbase("01" + out[:len(out)-2]), ErrTruncated},
		{"extranonce length non-minimal", coinbase("01" + out + "8000" + height), ErrNonCanonical},
		{"extranonce length 33", coinbase("01" + out + "21" + strings.Repeat("00", 33) + height), ErrTooLarge},
		{"extranonce length beyond input", coinbase("01" + out + "05aabb"), ErrTruncated},
		{"extranonce length varint cut", coinbase("01" + out + "80"), ErrTruncated},
		{"over MaxTxSize", make([]byte, MaxTxSize+1), ErrTooLarge},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tx := Transaction{Transfer: &goldenTransfer}
			err := tx.UnmarshalBinary(tt.in)
			if !errors.Is(err, tt.want) || !errors.Is(err, ErrMalformed) {
				t.Fatalf("UnmarshalBinary(%x) = %v, want %v", tt.in, err, tt.want)
			}
			if tx.Transfer != &goldenTransfer || tx.Coinbase != nil {
				t.Error("failed decode modified the transaction")
			}
		})
	}
	// The minimal coinbase decodes (the sanity check refuses it later).
	var tx Transaction
	if err := tx.UnmarshalBinary(coinbase("00" + "00" + height)); err != nil || !tx.IsCoinbase() {
		t.Errorf("minimal coinbase: %v", err)
	}
}

func TestGenerateKey(t *testing.T) {
	pub, priv, err := GenerateKey(nil)
	if err != nil {
		t.Fatal(err)
	}
	tr := &Transfer{To: testAddr(1), Amount: 5}
	if err := tr.Sign(priv, testParams.GenesisHash); err != nil {
		t.Fatal(err)
	}
	if tr.From != pub || !tr.Verify(testParams.GenesisHash) {
		t.Fatalf("From %v, want %v; Verify %v", tr.From, pub, tr.Verify(testParams.GenesisHash))
	}
	if _, _, err := GenerateKey(strings.NewReader("short")); err == nil {
		t.Error("GenerateKey from a short reader succeeded")
	}
	if err := tr.Sign(priv[:10], testParams.GenesisHash); err == nil {
		t.Error("Sign with a short key succeeded")
	}
}

func TestSigningMessage(t *testing.T) {
	network := testParams.GenesisHash
	msg := goldenTransfer.SigningMessage(network)
	want := append([]byte("powmine transfer signature v1\x00"), network[:]...)
	want = append(want, mustHex(goldenTransferHex)[:transferUnsignedSize]...)
	if !bytes.Equal(msg, want) {
		t.Fatalf("SigningMessage = %x\nwant             %x", msg, want)
	}
	// The signature is ordinary ed25519 over that message.
	tx := signedTransfer(t, 4, 5, 100, 2, 9)
	if !ed25519.Verify(tx.Transfer.From[:], tx.Transfer.SigningMessage(testParams.GenesisHash), tx.Transfer.Signature[:]) {
		t.Error("ed25519.Verify rejects the signature")
	}
}

// TestTransferTamper flips every bit of a signed transfer's encoding: each
// change either fails to decode or fails verification.
func TestTransferTamper(t *testing.T) {
	tx := signedTransfer(t, 1, 2, 12345, 67, 3)
	if err := CheckTransactionSanity(&tx, &testParams); err != nil {
		t.Fatal(err)
	}
	enc, _ := tx.MarshalBinary()
	for i := range enc {
		for bit := range 8 {
			mod := bytes.Clone(enc)
			mod[i] ^= 1 << bit
			var d Transaction
			if err := d.UnmarshalBinary(mod); err != nil {
				if i >= txPrefixSize {
					t.Fatalf("byte %d bit %d: decode failed: %v", i, bit, err)
				}
				continue
			}
			if d.Transfer.Verify(testParams.GenesisHash) {
				t.Fatalf("byte %d bit %d: tampered transfer verifies", i, bit)
			}
			wantRuleError(t, CheckTransactionSanity(&d, &testParams), ErrBadSignature)
		}
	}
	// A valid signature by another key is not the sender's.
	other := signedTransfer(t, 9, 2, 12345, 67, 3)
	forged := *tx.Transfer
	forged.Signature = other.Transfer.Signature
	if forged.Verify(testParams.GenesisHash) {
		t.Error("signature by another key verifies")
	}
	// A transfer signed for one network is not valid on another: no
	// replay across chains.
	if tx.Transfer.Verify(DevParams.GenesisHash) {
		t.Error("a transfer signed for the test network verifies for the dev network")
	}
	wantRuleError(t, CheckTransactionSanity(&tx, &DevParams), ErrBadSignature)
}

func TestCheckTransactionSanity(t *testing.T) {
	max := ^uint64(0)
	cb := func(extranonce int, outputs int, amount uint64) Transaction {
		c := &Coinbase{Height: 1, Extranonce: make([]byte, extranonce)}
		for i := range outputs {
			c.Outputs = append(c.Outputs, Output{Address: testAddr(i), Amount: amount})
		}
		return Transaction{Coinbase: c}
	}
	badSig := signedTransfer(t, 1, 2, 3, 4, 5)
	badSig.Transfer.Signature[0] ^= 1
	tests := []struct {
		name string
		tx   Transaction
		code ErrorCode // ignored when ok
		ok   bool
	}{
		{"transfer", signedTransfer(t, 1, 2, 3, 4, 5), 0, true},
		{"transfer at the amount limit", signedTransfer(t, 1, 2, max-4, 4, 5), 0, true},
		{"coinbase", coinbaseTx(7, 50), 0, true},
		{"coinbase empty extranonce", cb(0, 1, 1), 0, true},
		{"coinbase longest extranonce", cb(MaxExtranonceSize, 1, 1), 0, true},
		{"coinbase most outputs", cb(0, MaxCoinbaseOutputs, 1), 0, true},
		{"coinbase outputs summing to max", Transaction{Coinbase: &Coinbase{Extranonce: []byte{1}, Outputs: []Output{{Amount: max - 1}, {Amount: 1}}}}, 0, true},
		{"coinbase of 64 bytes", cb(28, 1, 1), ErrBadTxSize, false},
		{"coinbase over MaxTxSize", cb(0, 2*MaxCoinbaseOutputs, 1), ErrBadTxSize, false},
		{"extranonce too long", cb(MaxExtranonceSize+1, 1, 1), ErrBadExtranonceLen, false},
		{"coinbase without outputs", cb(4, 0, 1), ErrBadCoinbaseOutputs, false},
		{"coinbase with too many outputs", cb(0, MaxCoinbaseOutputs+1, 1), ErrBadCoinbaseOutputs, false},
		{"coinbase outputs overflow", Transaction{Coinbase: &Coinbase{Extranonce: []byte{1}, Outputs: []Output{{Amount: max}, {Amount: 1}}}}, ErrAmountOverflow, false},
		{"transfer amount plus fee overflows", signedTransfer(t, 1, 2, max-3, 4, 5), ErrAmountOverflow, false},
		{"transfer max amount and fee", signedTransfer(t, 1, 2, max, max, 5), ErrAmountOverflow, false},
		{"bad signature", badSig, ErrBadSignature, false},
		{"unsigned", unsignedTransfer(1), ErrBadSignature, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := CheckTransactionSanity(&tt.tx, &testParams)
			if tt.ok {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			wantRuleError(t, err, tt.code)
		})
	}
	if tx := cb(28, 1, 1); tx.SerializeSize() != 64 {
		t.Fatalf("the 64-byte case is %d bytes", tx.SerializeSize())
	}
}

// validTransactionEncodings returns encodings of valid transactions, the
// seed corpus of FuzzTransactionUnmarshal.
func validTransactionEncodings(tb testing.TB) map[string][]byte {
	tb.Helper()
	out := map[string][]byte{}
	add := func(name string, tx Transaction) {
		enc, err := tx.MarshalBinary()
		if err != nil {
			tb.Fatal(err)
		}
		out[name] = enc
	}
	add("transfer", signedTransfer(tb, 1, 2, 1_000_000, 500, 0))
	add("coinbase", coinbaseTx(840000, 50*BaseUnitsPerCoin))
	pool := Coinbase{Height: 1, Extranonce: []byte{1, 2, 3, 4, 5, 6, 7, 8}}
	for i := range 5 {
		pool.Outputs = append(pool.Outputs, Output{Address: testAddr(i), Amount: uint64(i+1) * 1e6})
	}
	add("coinbase-pool", Transaction{Coinbase: &pool})
	add("deposit", signedDeposit(tb, 1, 7, 20*BaseUnitsPerCoin, 300, 4))
	add("withdraw", signedWithdraw(tb, 1, 7, 200, 5))
	add("partial-withdraw", signedPartialWithdraw(tb, 1, 7, 5*BaseUnitsPerCoin, 200, 6))
	add("vote", voteTx(tb, 3, 1, 2))
	add("slash", slashTx(tb, 3, testAddr(9)))
	add("proposer-slash", proposerSlashTx(3, testAddr(9)))
	return out
}

func FuzzTransactionUnmarshal(f *testing.F) {
	for _, enc := range validTransactionEncodings(f) {
		f.Add(enc)
	}
	f.Add(mustHex(goldenTransferHex))
	f.Add(mustHex(goldenCoinbaseHex))
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, data []byte) {
		var tx Transaction
		if err := tx.UnmarshalBinary(data); err != nil {
			if !errors.Is(err, ErrMalformed) {
				t.Fatalf("error %v does not wrap ErrMalformed", err)
			}
			return
		}
		enc, err := tx.MarshalBinary()
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(enc, data) {
			t.Fatalf("re-encoding differs:\n in %x\nout %x", data, enc)
		}
		if tx.SerializeSize() != len(data) || tx.TxID() != Hash(doubleSHA256(data)) {
			t.Fatalf("size %d or txid wrong", tx.SerializeSize())
		}
		_ = CheckTransactionSanity(&tx, &testParams)
		_ = CheckTransactionSanity(&tx, &stakeTestParams)
		_ = CheckTransactionSanity(&tx, &posTestParams)
	})
}

func BenchmarkTransferVerify(b *testing.B) {
	tx := signedTransfer(b, 1, 2, 3, 4, 5)
	b.ReportAllocs()
	for b.Loop() {
		if !tx.Transfer.Verify(testParams.GenesisHash) {
			b.Fatal("invalid")
		}
	}
}

// BenchmarkEd25519Verify is the bare signature check, for comparison with
// BenchmarkTransferVerify.
func BenchmarkEd25519Verify(b *testing.B) {
	tx := signedTransfer(b, 1, 2, 3, 4, 5)
	pub, msg, sig := ed25519.PublicKey(tx.Transfer.From[:]), tx.Transfer.SigningMessage(testParams.GenesisHash), tx.Transfer.Signature[:]
	b.ReportAllocs()
	for b.Loop() {
		if !ed25519.Verify(pub, msg, sig) {
			b.Fatal("invalid")
		}
	}
}

func BenchmarkTransferTxID(b *testing.B) {
	tx := signedTransfer(b, 1, 2, 3, 4, 5)
	b.ReportAllocs()
	for b.Loop() {
		tx.TxID()
	}
}
