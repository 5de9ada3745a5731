package pos

import (
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
func signedVote(t testing.TB, i int, se uint64, sh byte, te uint64, th byte) chain.Vote {
	t.Helper()
	_, priv := testKey(i)
	v := chain.Vote{Source: chain.Checkpoint{Epoch: se, Hash: chain.Hash{sh}}, Target: chain.Checkpoint{Epoch: te, Hash: chain.Hash{th}}}
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
// through the signature functions votes use (chain.VerifySignature and
// chain.VerifySignatures).
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
		if got := chain.Signature(ed25519.Sign(priv, msg)); got != want {
			t.Fatalf("vector %d: signature %x", i, got)
		}
		if !chain.VerifySignature(pub, msg, want) {
			t.Fatalf("vector %d: valid signature refused", i)
		}
		bad := want
		bad[10] ^= 1
		if chain.VerifySignature(pub, msg, bad) || chain.VerifySignature(pub, append(msg, 0), want) {
			t.Fatalf("vector %d: altered input accepted", i)
		}
		if ok := chain.VerifySignatures([]chain.PublicKey{pub, pub}, [][]byte{msg, msg}, []chain.Signature{want, bad}); !ok[0] || ok[1] {
			t.Fatalf("vector %d: batch says %v, want [true false]", i, ok)
		}
	}
}
