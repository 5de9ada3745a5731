package chain

import (
	"bytes"
	"crypto/ed25519"
	"encoding/binary"
	"math/bits"
	"math/rand/v2"
	"testing"
)

// TestVerifySignatureRFC8032 runs RFC 8032's Ed25519 test vectors (section
// 7.1, TESTs 1 to 3) through the chain's verification rule: each signature
// verifies, the signing Transfer.Sign relies on produces it from the seed,
// and no flipped bit of key, message or signature verifies.
func TestVerifySignatureRFC8032(t *testing.T) {
	vectors := []struct{ name, seed, pub, msg, sig string }{
		{"TEST 1", "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60",
			"d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a", "",
			"e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b"},
		{"TEST 2", "4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb",
			"3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c", "72",
			"92a009a9f0d4cab8720e820b5f642540a2b27b5416503f8fb3762223ebdb69da085ac1e43e15996e458f3613d0f11d8c387b2eaeb4302aeeb00d291612bb0c00"},
		{"TEST 3", "c5aa8df43f9f837bedb7442f31dcb7b166d38535076f094b85ce3a2e0b4458f7",
			"fc51cd8e6218a1a38da47ed00230f0580816ed13ba3303ac5deb911548908025", "af82",
			"6291d657deec24024827e69c3abe01a30ce548a284743a445e3680d7db5ac3ac18ff9b538d16f290ae67f760984dc6594a7c15e9716ed28dc027beceea1ec40a"},
	}
	for _, v := range vectors {
		t.Run(v.name, func(t *testing.T) {
			pub, msg, sig := PublicKey(mustHex(v.pub)), mustHex(v.msg), Signature(mustHex(v.sig))
			if !verifySignature(&pub, msg, &sig) {
				t.Fatal("the vector's signature does not verify")
			}
			priv := ed25519.NewKeyFromSeed(mustHex(v.seed))
			if got := ed25519.Sign(priv, msg); !bytes.Equal(got, sig[:]) || !bytes.Equal(priv[32:], pub[:]) {
				t.Fatalf("signing the vector gives key %x signature %x", priv[32:], got)
			}
			for bit := range 8 * (PublicKeySize + len(msg) + SignatureSize) {
				p, m, s := pub, bytes.Clone(msg), sig
				switch i := bit / 8; {
				case i < PublicKeySize:
					p[i] ^= 1 << (bit % 8)
				case i < PublicKeySize+len(msg):
					m[i-PublicKeySize] ^= 1 << (bit % 8)
				default:
					s[i-PublicKeySize-len(msg)] ^= 1 << (bit % 8)
				}
				if verifySignature(&p, m, &s) {
					t.Fatalf("bit %d flipped still verifies", bit)
				}
			}
		})
	}
}

// Encodings of small-order points, little-endian y with the sign of x in
// the top bit. p = 2^255 - 19.
var (
	// identityPoint is (0, 1), canonical: 01 00 .. 00.
	identityPoint = [32]byte{1}
	// identityNonCanonical is (0, 1) with y written as p+1.
	identityNonCanonical = littleEndianPMinus(-1)
	// orderTwoPoint is (0, -1), canonical: y = p-1.
	orderTwoPoint = littleEndianPMinus(1)
)

// littleEndianPMinus returns p-k in 32 little-endian bytes, k in [-18, 18].
func littleEndianPMinus(k int) [32]byte {
	var b [32]byte
	for i := range b {
		b[i] = 0xff
	}
	b[31] = 0x7f
	b[0] = byte(0xed - k)
	return b
}

// zip215OnlySignatures returns signatures, by the identity key (a point of
// small order, for which k·A vanishes whatever the message), that ZIP-215
// accepts for every message and crypto/ed25519 refuses: S = 0 with R a
// non-canonical encoding of the identity, or R the point of order two.
// The cofactored equation [8][S]B = [8]R + [8][k]A holds for both; the
// standard library re-encodes [S]B - [k]A (the identity, 01 00 .. 00) and
// compares it with R's bytes, which differ.
func zip215OnlySignatures() (PublicKey, []Signature) {
	var nonCanonicalR, smallOrderR Signature
	copy(nonCanonicalR[:], identityNonCanonical[:])
	copy(smallOrderR[:], orderTwoPoint[:])
	return PublicKey(identityPoint), []Signature{nonCanonicalR, smallOrderR}
}

// groupOrder is ℓ = 2^252 + 27742317777372353535851937790883648493,
// little-endian.
var groupOrder = [32]byte{
	0xed, 0xd3, 0xf5, 0x5c, 0x1a, 0x63, 0x12, 0x58, 0xd6, 0x9c, 0xf7, 0xa2, 0xde, 0xf9, 0xde, 0x14,
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x10,
}

// malleateS returns sig with S replaced by S + ℓ: the same point equation,
// a different encoding, which RFC 8032 and ZIP-215 both refuse (S must be
// below ℓ), so that no third party can change a txid.
func malleateS(sig Signature) Signature {
	var carry uint64
	for i := 0; i < 32; i += 8 {
		var sum uint64
		sum, carry = bits.Add64(binary.LittleEndian.Uint64(sig[32+i:]), binary.LittleEndian.Uint64(groupOrder[i:]), carry)
		binary.LittleEndian.PutUint64(sig[32+i:], sum)
	}
	return sig
}

// TestZIP215Divergence shows the signatures on which the chain's rule and
// crypto/ed25519 differ: single verification, the mempool's
// CheckTransactionSanity and a block's batch all accept them, the standard
// library refuses them. Anyone can sign for a key of small order, under
// either rule; ZIP-215 only accepts more encodings of such forgeries.
func TestZIP215Divergence(t *testing.T) {
	key, sigs := zip215OnlySignatures()
	for i, sig := range sigs {
		tr := &Transfer{From: key, To: testAddr(1), Amount: 7, Fee: 1, Sequence: uint64(i)}
		tr.Signature = sig
		msg := tr.SigningMessage(testParams.GenesisHash)
		if ed25519.Verify(key[:], msg, sig[:]) {
			t.Fatalf("signature %d: crypto/ed25519 accepts it; the test no longer shows a difference", i)
		}
		if !tr.Verify(testParams.GenesisHash) {
			t.Fatalf("signature %d: the chain's rule refuses it", i)
		}
		tx := Transaction{Transfer: tr}
		if err := CheckTransactionSanity(&tx, &testParams); err != nil {
			t.Fatalf("signature %d: %v", i, err)
		}
		// S = 1 breaks the equation: refused by both.
		bad := *tr
		bad.Signature[32] = 1
		if bad.Verify(testParams.GenesisHash) || ed25519.Verify(key[:], msg, bad.Signature[:]) {
			t.Fatalf("signature %d with S = 1 verifies", i)
		}
	}
	// In a block, among valid signatures, in one batch.
	txs := []Transaction{coinbaseTx(1, 50)}
	for i := range 300 {
		if i%100 == 50 {
			tr := &Transfer{From: key, To: testAddr(i), Amount: 1, Sequence: uint64(i)}
			tr.Signature = sigs[i%len(sigs)]
			txs = append(txs, Transaction{Transfer: tr})
			continue
		}
		txs = append(txs, signedTransfer(t, i%40, i+1, 1, 1, uint64(i)))
	}
	if err := CheckBlockSanity(buildBlock(t, txs...), &testParams, BFNone); err != nil {
		t.Fatal(err)
	}
	if i := firstBadInBatch(txs, testParams.GenesisHash); i != -1 {
		t.Fatalf("one batch refuses transaction %d", i)
	}
}

// sigCases returns transfers whose signatures are valid, invalid in
// various ways, malleated, or accepted by ZIP-215 only. They are shared
// and must not be modified.
func sigCases(tb testing.TB) []*Transfer {
	tb.Helper()
	var out []*Transfer
	for i := range 24 {
		out = append(out, signedTransfer(tb, i, i+1, uint64(i), 1, uint64(i)).Transfer)
	}
	edit := func(i int, f func(t *Transfer)) {
		c := *out[i]
		f(&c)
		out = append(out, &c)
	}
	edit(0, func(t *Transfer) { t.Signature[0] ^= 1 })                      // R
	edit(1, func(t *Transfer) { t.Signature[40] ^= 0x80 })                  // S
	edit(2, func(t *Transfer) { t.Signature[63] |= 0xf0 })                  // S far above ℓ
	edit(3, func(t *Transfer) { t.Signature = malleateS(t.Signature) })     // S + ℓ
	edit(4, func(t *Transfer) { t.From[5] ^= 4 })                           // another key
	edit(5, func(t *Transfer) { t.From[31] ^= 0x80 })                       // A's sign bit
	edit(6, func(t *Transfer) { t.Amount++ })                               // the message
	edit(7, func(t *Transfer) { t.Signature = out[8].Signature })           // another's signature
	edit(9, func(t *Transfer) { t.From = PublicKey(identityNonCanonical) }) // small-order key
	edit(10, func(t *Transfer) { t.From = PublicKey(littleEndianPMinus(-2)) })
	key, sigs := zip215OnlySignatures()
	for i, sig := range sigs {
		edit(11+i, func(t *Transfer) { t.From, t.Signature = key, sig })
		edit(11+i, func(t *Transfer) { t.From, t.Signature = key, malleateS(sig) })
	}
	edit(13, func(t *Transfer) { t.From = PublicKey(identityPoint); t.Signature = Signature{} }) // R = (√-1, 0), of order 4
	return out
}

// TestBatchAgreesWithSingle checks on random blocks of valid, invalid,
// malleated and ZIP-215-only signatures that the batch (one, and one per
// CPU) names the first transfer single verification refuses.
func TestBatchAgreesWithSingle(t *testing.T) {
	cases := sigCases(t)
	single := make(map[*Transfer]bool)
	var valid, invalid []*Transfer
	for _, c := range cases {
		single[c] = c.Verify(testParams.GenesisHash)
		if single[c] {
			valid = append(valid, c)
		} else {
			invalid = append(invalid, c)
		}
	}
	if len(invalid) < 12 {
		t.Fatalf("only %d invalid cases", len(invalid))
	}
	rng := rand.New(rand.NewPCG(1, 2))
	for round := range 60 {
		n := 1 + rng.IntN(400)
		txs := make([]Transaction, n)
		want := -1
		for i := range txs {
			if i == 0 && round%2 == 0 {
				txs[i] = coinbaseTx(1, 1)
				continue
			}
			c := valid[rng.IntN(len(valid))]
			if rng.IntN(4*n) < 3 { // about three bad ones, sometimes none
				c = invalid[rng.IntN(len(invalid))]
			}
			txs[i] = Transaction{Transfer: c}
			if !single[c] && want < 0 {
				want = i
			}
		}
		if got := firstBadInBatch(txs, testParams.GenesisHash); got != want {
			t.Fatalf("round %d: one batch of %d says %d, single verification %d", round, n, got, want)
		}
		if got := firstBadSignature(txs, testParams.GenesisHash); got != want {
			t.Fatalf("round %d: firstBadSignature of %d says %d, single verification %d", round, n, got, want)
		}
		// The exported batch, on the transfers alone, verdict by verdict.
		var pubs []PublicKey
		var msgs [][]byte
		var sigs []Signature
		var trs []*Transfer
		for _, tx := range txs {
			if tr := tx.Transfer; tr != nil {
				pubs, sigs, trs = append(pubs, tr.From), append(sigs, tr.Signature), append(trs, tr)
				msgs = append(msgs, tr.SigningMessage(testParams.GenesisHash))
			}
		}
		for i, ok := range VerifySignatures(pubs, msgs, sigs) {
			if ok != single[trs[i]] || ok != VerifySignature(pubs[i], msgs[i], sigs[i]) {
				t.Fatalf("round %d: VerifySignatures[%d] = %v, single verification %v", round, i, ok, single[trs[i]])
			}
		}
	}
}

// FuzzBatchVerify edits the keys and signatures of a small block with
// triples (transfer, byte of From‖Signature, xor mask) and checks that the
// batch names the first transfer that single verification refuses.
func FuzzBatchVerify(f *testing.F) {
	base := sigCases(f)[:6]
	key, sigs := zip215OnlySignatures()
	base = append(base, &Transfer{From: key, To: testAddr(1), Signature: sigs[0]})
	f.Add([]byte{})
	f.Add([]byte{2, 0, 1})
	f.Add([]byte{3, 40, 0x80, 5, 95, 1})
	f.Add([]byte{6, 32, 1, 6, 32, 2}) // other encodings of the ZIP-215-only R
	var malleate []byte
	m := malleateS(base[1].Signature)
	for i := range 32 {
		if d := m[32+i] ^ base[1].Signature[32+i]; d != 0 {
			malleate = append(malleate, 1, byte(PublicKeySize+32+i), d)
		}
	}
	f.Add(malleate)
	f.Fuzz(func(t *testing.T, edits []byte) {
		txs := make([]Transaction, len(base)+1)
		txs[0] = coinbaseTx(1, 1)
		for i, b := range base {
			c := *b
			txs[i+1] = Transaction{Transfer: &c}
		}
		for ; len(edits) >= 3; edits = edits[3:] {
			tr := txs[1+int(edits[0])%len(base)].Transfer
			if off := int(edits[1]) % (PublicKeySize + SignatureSize); off < PublicKeySize {
				tr.From[off] ^= edits[2]
			} else {
				tr.Signature[off-PublicKeySize] ^= edits[2]
			}
		}
		want := -1
		for i := range txs {
			if tr := txs[i].Transfer; tr != nil && !tr.Verify(testParams.GenesisHash) {
				want = i
				break
			}
		}
		if got := firstBadInBatch(txs, testParams.GenesisHash); got != want {
			t.Fatalf("batch says %d, single verification %d", got, want)
		}
	})
}

// BenchmarkVerifyTransfers compares one-by-one verification under the
// chain's rule with one batch, for the 1,000 transfers of bigBlock.
func BenchmarkVerifyTransfers(b *testing.B) {
	txs := bigBlock().Transactions
	b.Run("single", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			for i := range txs {
				if t := txs[i].Transfer; t != nil && !t.Verify(testParams.GenesisHash) {
					b.Fatal("invalid")
				}
			}
		}
		b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/1e3/bigBlockTransfers, "µs/sig")
	})
	b.Run("batch", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if firstBadInBatch(txs, testParams.GenesisHash) >= 0 {
				b.Fatal("invalid")
			}
		}
		b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/1e3/bigBlockTransfers, "µs/sig")
	})
}
