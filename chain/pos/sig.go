package pos

import (
	"crypto/ed25519"
	"crypto/rand"

	voi "github.com/oasisprotocol/curve25519-voi/primitives/ed25519"

	"github.com/powmine/powmine/chain"
)

// verifyOptions are the ed25519 verification rules of every vote and
// evidence signature: ZIP-215, under which single and batch verification
// accept exactly the same signatures. The standard library's cofactorless
// rule would let a crafted signature (a small-order component in R or A)
// pass one and fail the other, and nodes that verify differently would
// disagree on which votes count.
var verifyOptions = &voi.Options{Verify: voi.VerifyOptionsZIP_215}

// sign returns priv's ed25519 signature over msg (RFC 8032, identical in
// every library: ed25519 signing is deterministic).
func sign(priv ed25519.PrivateKey, msg []byte) chain.Signature {
	return chain.Signature(ed25519.Sign(priv, msg))
}

// verify reports whether sig is pub's valid signature over msg under
// verifyOptions.
func verify(pub chain.PublicKey, msg []byte, sig chain.Signature) bool {
	return voi.VerifyWithOptions(pub[:], msg, sig[:], verifyOptions)
}

// verifyBatch reports, for each i, whether sigs[i] is pubs[i]'s valid
// signature over msgs[i], with one batch verification when all are valid
// (and one by one otherwise, which voi does itself). The slices must have
// the same length.
func verifyBatch(pubs []chain.PublicKey, msgs [][]byte, sigs []chain.Signature) []bool {
	switch len(pubs) {
	case 0:
		return nil
	case 1:
		return []bool{verify(pubs[0], msgs[0], sigs[0])}
	}
	bv := voi.NewBatchVerifierWithCapacity(len(pubs))
	for i := range pubs {
		bv.AddWithOptions(pubs[i][:], msgs[i], sigs[i][:], verifyOptions)
	}
	_, ok := bv.Verify(rand.Reader)
	return ok
}
