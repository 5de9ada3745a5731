//go:build !purego

package sha256d

import "testing"

// TestShaniFullBatch checks the branchless candidate store at its limit: with
// t7 = 0xffffffff every nonce of a full batch is a candidate, and the kernel
// must write exactly batchSize of them, in order, and nothing past the end.
func TestShaniFullBatch(t *testing.T) {
	k := requireKernel(t, "shani")
	var tg [Size]byte
	for i := range tg {
		tg[i] = 0xff
	}
	j := NewJob(&genesisHeader, &tg)
	var buf [batchSize + 1]uint32
	buf[batchSize] = 0xdeadbeef
	start := uint32(0xffffffff - 100)
	if n := k.scan(&j.st, start, batchSize, &buf[0]); n != batchSize {
		t.Fatalf("got %d candidates, want %d", n, batchSize)
	}
	for i, nonce := range buf[:batchSize] {
		if nonce != start+uint32(i) {
			t.Fatalf("candidate %d = %#x, want %#x", i, nonce, start+uint32(i))
		}
	}
	if buf[batchSize] != 0xdeadbeef {
		t.Fatal("kernel wrote past the candidate buffer")
	}
	if n := k.scan(&j.st, start, 0, &buf[0]); n != 0 {
		t.Fatalf("count 0: got %d candidates", n)
	}
}
