package chain

import (
	"bytes"
	"crypto/ed25519"
	"encoding/hex"
	"errors"
	"strings"
	"testing"
)

// testNetwork is the genesis hash the tests sign for.
var testNetwork = Hash{0x9e, 0x7e}

// voteKey returns the i-th deterministic vote test key.
func voteKey(i int) (PublicKey, ed25519.PrivateKey) {
	var seed [ed25519.SeedSize]byte
	seed[0], seed[1], seed[31] = byte(i), byte(i>>8), 0x5a
	priv := ed25519.NewKeyFromSeed(seed[:])
	return PublicKey(priv.Public().(ed25519.PublicKey)), priv
}

// signedVote returns the vote of test key i from (se, sh) to (te, th).
func signedVote(t testing.TB, i int, se uint64, sh byte, te uint64, th byte) Vote {
	t.Helper()
	_, priv := voteKey(i)
	v := Vote{Source: Checkpoint{se, Hash{sh}}, Target: Checkpoint{te, Hash{th}}}
	if err := v.Sign(priv, testNetwork); err != nil {
		t.Fatal(err)
	}
	return v
}

// isMalformed reports whether err is a decoding error (wraps ErrMalformed).
func isMalformed(err error) bool { return errors.Is(err, ErrMalformed) }

// codeOf returns the code of a RuleError, or -1.
func codeOf(err error) ErrorCode {
	var re RuleError
	if errors.As(err, &re) {
		return re.Code
	}
	return -1
}

// TestVoteEncoding checks the encoding byte by byte and the round trip.
func TestVoteEncoding(t *testing.T) {
	v := Vote{
		Validator: PublicKey{0x11, 31: 0x1f},
		Source:    Checkpoint{Epoch: 0x0102, Hash: Hash{0x22, 31: 0x2f}},
		Target:    Checkpoint{Epoch: 0x0103, Hash: Hash{0x33, 31: 0x3f}},
		Signature: Signature{0x44, 63: 0x4f},
	}
	z := func(n int) string { return string(bytes.Repeat([]byte("00"), n)) }
	want := "01" + // version
		"11" + z(30) + "1f" + // validator
		"0201000000000000" + // source epoch, little-endian
		"22" + z(30) + "2f" + // source hash
		"0301000000000000" + // target epoch
		"33" + z(30) + "3f" + // target hash
		"44" + z(62) + "4f" // signature
	got, err := v.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	if hex.EncodeToString(got) != want {
		t.Fatalf("encoding\n got %x\nwant %s", got, want)
	}
	var back Vote
	if err := back.UnmarshalBinary(got); err != nil || back != v {
		t.Fatalf("round trip: %v, %+v", err, back)
	}
	msg := v.SigningMessage(testNetwork)
	wantMsg := append(append([]byte("powmine ffg vote v1\x00"), testNetwork[:]...), got[:voteUnsignedSize]...)
	if !bytes.Equal(msg, wantMsg) {
		t.Fatalf("signing message\n got %x\nwant %x", msg, wantMsg)
	}
}

func TestVoteDecodeStrict(t *testing.T) {
	good := signedVote(t, 1, 2, 0xaa, 3, 0xbb)
	enc, _ := good.MarshalBinary()
	mod := func(f func(b []byte) []byte) []byte { return f(bytes.Clone(enc)) }
	tests := []struct {
		name string
		in   []byte
	}{
		{"empty", nil},
		{"truncated", enc[:VoteSize-1]},
		{"trailing byte", append(bytes.Clone(enc), 0)},
		{"version 0", mod(func(b []byte) []byte { b[0] = 0; return b })},
		{"version 2", mod(func(b []byte) []byte { b[0] = 2; return b })},
		{"source equals target epoch", mod(func(b []byte) []byte { b[73] = 2; return b })},
		{"source above target", mod(func(b []byte) []byte { b[40] = 1; return b })},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v := good
			err := v.UnmarshalBinary(tt.in)
			if !isMalformed(err) {
				t.Fatalf("got %v, want ErrMalformed", err)
			}
			if v != good {
				t.Fatal("failed decode changed the vote")
			}
		})
	}
}

func TestVoteSignVerify(t *testing.T) {
	v := signedVote(t, 7, 0, 1, 1, 2)
	if pub, _ := voteKey(7); v.Validator != pub {
		t.Fatal("Sign did not set the validator key")
	}
	if !v.Verify(testNetwork) {
		t.Fatal("valid vote refused")
	}
	if v.Verify(Hash{0x9e, 0x7f}) {
		t.Fatal("vote verified for another network")
	}
	alter := []func(*Vote){
		func(v *Vote) { v.Validator[0] ^= 1 },
		func(v *Vote) { v.Source.Epoch++ },
		func(v *Vote) { v.Source.Hash[5] ^= 1 },
		func(v *Vote) { v.Target.Epoch++ },
		func(v *Vote) { v.Target.Hash[31] ^= 0x80 },
		func(v *Vote) { v.Signature[63] ^= 1 },
	}
	for i, f := range alter {
		w := v
		f(&w)
		if w.Verify(testNetwork) {
			t.Fatalf("alteration %d verified", i)
		}
	}
	if err := v.Sign(ed25519.PrivateKey{1, 2}, testNetwork); err == nil {
		t.Fatal("short private key accepted")
	}
}

func TestVerifyVotes(t *testing.T) {
	if got := VerifyVotes(testNetwork, nil); len(got) != 0 {
		t.Fatalf("no votes: %v", got)
	}
	votes := make([]Vote, 70)
	for i := range votes {
		votes[i] = signedVote(t, i, 0, 0, 1, 1)
	}
	for _, n := range []int{1, 2, 70} {
		for _, ok := range VerifyVotes(testNetwork, votes[:n]) {
			if !ok {
				t.Fatalf("%d valid votes: one refused", n)
			}
		}
	}
	votes[3].Target.Epoch = 2
	votes[69].Signature[0] ^= 1
	for i, ok := range VerifyVotes(testNetwork, votes) {
		if ok != (i != 3 && i != 69) {
			t.Fatalf("vote %d: ok %v", i, ok)
		}
	}
	if VerifyVotes(testNetwork, votes[3:4])[0] {
		t.Fatal("single bad vote accepted")
	}
}

// FuzzVote decodes arbitrary bytes: a vote that decodes must re-encode to
// the same bytes, keep source below target, and verify without panicking.
func FuzzVote(f *testing.F) {
	good := signedVote(f, 1, 2, 0xaa, 3, 0xbb)
	enc, _ := good.MarshalBinary()
	f.Add(enc)
	f.Add(enc[:VoteSize-1])
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, data []byte) {
		var v Vote
		if err := v.UnmarshalBinary(data); err != nil {
			if !isMalformed(err) {
				t.Fatalf("error %v is not ErrMalformed", err)
			}
			return
		}
		if v.Source.Epoch >= v.Target.Epoch {
			t.Fatal("decoded a vote with source epoch not below target")
		}
		out, err := v.MarshalBinary()
		if err != nil || !bytes.Equal(out, data) {
			t.Fatalf("re-encoding differs: %x", out)
		}
		if v.Verify(testNetwork) && !bytes.Equal(data, enc) {
			t.Fatal("an altered vote verified")
		}
	})
}

// vote returns test key i's signed vote from (s, hash {s, 0xc}) to
// (tg, hash {tg, 0xc}).
func vote(t testing.TB, i int, s, tg uint64) Vote {
	t.Helper()
	return signedVote(t, i, s, byte(s), tg, byte(tg))
}

func TestVoteCheckSanity(t *testing.T) {
	v := vote(t, 0, 1, 2)
	if err := v.CheckSanity(); err != nil {
		t.Fatal(err)
	}
	v.Source.Epoch = 2
	if err := v.CheckSanity(); codeOf(err) != ErrBadVote {
		t.Fatalf("source = target: %v, want ErrBadVote", err)
	}
}

func TestSlashable(t *testing.T) {
	tests := []struct {
		name string
		a, b Vote
		want Offence
	}{
		{"double, same epochs, other hash", signedVote(t, 0, 0, 1, 1, 1), signedVote(t, 0, 0, 1, 1, 2), DoubleVote},
		{"double, other sources", vote(t, 0, 1, 3), vote(t, 0, 2, 3), DoubleVote},
		{"surround", vote(t, 0, 0, 3), vote(t, 0, 1, 2), SurroundVote},
		{"surround, reversed", vote(t, 0, 1, 2), vote(t, 0, 0, 3), SurroundVote},
		{"same source", vote(t, 0, 0, 3), vote(t, 0, 0, 2), NoOffence},
		{"overlap", vote(t, 0, 0, 2), vote(t, 0, 1, 3), NoOffence},
		{"chained", vote(t, 0, 0, 1), vote(t, 0, 1, 2), NoOffence},
		{"same target end", vote(t, 0, 0, 3), vote(t, 0, 1, 3), DoubleVote},
		{"same vote", vote(t, 0, 0, 1), vote(t, 0, 0, 1), NoOffence},
		{"two validators", vote(t, 0, 1, 3), vote(t, 1, 2, 3), NoOffence},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Slashable(&tt.a, &tt.b); got != tt.want {
				t.Fatalf("Slashable = %v, want %v", got, tt.want)
			}
			e := NewEvidence(tt.a, tt.b)
			err := e.Verify(testNetwork)
			if (err == nil) != (tt.want != NoOffence) {
				t.Fatalf("Verify: %v", err)
			}
			if err != nil && codeOf(err) != ErrInvalidEvidence {
				t.Fatalf("Verify: %v, want ErrInvalidEvidence", err)
			}
		})
	}
}

func TestEvidenceVerify(t *testing.T) {
	e := NewEvidence(vote(t, 0, 0, 2), vote(t, 0, 1, 2))
	if e.Offence() != DoubleVote || e.Verify(testNetwork) != nil || e.Validator() != vote(t, 0, 0, 1).Validator {
		t.Fatalf("evidence %+v does not prove the double vote", e)
	}
	if e.Verify(Hash{1}) == nil {
		t.Fatal("evidence verified for another network")
	}
	bad := map[string]Evidence{
		"reversed":        {A: e.B, B: e.A},
		"bad signature A": func() Evidence { x := e; x.A.Signature[0] ^= 1; return x }(),
		"bad signature B": func() Evidence { x := e; x.B.Signature[63] ^= 1; return x }(),
		"two validators":  NewEvidence(vote(t, 0, 1, 3), vote(t, 1, 2, 3)),
		"same vote":       {A: e.A, B: e.A},
		"no offence":      NewEvidence(vote(t, 0, 0, 1), vote(t, 0, 1, 2)),
		"malformed vote":  func() Evidence { x := e; x.A.Source.Epoch = 5; return x }(),
	}
	for name, x := range bad {
		if err := x.Verify(testNetwork); codeOf(err) != ErrInvalidEvidence {
			t.Fatalf("%s: got %v, want ErrInvalidEvidence", name, err)
		}
	}
}

func TestEvidenceEncoding(t *testing.T) {
	e := NewEvidence(vote(t, 0, 1, 3), vote(t, 0, 2, 3))
	enc, err := e.MarshalBinary()
	if err != nil || len(enc) != EvidenceSize {
		t.Fatalf("%v, %d bytes", err, len(enc))
	}
	var back Evidence
	if err := back.UnmarshalBinary(enc); err != nil || back != e {
		t.Fatalf("round trip: %v", err)
	}
	swapped := append(enc[VoteSize:], enc[:VoteSize]...)
	for name, in := range map[string][]byte{"short": enc[1:], "swapped": swapped, "bad vote": append(make([]byte, VoteSize), enc[VoteSize:]...)} {
		if err := back.UnmarshalBinary(in); !isMalformed(err) || back != e {
			t.Fatalf("%s: %v", name, err)
		}
	}
}

// FuzzEvidence decodes arbitrary bytes as evidence: what decodes
// re-encodes to the same bytes, and Verify never panics and accepts only
// a real offence.
func FuzzEvidence(f *testing.F) {
	e := NewEvidence(vote(f, 0, 1, 3), vote(f, 0, 2, 3))
	enc, _ := e.MarshalBinary()
	f.Add(enc)
	f.Add(enc[:VoteSize])
	f.Add(append(enc[VoteSize:], enc[:VoteSize]...))
	f.Fuzz(func(t *testing.T, data []byte) {
		var x Evidence
		if err := x.UnmarshalBinary(data); err != nil {
			if !isMalformed(err) {
				t.Fatalf("error %v is not ErrMalformed", err)
			}
			return
		}
		out, _ := x.MarshalBinary()
		if string(out) != string(data) {
			t.Fatal("re-encoding differs")
		}
		if err := x.Verify(testNetwork); err == nil && x.Offence() == NoOffence {
			t.Fatal("evidence of no offence verified")
		} else if err != nil && codeOf(err) != ErrInvalidEvidence {
			t.Fatalf("Verify: %v", err)
		}
	})
}

// voteTx returns the vote transaction of test key i from epoch s to tg
// (hashes {s} and {tg}), signed for stakeTestParams' network.
func voteTx(tb testing.TB, i int, s, tg uint64) Transaction {
	tb.Helper()
	_, priv := voteKey(i)
	v := Vote{Source: Checkpoint{Epoch: s, Hash: Hash{byte(s)}}, Target: Checkpoint{Epoch: tg, Hash: Hash{byte(tg)}}}
	if err := v.Sign(priv, stakeTestParams.GenesisHash); err != nil {
		tb.Fatal(err)
	}
	return Transaction{Vote: &v}
}

// slashTx returns a slash proving a double vote of test key i, reported
// by reporter.
func slashTx(tb testing.TB, i int, reporter Address) Transaction {
	tb.Helper()
	a, b := voteTx(tb, i, 1, 3), voteTx(tb, i, 2, 3)
	return Transaction{Slash: &Slash{Evidence: NewEvidence(*a.Vote, *b.Vote), Reporter: reporter}}
}

func TestFinalityTxEncoding(t *testing.T) {
	for _, tx := range []Transaction{voteTx(t, 1, 0, 1), slashTx(t, 2, testAddr(3))} {
		enc, err := tx.MarshalBinary()
		if err != nil || len(enc) != tx.SerializeSize() {
			t.Fatalf("%v, %d bytes, size %d", err, len(enc), tx.SerializeSize())
		}
		if tx.IsStake() || !tx.IsFinality() {
			t.Fatal("a finality transaction is neither stake nor debited")
		}
		if _, ok := tx.Debit(); ok {
			t.Fatal("a finality transaction debits an account")
		}
		var back Transaction
		if err := back.UnmarshalBinary(enc); err != nil {
			t.Fatal(err)
		}
		again, _ := back.MarshalBinary()
		if !bytes.Equal(again, enc) || back.TxID() != tx.TxID() || tx.TxID() != Hash(doubleSHA256(enc)) {
			t.Fatal("round trip or txid differs")
		}
		if err := CheckTransactionSanity(&back, &stakeTestParams); err != nil {
			t.Fatal(err)
		}
		if err := CheckTransactionSanity(&back, &testParams); codeOf(err) != ErrStakeDisabled {
			t.Fatalf("without stake: %v", err)
		}
		// Every truncation is malformed.
		for n := range len(enc) {
			if err := back.UnmarshalBinary(enc[:n]); !isMalformed(err) {
				t.Fatalf("%d bytes: %v", n, err)
			}
		}
	}
	if VoteTxSize != 179 || SlashTxSize != 376 {
		t.Fatalf("sizes %d %d", VoteTxSize, SlashTxSize)
	}
	// A vote transaction whose vote has source = target does not decode.
	bad := voteTx(t, 1, 0, 1)
	bad.Vote.Source.Epoch = 1
	enc, _ := bad.MarshalBinary()
	var back Transaction
	if err := back.UnmarshalBinary(enc); !errors.Is(err, ErrNonCanonical) {
		t.Fatalf("source = target: %v", err)
	}
	if err := CheckTransactionSanity(&bad, &stakeTestParams); codeOf(err) != ErrBadVote {
		t.Fatalf("sanity, source = target: %v", err)
	}
	sig := voteTx(t, 1, 0, 1)
	sig.Vote.Signature[3] ^= 1
	if err := CheckTransactionSanity(&sig, &stakeTestParams); codeOf(err) != ErrBadSignature {
		t.Fatalf("bad vote signature: %v", err)
	}
	sl := slashTx(t, 2, testAddr(3))
	sl.Slash.Evidence.B.Signature[3] ^= 1
	if err := CheckTransactionSanity(&sl, &stakeTestParams); codeOf(err) != ErrBadSignature {
		t.Fatalf("bad evidence signature: %v", err)
	}
}

func TestCheckBlockSanityFinality(t *testing.T) {
	p := &stakeTestParams
	cb := coinbaseTx(1, 1)
	ok := buildBlock(t, cb, voteTx(t, 1, 0, 1), signedTransfer(t, 2, 3, 1, 10, 0), voteTx(t, 2, 0, 1), slashTx(t, 3, testAddr(1)))
	if err := CheckBlockSanity(ok, p, BFNone); err != nil {
		t.Fatal(err)
	}
	badVote := voteTx(t, 1, 0, 1)
	badVote.Vote.Source.Epoch = 1
	noOffence := slashTx(t, 3, testAddr(1))
	noOffence.Slash.Evidence = NewEvidence(*voteTx(t, 3, 0, 1).Vote, *voteTx(t, 3, 1, 2).Vote)
	badSig := voteTx(t, 2, 0, 1)
	badSig.Vote.Signature[0] ^= 1
	badEvidenceSig := slashTx(t, 3, testAddr(1))
	badEvidenceSig.Slash.Evidence.A.Signature[1] ^= 1
	for _, tc := range []struct {
		name   string
		blk    *Block
		params *Params
		want   ErrorCode
		index  string
	}{
		{"vote source not below target", buildBlock(t, cb, badVote), p, ErrBadVote, ""},
		{"evidence of no offence", buildBlock(t, cb, noOffence), p, ErrInvalidEvidence, ""},
		{"too many votes", buildBlock(t, cb, voteTx(t, 1, 0, 1), voteTx(t, 2, 0, 1), voteTx(t, 3, 0, 1), voteTx(t, 4, 0, 1)), p, ErrTooManyVotes, ""},
		{"too many slashes", buildBlock(t, cb, slashTx(t, 1, testAddr(1)), slashTx(t, 2, testAddr(1))), p, ErrTooManySlashes, ""},
		{"stake disabled", buildBlock(t, cb, voteTx(t, 1, 0, 1)), &testParams, ErrStakeDisabled, ""},
		{"proposer slash on a proof-of-work chain", buildBlock(t, cb, voteTx(t, 1, 0, 1), proposerSlashTx(2, testAddr(1))), p, ErrNotProofOfStake, "transaction 2,"},
		{"bad vote signature", buildBlock(t, cb, voteTx(t, 1, 0, 1), signedTransfer(t, 2, 3, 1, 10, 0), badSig), p, ErrBadSignature, "transaction 3 "},
		{"bad evidence signature", buildBlock(t, cb, voteTx(t, 1, 0, 1), badEvidenceSig), p, ErrBadSignature, "transaction 2 "},
	} {
		err := CheckBlockSanity(tc.blk, tc.params, BFNone)
		var rerr RuleError
		if !errors.As(err, &rerr) || rerr.Code != tc.want {
			t.Errorf("%s: %v, want %v", tc.name, err, tc.want)
			continue
		}
		if tc.index != "" && !strings.Contains(err.Error(), tc.index) {
			t.Errorf("%s: %v does not name %q", tc.name, err, tc.index)
		}
	}
}
