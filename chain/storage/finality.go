package storage

import (
	"encoding/binary"
	"errors"

	"github.com/powmine/powmine/chain"
)

// FinalityEntry is one record of the Casper FFG finality state, as stored
// and as undone: a key and a value in the layouts below. An empty Value
// means "absent": delete the record. The node keeps the finality state
// as such records (in memory and in the store) so that it is connected,
// undone, committed and reloaded exactly like accounts and validators; a
// store keeps them as opaque bytes in one bucket.
//
// Key layouts (integers big-endian in keys, so that a cursor walk orders
// records by epoch) and their values:
//
//	key                                      value
//	'm'                                      meta: justified checkpoint, finalized checkpoint
//	                                         (each 8-byte LE epoch + 32-byte hash: 80 bytes)
//	'j' ‖ 8 epoch                            32-byte hash of the justified checkpoint of
//	                                         that epoch on this branch
//	'v' ‖ 8 target epoch ‖ 32 validator key  the counted vote's source (8-byte LE epoch
//	                                         + 32-byte hash: 40 bytes)
//	'l' ‖ 8 target epoch ‖ 8 source epoch    8-byte LE stake counted for that link
//	's' ‖ 32 validator key                   1 byte, 1: the validator was slashed
//
// The genesis checkpoint (epoch 0) is justified and finalized by
// definition and never stored; an absent meta record means both are the
// genesis checkpoint. Vote and link records exist only for the open
// epochs (the block's epoch and the one before); the node deletes older
// ones at each epoch boundary.
type FinalityEntry struct {
	Key   string
	Value []byte
}

// The record kinds: the first byte of a FinalityEntry's Key.
const (
	FinalityMetaKey    = "m"
	finalityJustified  = 'j'
	finalityVote       = 'v'
	finalityLink       = 'l'
	finalitySlashed    = 's'
	finalityMetaSize   = 2 * checkpointSize
	checkpointSize     = 8 + chain.HashSize
	finalityLinkValLen = 8
)

// ErrBadFinalityRecord is returned (wrapped) by the Decode functions for
// a record whose key or value has the wrong layout.
var ErrBadFinalityRecord = errors.New("storage: bad finality record")

// FinalityMeta is the meta record: the justified checkpoint of the
// highest epoch and the finalized checkpoint of the highest epoch.
type FinalityMeta struct {
	Justified chain.Checkpoint
	Finalized chain.Checkpoint
}

// appendCheckpoint appends c as 8-byte LE epoch and hash.
func appendCheckpoint(b []byte, c chain.Checkpoint) []byte {
	b = binary.LittleEndian.AppendUint64(b, c.Epoch)
	return append(b, c.Hash[:]...)
}

// readCheckpoint reads what appendCheckpoint wrote; b must be long enough.
func readCheckpoint(b []byte) chain.Checkpoint {
	return chain.Checkpoint{Epoch: binary.LittleEndian.Uint64(b), Hash: chain.Hash(b[8:checkpointSize])}
}

// Encode returns the meta record's value.
func (m FinalityMeta) Encode() []byte {
	return appendCheckpoint(appendCheckpoint(make([]byte, 0, finalityMetaSize), m.Justified), m.Finalized)
}

// DecodeFinalityMeta decodes a meta value.
func DecodeFinalityMeta(v []byte) (FinalityMeta, error) {
	if len(v) != finalityMetaSize {
		return FinalityMeta{}, ErrBadFinalityRecord
	}
	return FinalityMeta{Justified: readCheckpoint(v), Finalized: readCheckpoint(v[checkpointSize:])}, nil
}

// epochKey returns kind ‖ 8-byte big-endian epoch ‖ rest.
func epochKey(kind byte, epoch uint64, rest []byte) string {
	k := make([]byte, 0, 9+len(rest))
	k = append(k, kind)
	k = binary.BigEndian.AppendUint64(k, epoch)
	return string(append(k, rest...))
}

// JustifiedKey returns the key of the justified checkpoint of epoch.
func JustifiedKey(epoch uint64) string { return epochKey(finalityJustified, epoch, nil) }

// VoteKey returns the key of the vote of validator counted for target
// epoch.
func VoteKey(target uint64, validator chain.PublicKey) string {
	return epochKey(finalityVote, target, validator[:])
}

// EncodeVoteSource returns a vote record's value: its source.
func EncodeVoteSource(source chain.Checkpoint) []byte {
	return appendCheckpoint(make([]byte, 0, checkpointSize), source)
}

// DecodeVoteSource decodes a vote record's value.
func DecodeVoteSource(v []byte) (chain.Checkpoint, error) {
	if len(v) != checkpointSize {
		return chain.Checkpoint{}, ErrBadFinalityRecord
	}
	return readCheckpoint(v), nil
}

// LinkKey returns the key of the link from source epoch to target epoch.
func LinkKey(target, source uint64) string {
	return epochKey(finalityLink, target, binary.BigEndian.AppendUint64(nil, source))
}

// EncodeStake returns a link record's value.
func EncodeStake(stake uint64) []byte { return binary.LittleEndian.AppendUint64(nil, stake) }

// DecodeStake decodes a link record's value.
func DecodeStake(v []byte) (uint64, error) {
	if len(v) != finalityLinkValLen {
		return 0, ErrBadFinalityRecord
	}
	return binary.LittleEndian.Uint64(v), nil
}

// SlashedKey returns the key of a slashed validator's record; its value
// is SlashedValue.
func SlashedKey(validator chain.PublicKey) string {
	return string(append([]byte{finalitySlashed}, validator[:]...))
}

// SlashedValue is the value of every slashed record.
var SlashedValue = []byte{1}

// FinalityRecordKind describes a record key for the node's pruning and
// checks: its kind byte ('m', 'j', 'v', 'l' or 's'), and for 'j', 'v' and
// 'l' its epoch (the target epoch of votes and links) and, for 'v', the
// validator key. ok is false for a key of none of the layouts.
func FinalityRecordKind(key string) (kind byte, epoch uint64, validator chain.PublicKey, ok bool) {
	if key == FinalityMetaKey {
		return 'm', 0, validator, true
	}
	if len(key) == 0 {
		return 0, 0, validator, false
	}
	kind = key[0]
	switch kind {
	case finalitySlashed:
		if len(key) != 1+chain.PublicKeySize {
			return 0, 0, validator, false
		}
		copy(validator[:], key[1:])
		return kind, 0, validator, true
	case finalityJustified, finalityVote, finalityLink:
		want := 9 // kind and epoch
		switch kind {
		case finalityVote:
			want += chain.PublicKeySize
		case finalityLink:
			want += 8
		}
		if len(key) != want {
			return 0, 0, validator, false
		}
		epoch = binary.BigEndian.Uint64([]byte(key[1:9]))
		if kind == finalityVote {
			copy(validator[:], key[9:])
		}
		return kind, epoch, validator, true
	}
	return 0, 0, validator, false
}
