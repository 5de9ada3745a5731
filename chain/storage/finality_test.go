package storage

import (
	"errors"
	"testing"

	"github.com/powmine/powmine/chain"
)

func TestFinalityRecords(t *testing.T) {
	k := chain.PublicKey{7, 31: 9}
	for _, tc := range []struct {
		key   string
		kind  byte
		epoch uint64
		val   chain.PublicKey
	}{
		{FinalityMetaKey, 'm', 0, chain.PublicKey{}},
		{JustifiedKey(1 << 40), 'j', 1 << 40, chain.PublicKey{}},
		{VoteKey(3, k), 'v', 3, k},
		{LinkKey(5, 4), 'l', 5, chain.PublicKey{}},
		{SlashedKey(k), 's', 0, k},
	} {
		kind, epoch, v, ok := FinalityRecordKind(tc.key)
		if !ok || kind != tc.kind || epoch != tc.epoch || v != tc.val {
			t.Errorf("%x: %c %d %v %v", tc.key, kind, epoch, v, ok)
		}
		if _, _, _, ok := FinalityRecordKind(tc.key + "x"); ok && tc.kind != 'm' {
			t.Errorf("%x with a trailing byte accepted", tc.key)
		}
	}
	for _, bad := range []string{"", "x", "j1234567", "s" + string(k[:31])} {
		if _, _, _, ok := FinalityRecordKind(bad); ok {
			t.Errorf("key %q accepted", bad)
		}
	}
	m := FinalityMeta{Justified: chain.Checkpoint{Epoch: 4, Hash: chain.Hash{4}}, Finalized: chain.Checkpoint{Epoch: 3, Hash: chain.Hash{3}}}
	if got, err := DecodeFinalityMeta(m.Encode()); err != nil || got != m {
		t.Fatalf("meta %+v, %v", got, err)
	}
	src := chain.Checkpoint{Epoch: 2, Hash: chain.Hash{2}}
	if got, err := DecodeVoteSource(EncodeVoteSource(src)); err != nil || got != src {
		t.Fatalf("source %+v, %v", got, err)
	}
	if got, err := DecodeStake(EncodeStake(1 << 60)); err != nil || got != 1<<60 {
		t.Fatalf("stake %d, %v", got, err)
	}
	if _, err := DecodeFinalityMeta(m.Encode()[1:]); !errors.Is(err, ErrBadFinalityRecord) {
		t.Fatal(err)
	}
	if _, err := DecodeVoteSource(nil); !errors.Is(err, ErrBadFinalityRecord) {
		t.Fatal(err)
	}
	if _, err := DecodeStake([]byte{1}); !errors.Is(err, ErrBadFinalityRecord) {
		t.Fatal(err)
	}
}
