package pos

import (
	"bytes"
	"crypto/ed25519"
	"encoding/hex"
	"errors"
	"testing"

	"github.com/powmine/powmine/chain"
)

// testNetwork is the genesis hash the tests sign for.
var testNetwork = chain.Hash{0x9e, 0x7e}

// testKey returns the i-th deterministic test key.
func testKey(i int) (chain.PublicKey, ed25519.PrivateKey) {
	var seed [ed25519.SeedSize]byte
	seed[0], seed[1], seed[31] = byte(i), byte(i>>8), 0x5a
	priv := ed25519.NewKeyFromSeed(seed[:])
	return chain.PublicKey(priv.Public().(ed25519.PublicKey)), priv
}

// signedVote returns the vote of test key i from (se, sh) to (te, th).
func signedVote(t testing.TB, i int, se uint64, sh byte, te uint64, th byte) Vote {
	t.Helper()
	_, priv := testKey(i)
	v := Vote{Source: Checkpoint{se, chain.Hash{sh}}, Target: Checkpoint{te, chain.Hash{th}}}
	if err := v.Sign(priv, testNetwork); err != nil {
		t.Fatal(err)
	}
	return v
}

func unhex(t testing.TB, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// codeOf returns the code of a RuleError, or -1.
func codeOf(err error) ErrorCode {
	var re RuleError
	if errors.As(err, &re) {
		return re.Code
	}
	return -1
}

// TestRFC8032 runs the first three test vectors of RFC 8032 section 7.1
// through the sign and verify wrappers the votes use.
func TestRFC8032(t *testing.T) {
	vectors := []struct{ seed, pub, msg, sig string }{
		{"9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60",
			"d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a", "",
			"e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b"},
		{"4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb",
			"3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c", "72",
			"92a009a9f0d4cab8720e820b5f642540a2b27b5416503f8fb3762223ebdb69da085ac1e43e15996e458f3613d0f11d8c387b2eaeb4302aeeb00d291612bb0c00"},
		{"c5aa8df43f9f837bedb7442f31dcb7b166d38535076f094b85ce3a2e0b4458f7",
			"fc51cd8e6218a1a38da47ed00230f0580816ed13ba3303ac5deb911548908025", "af82",
			"6291d657deec24024827e69c3abe01a30ce548a284743a445e3680d7db5ac3ac18ff9b538d16f290ae67f760984dc6594a7c15e9716ed28dc027beceea1ec40a"},
	}
	for i, vec := range vectors {
		priv := ed25519.NewKeyFromSeed(unhex(t, vec.seed))
		pub := chain.PublicKey(unhex(t, vec.pub))
		msg := unhex(t, vec.msg)
		want := chain.Signature(unhex(t, vec.sig))
		if got := chain.PublicKey(priv.Public().(ed25519.PublicKey)); got != pub {
			t.Fatalf("vector %d: public key %x", i, got)
		}
		if got := sign(priv, msg); got != want {
			t.Fatalf("vector %d: signature %x", i, got)
		}
		if !verify(pub, msg, want) {
			t.Fatalf("vector %d: valid signature refused", i)
		}
		bad := want
		bad[10] ^= 1
		if verify(pub, msg, bad) || verify(pub, append(msg, 0), want) {
			t.Fatalf("vector %d: altered input accepted", i)
		}
		if ok := verifyBatch([]chain.PublicKey{pub, pub}, [][]byte{msg, msg}, []chain.Signature{want, bad}); !ok[0] || ok[1] {
			t.Fatalf("vector %d: batch says %v, want [true false]", i, ok)
		}
	}
}

// TestVoteEncoding checks the encoding byte by byte and the round trip.
func TestVoteEncoding(t *testing.T) {
	v := Vote{
		Validator: chain.PublicKey{0x11, 31: 0x1f},
		Source:    Checkpoint{Epoch: 0x0102, Hash: chain.Hash{0x22, 31: 0x2f}},
		Target:    Checkpoint{Epoch: 0x0103, Hash: chain.Hash{0x33, 31: 0x3f}},
		Signature: chain.Signature{0x44, 63: 0x4f},
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
			if codeOf(err) != ErrMalformed {
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
	if pub, _ := testKey(7); v.Validator != pub {
		t.Fatal("Sign did not set the validator key")
	}
	if !v.Verify(testNetwork) {
		t.Fatal("valid vote refused")
	}
	if v.Verify(chain.Hash{0x9e, 0x7f}) {
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
			if codeOf(err) != ErrMalformed {
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
