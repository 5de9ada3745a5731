package chain

import (
	"crypto/ed25519"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"

	voi "github.com/oasisprotocol/curve25519-voi/primitives/ed25519"

	"github.com/powmine/powmine/hash/sha256d"
)

// PublicKeySize and SignatureSize are the ed25519 (RFC 8032) sizes.
const (
	PublicKeySize = ed25519.PublicKeySize
	SignatureSize = ed25519.SignatureSize
)

// PublicKey is an account's ed25519 public key.
type PublicKey [PublicKeySize]byte

// Signature is an ed25519 signature over a transfer's signing message.
type Signature [SignatureSize]byte

// Address returns the account address of the key: the first AddressSize
// bytes of the double SHA-256 of the 32 key bytes.
func (k PublicKey) Address() Address {
	sum := sha256d.DoubleSum(k[:])
	return Address(sum[:AddressSize])
}

// String returns the key in hex.
func (k PublicKey) String() string { return hex.EncodeToString(k[:]) }

// GenerateKey returns a new key pair drawn from rand, or from crypto/rand
// when rand is nil (see ed25519.GenerateKey).
func GenerateKey(rand io.Reader) (PublicKey, ed25519.PrivateKey, error) {
	pub, priv, err := ed25519.GenerateKey(rand)
	if err != nil {
		return PublicKey{}, nil, fmt.Errorf("chain: generate key: %w", err)
	}
	return PublicKey(pub), priv, nil
}

// transferSigDomain prefixes every signing message, so that a transfer
// signature can never be valid for another message this or another
// protocol signs with the same key.
const transferSigDomain = "powmine transfer signature v1\x00"

// signingMessageSize is the length of a transfer's signing message.
const signingMessageSize = len(transferSigDomain) + HashSize + transferUnsignedSize

// signingMessage returns what the sender signs: transferSigDomain, the
// network's genesis hash, then the transfer's serialization without the
// signature (its first transferUnsignedSize bytes: version, type, sender,
// recipient, amount, fee, sequence). The genesis hash keeps a transfer
// signed for one network from being replayed on another where the same
// key holds coins. It does not allocate.
func (t *Transfer) signingMessage(network Hash) [signingMessageSize]byte {
	var m [signingMessageSize]byte
	n := copy(m[:], transferSigDomain)
	n += copy(m[n:], network[:])
	t.appendUnsigned(m[n:n])
	return m
}

// SigningMessage returns the bytes the sender's key signs for the network
// whose genesis hash is network: the domain string "powmine transfer
// signature v1" and a zero byte, the genesis hash, then the transfer's
// serialization without the signature.
func (t *Transfer) SigningMessage(network Hash) []byte {
	m := t.signingMessage(network)
	return m[:]
}

// Sign sets t.From to priv's public key and t.Signature to priv's signature
// over the signing message for network (the genesis hash of the chain the
// transfer is meant for). It fails only for a private key of the wrong
// length. Signing is RFC 8032's, deterministic and the same in every
// library; its signatures are valid under the verification rule (see
// verifySignature), which accepts everything RFC 8032 signers produce.
func (t *Transfer) Sign(priv ed25519.PrivateKey, network Hash) error {
	if len(priv) != ed25519.PrivateKeySize {
		return fmt.Errorf("chain: private key has %d bytes, want %d", len(priv), ed25519.PrivateKeySize)
	}
	t.From = PublicKey(priv.Public().(ed25519.PublicKey))
	m := t.signingMessage(network)
	t.Signature = Signature(ed25519.Sign(priv, m[:]))
	return nil
}

// Verify reports whether t.Signature is t.From's valid signature over the
// signing message for network, under the chain's one signature rule,
// ZIP-215 (see verifySignature): the rule CheckTransactionSanity, the
// mempool and CheckBlockSanity's batch verification apply. It is safe for
// concurrent use.
func (t *Transfer) Verify(network Hash) bool {
	m := t.signingMessage(network)
	return verifySignature(&t.From, m[:], &t.Signature)
}

// sigRule is the ed25519 verification rule of every transfer signature:
// ZIP-215 (Zcash's "Explicitly Defining and Modifying Ed25519 Validation
// Rules"): A and R may be non-canonical encodings and of small order, S
// must be below the group order, and the cofactored equation
// [8][S]B = [8]R + [8][k]A decides. Under it single and batch verification
// accept exactly the same signatures. crypto/ed25519's cofactorless check
// ([S]B - [k]A re-encoded and compared byte for byte with R) refuses some
// crafted signatures that a cofactored batch accepts (a non-canonical R,
// a small-order component in R or A); nodes that verified one way here
// and the other way there would disagree on a block's validity.
var sigRule = &voi.Options{Verify: voi.VerifyOptionsZIP_215}

// verifySignature reports whether sig is pub's valid ed25519 signature
// over msg under sigRule. Every single signature check goes through it;
// firstBadSignature and VerifySignatures apply the same rule in a batch.
func verifySignature(pub *PublicKey, msg []byte, sig *Signature) bool {
	return voi.VerifyWithOptions(pub[:], msg, sig[:], sigRule)
}

// VerifySignature reports whether sig is pub's valid ed25519 signature
// over msg under the chain's signature rule, ZIP-215 (see the package
// doc): the rule of transfers, and of the other signed messages of the
// protocol (chain/pos's votes). It is safe for concurrent use.
func VerifySignature(pub PublicKey, msg []byte, sig Signature) bool {
	return verifySignature(&pub, msg, &sig)
}

// VerifySignatures checks many signatures in one batch under the same
// rule and returns ok with ok[i] == VerifySignature(pubs[i], msgs[i],
// sigs[i]) for every i: when the batch fails, each signature is checked
// alone. The slices must have the same length. It is safe for concurrent
// use.
func VerifySignatures(pubs []PublicKey, msgs [][]byte, sigs []Signature) []bool {
	switch len(pubs) {
	case 0:
		return nil
	case 1:
		return []bool{verifySignature(&pubs[0], msgs[0], &sigs[0])}
	}
	bv := voi.NewBatchVerifierWithCapacity(len(pubs))
	for i := range pubs {
		bv.AddWithOptions(pubs[i][:], msgs[i], sigs[i][:], sigRule)
	}
	_, ok := bv.Verify(rand.Reader)
	return ok
}
