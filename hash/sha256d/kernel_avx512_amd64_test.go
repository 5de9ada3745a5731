//go:build !purego

package sha256d

import "testing"

// TestAVX512EveryLaneCandidate makes every nonce a candidate, so that all
// lanes of all streams take the candidate path in one iteration: the kernel
// must write each nonce once, in scan order, across the 2^32 wrap.
func TestAVX512EveryLaneCandidate(t *testing.T) {
	k := requireKernel(t, "avx512")
	tg := targetWithTop(0xffffffff, 0)
	j := NewJob(&genesisHeader, &tg)
	s := NewScanner(k)
	start := uint32(0xffffffff - 100)
	n := batchSize / k.stride * k.stride
	got := s.candidates(j, start, n)
	if uint32(len(got)) != n {
		t.Fatalf("%d candidates, want %d", len(got), n)
	}
	for i, c := range got {
		if c != start+uint32(i) {
			t.Fatalf("candidate %d is %#x, want %#x", i, c, start+uint32(i))
		}
	}
}
