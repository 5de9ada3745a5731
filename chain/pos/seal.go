package pos

import (
	"crypto/ed25519"
	"encoding/binary"
	"fmt"

	"github.com/powmine/powmine/chain"
)

// Schedule is the proposer schedule of one epoch of a pure-PoS chain: the
// epoch's number, its validators (keys and stakes, in the order the node fixes, by key
// for chain/node's ValidatorSet) and the beacon seed that draws each
// slot's proposer among them. Make one with NewSchedule; it is immutable
// and safe for concurrent use.
type Schedule struct {
	epoch    uint64
	election *Election
	keys     []chain.PublicKey
	seed     chain.Hash
}

// NewSchedule returns the schedule of epoch that draws among keys,
// weighted by stakes (stakes[i] is keys[i]'s), from seed: the beacon value
// at the end of epoch e−2 for the slots of epoch e (see Mix). It returns an
// ErrBadValidatorSet RuleError when the lengths differ, a key repeats, or
// NewElection refuses the stakes.
func NewSchedule(epoch uint64, keys []chain.PublicKey, stakes []uint64, seed chain.Hash) (*Schedule, error) {
	if len(keys) != len(stakes) {
		return nil, ruleError(ErrBadValidatorSet, "schedule with %d keys and %d stakes", len(keys), len(stakes))
	}
	seen := make(map[chain.PublicKey]bool, len(keys))
	for _, k := range keys {
		if seen[k] {
			return nil, ruleError(ErrBadValidatorSet, "validator %v appears twice", k)
		}
		seen[k] = true
	}
	e, err := NewElection(stakes)
	if err != nil {
		return nil, err
	}
	return &Schedule{epoch: epoch, election: e, keys: append([]chain.PublicKey(nil), keys...), seed: seed}, nil
}

// Epoch returns the epoch the schedule is for.
func (s *Schedule) Epoch() uint64 { return s.epoch }

// Proposer returns the key of the validator elected to propose in slot
// (Election.Proposer over the schedule's seed). It does not check that
// slot is in the schedule's epoch. It does not allocate.
func (s *Schedule) Proposer(slot uint64) chain.PublicKey {
	return s.keys[s.election.Proposer(s.seed, slot)]
}

// SealVersion is the only seal encoding version.
const SealVersion = 1

// SealSize is the length of a seal's binary encoding: version (1), slot
// (8), proposer key (32), reveal (80), signature (64).
const SealSize = 1 + 8 + chain.PublicKeySize + RevealSize + chain.SignatureSize

// The node carries a seal as a chain.BlockSeal: the sizes must agree.
var (
	_ [SealSize - chain.SealSize]struct{}
	_ [chain.SealSize - SealSize]struct{}
)

// Seal is what a pure-PoS block carries to prove that its proposer was
// entitled to it: the slot, the proposer's key, the proposer's Reveal for
// the slot's epoch (which the node folds into the beacon with Mix), and
// the proposer's ed25519 signature over the signing message
//
//	"powmine block seal v1" ‖ 0x00 ‖ genesis hash ‖ slot (uint64 LE) ‖ header hash
//
// The genesis hash keeps a seal from being replayed on another chain, the
// slot from being replayed in another slot (where the proposer may also
// be elected), and the header hash binds the seal to one block: the
// header commits to the parent and, through the Merkle root, to the
// transactions.
//
// The reveal is the per-epoch RANDAO reveal, not a per-slot VRF proof:
// the proposer of a slot is public (Schedule.Proposer over the beacon
// seed), so the proof is not needed to show election, only to feed the
// beacon, and a per-epoch input is what makes the beacon a RANDAO with
// one unique contribution per proposer and epoch (Ethereum's design); a
// validator computes it once per epoch (about 0.1 ms).
//
// The node carries the seal after the block's transactions
// (chain.Block.Seal). The header hash cannot commit to the seal, since the seal signs
// the header hash: the seal is to the header what a transfer's signature
// is to the transfer's unsigned fields. Nothing is lost: the block's hash
// is still its header hash, every byte that matters is signed or proven
// (the reveal's output is unique for the key and epoch, so the unsigned
// reveal cannot be swapped for one with another output), and two seals of
// one header (a re-signature, or the ECVRF proof made with other
// randomness) are the same block, not an equivocation.
//
// Its binary encoding (MarshalBinary) is exactly SealSize (185) bytes:
//
//	offset size field
//	0      1    version (SealVersion)
//	1      8    slot, little-endian
//	9      32   proposer public key
//	41     80   reveal (ECVRF proof for the slot's epoch)
//	121    64   ed25519 signature over the signing message
type Seal struct {
	Slot      uint64
	Proposer  chain.PublicKey
	Reveal    Reveal
	Signature chain.Signature
}

// NewSeal returns priv's seal of the block whose header hash is
// headerHash for slot on network, with reveal as the proposer's reveal for
// the slot's epoch (NewReveal, computed once an epoch). It fails only for
// a private key of the wrong length.
func NewSeal(priv ed25519.PrivateKey, network chain.Hash, slot uint64, headerHash chain.Hash, reveal Reveal) (Seal, error) {
	if len(priv) != ed25519.PrivateKeySize {
		return Seal{}, fmt.Errorf("pos: private key has %d bytes, want %d", len(priv), ed25519.PrivateKeySize)
	}
	m := chain.SealMessage(network, slot, headerHash)
	return Seal{
		Slot:      slot,
		Proposer:  chain.PublicKey(priv.Public().(ed25519.PublicKey)),
		Reveal:    reveal,
		Signature: chain.Signature(ed25519.Sign(priv, m[:])),
	}, nil
}

// Header returns the signed header the seal makes of headerHash: what
// proposer equivocation evidence (chain.ProposerEvidence) holds.
func (s Seal) Header(headerHash chain.Hash) chain.SignedHeader {
	return chain.SignedHeader{HeaderHash: headerHash, Slot: s.Slot, Proposer: s.Proposer, Signature: s.Signature}
}

// VerifySeal checks the seal of the block whose header hash is headerHash
// on network, and returns the reveal's output for the node to Mix into
// the beacon. The checks, in order, each with its RuleError code:
//
//   - the slot follows the parent's and has started (SlotRules.CheckSlot):
//     ErrSlotNotAfterParent, ErrFutureSlot;
//   - the proposer is the slot's elected one in schedule: ErrWrongProposer;
//   - the signature is the proposer's over the signing message, under the
//     chain's signature rule (chain.VerifySignature, ZIP-215):
//     ErrBadSealSignature;
//   - the reveal is the proposer's ECVRF proof for the slot's epoch
//     (Reveal.Verify): ErrBadReveal.
//
// The cheap checks come first, so a block from the wrong proposer costs
// no curve operation. Two mistakes of the caller give a plain error, not
// a RuleError: rules with a non-positive slot duration or slots per epoch
// (SlotRules.Check), and a schedule for another epoch than the slot's
// (rules.Epoch(s.Slot)), which a node that skips to the next epoch after
// missed slots must not pass. It is safe for concurrent use.
func VerifySeal(network chain.Hash, s *Seal, headerHash chain.Hash, schedule *Schedule, rules SlotRules) (RevealOutput, error) {
	if err := rules.CheckSlot(s.Slot); err != nil {
		return RevealOutput{}, err
	}
	epoch := rules.Epoch(s.Slot)
	if epoch != schedule.epoch {
		return RevealOutput{}, fmt.Errorf("pos: seal of slot %d (epoch %d) checked against the schedule of epoch %d", s.Slot, epoch, schedule.epoch)
	}
	if want := schedule.Proposer(s.Slot); want != s.Proposer {
		return RevealOutput{}, ruleError(ErrWrongProposer, "slot %d sealed by %v, elected proposer %v", s.Slot, s.Proposer, want)
	}
	m := chain.SealMessage(network, s.Slot, headerHash)
	if !chain.VerifySignature(s.Proposer, m[:], s.Signature) {
		return RevealOutput{}, s.signatureError()
	}
	return s.verifyReveal(network, epoch)
}

// signatureError is the refusal of s's signature.
func (s *Seal) signatureError() error {
	return ruleError(ErrBadSealSignature, "seal of slot %d: bad signature by %v", s.Slot, s.Proposer)
}

// verifyReveal checks that s's reveal is its proposer's for epoch on
// network and returns its output, else an ErrBadReveal RuleError.
func (s *Seal) verifyReveal(network chain.Hash, epoch uint64) (RevealOutput, error) {
	out, ok := s.Reveal.Verify(s.Proposer, network, epoch)
	if !ok {
		return RevealOutput{}, ruleError(ErrBadReveal, "seal of slot %d: reveal is not %v's proof for epoch %d", s.Slot, s.Proposer, epoch)
	}
	return out, nil
}

// VerifySeals checks what each of seals proves by itself, seals[i] being
// the seal of the block whose header hash is headerHashes[i] on network:
// it is signed by the key it names (ErrBadSealSignature) and carries
// that key's reveal for its slot's epoch, slot / slotsPerEpoch
// (ErrBadReveal). These are VerifySeal's last two checks; the slot rules
// and the election, which need the chain, are the caller's. A node
// checks so the seals of headers that come without their blocks, and of
// a side-branch block, whose branch's state it lacks.
//
// The signatures are checked in one batch (chain.VerifySignatures, the
// chain's signature rule), and a reveal that repeats (one key, epoch and
// proof: a proposer's every block of an epoch) is checked once. It
// returns the index of the first seal that fails with its RuleError, or
// -1 and nil. Slices of different lengths and a slotsPerEpoch of 0 are a
// caller's mistake: a plain error, and index -1. It is safe for
// concurrent use.
func VerifySeals(network chain.Hash, seals []Seal, headerHashes []chain.Hash, slotsPerEpoch uint64) (int, error) {
	if len(seals) != len(headerHashes) || slotsPerEpoch == 0 {
		return -1, fmt.Errorf("pos: %d seals of %d headers with %d slots per epoch", len(seals), len(headerHashes), slotsPerEpoch)
	}
	if len(seals) == 0 {
		return -1, nil
	}
	pubs := make([]chain.PublicKey, len(seals))
	sigs := make([]chain.Signature, len(seals))
	msgs := make([][]byte, len(seals))
	buf := make([]byte, len(seals)*chain.SealMessageSize)
	for i := range seals {
		m := buf[i*chain.SealMessageSize : (i+1)*chain.SealMessageSize : (i+1)*chain.SealMessageSize]
		*(*[chain.SealMessageSize]byte)(m) = chain.SealMessage(network, seals[i].Slot, headerHashes[i])
		pubs[i], sigs[i], msgs[i] = seals[i].Proposer, seals[i].Signature, m
	}
	valid := chain.VerifySignatures(pubs, msgs, sigs)
	type reveal struct {
		key   chain.PublicKey
		epoch uint64
		proof Reveal
	}
	checked := make(map[reveal]struct{})
	for i := range seals {
		s := &seals[i]
		if !valid[i] {
			return i, s.signatureError()
		}
		r := reveal{s.Proposer, s.Slot / slotsPerEpoch, s.Reveal}
		if _, ok := checked[r]; ok {
			continue
		}
		if _, err := s.verifyReveal(network, r.epoch); err != nil {
			return i, err
		}
		checked[r] = struct{}{}
	}
	return -1, nil
}

// AppendBinary appends the SealSize-byte encoding of s to b.
func (s *Seal) AppendBinary(b []byte) ([]byte, error) {
	b = append(b, SealVersion)
	b = binary.LittleEndian.AppendUint64(b, s.Slot)
	b = append(b, s.Proposer[:]...)
	b = append(b, s.Reveal[:]...)
	return append(b, s.Signature[:]...), nil
}

// MarshalBinary returns the SealSize-byte encoding of s.
func (s *Seal) MarshalBinary() ([]byte, error) {
	return s.AppendBinary(make([]byte, 0, SealSize))
}

// UnmarshalBinary decodes exactly one seal. It refuses, with an
// ErrMalformed RuleError and without changing s, an input that is not
// SealSize bytes long, an unknown version, and slot 0 (the genesis
// block's, which no proposer seals). It checks neither the signature nor
// the reveal (VerifySeal does).
func (s *Seal) UnmarshalBinary(data []byte) error {
	if len(data) != SealSize {
		return ruleError(ErrMalformed, "seal encoding has %d bytes, want %d", len(data), SealSize)
	}
	if data[0] != SealVersion {
		return ruleError(ErrMalformed, "seal version %d, want %d", data[0], SealVersion)
	}
	var d Seal
	d.Slot = binary.LittleEndian.Uint64(data[1:9])
	if d.Slot == 0 {
		return ruleError(ErrMalformed, "seal of slot 0, the genesis slot")
	}
	d.Proposer = chain.PublicKey(data[9:41])
	d.Reveal = Reveal(data[41 : 41+RevealSize])
	d.Signature = chain.Signature(data[41+RevealSize:])
	*s = d
	return nil
}
