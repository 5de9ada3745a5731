package pos

import (
	"bytes"
	"encoding/binary"

	"github.com/powmine/powmine/chain"
)

// SignedHeader is a header hash together with the parts of a Seal that
// sign it: the slot, the proposer and its signature. It is what a
// proposer commits to when it seals a block, without the reveal, which
// the signature does not cover and an equivocation does not need.
type SignedHeader struct {
	HeaderHash chain.Hash
	Slot       uint64
	Proposer   chain.PublicKey
	Signature  chain.Signature
}

// signedHeaderSize is the length of a SignedHeader's encoding: header
// hash, slot, proposer, signature.
const signedHeaderSize = chain.HashSize + 8 + chain.PublicKeySize + chain.SignatureSize

// Verify reports whether h.Signature is h.Proposer's valid seal signature
// over h.HeaderHash in h.Slot on network (chain.VerifySignature, ZIP-215).
func (h *SignedHeader) Verify(network chain.Hash) bool {
	m := sealMessage(network, h.Slot, h.HeaderHash)
	return chain.VerifySignature(h.Proposer, m[:], h.Signature)
}

// appendBinary appends the signedHeaderSize-byte encoding of h.
func (h *SignedHeader) appendBinary(b []byte) []byte {
	b = append(b, h.HeaderHash[:]...)
	b = binary.LittleEndian.AppendUint64(b, h.Slot)
	b = append(b, h.Proposer[:]...)
	return append(b, h.Signature[:]...)
}

// decodeSignedHeader decodes signedHeaderSize bytes.
func decodeSignedHeader(data []byte) SignedHeader {
	return SignedHeader{
		HeaderHash: chain.Hash(data[:32]),
		Slot:       binary.LittleEndian.Uint64(data[32:40]),
		Proposer:   chain.PublicKey(data[40:72]),
		Signature:  chain.Signature(data[72:signedHeaderSize]),
	}
}

// ProposerEvidenceVersion is the only proposer evidence encoding version.
const ProposerEvidenceVersion = 1

// ProposerEvidenceSize is the length of ProposerEvidence's encoding: a
// version byte and two signed headers of 136 bytes.
const ProposerEvidenceSize = 1 + 2*signedHeaderSize

// ProposerEvidence proves that a proposer equivocated: it sealed two
// different blocks (different header hashes) for the same slot. An honest
// proposer seals one block per slot, so this is slashable like a double
// vote, and proves it with no chain state: the two signatures alone.
// It is canonical when A's header hash sorts strictly before B's, so one
// offence has one encoding (NewProposerEvidence orders them).
//
// What it proves, and what it does not: the key signed both blocks for
// that slot on that network. It does not prove that the key was the
// slot's elected proposer (a signature by a key not elected is worthless
// to an attacker but still an offence the owner of a validator key must
// not commit), nor that either block was valid; the node decides whom the
// key belongs to and what to burn.
type ProposerEvidence struct {
	A, B SignedHeader
}

// NewProposerEvidence returns the evidence made of a and b in canonical
// order. It does not check that they prove anything: see Verify.
func NewProposerEvidence(a, b SignedHeader) ProposerEvidence {
	if bytes.Compare(a.HeaderHash[:], b.HeaderHash[:]) > 0 {
		a, b = b, a
	}
	return ProposerEvidence{A: a, B: b}
}

// Verify returns nil when e proves an equivocation on network: one
// proposer, one slot, two different header hashes in canonical order, and
// both signatures valid. Otherwise it returns an ErrInvalidEvidence
// RuleError saying which fails: the same header (a block sealed twice is
// one block), different slots (a proposer may propose in each of its
// slots), different proposers, an order that is not canonical, or a bad
// signature (which includes a seal made for another network). It does
// not know the validator set. It is safe for concurrent use.
func (e *ProposerEvidence) Verify(network chain.Hash) error {
	switch c := bytes.Compare(e.A.HeaderHash[:], e.B.HeaderHash[:]); {
	case c == 0:
		return ruleError(ErrInvalidEvidence, "proposer evidence seals the same header twice")
	case c > 0:
		return ruleError(ErrInvalidEvidence, "proposer evidence headers are not in canonical order")
	}
	if e.A.Slot != e.B.Slot {
		return ruleError(ErrInvalidEvidence, "proposer evidence seals slots %d and %d, not one slot", e.A.Slot, e.B.Slot)
	}
	if e.A.Proposer != e.B.Proposer {
		return ruleError(ErrInvalidEvidence, "proposer evidence seals are by different proposers")
	}
	m := [2][]byte{}
	ma, mb := sealMessage(network, e.A.Slot, e.A.HeaderHash), sealMessage(network, e.B.Slot, e.B.HeaderHash)
	m[0], m[1] = ma[:], mb[:]
	ok := chain.VerifySignatures([]chain.PublicKey{e.A.Proposer, e.B.Proposer}, m[:], []chain.Signature{e.A.Signature, e.B.Signature})
	if !ok[0] || !ok[1] {
		return ruleError(ErrInvalidEvidence, "proposer evidence for slot %d holds a bad signature", e.A.Slot)
	}
	return nil
}

// AppendBinary appends the ProposerEvidenceSize-byte encoding: the
// version, then A's and B's header hash, slot (little-endian), proposer
// and signature.
func (e *ProposerEvidence) AppendBinary(b []byte) ([]byte, error) {
	b = append(b, ProposerEvidenceVersion)
	b = e.A.appendBinary(b)
	return e.B.appendBinary(b), nil
}

// MarshalBinary returns the ProposerEvidenceSize-byte encoding.
func (e *ProposerEvidence) MarshalBinary() ([]byte, error) {
	return e.AppendBinary(make([]byte, 0, ProposerEvidenceSize))
}

// UnmarshalBinary decodes exactly one piece of proposer evidence,
// refusing with an ErrMalformed RuleError, and without changing e, a
// wrong length, an unknown version, and header hashes not in strict
// canonical order. It checks neither the slots, the proposers nor the
// signatures (Verify does).
func (e *ProposerEvidence) UnmarshalBinary(data []byte) error {
	if len(data) != ProposerEvidenceSize {
		return ruleError(ErrMalformed, "proposer evidence encoding has %d bytes, want %d", len(data), ProposerEvidenceSize)
	}
	if data[0] != ProposerEvidenceVersion {
		return ruleError(ErrMalformed, "proposer evidence version %d, want %d", data[0], ProposerEvidenceVersion)
	}
	d := ProposerEvidence{A: decodeSignedHeader(data[1:]), B: decodeSignedHeader(data[1+signedHeaderSize:])}
	if bytes.Compare(d.A.HeaderHash[:], d.B.HeaderHash[:]) >= 0 {
		return ruleError(ErrMalformed, "proposer evidence headers are not in canonical order")
	}
	*e = d
	return nil
}
