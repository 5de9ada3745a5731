package chain

import (
	"bytes"
	"crypto/ed25519"
	"encoding/binary"
	"fmt"
)

// Checkpoint names the checkpoint block of an epoch: the block at height
// Epoch·EpochLength (the Casper FFG paper's convention; EIP-1011's
// contract used Epoch·EpochLength−1) and its hash.
type Checkpoint struct {
	Epoch uint64
	Hash  Hash
}

// String returns "epoch:hash".
func (c Checkpoint) String() string { return fmt.Sprintf("%d:%v", c.Epoch, c.Hash) }

// VoteVersion is the only vote encoding version.
const VoteVersion = 1

// Sizes of a vote's and of slashing evidence's encodings.
const (
	// voteUnsignedSize is the encoding without the signature: version,
	// validator key, source epoch and hash, target epoch and hash.
	voteUnsignedSize = 1 + PublicKeySize + 2*(8+HashSize)

	// VoteSize is the length of a vote's binary encoding.
	VoteSize = voteUnsignedSize + SignatureSize

	// EvidenceSize is the length of Evidence's binary encoding: its two
	// votes.
	EvidenceSize = 2 * VoteSize
)

// voteSigDomain prefixes every vote's signing message, so that a vote
// signature can never be valid for a transfer, a stake transaction, a
// reveal or another protocol signed with the same key.
const voteSigDomain = "powmine ffg vote v1\x00"

// voteMessageSize is the length of a vote's signing message.
const voteMessageSize = len(voteSigDomain) + HashSize + voteUnsignedSize

// Vote is a validator's Casper FFG vote: a link from a justified source
// checkpoint to a later target checkpoint, signed with the validator's
// ed25519 key. The validator is named by its key, not by an index into a
// set, so that a vote and slashing evidence made of votes verify without
// knowing the order of the validator set they were cast under.
//
// Its binary encoding (MarshalBinary) is exactly VoteSize (177) bytes:
//
//	offset size field
//	0      1    version (VoteVersion)
//	1      32   validator public key
//	33     8    source epoch, little-endian
//	41     32   source hash
//	73     8    target epoch, little-endian
//	81     32   target hash
//	113    64   ed25519 signature over the signing message
//
// A vote travels in a block as a TxTypeVote transaction whose body is this
// encoding; it pays no fee and has no sequence number (a validator votes
// once per target epoch, which the node enforces).
type Vote struct {
	Validator PublicKey
	Source    Checkpoint
	Target    Checkpoint
	Signature Signature
}

// appendUnsigned appends the encoding without the signature.
func (v *Vote) appendUnsigned(b []byte) []byte {
	b = append(b, VoteVersion)
	b = append(b, v.Validator[:]...)
	b = binary.LittleEndian.AppendUint64(b, v.Source.Epoch)
	b = append(b, v.Source.Hash[:]...)
	b = binary.LittleEndian.AppendUint64(b, v.Target.Epoch)
	return append(b, v.Target.Hash[:]...)
}

// AppendBinary appends the VoteSize-byte encoding of v to b.
func (v *Vote) AppendBinary(b []byte) ([]byte, error) {
	b = v.appendUnsigned(b)
	return append(b, v.Signature[:]...), nil
}

// MarshalBinary returns the VoteSize-byte encoding of v.
func (v *Vote) MarshalBinary() ([]byte, error) {
	return v.AppendBinary(make([]byte, 0, VoteSize))
}

// UnmarshalBinary decodes exactly one vote. It refuses, with an error
// wrapping ErrMalformed and without changing v, an input that is not
// VoteSize bytes long (ErrTruncated or ErrNonCanonical), an unknown
// version (ErrUnknownType), and a source epoch that is not below the
// target epoch (ErrNonCanonical: no such vote is ever valid, so no
// encoding of one is canonical). It does not check the signature.
func (v *Vote) UnmarshalBinary(data []byte) error {
	d := decoder{buf: data}
	var out Vote
	d.decodeVote(&out)
	if err := d.finish("vote"); err != nil {
		return err
	}
	*v = out
	return nil
}

// decodeVote reads one vote encoding.
func (d *decoder) decodeVote(v *Vote) {
	start := d.off
	version := d.uint8("vote version")
	if d.err == nil && version != VoteVersion {
		d.fail(decodeError(ErrUnknownType, "vote version %d at offset %d", version, start))
		return
	}
	d.copyTo(v.Validator[:], "vote validator")
	v.Source.Epoch = d.uint64("vote source epoch")
	d.copyTo(v.Source.Hash[:], "vote source hash")
	v.Target.Epoch = d.uint64("vote target epoch")
	d.copyTo(v.Target.Hash[:], "vote target hash")
	d.copyTo(v.Signature[:], "vote signature")
	if d.err == nil && v.Source.Epoch >= v.Target.Epoch {
		d.fail(decodeError(ErrNonCanonical, "vote at offset %d has source epoch %d, not below its target epoch %d",
			start, v.Source.Epoch, v.Target.Epoch))
	}
}

// CheckSanity returns an ErrBadVote RuleError unless the source epoch is
// below the target epoch: the only rule a vote must meet on its own.
func (v *Vote) CheckSanity() error {
	if v.Source.Epoch >= v.Target.Epoch {
		return ruleError(ErrBadVote, "vote source epoch %d is not below its target epoch %d", v.Source.Epoch, v.Target.Epoch)
	}
	return nil
}

// messageTo writes the signing message into m.
func (v *Vote) messageTo(m *[voteMessageSize]byte, network Hash) {
	n := copy(m[:], voteSigDomain)
	n += copy(m[n:], network[:])
	v.appendUnsigned(m[n:n])
}

// SigningMessage returns the bytes a validator signs for a vote on the
// network whose genesis hash is network: the domain string "powmine ffg
// vote v1" and a zero byte, the genesis hash, then the vote's encoding
// without its signature. The genesis hash keeps a vote from being replayed
// on another chain where the same key validates.
func (v *Vote) SigningMessage(network Hash) []byte {
	var m [voteMessageSize]byte
	v.messageTo(&m, network)
	return m[:]
}

// Sign sets v.Validator to priv's public key and v.Signature to priv's
// signature over the signing message for network. It fails only for a
// private key of the wrong length.
func (v *Vote) Sign(priv ed25519.PrivateKey, network Hash) error {
	if len(priv) != ed25519.PrivateKeySize {
		return fmt.Errorf("chain: private key has %d bytes, want %d", len(priv), ed25519.PrivateKeySize)
	}
	v.Validator = PublicKey(priv.Public().(ed25519.PublicKey))
	var m [voteMessageSize]byte
	v.messageTo(&m, network)
	v.Signature = Signature(ed25519.Sign(priv, m[:]))
	return nil
}

// Verify reports whether v.Signature is v.Validator's valid signature over
// the signing message for network under the chain's signature rule
// (ZIP-215, see VerifySignature). It is safe for concurrent use.
func (v *Vote) Verify(network Hash) bool {
	var m [voteMessageSize]byte
	v.messageTo(&m, network)
	return verifySignature(&v.Validator, m[:], &v.Signature)
}

// VerifyVotes checks the signatures of votes for network with one ed25519
// batch verification (VerifySignatures), and returns ok with ok[i] ==
// votes[i].Verify(network) for every i. When every signature is valid it
// costs about half of checking them one by one. When one is bad the batch
// fails and every vote is checked alone, so the caller should verify
// untrusted gossip in modest batches. It is safe for concurrent use.
func VerifyVotes(network Hash, votes []Vote) []bool {
	msgs := make([][]byte, len(votes))
	buf := make([]byte, len(votes)*voteMessageSize)
	pubs := make([]PublicKey, len(votes))
	sigs := make([]Signature, len(votes))
	for i := range votes {
		m := (*[voteMessageSize]byte)(buf[i*voteMessageSize:])
		votes[i].messageTo(m, network)
		msgs[i] = m[:]
		pubs[i] = votes[i].Validator
		sigs[i] = votes[i].Signature
	}
	return VerifySignatures(pubs, msgs, sigs)
}

// compareUnsigned orders votes by their encodings without the signature.
func compareUnsigned(a, b *Vote) int {
	var ea, eb [voteUnsignedSize]byte
	a.appendUnsigned(ea[:0])
	b.appendUnsigned(eb[:0])
	return bytes.Compare(ea[:], eb[:])
}

// Offence names the Casper FFG slashing condition a pair of votes breaks.
type Offence int

// The offences. Both compare only epochs, so evidence needs no chain state.
const (
	// NoOffence: the votes are from different validators, are the same
	// vote, or break no condition.
	NoOffence Offence = iota

	// DoubleVote: two distinct votes with the same target epoch (Casper's
	// condition I).
	DoubleVote

	// SurroundVote: one vote's source and target epochs strictly surround
	// the other's, s1 < s2 < t2 < t1 (condition II).
	SurroundVote
)

// String returns the offence's name.
func (o Offence) String() string {
	switch o {
	case DoubleVote:
		return "double vote"
	case SurroundVote:
		return "surround vote"
	default:
		return "no offence"
	}
}

// Slashable returns the offence that a and b prove against their validator
// together, ignoring signatures: NoOffence unless both are from the same
// validator, they differ in source or target, and they are a double vote
// or a surround vote. All inequalities are strict: (0→3, 0→2) share a
// source and are not slashable, nor are (0→2, 1→3) or (0→1, 1→2).
func Slashable(a, b *Vote) Offence {
	if a.Validator != b.Validator || (a.Source == b.Source && a.Target == b.Target) {
		return NoOffence
	}
	switch {
	case a.Target.Epoch == b.Target.Epoch:
		return DoubleVote
	case a.Source.Epoch < b.Source.Epoch && b.Target.Epoch < a.Target.Epoch,
		b.Source.Epoch < a.Source.Epoch && a.Target.Epoch < b.Target.Epoch:
		return SurroundVote
	}
	return NoOffence
}

// Evidence proves a slashable offence: two signed votes of one validator
// that break a slashing condition together. It is canonical when A's
// encoding without the signature sorts strictly before B's, so that one
// offence has one encoding (NewEvidence orders them). Its binary encoding
// is A's then B's, EvidenceSize (354) bytes.
type Evidence struct {
	A, B Vote
}

// NewEvidence returns the evidence made of a and b in canonical order. It
// does not check that they prove anything: see Verify.
func NewEvidence(a, b Vote) Evidence {
	if compareUnsigned(&a, &b) > 0 {
		a, b = b, a
	}
	return Evidence{A: a, B: b}
}

// Validator returns the key of the validator the evidence accuses.
func (e *Evidence) Validator() PublicKey { return e.A.Validator }

// Offence returns the offence the two votes break, ignoring signatures.
func (e *Evidence) Offence() Offence { return Slashable(&e.A, &e.B) }

// CheckSanity runs Verify's checks but the signatures: it returns an
// ErrInvalidEvidence RuleError unless both votes are well formed, in
// canonical order, from one validator and a double or surround vote.
func (e *Evidence) CheckSanity() error {
	if e.A.CheckSanity() != nil || e.B.CheckSanity() != nil {
		return ruleError(ErrInvalidEvidence, "evidence holds a malformed vote")
	}
	if e.A.Validator != e.B.Validator {
		return ruleError(ErrInvalidEvidence, "evidence votes are from different validators")
	}
	if compareUnsigned(&e.A, &e.B) >= 0 {
		return ruleError(ErrInvalidEvidence, "evidence votes are not in canonical order (or are the same vote)")
	}
	if e.Offence() == NoOffence {
		return ruleError(ErrInvalidEvidence, "votes %v→%v and %v→%v break no slashing condition",
			e.A.Source.Epoch, e.A.Target.Epoch, e.B.Source.Epoch, e.B.Target.Epoch)
	}
	return nil
}

// Verify returns nil when e proves an offence on the network whose
// genesis hash is network: CheckSanity's rules, and both signatures
// verify. Otherwise it returns an ErrInvalidEvidence RuleError saying
// which of those fails. It does not know the validator set: whether the
// accused is a validator, or slashed already, is the state's question. It
// is safe for concurrent use.
func (e *Evidence) Verify(network Hash) error {
	if err := e.CheckSanity(); err != nil {
		return err
	}
	ok := VerifyVotes(network, []Vote{e.A, e.B})
	if !ok[0] || !ok[1] {
		return ruleError(ErrInvalidEvidence, "evidence of a %v holds a bad signature", e.Offence())
	}
	return nil
}

// AppendBinary appends the EvidenceSize-byte encoding: A's then B's.
func (e *Evidence) AppendBinary(b []byte) ([]byte, error) {
	b, _ = e.A.AppendBinary(b)
	return e.B.AppendBinary(b)
}

// MarshalBinary returns the EvidenceSize-byte encoding.
func (e *Evidence) MarshalBinary() ([]byte, error) {
	return e.AppendBinary(make([]byte, 0, EvidenceSize))
}

// UnmarshalBinary decodes exactly one piece of evidence, refusing with an
// error wrapping ErrMalformed, and without changing e, a wrong length, a
// vote that does not decode, and two votes out of canonical order
// (ErrNonCanonical). It checks neither the offence nor the signatures
// (Verify does).
func (e *Evidence) UnmarshalBinary(data []byte) error {
	d := decoder{buf: data}
	var out Evidence
	d.decodeEvidence(&out)
	if err := d.finish("evidence"); err != nil {
		return err
	}
	*e = out
	return nil
}

// decodeEvidence reads two votes in canonical order.
func (d *decoder) decodeEvidence(e *Evidence) {
	start := d.off
	d.decodeVote(&e.A)
	d.decodeVote(&e.B)
	if d.err == nil && compareUnsigned(&e.A, &e.B) >= 0 {
		d.fail(decodeError(ErrNonCanonical, "evidence at offset %d: votes are not in canonical order", start))
	}
}

// Slash is a slashing transaction: Evidence against a validator and the
// address of the reporter, who receives Stake/Params.SlashReporterShareDenom
// of the burned stake. Anyone may send it; it pays no fee and has no
// sequence number, since evidence is accepted once per validator (of
// either kind: a proposer's equivocation, ProposerSlash, is the other).
// Its body is the evidence's 354-byte encoding followed by the 20-byte
// reporter address.
type Slash struct {
	Evidence Evidence
	Reporter Address
}

// Sizes of the vote and slash transactions.
const (
	// VoteTxSize is the serialized size of every vote transaction: the
	// version and type bytes and the vote's encoding.
	VoteTxSize = txPrefixSize + VoteSize

	// SlashTxSize is the serialized size of every slash transaction.
	SlashTxSize = txPrefixSize + EvidenceSize + AddressSize
)

// appendVoteTx appends the vote transaction's serialization to b.
func appendVoteTx(b []byte, v *Vote) []byte {
	b = append(b, TxVersion, byte(TxTypeVote))
	b, _ = v.AppendBinary(b)
	return b
}

// append appends the slash transaction's serialization to b.
func (s *Slash) append(b []byte) []byte {
	b = append(b, TxVersion, byte(TxTypeSlash))
	b, _ = s.Evidence.AppendBinary(b)
	return append(b, s.Reporter[:]...)
}

// decodeSlash reads a slash body.
func (d *decoder) decodeSlash(s *Slash) {
	d.decodeEvidence(&s.Evidence)
	d.copyTo(s.Reporter[:], "slash reporter")
}

// IsFinality reports whether tx is a well-formed vote, slash or proposer
// slash: the transactions of finality, which pay no fee and carry no
// sequence.
func (tx *Transaction) IsFinality() bool {
	typ := tx.Type()
	return typ == TxTypeVote || typ == TxTypeSlash || typ == TxTypeProposerSlash
}

// checkFinalityShape runs CheckTransactionSanity's checks of a vote,
// slash or proposer slash but the signatures: ErrStakeDisabled when p
// does not enable stake, ErrBadVote for a vote whose source epoch is not
// below its target's, ErrNotProofOfStake for a proposer slash on a chain
// without seals, ErrInvalidEvidence for evidence that proves no offence.
func checkFinalityShape(tx *Transaction, p *Params) error {
	if !p.StakeEnabled() {
		return ruleError(ErrStakeDisabled, "network %s has no stake (EpochLength %d)", p.Name, p.EpochLength)
	}
	switch {
	case tx.Vote != nil:
		return tx.Vote.CheckSanity()
	case tx.ProposerSlash != nil:
		return checkProposerSlashShape(tx.ProposerSlash, p)
	}
	return tx.Slash.Evidence.CheckSanity()
}

// checkFinalityTx is CheckTransactionSanity for a vote or slash:
// checkFinalityShape's rules, then the signatures (ErrBadSignature).
func checkFinalityTx(tx *Transaction, p *Params) error {
	if err := checkFinalityShape(tx, p); err != nil {
		return err
	}
	if v := tx.Vote; v != nil {
		if !v.Verify(p.GenesisHash) {
			return ruleError(ErrBadSignature, "vote %v→%v of %v has an invalid signature", v.Source, v.Target, v.Validator)
		}
		return nil
	}
	if ps := tx.ProposerSlash; ps != nil {
		if ps.Evidence.Verify(p.GenesisHash) != nil {
			return proposerSlashSigError(ps)
		}
		return nil
	}
	if err := tx.Slash.Evidence.Verify(p.GenesisHash); err != nil {
		return ruleError(ErrBadSignature, "slash evidence against %v has an invalid signature", tx.Slash.Evidence.Validator())
	}
	return nil
}

// checkFinalityTxs runs the finality checks of CheckBlockSanity but the
// signatures (the block's batch checks those): checkFinalityShape's rules
// for each vote and slash, ErrTooManyVotes over p.MaxVotesPerBlock votes
// and ErrTooManySlashes over p.MaxSlashesPerBlock slashes and proposer
// slashes together.
func checkFinalityTxs(b *Block, ids []Hash, p *Params) error {
	votes, slashes := 0, 0
	for i := range b.Transactions {
		tx := &b.Transactions[i]
		if !tx.IsFinality() {
			continue
		}
		if err := checkFinalityShape(tx, p); err != nil {
			rerr := err.(RuleError)
			rerr.Description += fmt.Sprintf(" (transaction %d, %v)", i, ids[i])
			return rerr
		}
		if tx.Vote != nil {
			votes++
		} else {
			slashes++
		}
	}
	if votes > p.MaxVotesPerBlock {
		return ruleError(ErrTooManyVotes, "block %v has %d votes, more than MaxVotesPerBlock %d", b.Hash(), votes, p.MaxVotesPerBlock)
	}
	if slashes > p.MaxSlashesPerBlock {
		return ruleError(ErrTooManySlashes, "block %v has %d slashes, more than MaxSlashesPerBlock %d", b.Hash(), slashes, p.MaxSlashesPerBlock)
	}
	return nil
}
