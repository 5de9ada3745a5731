package chain

import (
	"errors"
	"math/big"
	"testing"
	"time"
)

// TestCheckProofOfWork follows the CheckProofOfWork cases of Bitcoin Core's
// src/test/pow_tests.cpp.
func TestCheckProofOfWork(t *testing.T) {
	limit := MainNetParams.PowLimit
	target := CompactToBig(0x1d00ffff)
	hashOf := func(n *big.Int) Hash {
		h, err := BigToHash(n)
		if err != nil {
			t.Fatal(err)
		}
		return h
	}
	plus := func(n *big.Int, d int64) *big.Int { return new(big.Int).Add(n, big.NewInt(d)) }
	tests := []struct {
		name string
		hash Hash
		bits uint32
		ok   bool
		code ErrorCode
	}{
		{"hash equals target", hashOf(target), 0x1d00ffff, true, 0},
		{"zero hash", Hash{}, 0x1d00ffff, true, 0},
		{"hash one above target", hashOf(plus(target, 1)), 0x1d00ffff, false, ErrHighHash},
		{"hash twice the target", hashOf(new(big.Int).Lsh(target, 1)), 0x1d00ffff, false, ErrHighHash},
		{"negative target", Hash{}, 0x1d00ffff | compactSignBit, false, ErrBadTarget},
		{"overflow", Hash{}, ^uint32(compactSignBit), false, ErrBadTarget},
		{"zero target", Hash{}, 0, false, ErrBadTarget},
		{"mantissa shifted to zero", Hash{}, 0x01003456, false, ErrBadTarget},
		{"sign bit on a zero word", Hash{}, 0x01803456, false, ErrBadTarget},
		{"too easy", Hash{}, BigToCompact(new(big.Int).Lsh(limit, 1)), false, ErrTargetAbovePowLimit},
		{"just above the limit", Hash{}, 0x1d010000, false, ErrTargetAbovePowLimit},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := CheckProofOfWork(tt.hash, tt.bits, limit)
			if tt.ok {
				if err != nil {
					t.Fatalf("unexpected error %v", err)
				}
				return
			}
			wantRuleError(t, err, tt.code)
		})
	}
}

func TestCheckProofOfWorkAllocs(t *testing.T) {
	h := MainNetParams.GenesisHeader
	hash := h.Hash()
	n := testing.AllocsPerRun(100, func() {
		if err := CheckProofOfWork(hash, h.Bits, MainNetParams.PowLimit); err != nil {
			t.Fatal(err)
		}
	})
	if n != 0 {
		t.Errorf("CheckProofOfWork allocates %v times on success", n)
	}
}

func TestMedianTimePast(t *testing.T) {
	tests := []struct {
		name  string
		times []int64
		want  int64
	}{
		{"empty", nil, 0},
		{"one", []int64{7}, 7},
		{"two takes the upper", []int64{5, 3}, 5},
		{"unsorted eleven", []int64{11, 2, 9, 4, 7, 6, 5, 8, 3, 10, 1}, 6},
		{"duplicates", []int64{4, 4, 1, 4, 9}, 4},
		{"backwards real-world style", []int64{100, 160, 150, 220, 210, 300, 290, 280, 400, 390, 500}, 280},
	}
	for _, tt := range tests {
		in := append([]int64(nil), tt.times...)
		if got := MedianTimePast(in); got != tt.want {
			t.Errorf("%s: MedianTimePast = %d, want %d", tt.name, got, tt.want)
		}
		for i := range in {
			if in[i] != tt.times[i] {
				t.Fatalf("%s: input modified", tt.name)
			}
		}
	}
	times := []int64{11, 2, 9, 4, 7, 6, 5, 8, 3, 10, 1}
	if n := testing.AllocsPerRun(100, func() { MedianTimePast(times) }); n != 0 {
		t.Errorf("MedianTimePast allocates %v times for 11 entries", n)
	}
}

// TestTamperedMainnetHeaders changes one field of a real header at a time
// and expects the matching typed error.
func TestTamperedMainnetHeaders(t *testing.T) {
	d := loadRun(t)
	p := &MainNetParams
	const i = 100 // inside a period, with 11 predecessors
	real := d.headers[i]
	c := d.contextAt(i, d.headers[i-1].Hash())
	now := time.Unix(int64(real.Timestamp), 0)
	if err := CheckHeaderSanity(&real, p); err != nil {
		t.Fatalf("real header fails sanity: %v", err)
	}
	if err := CheckHeaderContext(&real, p, &c, now); err != nil {
		t.Fatalf("real header fails context: %v", err)
	}

	t.Run("nonce bit flipped", func(t *testing.T) {
		h := real
		h.Nonce ^= 1
		wantRuleError(t, CheckHeaderSanity(&h, p), ErrHighHash)
	})
	t.Run("merkle root changed", func(t *testing.T) {
		h := real
		h.MerkleRoot[0] ^= 0x80
		wantRuleError(t, CheckHeaderSanity(&h, p), ErrHighHash)
	})
	t.Run("bits above pow limit", func(t *testing.T) {
		h := real
		h.Bits = 0x1e00ffff
		wantRuleError(t, CheckHeaderSanity(&h, p), ErrTargetAbovePowLimit)
	})
	t.Run("negative bits", func(t *testing.T) {
		h := real
		h.Bits |= compactSignBit
		wantRuleError(t, CheckHeaderSanity(&h, p), ErrBadTarget)
	})
	t.Run("bits changed inside a period", func(t *testing.T) {
		for _, bits := range []uint32{real.Bits + 1, real.Bits - 1, p.PowLimitBits} {
			h := real
			h.Bits = bits
			wantRuleError(t, CheckHeaderContext(&h, p, &c, now), ErrUnexpectedDifficulty)
		}
	})
	t.Run("bits kept at a retarget", func(t *testing.T) {
		const b = 2016 // height 824544
		h := d.headers[b]
		bc := d.contextAt(b, d.headers[b-1].Hash())
		bnow := time.Unix(int64(h.Timestamp), 0)
		if err := CheckHeaderContext(&h, p, &bc, bnow); err != nil {
			t.Fatalf("real boundary header rejected: %v", err)
		}
		h.Bits = d.headers[b-1].Bits
		wantRuleError(t, CheckHeaderContext(&h, p, &bc, bnow), ErrUnexpectedDifficulty)
	})
	t.Run("time at median", func(t *testing.T) {
		h := real
		h.Timestamp = uint32(c.MedianTime)
		wantRuleError(t, CheckHeaderContext(&h, p, &c, now), ErrTimeTooOld)
	})
	t.Run("time below median", func(t *testing.T) {
		h := real
		h.Timestamp = uint32(c.MedianTime - 3600)
		wantRuleError(t, CheckHeaderContext(&h, p, &c, now), ErrTimeTooOld)
	})
	t.Run("time one after median", func(t *testing.T) {
		h := real
		h.Timestamp = uint32(c.MedianTime + 1)
		if err := CheckHeaderContext(&h, p, &c, now); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("time too far ahead", func(t *testing.T) {
		edge := now.Add(-p.MaxFutureBlockTime)
		if err := CheckHeaderContext(&real, p, &c, edge); err != nil {
			t.Fatalf("exactly MaxFutureBlockTime ahead rejected: %v", err)
		}
		wantRuleError(t, CheckHeaderContext(&real, p, &c, edge.Add(-time.Second)), ErrTimeTooNew)
	})
	t.Run("broken prev link", func(t *testing.T) {
		h := real
		h.PrevBlock[5] ^= 1
		wantRuleError(t, CheckHeaderContext(&h, p, &c, now), ErrBadPrevBlock)
		// Linked to the grandparent instead of the parent.
		h.PrevBlock = d.headers[i-2].Hash()
		wantRuleError(t, CheckHeaderContext(&h, p, &c, now), ErrBadPrevBlock)
	})
	t.Run("negative parent height", func(t *testing.T) {
		bad := c
		bad.PrevHeight = -1
		var aerr AssertError
		if err := CheckHeaderContext(&real, p, &bad, now); !errors.As(err, &aerr) {
			t.Fatalf("got %v, want an AssertError", err)
		}
	})
}

func TestNextBitsNoRetargeting(t *testing.T) {
	p := MainNetParams
	p.NoRetargeting = true
	c := HeaderContext{PrevHeight: 2015, PrevBits: 0x207fffff, PrevTime: 1000, PeriodStartTime: 0}
	if got := c.NextBits(&p); got != 0x207fffff {
		t.Errorf("NextBits at a boundary without retargeting = %08x", got)
	}
	if got := c.NextBits(&MainNetParams); got == 0x207fffff {
		t.Errorf("NextBits with retargeting kept %08x", got)
	}
}
