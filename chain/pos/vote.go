package pos

import (
	"bytes"
	"crypto/ed25519"
	"encoding/binary"
	"fmt"

	"github.com/powmine/powmine/chain"
)

// Checkpoint names the checkpoint block of an epoch: the block at height
// Epoch·EpochLength (the Casper FFG paper's convention; EIP-1011's
// contract used Epoch·EpochLength−1) and its hash.
type Checkpoint struct {
	Epoch uint64
	Hash  chain.Hash
}

// String returns "epoch:hash".
func (c Checkpoint) String() string { return fmt.Sprintf("%d:%v", c.Epoch, c.Hash) }

// VoteVersion is the only vote encoding version.
const VoteVersion = 1

// Sizes of a vote's encoding.
const (
	// voteUnsignedSize is the encoding without the signature: version,
	// validator key, source epoch and hash, target epoch and hash.
	voteUnsignedSize = 1 + chain.PublicKeySize + 2*(8+chain.HashSize)

	// VoteSize is the length of a vote's binary encoding.
	VoteSize = voteUnsignedSize + chain.SignatureSize
)

// voteSigDomain prefixes every vote's signing message, so that a vote
// signature can never be valid for a transfer, a reveal or another
// protocol signed with the same key.
const voteSigDomain = "powmine ffg vote v1\x00"

// voteMessageSize is the length of a vote's signing message.
const voteMessageSize = len(voteSigDomain) + chain.HashSize + voteUnsignedSize

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
type Vote struct {
	Validator chain.PublicKey
	Source    Checkpoint
	Target    Checkpoint
	Signature chain.Signature
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

// UnmarshalBinary decodes exactly one vote. It refuses, with an ErrMalformed
// RuleError and without changing v, an input that is not VoteSize bytes
// long, an unknown version, and a source epoch that is not below the target
// epoch (no such vote is ever valid, so no encoding of one is canonical).
// It does not check the signature.
func (v *Vote) UnmarshalBinary(data []byte) error {
	if len(data) != VoteSize {
		return ruleError(ErrMalformed, "vote encoding has %d bytes, want %d", len(data), VoteSize)
	}
	if data[0] != VoteVersion {
		return ruleError(ErrMalformed, "vote version %d, want %d", data[0], VoteVersion)
	}
	var d Vote
	d.Validator = chain.PublicKey(data[1:33])
	d.Source.Epoch = binary.LittleEndian.Uint64(data[33:41])
	d.Source.Hash = chain.Hash(data[41:73])
	d.Target.Epoch = binary.LittleEndian.Uint64(data[73:81])
	d.Target.Hash = chain.Hash(data[81:113])
	d.Signature = chain.Signature(data[113:VoteSize])
	if err := d.CheckSanity(); err != nil {
		return err
	}
	*v = d
	return nil
}

// CheckSanity returns an ErrMalformed RuleError unless the source epoch is
// below the target epoch: the only rule a vote must meet on its own.
func (v *Vote) CheckSanity() error {
	if v.Source.Epoch >= v.Target.Epoch {
		return ruleError(ErrMalformed, "vote source epoch %d is not below its target epoch %d", v.Source.Epoch, v.Target.Epoch)
	}
	return nil
}

// messageTo writes the signing message into m.
func (v *Vote) messageTo(m *[voteMessageSize]byte, network chain.Hash) {
	n := copy(m[:], voteSigDomain)
	n += copy(m[n:], network[:])
	v.appendUnsigned(m[n:n])
}

// SigningMessage returns the bytes a validator signs for a vote on the
// network whose genesis hash is network: the domain string "powmine ffg
// vote v1" and a zero byte, the genesis hash, then the vote's encoding
// without its signature. The genesis hash keeps a vote from being replayed
// on another chain where the same key validates.
func (v *Vote) SigningMessage(network chain.Hash) []byte {
	var m [voteMessageSize]byte
	v.messageTo(&m, network)
	return m[:]
}

// Sign sets v.Validator to priv's public key and v.Signature to priv's
// signature over the signing message for network. It fails only for a
// private key of the wrong length.
func (v *Vote) Sign(priv ed25519.PrivateKey, network chain.Hash) error {
	if len(priv) != ed25519.PrivateKeySize {
		return fmt.Errorf("pos: private key has %d bytes, want %d", len(priv), ed25519.PrivateKeySize)
	}
	v.Validator = chain.PublicKey(priv.Public().(ed25519.PublicKey))
	var m [voteMessageSize]byte
	v.messageTo(&m, network)
	v.Signature = sign(priv, m[:])
	return nil
}

// Verify reports whether v.Signature is v.Validator's valid signature over
// the signing message for network (ed25519 under ZIP-215 rules). It is
// safe for concurrent use.
func (v *Vote) Verify(network chain.Hash) bool {
	var m [voteMessageSize]byte
	v.messageTo(&m, network)
	return verify(v.Validator, m[:], v.Signature)
}

// VerifyVotes checks the signatures of votes for network with one ed25519
// batch verification, and returns ok with ok[i] == votes[i].Verify(network)
// for every i. When every signature is valid it costs about half of
// checking them one by one (15-16 µs against 30-36 µs a vote here). When
// one is bad the batch fails and every vote is checked alone: one bad vote
// in a batch of 1,000 doubles the batch's cost (31-37 ms instead of 15-16
// ms, still 27,000 votes/s), so the caller should verify untrusted gossip in
// modest batches and penalize the peers that send bad votes. It is safe
// for concurrent use.
func VerifyVotes(network chain.Hash, votes []Vote) []bool {
	msgs := make([][]byte, len(votes))
	buf := make([]byte, len(votes)*voteMessageSize)
	pubs := make([]chain.PublicKey, len(votes))
	sigs := make([]chain.Signature, len(votes))
	for i := range votes {
		m := (*[voteMessageSize]byte)(buf[i*voteMessageSize:])
		votes[i].messageTo(m, network)
		msgs[i] = m[:]
		pubs[i] = votes[i].Validator
		sigs[i] = votes[i].Signature
	}
	return verifyBatch(pubs, msgs, sigs)
}

// compareUnsigned orders votes by their encodings without the signature.
func compareUnsigned(a, b *Vote) int {
	var ea, eb [voteUnsignedSize]byte
	a.appendUnsigned(ea[:0])
	b.appendUnsigned(eb[:0])
	return bytes.Compare(ea[:], eb[:])
}
