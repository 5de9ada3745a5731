package chain

import (
	"bytes"
	"crypto/ed25519"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
)

// posTestParams are stakeTestParams on a proof-of-stake chain, whose
// blocks carry seals: where proposer slashes are valid.
var posTestParams = func() Params {
	p := stakeTestParams
	p.Consensus = ConsensusPoS
	return p
}()

// sealedHeader returns vote test key i's seal of header in slot for
// network.
func sealedHeader(i int, network Hash, slot uint64, header Hash) SignedHeader {
	pub, priv := voteKey(i)
	m := SealMessage(network, slot, header)
	return SignedHeader{HeaderHash: header, Slot: slot, Proposer: pub, Signature: Signature(ed25519.Sign(priv, m[:]))}
}

// proposerEvidence returns the evidence that vote test key i sealed the
// headers {0xaa} and {0xbb} in slot on network.
func proposerEvidence(i int, network Hash, slot uint64) ProposerEvidence {
	return NewProposerEvidence(sealedHeader(i, network, slot, Hash{0xbb}), sealedHeader(i, network, slot, Hash{0xaa}))
}

// proposerSlashTx returns a proposer slash of vote test key i's
// equivocation in slot 7, signed for posTestParams' network.
func proposerSlashTx(i int, reporter Address) Transaction {
	return Transaction{ProposerSlash: &ProposerSlash{Evidence: proposerEvidence(i, posTestParams.GenesisHash, 7), Reporter: reporter}}
}

// TestSealMessage pins the seal signing message, which chain/pos's seals
// and their test vectors sign.
func TestSealMessage(t *testing.T) {
	m := SealMessage(Hash{1}, 0x0102, Hash{2})
	n1, n2 := Hash{1}, Hash{2}
	want := append([]byte("powmine block seal v1\x00"), n1[:]...)
	want = append(want, 0x02, 0x01, 0, 0, 0, 0, 0, 0)
	want = append(want, n2[:]...)
	if !bytes.Equal(m[:], want) || SealMessageSize != 94 {
		t.Fatalf("seal message %x, want %x", m, want)
	}
}

func TestProposerEvidenceVerify(t *testing.T) {
	ev := proposerEvidence(1, testNetwork, 40)
	if ev.A.HeaderHash != (Hash{0xaa}) {
		t.Fatal("NewProposerEvidence did not order the headers")
	}
	if err := ev.Verify(testNetwork); err != nil || ev.Proposer() != ev.A.Proposer {
		t.Fatal(err)
	}
	if !ev.A.Verify(testNetwork) || ev.A.Verify(Hash{3}) {
		t.Fatal("SignedHeader.Verify")
	}
	badSig := ev
	badSig.B.Signature[0] ^= 1
	for name, x := range map[string]ProposerEvidence{
		"same header":         {A: ev.A, B: ev.A},
		"different slots":     NewProposerEvidence(ev.A, sealedHeader(1, testNetwork, 41, Hash{0xbb})),
		"different proposers": NewProposerEvidence(ev.A, sealedHeader(2, testNetwork, 40, Hash{0xbb})),
		"bad signature":       badSig,
		"not canonical":       {A: ev.B, B: ev.A},
	} {
		if err := x.Verify(testNetwork); codeOf(err) != ErrInvalidEvidence {
			t.Errorf("%s: %v, want ErrInvalidEvidence", name, err)
		}
	}
	if err := ev.Verify(Hash{3}); codeOf(err) != ErrInvalidEvidence {
		t.Errorf("another network: %v, want ErrInvalidEvidence", err)
	}
}

func TestProposerEvidenceEncoding(t *testing.T) {
	ev := proposerEvidence(1, testNetwork, 9)
	b, err := ev.MarshalBinary()
	if err != nil || len(b) != ProposerEvidenceSize || ProposerEvidenceSize != 273 {
		t.Fatalf("%d bytes, %v", len(b), err)
	}
	var d ProposerEvidence
	if err := d.UnmarshalBinary(b); err != nil || d != ev {
		t.Fatalf("round trip: %v", err)
	}
	swapped := append(append([]byte{1}, b[1+signedHeaderSize:]...), b[1:1+signedHeaderSize]...)
	same := append(append([]byte{1}, b[1:1+signedHeaderSize]...), b[1:1+signedHeaderSize]...)
	version := slices.Clone(b)
	version[0] = 2
	for name, c := range map[string]struct {
		in   []byte
		kind error
	}{
		"empty": {nil, ErrTruncated}, "short": {b[:len(b)-1], ErrTruncated}, "long": {append(slices.Clone(b), 1), ErrNonCanonical},
		"version": {version, ErrUnknownType}, "swapped": {swapped, ErrNonCanonical}, "same header": {same, ErrNonCanonical},
	} {
		before := d
		if err := d.UnmarshalBinary(c.in); !isMalformed(err) || !errors.Is(err, c.kind) || d != before {
			t.Errorf("%s: %v, want ErrMalformed (%v) and no change", name, err, c.kind)
		}
	}
}

func TestProposerSlashTx(t *testing.T) {
	tx := proposerSlashTx(2, testAddr(3))
	enc, err := tx.MarshalBinary()
	if err != nil || len(enc) != tx.SerializeSize() || ProposerSlashTxSize != 295 || enc[1] != byte(TxTypeProposerSlash) {
		t.Fatalf("%v, %d bytes, size %d", err, len(enc), tx.SerializeSize())
	}
	if tx.IsStake() || !tx.IsFinality() || tx.Type() != TxTypeProposerSlash {
		t.Fatal("a proposer slash is a finality transaction")
	}
	if _, ok := tx.Debit(); ok {
		t.Fatal("a proposer slash debits an account")
	}
	if k, ok := tx.Accused(); !ok || k != tx.ProposerSlash.Evidence.A.Proposer {
		t.Fatal("Accused")
	}
	if r, ok := tx.SlashReporter(); !ok || r != testAddr(3) {
		t.Fatal("SlashReporter")
	}
	vs := slashTx(t, 1, testAddr(4))
	if k, ok := vs.Accused(); !ok || k != vs.Slash.Evidence.Validator() {
		t.Fatal("Accused of a vote slash")
	}
	if r, ok := vs.SlashReporter(); !ok || r != testAddr(4) {
		t.Fatal("SlashReporter of a vote slash")
	}
	v := voteTx(t, 1, 0, 1)
	if _, ok := v.Accused(); ok {
		t.Fatal("a vote accuses no one")
	}
	if _, ok := v.SlashReporter(); ok {
		t.Fatal("a vote has no reporter")
	}
	var back Transaction
	if err := back.UnmarshalBinary(enc); err != nil {
		t.Fatal(err)
	}
	again, _ := back.MarshalBinary()
	if !bytes.Equal(again, enc) || back.TxID() != tx.TxID() || tx.TxID() != Hash(doubleSHA256(enc)) {
		t.Fatal("round trip or txid differs")
	}
	for n := range len(enc) {
		if err := back.UnmarshalBinary(enc[:n]); !isMalformed(err) {
			t.Fatalf("%d bytes: %v", n, err)
		}
	}
	if err := CheckTransactionSanity(&tx, &posTestParams); err != nil {
		t.Fatal(err)
	}
	badSig := proposerSlashTx(2, testAddr(3))
	badSig.ProposerSlash.Evidence.B.Signature[5] ^= 1
	otherSlot := proposerSlashTx(2, testAddr(3))
	otherSlot.ProposerSlash.Evidence.B = sealedHeader(2, posTestParams.GenesisHash, 8, Hash{0xbb})
	for _, c := range []struct {
		name string
		tx   Transaction
		p    *Params
		want ErrorCode
	}{
		{"proof of work with stake", tx, &stakeTestParams, ErrNotProofOfStake},
		{"no stake", tx, &testParams, ErrStakeDisabled},
		{"bad signature", badSig, &posTestParams, ErrBadSignature},
		{"two slots", otherSlot, &posTestParams, ErrInvalidEvidence},
	} {
		if err := CheckTransactionSanity(&c.tx, c.p); codeOf(err) != c.want {
			t.Errorf("%s: %v, want %v", c.name, err, c.want)
		}
	}
	// The block's batch checks both seal signatures and names the slash.
	txs := []Transaction{voteTx(t, 1, 0, 1), proposerSlashTx(2, testAddr(3)), badSig}
	if i := firstBadSignature(txs[:2], posTestParams.GenesisHash); i != -1 {
		t.Fatalf("valid batch: bad index %d", i)
	}
	if i := firstBadSignature(txs, posTestParams.GenesisHash); i != 2 {
		t.Fatalf("bad proposer slash at index %d, want 2", i)
	}
	if batchSigCount(&tx) != 2 {
		t.Fatal("a proposer slash has two signatures")
	}
}

// validProposerEvidenceEncodings returns FuzzProposerEvidence's seed
// files (TestFuzzSeedFiles): valid evidence.
func validProposerEvidenceEncodings() map[string][]byte {
	ev := proposerEvidence(1, testNetwork, 60)
	b, _ := ev.MarshalBinary()
	return map[string][]byte{"evidence": b}
}

// FuzzProposerEvidence decodes arbitrary bytes as proposer evidence: no
// panic, re-encoding gives the same bytes, every error is typed, and
// evidence that verifies accuses the one key that really equivocated.
func FuzzProposerEvidence(f *testing.F) {
	ev := proposerEvidence(1, testNetwork, 60)
	b, _ := ev.MarshalBinary()
	f.Add(b)
	f.Add(b[:ProposerEvidenceSize-1])
	f.Add(append(append([]byte{1}, b[1+signedHeaderSize:]...), b[1:1+signedHeaderSize]...))
	f.Fuzz(func(t *testing.T, data []byte) {
		var d ProposerEvidence
		if err := d.UnmarshalBinary(data); err != nil {
			if !isMalformed(err) {
				t.Fatalf("decode error %v is not ErrMalformed", err)
			}
			return
		}
		again, _ := d.MarshalBinary()
		if !bytes.Equal(again, data) {
			t.Fatal("re-encoding differs")
		}
		err := d.Verify(testNetwork)
		if err != nil && codeOf(err) != ErrInvalidEvidence {
			t.Fatalf("untyped error %v", err)
		}
		if err == nil && (d.A.Proposer != ev.A.Proposer || d.A.Slot != ev.A.Slot) {
			t.Fatal("evidence against a key that did not equivocate verified")
		}
	})
}

// TestCheckBlockSanityProposerSlash checks proposer slashes in a sealed
// proof-of-stake block: a valid one passes, one with a bad seal signature
// is found by the block's batch (ErrBadSignature naming it), and a vote
// slash and a proposer slash count together against MaxSlashesPerBlock.
func TestCheckBlockSanityProposerSlash(t *testing.T) {
	p := &posTestParams
	sealed := func(txs ...Transaction) *Block {
		b := buildBlock(t, append([]Transaction{coinbaseTx(1, 50*BaseUnitsPerCoin)}, txs...)...)
		b.Seal = new(BlockSeal)
		return b
	}
	if err := CheckBlockSanity(sealed(voteTx(t, 1, 0, 1), proposerSlashTx(2, testAddr(1))), p, BFNoPoWCheck); err != nil {
		t.Fatal(err)
	}
	bad := proposerSlashTx(2, testAddr(1))
	bad.ProposerSlash.Evidence.A.Signature[9] ^= 1
	for _, c := range []struct {
		name  string
		b     *Block
		want  ErrorCode
		index string
	}{
		{"bad seal signature", sealed(voteTx(t, 1, 0, 1), bad), ErrBadSignature, "transaction 2 "},
		{"two slashes of two kinds", sealed(slashTx(t, 1, testAddr(1)), proposerSlashTx(2, testAddr(1))), ErrTooManySlashes, ""},
	} {
		err := CheckBlockSanity(c.b, p, BFNoPoWCheck)
		if codeOf(err) != c.want || !strings.Contains(fmt.Sprint(err), c.index) {
			t.Errorf("%s: %v, want %v naming %q", c.name, err, c.want, c.index)
		}
	}
}
