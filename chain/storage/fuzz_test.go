package storage

import (
	"bytes"
	"encoding/binary"
	"testing"

	"github.com/powmine/powmine/chain"
)

// FuzzFinalityRecords: a finality record key that FinalityRecordKind
// accepts is rebuilt exactly by its key function, and a value that a
// Decode function accepts re-encodes to the same bytes; nothing panics.
// The seeds are valid records of every kind and a few broken ones.
func FuzzFinalityRecords(f *testing.F) {
	k := chain.PublicKey{7, 31: 9}
	cp := chain.Checkpoint{Epoch: 4, Hash: chain.Hash{4}}
	for _, seed := range []struct {
		key string
		val []byte
	}{
		{FinalityMetaKey, FinalityMeta{Justified: cp, Finalized: chain.Checkpoint{Epoch: 3, Hash: chain.Hash{3}}}.Encode()},
		{JustifiedKey(1 << 40), cp.Hash[:]},
		{VoteKey(3, k), EncodeVoteSource(cp)},
		{LinkKey(5, 4), EncodeStake(1 << 60)},
		{SlashedKey(k), SlashedValue},
		{BeaconKey, EncodeBeacon(Beacon{Slot: 7, Epoch: 3, Mix: chain.Hash{1}, Ends: [2]EpochMix{{Epoch: 2, Mix: chain.Hash{2}}}, Valid: 1})},
		{"j1234567", make([]byte, beaconLen-1)},
		{"", nil},
	} {
		f.Add(seed.key, seed.val)
	}
	f.Fuzz(func(t *testing.T, key string, val []byte) {
		if kind, epoch, validator, ok := FinalityRecordKind(key); ok {
			var again string
			switch kind {
			case 'm':
				again = FinalityMetaKey
			case 'j':
				again = JustifiedKey(epoch)
			case 'v':
				again = VoteKey(epoch, validator)
			case 'l':
				again = LinkKey(epoch, binary.BigEndian.Uint64([]byte(key[9:])))
			case 's':
				again = SlashedKey(validator)
			default:
				t.Fatalf("key %x: kind %q", key, kind)
			}
			if again != key {
				t.Fatalf("key %x (kind %c) rebuilds to %x", key, kind, again)
			}
		}
		roundTrip := func(what string, enc []byte, err error) {
			t.Helper()
			if err == nil && !bytes.Equal(enc, val) {
				t.Fatalf("%s %x re-encodes to %x", what, val, enc)
			}
		}
		m, err := DecodeFinalityMeta(val)
		roundTrip("meta", m.Encode(), err)
		src, err := DecodeVoteSource(val)
		roundTrip("vote source", EncodeVoteSource(src), err)
		stake, err := DecodeStake(val)
		roundTrip("stake", EncodeStake(stake), err)
		b, err := DecodeBeacon(val)
		roundTrip("beacon", EncodeBeacon(b), err)
	})
}
