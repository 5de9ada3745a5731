package chain

import (
	"bytes"
	"encoding/binary"
)

// sealSigDomain prefixes a proof-of-stake seal's signing message, so that
// a seal signature can never be valid as a vote, a transfer, a stake
// transaction or a reveal signed with the same key.
const sealSigDomain = "powmine block seal v1\x00"

// SealMessageSize is the length of a seal's signing message.
const SealMessageSize = len(sealSigDomain) + HashSize + 8 + HashSize

// SealMessage returns what a proof-of-stake proposer signs to seal the
// block whose header hash is headerHash in slot on the network whose
// genesis hash is network:
//
//	"powmine block seal v1" ‖ 0x00 ‖ genesis hash ‖ slot (uint64 LE) ‖ header hash
//
// chain/pos signs and checks seals with it; it lives here so that a
// proposer slash (ProposerEvidence) verifies without chain/pos.
func SealMessage(network Hash, slot uint64, headerHash Hash) [SealMessageSize]byte {
	var m [SealMessageSize]byte
	n := copy(m[:], sealSigDomain)
	n += copy(m[n:], network[:])
	binary.LittleEndian.PutUint64(m[n:], slot)
	copy(m[n+8:], headerHash[:])
	return m
}

// SignedHeader is a header hash together with the parts of a seal that
// sign it: the slot, the proposer and its signature (chain/pos's
// Seal.Header makes one). It is what a proposer commits to when it seals
// a block, without the reveal, which the signature does not cover and an
// equivocation does not need.
type SignedHeader struct {
	HeaderHash Hash
	Slot       uint64
	Proposer   PublicKey
	Signature  Signature
}

// signedHeaderSize is the length of a SignedHeader's encoding: header
// hash, slot, proposer, signature.
const signedHeaderSize = HashSize + 8 + PublicKeySize + SignatureSize

// Verify reports whether h.Signature is h.Proposer's valid seal signature
// over h.HeaderHash in h.Slot on network (SealMessage, VerifySignature:
// ZIP-215). It is safe for concurrent use.
func (h *SignedHeader) Verify(network Hash) bool {
	m := SealMessage(network, h.Slot, h.HeaderHash)
	return verifySignature(&h.Proposer, m[:], &h.Signature)
}

// appendBinary appends the signedHeaderSize-byte encoding of h.
func (h *SignedHeader) appendBinary(b []byte) []byte {
	b = append(b, h.HeaderHash[:]...)
	b = binary.LittleEndian.AppendUint64(b, h.Slot)
	b = append(b, h.Proposer[:]...)
	return append(b, h.Signature[:]...)
}

// decodeSignedHeader reads one signed header.
func (d *decoder) decodeSignedHeader(h *SignedHeader) {
	d.copyTo(h.HeaderHash[:], "signed header hash")
	h.Slot = d.uint64("signed header slot")
	d.copyTo(h.Proposer[:], "signed header proposer")
	d.copyTo(h.Signature[:], "signed header signature")
}

// ProposerEvidenceVersion is the only proposer evidence encoding version.
const ProposerEvidenceVersion = 1

// ProposerEvidenceSize is the length of ProposerEvidence's encoding: a
// version byte and two signed headers of 136 bytes.
const ProposerEvidenceSize = 1 + 2*signedHeaderSize

// ProposerEvidence proves that a proof-of-stake proposer equivocated: it
// sealed two different blocks (different header hashes) for the same
// slot. An honest proposer seals one block per slot, so this is slashable
// like a double vote, and proves it with no chain state: the two
// signatures alone. It is canonical when A's header hash sorts strictly
// before B's, so one offence has one encoding (NewProposerEvidence orders
// them).
//
// What it proves, and what it does not: the key signed both blocks for
// that slot on that network. It does not prove that the key was the
// slot's elected proposer (a signature by a key not elected is worthless
// to an attacker but still an offence the owner of a validator key must
// not commit), nor that either block was valid; the node decides whom the
// key belongs to and what to burn.
//
// Its binary encoding (MarshalBinary) is ProposerEvidenceSize (273)
// bytes: the version, then A's and B's header hash (32), slot (8,
// little-endian), proposer key (32) and seal signature (64).
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

// Proposer returns the key the evidence accuses.
func (e *ProposerEvidence) Proposer() PublicKey { return e.A.Proposer }

// CheckSanity runs Verify's checks but the signatures: it returns an
// ErrInvalidEvidence RuleError for the same header twice (a block sealed
// twice is one block), headers out of canonical order, different slots (a
// proposer may propose in each of its slots) or different proposers.
func (e *ProposerEvidence) CheckSanity() error {
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
	return nil
}

// Verify returns nil when e proves an equivocation on network:
// CheckSanity's rules, and both seal signatures valid (checked in one
// batch). Otherwise it returns an ErrInvalidEvidence RuleError saying
// which fails; a bad signature includes a seal made for another network.
// It does not know the validator set. It is safe for concurrent use.
func (e *ProposerEvidence) Verify(network Hash) error {
	if err := e.CheckSanity(); err != nil {
		return err
	}
	ma, mb := SealMessage(network, e.A.Slot, e.A.HeaderHash), SealMessage(network, e.B.Slot, e.B.HeaderHash)
	ok := VerifySignatures([]PublicKey{e.A.Proposer, e.B.Proposer}, [][]byte{ma[:], mb[:]}, []Signature{e.A.Signature, e.B.Signature})
	if !ok[0] || !ok[1] {
		return ruleError(ErrInvalidEvidence, "proposer evidence for slot %d holds a bad signature", e.A.Slot)
	}
	return nil
}

// AppendBinary appends the ProposerEvidenceSize-byte encoding to b.
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
// refusing with an error wrapping ErrMalformed, and without changing e, a
// wrong length (ErrTruncated or ErrNonCanonical), an unknown version
// (ErrUnknownType), and header hashes not in strict canonical order
// (ErrNonCanonical). It checks neither the slots, the proposers nor the
// signatures (Verify does).
func (e *ProposerEvidence) UnmarshalBinary(data []byte) error {
	d := decoder{buf: data}
	var out ProposerEvidence
	d.decodeProposerEvidence(&out)
	if err := d.finish("proposer evidence"); err != nil {
		return err
	}
	*e = out
	return nil
}

// decodeProposerEvidence reads a version and two signed headers in
// canonical order.
func (d *decoder) decodeProposerEvidence(e *ProposerEvidence) {
	start := d.off
	version := d.uint8("proposer evidence version")
	if d.err == nil && version != ProposerEvidenceVersion {
		d.fail(decodeError(ErrUnknownType, "proposer evidence version %d at offset %d", version, start))
		return
	}
	d.decodeSignedHeader(&e.A)
	d.decodeSignedHeader(&e.B)
	if d.err == nil && bytes.Compare(e.A.HeaderHash[:], e.B.HeaderHash[:]) >= 0 {
		d.fail(decodeError(ErrNonCanonical, "proposer evidence at offset %d: headers are not in canonical order", start))
	}
}

// ProposerSlash is a proposer-slashing transaction (TxTypeProposerSlash):
// ProposerEvidence against a proof-of-stake proposer and the address of
// the reporter, who receives Params.SlashReporterShareDenom's share of
// the burned stake, as for a Slash. Anyone may send it; it pays no fee
// and has no sequence number, since evidence is accepted once per
// validator (a validator slashed for a vote is not slashed again for a
// seal, nor the reverse). It is valid only on a ConsensusPoS chain, whose
// blocks carry seals (ErrNotProofOfStake elsewhere). Its body is the
// evidence's 273-byte encoding followed by the 20-byte reporter address.
type ProposerSlash struct {
	Evidence ProposerEvidence
	Reporter Address
}

// ProposerSlashTxSize is the serialized size of every proposer-slash
// transaction.
const ProposerSlashTxSize = txPrefixSize + ProposerEvidenceSize + AddressSize

// append appends the proposer slash transaction's serialization to b.
func (s *ProposerSlash) append(b []byte) []byte {
	b = append(b, TxVersion, byte(TxTypeProposerSlash))
	b, _ = s.Evidence.AppendBinary(b)
	return append(b, s.Reporter[:]...)
}

// decodeProposerSlash reads a proposer slash body.
func (d *decoder) decodeProposerSlash(s *ProposerSlash) {
	d.decodeProposerEvidence(&s.Evidence)
	d.copyTo(s.Reporter[:], "proposer slash reporter")
}

// Accused returns the validator key a slash or a proposer slash accuses,
// and false for any other transaction.
func (tx *Transaction) Accused() (PublicKey, bool) {
	switch {
	case tx.Slash != nil:
		return tx.Slash.Evidence.Validator(), true
	case tx.ProposerSlash != nil:
		return tx.ProposerSlash.Evidence.Proposer(), true
	}
	return PublicKey{}, false
}

// SlashReporter returns the reporter of a slash or a proposer slash, and
// false for any other transaction.
func (tx *Transaction) SlashReporter() (Address, bool) {
	switch {
	case tx.Slash != nil:
		return tx.Slash.Reporter, true
	case tx.ProposerSlash != nil:
		return tx.ProposerSlash.Reporter, true
	}
	return Address{}, false
}

// checkProposerSlashShape is checkFinalityShape for a proposer slash:
// ErrNotProofOfStake unless p is a ConsensusPoS chain, then the
// evidence's CheckSanity.
func checkProposerSlashShape(s *ProposerSlash, p *Params) error {
	if p.Consensus != ConsensusPoS {
		return ruleError(ErrNotProofOfStake, "network %s has no block seals: proposer slashes need proof of stake", p.Name)
	}
	return s.Evidence.CheckSanity()
}

// proposerSlashSigError is the ErrBadSignature RuleError of a proposer
// slash whose evidence does not verify.
func proposerSlashSigError(s *ProposerSlash) error {
	return ruleError(ErrBadSignature, "proposer slash evidence against %v for slot %d has an invalid signature",
		s.Evidence.Proposer(), s.Evidence.A.Slot)
}
