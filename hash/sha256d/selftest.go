package sha256d

import (
	"encoding/binary"
	"fmt"
	"sync"
)

// genesisHeader is the Bitcoin genesis block header; its nonce is
// 2083236893 and its hash 000000000019d6...8ce26f.
var genesisHeader = [HeaderSize]byte{
	0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	0x00, 0x00, 0x00, 0x00, 0x3b, 0xa3, 0xed, 0xfd, 0x7a, 0x7b, 0x12, 0xb2, 0x7a, 0xc7, 0x2c, 0x3e,
	0x67, 0x76, 0x8f, 0x61, 0x7f, 0xc8, 0x1b, 0xc3, 0x88, 0x8a, 0x51, 0x32, 0x3a, 0x9f, 0xb8, 0xaa,
	0x4b, 0x1e, 0x5e, 0x4a, 0x29, 0xab, 0x5f, 0x49, 0xff, 0xff, 0x00, 0x1d, 0x1d, 0xac, 0x2b, 0x7c,
}

const genesisNonce = 2083236893

// selfTestStart is the first nonce of the self-test window, batchSize
// nonces of the genesis header that wrap from 0xffffffff to 0 in their
// middle.
const selfTestStart uint32 = 1<<32 - batchSize/2

// selfTestTops returns the target top words the window is checked with:
// below 2^31, at it, the largest, and exactly the H7 of one nonce (which
// must then be a candidate). A kernel that compares signed, or that breaks
// after a few iterations, fails at least one.
func selfTestTops() [4]uint32 {
	return [4]uint32{0x7fffffff, 0x80000000, 0xffffffff, selfTestRef()[batchSize/2]}
}

// selfTestRef holds, for every nonce of the self-test window, the word
// kernels compare with the target's top word: the byte-swapped H7 of its
// sha256d, computed once by the plain reference hash (Job.Hash).
var selfTestRef = sync.OnceValue(func() *[batchSize]uint32 {
	var ref [batchSize]uint32
	var zero [Size]byte
	j := NewJob(&genesisHeader, &zero)
	for i := range ref {
		d := j.Hash(selfTestStart + uint32(i))
		ref[i] = binary.LittleEndian.Uint32(d[28:])
	}
	return &ref
})

// SelfTest checks the kernel against known answers and against the plain
// reference hash (Job.Hash). The genesis block's nonce must be found at
// every lane position. Then, over nonces that wrap at 2^32, one call of
// Batch nonces and one of Step nonces (the size the miner uses) must report
// as candidates exactly the nonces whose byte-swapped H7 is at or below the
// target's top word, for top words below 2^31, at and above it, and equal
// to a nonce's H7. It takes about a millisecond for a SIMD kernel and ten
// for the portable one, plus a few once per process for the reference.
func (k *Kernel) SelfTest() error {
	if !k.Supported() {
		return fmt.Errorf("%w: %s", ErrUnsupportedKernel, k.name)
	}
	s := NewScanner(k)
	var genesisTarget [Size]byte
	genesisTarget[26], genesisTarget[27] = 0xff, 0xff // bits 0x1d00ffff
	g := NewJob(&genesisHeader, &genesisTarget)
	for lane := uint32(0); lane < 2*k.stride; lane++ {
		start := uint32(genesisNonce) - lane
		hits := s.Scan(g, start, uint64(2*k.stride), nil)
		if len(hits) != 1 || hits[0] != genesisNonce {
			return fmt.Errorf("sha256d: kernel %s self-test: genesis nonce at lane %d: got %v", k.name, lane, hits)
		}
	}

	batch, step := uint32(k.Batch()), uint32(k.Step())
	calls := [2]struct{ off, n uint32 }{{0, batch}, {batchSize/2 - step/2, step}}
	for _, top := range selfTestTops() {
		var tg [Size]byte
		binary.LittleEndian.PutUint32(tg[28:], top)
		j := NewJob(&genesisHeader, &tg)
		for _, c := range calls {
			start := selfTestStart + c.off
			got := k.scan(&j.st, start, c.n, &s.cand[0])
			if msg := diffCandidates(s.cand[:min(got, batchSize)], selfTestRef()[c.off:c.off+c.n], start, top); msg != "" {
				return fmt.Errorf("sha256d: kernel %s self-test: %d nonces from %#x, target top %#08x: %s", k.name, c.n, start, top, msg)
			}
		}
	}
	return nil
}

// diffCandidates compares the candidates a kernel reported for the nonces
// from start with those that ref, their byte-swapped H7 words, gives for
// the target top word top. It describes the first difference, or returns
// "" if there is none.
func diffCandidates(got, ref []uint32, start, top uint32) string {
	i := 0
	for off, h := range ref {
		if h > top {
			continue
		}
		want := start + uint32(off)
		if i == len(got) {
			return fmt.Sprintf("%d candidates, missing %#x", i, want)
		}
		if got[i] != want {
			return fmt.Sprintf("candidate %d is %#x, want %#x", i, got[i], want)
		}
		i++
	}
	if i < len(got) {
		return fmt.Sprintf("candidate %d is %#x, want none after %d", i, got[i], i)
	}
	return ""
}
