package chain

import (
	"bytes"
	"encoding"
	"encoding/binary"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"testing"
	"time"
)

var (
	_ encoding.BinaryMarshaler   = (*Block)(nil)
	_ encoding.BinaryUnmarshaler = (*Block)(nil)
	_ encoding.BinaryAppender    = (*Block)(nil)
)

func TestBlockRoundTrip(t *testing.T) {
	blocks := map[string]*Block{
		"coinbase only":  buildBlock(t, coinbaseTx(1, 50)),
		"three":          buildBlock(t, coinbaseTx(2, 50), signedTransfer(t, 1, 2, 3, 4, 0), signedTransfer(t, 2, 3, 4, 5, 0)),
		"1000 transfers": bigBlock(),
	}
	for name, b := range blocks {
		t.Run(name, func(t *testing.T) {
			enc, err := b.MarshalBinary()
			if err != nil {
				t.Fatal(err)
			}
			if len(enc) != b.SerializeSize() {
				t.Errorf("SerializeSize %d, encoding %d bytes", b.SerializeSize(), len(enc))
			}
			hdr := b.Header.Serialize()
			if !bytes.Equal(enc[:HeaderSize], hdr[:]) {
				t.Error("encoding does not start with the header")
			}
			if n, k := binary.Uvarint(enc[HeaderSize:]); n != uint64(len(b.Transactions)) || k <= 0 {
				t.Errorf("transaction count %d", n)
			}
			var d Block
			if err := d.UnmarshalBinary(enc); err != nil {
				t.Fatal(err)
			}
			again, _ := d.MarshalBinary()
			if !bytes.Equal(again, enc) || d.Hash() != b.Hash() {
				t.Fatal("round trip differs")
			}
			if err := CheckBlockSanity(&d, &testParams, BFNone); err != nil {
				t.Fatal(err)
			}
		})
	}
	var empty Block
	if _, err := (&Block{Transactions: []Transaction{{}}}).MarshalBinary(); !errors.As(err, new(AssertError)) {
		t.Errorf("block with an empty transaction: %v", err)
	}
	if enc, _ := empty.MarshalBinary(); len(enc) != HeaderSize+1 {
		t.Errorf("empty block encodes to %d bytes", len(enc))
	}
}

func TestBlockUnmarshalErrors(t *testing.T) {
	good, _ := buildBlock(t, coinbaseTx(1, 50), signedTransfer(t, 1, 2, 3, 4, 0)).MarshalBinary()
	hdr := good[:HeaderSize]
	withCount := func(count string, rest ...byte) []byte {
		return append(append(bytes.Clone(hdr), mustHex(count)...), rest...)
	}
	tests := []struct {
		name string
		in   []byte
		want error
	}{
		{"empty", nil, ErrTruncated},
		{"short header", hdr[:79], ErrTruncated},
		{"no count", bytes.Clone(hdr), ErrTruncated},
		{"count non-minimal", withCount("8000"), ErrNonCanonical},
		{"count over MaxTxPerBlock", withCount("914e"), ErrTooLarge}, // 10001
		{"count beyond input", withCount("e807", make([]byte, 100)...), ErrTruncated},
		{"transaction cut", good[:len(good)-1], ErrTruncated},
		{"trailing byte", append(bytes.Clone(good), 0), ErrNonCanonical},
		{"unknown transaction type", withCount("01", 1, 9, 0, 0, 0, 0, 0, 0), ErrUnknownType},
		{"over MaxBlockSize", make([]byte, MaxBlockSize+1), ErrTooLarge},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := Block{Header: Header{Nonce: 42}}
			err := b.UnmarshalBinary(tt.in)
			if !errors.Is(err, tt.want) || !errors.Is(err, ErrMalformed) {
				t.Fatalf("UnmarshalBinary = %v, want %v", err, tt.want)
			}
			if b.Header.Nonce != 42 || b.Transactions != nil {
				t.Error("failed decode modified the block")
			}
		})
	}
	// An empty transaction list decodes; CheckBlockSanity refuses it.
	var b Block
	if err := b.UnmarshalBinary(withCount("00")); err != nil || len(b.Transactions) != 0 {
		t.Errorf("empty list: %v", err)
	}
}

// TestBlockUnmarshalAllocs checks that a count the input cannot hold is
// refused before anything is allocated for it: 10,000 transactions would
// take 160 KB of Transaction values.
func TestBlockUnmarshalAllocs(t *testing.T) {
	in := append(make([]byte, HeaderSize), mustHex("904e")...) // 10000 transactions
	in = append(in, make([]byte, 1000)...)
	var b Block
	const runs = 20
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	for range runs {
		if err := b.UnmarshalBinary(in); !errors.Is(err, ErrTruncated) {
			t.Fatal(err)
		}
	}
	runtime.ReadMemStats(&after)
	if perRun := (after.TotalAlloc - before.TotalAlloc) / runs; perRun > 2048 {
		t.Errorf("%d bytes allocated per refused decode", perRun)
	}
}

func TestCheckBlockSanity(t *testing.T) {
	max := ^uint64(0)
	cb := coinbaseTx(1, 50)
	t1 := signedTransfer(t, 1, 2, 10, 1, 0)
	t2 := signedTransfer(t, 2, 3, 20, 2, 0)
	t3 := signedTransfer(t, 3, 4, 30, 3, 0)
	badSig := signedTransfer(t, 4, 5, 40, 4, 0)
	badSig.Transfer.Signature[10] ^= 0x40

	many := func(n int) []Transaction {
		txs := []Transaction{cb}
		for i := range n {
			txs = append(txs, unsignedTransfer(uint64(i)))
		}
		return txs
	}
	coinbaseWith := func(c Coinbase) Transaction { return Transaction{Coinbase: &c} }
	outputs := func(n int) []Output { return make([]Output, n) }

	// honest and mutated share a header: [cb,t1,t2] vs [cb,t1,t2,t2].
	honest := buildBlock(t, cb, t1, t2)
	mutated := &Block{Header: honest.Header, Transactions: []Transaction{cb, t1, t2, t2}}

	withHeader := func(b *Block, edit func(h *Header)) *Block {
		edit(&b.Header)
		return b
	}
	// unsolved returns b with a nonce that misses its target.
	unsolved := func(b *Block) *Block {
		for b.Header.Nonce = 0; CheckHeaderSanity(&b.Header, &testParams) == nil; b.Header.Nonce++ {
		}
		return b
	}

	tests := []struct {
		name   string
		block  *Block
		params *Params
		flags  BehaviorFlags
		code   ErrorCode
		ok     bool
	}{
		{name: "valid", block: buildBlock(t, cb, t1, t2, t3), ok: true},
		{name: "coinbase only", block: buildBlock(t, cb), ok: true},
		{name: "honest body of a mutated pair", block: honest, ok: true},
		{name: "unsolved with BFNoPoWCheck", block: unsolved(buildBlock(t, cb, t1)), flags: BFNoPoWCheck, ok: true},
		{name: "high hash", block: unsolved(buildBlock(t, cb, t1)), code: ErrHighHash},
		{name: "zero target", block: withHeader(buildBlock(t, cb), func(h *Header) { h.Bits = 0 }), code: ErrBadTarget},
		{name: "target above mainnet limit", block: buildBlock(t, cb), params: &MainNetParams, code: ErrTargetAbovePowLimit},
		{name: "bad merkle root", block: withHeader(buildBlock(t, cb, t1), func(h *Header) { h.MerkleRoot[0] ^= 1; solve(t, h) }), code: ErrBadMerkleRoot},
		{name: "transactions swapped", block: &Block{Header: buildBlock(t, cb, t1, t2).Header, Transactions: []Transaction{cb, t2, t1}}, code: ErrBadMerkleRoot},
		{name: "empty body under a non-empty header", block: &Block{Header: honest.Header}, code: ErrBadMerkleRoot},
		{name: "mutated body", block: mutated, code: ErrMutatedBlock},
		{name: "no transactions", block: buildBlock(t), code: ErrNoTransactions},
		{name: "first not coinbase", block: buildBlock(t, t1, t2), code: ErrFirstTxNotCoinbase},
		{name: "second coinbase", block: buildBlock(t, cb, t1, coinbaseTx(1, 51)), code: ErrMultipleCoinbases},
		{name: "too many transactions", block: buildBlock(t, many(MaxTxPerBlock)...), code: ErrTooManyTransactions},
		{name: "too big", block: buildBlock(t, many(MaxBlockSize/TransferSize)...), code: ErrBlockTooBig},
		{name: "duplicate transaction", block: buildBlock(t, cb, t1, t2, t1), code: ErrDuplicateTx},
		{name: "64-byte coinbase", block: buildBlock(t, coinbaseWith(Coinbase{Extranonce: make([]byte, 28), Outputs: outputs(1)})), code: ErrBadTxSize},
		{name: "coinbase over MaxTxSize", block: buildBlock(t, coinbaseWith(Coinbase{Outputs: outputs(2000)})), code: ErrBadTxSize},
		{name: "extranonce too long", block: buildBlock(t, coinbaseWith(Coinbase{Extranonce: make([]byte, 33), Outputs: outputs(1)}), t1), code: ErrBadExtranonceLen},
		{name: "coinbase without outputs", block: buildBlock(t, coinbaseWith(Coinbase{Extranonce: []byte{1, 2}}), t1), code: ErrBadCoinbaseOutputs},
		{name: "coinbase outputs overflow", block: buildBlock(t, coinbaseWith(Coinbase{Extranonce: []byte{1}, Outputs: []Output{{Amount: max}, {Amount: 1}}})), code: ErrAmountOverflow},
		{name: "transfer amount overflow", block: buildBlock(t, cb, signedTransfer(t, 1, 2, max, 1, 0)), code: ErrAmountOverflow},
		{name: "block fees overflow", block: buildBlock(t, cb, signedTransfer(t, 1, 2, 0, max/2+1, 0), signedTransfer(t, 2, 1, 0, max/2+1, 0)), code: ErrAmountOverflow},
		{name: "bad signature", block: buildBlock(t, cb, t1, badSig, t2), code: ErrBadSignature},
		{name: "empty transaction", block: &Block{Transactions: []Transaction{cb, {}}}, flags: BFNoPoWCheck, code: -1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := tt.params
			if p == nil {
				p = &testParams
			}
			err := CheckBlockSanity(tt.block, p, tt.flags)
			switch {
			case tt.ok:
				if err != nil {
					t.Fatal(err)
				}
			case tt.code < 0:
				if !errors.As(err, new(AssertError)) {
					t.Fatalf("got %v, want an AssertError", err)
				}
			default:
				wantRuleError(t, err, tt.code)
			}
		})
	}

	// Every block and transaction rule has a case above, except the
	// contextual one TestCheckCoinbaseHeight covers and the account-state
	// rules chain/node checks when it connects a block. The stake rules
	// have their cases in TestCheckStakeSanity, TestCheckBlockSanityStake
	// and chain/node's stake tests.
	seen := map[ErrorCode]bool{ErrBadCoinbaseHeight: true, ErrInsufficientBalance: true, ErrBadSequence: true,
		ErrBadCoinbaseValue: true, ErrInvalidAncestorBlock: true, ErrStakeDisabled: true, ErrDepositTooSmall: true,
		ErrValidatorExists: true, ErrTooManyValidators: true, ErrUnknownValidator: true, ErrNotValidatorOwner: true,
		ErrValidatorExiting: true, ErrStakeBelowMinimum: true, ErrWithdrawPending: true,
		// Finality: the context-free rules are TestCheckBlockSanityFinality's,
		// the state rules chain/node's finality tests'.
		ErrBadVote: true, ErrInvalidEvidence: true, ErrTooManyVotes: true, ErrTooManySlashes: true,
		ErrUnknownCheckpoint: true, ErrSourceNotJustified: true, ErrDuplicateVote: true,
		ErrSlashedValidator: true, ErrInactiveValidator: true,
		// A proposer slash off proof of stake is TestCheckBlockSanityFinality's.
		ErrNotProofOfStake: true,
		// The seal's presence is TestCheckBlockSanitySeal's.
		ErrBadSeal: true}
	for _, tt := range tests {
		if !tt.ok {
			seen[tt.code] = true
		}
	}
	for c := ErrBadPrevBlock + 1; c < numErrorCodes; c++ {
		if !seen[c] {
			t.Errorf("no case for %v", c)
		}
	}
}

func TestCheckCoinbaseHeight(t *testing.T) {
	b := buildBlock(t, coinbaseTx(100, 50))
	if err := CheckCoinbaseHeight(b, 100); err != nil {
		t.Fatal(err)
	}
	wantRuleError(t, CheckCoinbaseHeight(b, 101), ErrBadCoinbaseHeight)
	wantRuleError(t, CheckCoinbaseHeight(b, -1), ErrBadCoinbaseHeight)
	if err := CheckCoinbaseHeight(&Block{}, 0); !errors.As(err, new(AssertError)) {
		t.Errorf("no coinbase: %v", err)
	}
}

// TestBigBlock checks a block of 1,000 signed transfers, then the same
// block with one bad signature at several positions: the batch, one or
// one per CPU (run with -cpu 1,2 for both), must fail with ErrBadSignature
// naming the first bad transfer by index and txid.
func TestBigBlock(t *testing.T) {
	b := bigBlock()
	if n := len(b.Transactions); n != bigBlockTransfers+1 {
		t.Fatalf("%d transactions", n)
	}
	start := time.Now()
	if err := CheckBlockSanity(b, &testParams, BFNone); err != nil {
		t.Fatal(err)
	}
	t.Logf("CheckBlockSanity of %d transfers with GOMAXPROCS %d: %v", bigBlockTransfers, runtime.GOMAXPROCS(0), time.Since(start))

	for _, bad := range [][]int{{1}, {500}, {1000}, {999, 1000}, {300, 700}, {2, 3, 998}} {
		t.Run(fmt.Sprint(bad), func(t *testing.T) {
			c := cloneBlock(t, b)
			for _, i := range bad {
				c.Transactions[i].Transfer.Signature[63] ^= 0x10
			}
			c.Header.MerkleRoot, _ = c.MerkleRoot()
			solve(t, &c.Header)
			err := CheckBlockSanity(c, &testParams, BFNone)
			wantRuleError(t, err, ErrBadSignature)
			want := fmt.Sprintf("transaction %d (%v) ", bad[0], c.Transactions[bad[0]].TxID())
			if !bytes.Contains([]byte(err.Error()), []byte(want)) {
				t.Errorf("error %q does not name %q", err, want)
			}
			if got := firstBadSignature(c.Transactions[1:], testParams.GenesisHash) + 1; got != bad[0] {
				t.Errorf("firstBadSignature = %d, want %d", got, bad[0])
			}
			if got := firstBadInBatch(c.Transactions, testParams.GenesisHash); got != bad[0] {
				t.Errorf("one batch names %d, want %d", got, bad[0])
			}
		})
	}
}

// validBlockEncodings returns encodings of valid blocks, the seed corpus
// of FuzzBlockUnmarshal.
func validBlockEncodings(tb testing.TB) map[string][]byte {
	tb.Helper()
	out := map[string][]byte{}
	add := func(name string, b *Block) {
		enc, err := b.MarshalBinary()
		if err != nil {
			tb.Fatal(err)
		}
		out[name] = enc
	}
	add("coinbase-only", buildBlock(tb, coinbaseTx(1, 50*BaseUnitsPerCoin)))
	add("three-transfers", buildBlock(tb, coinbaseTx(2, 50*BaseUnitsPerCoin+6),
		signedTransfer(tb, 1, 2, 100, 1, 0), signedTransfer(tb, 2, 3, 200, 2, 0), signedTransfer(tb, 3, 1, 300, 3, 0)))
	add("sealed", sealedBlock(tb))
	return out
}

func FuzzBlockUnmarshal(f *testing.F) {
	for _, enc := range validBlockEncodings(f) {
		f.Add(enc)
	}
	f.Add(make([]byte, HeaderSize+1))
	f.Fuzz(func(t *testing.T, data []byte) {
		var b Block
		if err := b.UnmarshalBinary(data); err != nil {
			if !errors.Is(err, ErrMalformed) {
				t.Fatalf("error %v does not wrap ErrMalformed", err)
			}
			return
		}
		enc, err := b.MarshalBinary()
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(enc, data) {
			t.Fatalf("re-encoding differs:\n in %x\nout %x", data, enc)
		}
		if b.SerializeSize() != len(data) {
			t.Fatalf("SerializeSize %d, input %d bytes", b.SerializeSize(), len(data))
		}
		_ = CheckBlockSanity(&b, &testParams, BFNone)
	})
}

var updateFuzzSeeds = flag.Bool("update-fuzz-seeds", false, "rewrite testdata/fuzz seed files from valid encodings")

// TestFuzzSeedFiles keeps the committed seed files of the two decoding
// fuzz targets equal to valid encodings; -update-fuzz-seeds rewrites them.
func TestFuzzSeedFiles(t *testing.T) {
	for target, encs := range map[string]map[string][]byte{
		"FuzzTransactionUnmarshal": validTransactionEncodings(t),
		"FuzzBlockUnmarshal":       validBlockEncodings(t),
		"FuzzProposerEvidence":     validProposerEvidenceEncodings(),
	} {
		for name, enc := range encs {
			path := filepath.Join("testdata", "fuzz", target, "valid-"+name)
			want := "go test fuzz v1\n[]byte(" + strconv.Quote(string(enc)) + ")\n"
			if *updateFuzzSeeds {
				if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(path, []byte(want), 0o644); err != nil {
					t.Fatal(err)
				}
				continue
			}
			got, err := os.ReadFile(path)
			if err != nil || string(got) != want {
				t.Errorf("%s is missing or stale (%v); run go test -run TestFuzzSeedFiles -update-fuzz-seeds", path, err)
			}
		}
	}
}

// BenchmarkCheckBlockSanity1000 checks a block of 1,000 signed transfers:
// txids, merkle root, the body rules and every signature. Run it with
// -cpu 1 for the one-core figure.
func BenchmarkCheckBlockSanity1000(b *testing.B) {
	blk := bigBlock()
	b.ReportAllocs()
	cpu := processCPU()
	for b.Loop() {
		if err := CheckBlockSanity(blk, &testParams, BFNone); err != nil {
			b.Fatal(err)
		}
	}
	cpu = processCPU() - cpu
	perBlock := float64(b.Elapsed().Nanoseconds()) / float64(b.N)
	b.ReportMetric(perBlock/1e6, "ms/block")
	b.ReportMetric(perBlock/1e3/bigBlockTransfers, "µs/transfer")
	if cpu > 0 {
		b.ReportMetric(float64(cpu.Nanoseconds())/float64(b.N)/1e6, "cpu-ms/block")
	}
}

func BenchmarkBlockUnmarshal1000(b *testing.B) {
	enc, _ := bigBlock().MarshalBinary()
	b.SetBytes(int64(len(enc)))
	b.ReportAllocs()
	for b.Loop() {
		var blk Block
		if err := blk.UnmarshalBinary(enc); err != nil {
			b.Fatal(err)
		}
	}
}
