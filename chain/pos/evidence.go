package pos

import "github.com/powmine/powmine/chain"

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

// EvidenceSize is the length of Evidence's binary encoding: its two votes.
const EvidenceSize = 2 * VoteSize

// Evidence proves a slashable offence: two signed votes of one validator
// that break a slashing condition together. It is canonical when A's
// encoding without the signature sorts strictly before B's, so that one
// offence has one encoding (NewEvidence orders them).
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
func (e *Evidence) Validator() chain.PublicKey { return e.A.Validator }

// Offence returns the offence the two votes break, ignoring signatures.
func (e *Evidence) Offence() Offence { return Slashable(&e.A, &e.B) }

// Verify returns nil when e proves an offence on the network whose
// genesis hash is network: the votes are well formed, in canonical order,
// from one validator, a double or surround vote, and both signatures
// verify. Otherwise it returns an ErrInvalidEvidence RuleError saying
// which of those fails. It does not know the validator set: whether the
// accused is a validator, or slashed already, is Finality.AddEvidence's
// question. It is safe for concurrent use.
func (e *Evidence) Verify(network chain.Hash) error {
	if e.A.CheckSanity() != nil || e.B.CheckSanity() != nil {
		return ruleError(ErrInvalidEvidence, "evidence holds a malformed vote")
	}
	if e.A.Validator != e.B.Validator {
		return ruleError(ErrInvalidEvidence, "evidence votes are from different validators")
	}
	if compareUnsigned(&e.A, &e.B) >= 0 {
		return ruleError(ErrInvalidEvidence, "evidence votes are not in canonical order (or are the same vote)")
	}
	off := e.Offence()
	if off == NoOffence {
		return ruleError(ErrInvalidEvidence, "votes %v→%v and %v→%v break no slashing condition",
			e.A.Source.Epoch, e.A.Target.Epoch, e.B.Source.Epoch, e.B.Target.Epoch)
	}
	ok := VerifyVotes(network, []Vote{e.A, e.B})
	if !ok[0] || !ok[1] {
		return ruleError(ErrInvalidEvidence, "evidence of a %v holds a bad signature", off)
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
// ErrMalformed RuleError, and without changing e, a wrong length, a vote
// that does not decode, and two votes out of canonical order. It checks
// neither the offence nor the signatures (Verify does).
func (e *Evidence) UnmarshalBinary(data []byte) error {
	if len(data) != EvidenceSize {
		return ruleError(ErrMalformed, "evidence encoding has %d bytes, want %d", len(data), EvidenceSize)
	}
	var d Evidence
	if err := d.A.UnmarshalBinary(data[:VoteSize]); err != nil {
		return err
	}
	if err := d.B.UnmarshalBinary(data[VoteSize:]); err != nil {
		return err
	}
	if compareUnsigned(&d.A, &d.B) >= 0 {
		return ruleError(ErrMalformed, "evidence votes are not in canonical order")
	}
	*e = d
	return nil
}
