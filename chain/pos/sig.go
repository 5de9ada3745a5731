package pos

import (
	"crypto/ed25519"

	"github.com/powmine/powmine/chain"
)

// sign returns priv's ed25519 signature over msg (RFC 8032, identical in
// every library: ed25519 signing is deterministic).
func sign(priv ed25519.PrivateKey, msg []byte) chain.Signature {
	return chain.Signature(ed25519.Sign(priv, msg))
}

// verify reports whether sig is pub's valid signature over msg under the
// chain's signature rule (ZIP-215, chain.VerifySignature), the rule of
// transfers too. Under it single and batch verification accept exactly
// the same signatures; the standard library's cofactorless rule would let
// a crafted signature (a small-order component in R or A) pass one and
// fail the other, and nodes that verify differently would disagree on
// which votes count.
func verify(pub chain.PublicKey, msg []byte, sig chain.Signature) bool {
	return chain.VerifySignature(pub, msg, sig)
}

// verifyBatch reports, for each i, whether sigs[i] is pubs[i]'s valid
// signature over msgs[i], with one batch verification when all are valid
// (and one by one otherwise): chain.VerifySignatures. The slices must
// have the same length.
func verifyBatch(pubs []chain.PublicKey, msgs [][]byte, sigs []chain.Signature) []bool {
	return chain.VerifySignatures(pubs, msgs, sigs)
}
