package pos

import (
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"math"
	"math/bits"
	"sort"

	voi "github.com/oasisprotocol/curve25519-voi/primitives/ed25519"
	"github.com/oasisprotocol/curve25519-voi/primitives/ed25519/extra/ecvrf"

	"github.com/powmine/powmine/chain"
)

// Election draws the proposer of each slot from a beacon seed, with
// probability exactly proportional to stake (up to the rejection step's
// 2⁻⁶⁴-scale remainder, which it removes). It keeps the cumulative stakes,
// so a draw is one SHA-256 and a binary search: O(log n). Make one with
// NewElection (the zero value is not usable). An Election is immutable and
// safe for concurrent use.
type Election struct {
	cumulative []uint64 // cumulative[i] = stakes[0] + … + stakes[i]
}

// NewElection returns the election over validators 0..len(stakes)-1. A
// validator of zero stake keeps its index and is never drawn. It returns
// an ErrBadValidatorSet RuleError when the stakes sum to zero or overflow
// a uint64.
func NewElection(stakes []uint64) (*Election, error) {
	e := &Election{cumulative: make([]uint64, len(stakes))}
	var sum uint64
	for i, s := range stakes {
		if s > math.MaxUint64-sum {
			return nil, ruleError(ErrBadValidatorSet, "election stakes overflow a uint64")
		}
		sum += s
		e.cumulative[i] = sum
	}
	if sum == 0 {
		return nil, ruleError(ErrBadValidatorSet, "election with no stake")
	}
	return e, nil
}

// TotalStake returns the sum of the stakes.
func (e *Election) TotalStake() uint64 { return e.cumulative[len(e.cumulative)-1] }

// electionDomain prefixes the hashes of the draw.
const electionDomain = "powmine proposer election v1\x00"

// Proposer returns the index of the validator that proposes in slot,
// drawn from seed (the beacon value for the slot's epoch, see Mix). The
// draw: r is the high half of the 128-bit product x·total, with x the
// first 8 bytes (little-endian) of SHA-256(domain ‖ seed ‖ slot ‖ round),
// slot and round as little-endian uint64 and uint32, round counting from
// 0; a low half below 2⁶⁴ mod total would make some r more likely than
// others, so it is refused and the next round drawn (Lemire's method:
// probability below total/2⁶⁴). r is then uniform on [0, total), and the
// proposer is the first i with cumulative[i] > r, validator i's share of
// outcomes being exactly stake[i]/total. It does not allocate.
func (e *Election) Proposer(seed chain.Hash, slot uint64) int {
	total := e.TotalStake()
	threshold := -total % total // 2⁶⁴ mod total
	var msg [len(electionDomain) + chain.HashSize + 8 + 4]byte
	n := copy(msg[:], electionDomain)
	n += copy(msg[n:], seed[:])
	binary.LittleEndian.PutUint64(msg[n:], slot)
	var r uint64
	for round := uint32(0); ; round++ {
		binary.LittleEndian.PutUint32(msg[n+8:], round)
		h := sha256.Sum256(msg[:])
		hi, lo := bits.Mul64(binary.LittleEndian.Uint64(h[:8]), total)
		if lo >= threshold {
			r = hi
			break
		}
	}
	return sort.Search(len(e.cumulative), func(i int) bool { return e.cumulative[i] > r })
}

// RevealSize is the length of a Reveal: an ECVRF proof.
const RevealSize = ecvrf.ProofSize

// Reveal is a proposer's RANDAO reveal for an epoch: an ECVRF proof (RFC
// 9381, ECVRF-EDWARDS25519-SHA512-ELL2) under its ed25519 validator key
// over the message "powmine randao reveal v1", a zero byte, the genesis
// hash and the epoch (little-endian uint64). It plays the part of
// Ethereum's BLS signature over the epoch: unlike an ed25519 signature,
// whose nonce the signer may choose freely, a VRF has exactly one output
// per key and message, so a proposer cannot grind the beacon by signing
// again (see the package documentation).
type Reveal [RevealSize]byte

// RevealOutput is the VRF output a verified Reveal proves: 64 bytes fixed
// by the key and the epoch, the value Mix folds into the beacon.
type RevealOutput [ecvrf.OutputSize]byte

// revealDomain prefixes the VRF input of a reveal.
const revealDomain = "powmine randao reveal v1\x00"

// revealInput returns the VRF input for network and epoch.
func revealInput(network chain.Hash, epoch uint64) []byte {
	b := make([]byte, 0, len(revealDomain)+chain.HashSize+8)
	b = append(append(b, revealDomain...), network[:]...)
	return binary.LittleEndian.AppendUint64(b, epoch)
}

// NewReveal returns priv's reveal for epoch on the network whose genesis
// hash is network. It fails only for a private key of the wrong length.
func NewReveal(priv ed25519.PrivateKey, network chain.Hash, epoch uint64) (Reveal, error) {
	if len(priv) != ed25519.PrivateKeySize {
		return Reveal{}, fmt.Errorf("pos: private key has %d bytes, want %d", len(priv), ed25519.PrivateKeySize)
	}
	return Reveal(ecvrf.Prove(voi.PrivateKey(priv), revealInput(network, epoch))), nil
}

// Verify checks that r is the reveal of the validator with key pub for
// epoch on network, and returns its output. ok is false for a forged or
// altered proof, another key, epoch or network.
func (r *Reveal) Verify(pub chain.PublicKey, network chain.Hash, epoch uint64) (out RevealOutput, ok bool) {
	ok, beta := ecvrf.Verify(voi.PublicKey(pub[:]), r[:], revealInput(network, epoch))
	if !ok || len(beta) != len(out) {
		return RevealOutput{}, false
	}
	return RevealOutput(beta), true
}

// mixDomain prefixes the beacon hash.
const mixDomain = "powmine randao mix v1\x00"

// Mix returns the next beacon value: SHA-256 of a domain string, the
// previous value and a verified reveal's output. The node folds in each
// block's reveal in order; the value at the end of epoch e−2 seeds the
// proposers of epoch e (Proposer), so a schedule is known an epoch ahead.
func Mix(prev chain.Hash, reveal RevealOutput) chain.Hash {
	h := sha256.New()
	h.Write([]byte(mixDomain))
	h.Write(prev[:])
	h.Write(reveal[:])
	return chain.Hash(h.Sum(nil))
}
