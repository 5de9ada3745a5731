package storage

import (
	"errors"
	"testing"

	"github.com/powmine/powmine/chain"
)

func TestBeaconRoundTrip(t *testing.T) {
	b := Beacon{Slot: 7, Epoch: 3, Mix: chain.Hash{1}, Ends: [2]EpochMix{{Epoch: 2, Mix: chain.Hash{2}}, {Epoch: 1, Mix: chain.Hash{3}}}, Valid: 2}
	v := EncodeBeacon(b)
	got, err := DecodeBeacon(v)
	if err != nil || got != b {
		t.Fatalf("got %+v, %v; want %+v", got, err, b)
	}
	if _, err := DecodeBeacon(v[1:]); !errors.Is(err, ErrBadFinalityRecord) {
		t.Fatalf("short value: %v", err)
	}
	v[48] = 3
	if _, err := DecodeBeacon(v); !errors.Is(err, ErrBadFinalityRecord) {
		t.Fatalf("valid 3: %v", err)
	}
}
