package storage

import (
	"encoding/binary"

	"github.com/powmine/powmine/chain"
)

// BeaconKey is the key of the proof-of-stake beacon record among the
// finality records: one record, connected and undone with each block like
// the others, absent on proof-of-work chains and at genesis.
const BeaconKey = "b"

// EpochMix is the beacon value after the last block of a slot epoch.
type EpochMix struct {
	Epoch uint64
	Mix   chain.Hash
}

// Beacon is the proof-of-stake beacon state after a block: the block's
// slot and slot epoch, the beacon value after it (chain/pos.Mix of each
// block's reveal output, in order, from the genesis hash), and the values
// at the ends of the two latest earlier slot epochs that had blocks,
// newest first (Valid says how many of them are set). That is all a node
// needs to seed the proposer schedule of any later slot: the value at the
// end of slot epoch e−2 seeds epoch e.
type Beacon struct {
	Slot  uint64
	Epoch uint64
	Mix   chain.Hash
	Ends  [2]EpochMix
	Valid uint8 // 0, 1 or 2
}

// beaconLen is the length of an encoded Beacon: slot, epoch, mix, valid,
// two EpochMix.
const beaconLen = 8 + 8 + chain.HashSize + 1 + 2*(8+chain.HashSize)

// EncodeBeacon returns the beacon record's value.
func EncodeBeacon(b Beacon) []byte {
	v := make([]byte, 0, beaconLen)
	v = binary.LittleEndian.AppendUint64(v, b.Slot)
	v = binary.LittleEndian.AppendUint64(v, b.Epoch)
	v = append(v, b.Mix[:]...)
	v = append(v, b.Valid)
	for _, e := range b.Ends {
		v = binary.LittleEndian.AppendUint64(v, e.Epoch)
		v = append(v, e.Mix[:]...)
	}
	return v
}

// DecodeBeacon decodes the beacon record's value; a value of the wrong
// length or with Valid above 2 wraps ErrBadFinalityRecord.
func DecodeBeacon(v []byte) (Beacon, error) {
	if len(v) != beaconLen || v[48] > 2 {
		return Beacon{}, ErrBadFinalityRecord
	}
	var b Beacon
	b.Slot = binary.LittleEndian.Uint64(v[0:8])
	b.Epoch = binary.LittleEndian.Uint64(v[8:16])
	copy(b.Mix[:], v[16:48])
	b.Valid = v[48]
	off := 49
	for i := range b.Ends {
		b.Ends[i].Epoch = binary.LittleEndian.Uint64(v[off:])
		copy(b.Ends[i].Mix[:], v[off+8:off+40])
		off += 40
	}
	return b, nil
}
