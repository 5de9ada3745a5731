package sha256d

import (
	"encoding/binary"
	"math/bits"
)

// jobState is the per-job precomputation that every kernel reads. Its
// layout is fixed: assembly kernels address its fields by byte offset (given
// in the comments), so change it only together with every generator.
//
// Block 2 of the header holds W0..W2 (header bytes 64..75), W3 = the nonce
// read big-endian (bits.ReverseBytes32 of the header's little-endian
// nonce), W4 = 0x80000000, W5..W14 = 0 and W15 = 640.
type jobState struct {
	// mid (offset 0) is the SHA-256 state after the first 64 header bytes.
	mid [8]uint32
	// w (offset 32) holds block 2's W0, W1, W2.
	w [3]uint32
	// t7 (offset 44) is the most significant 32 bits of the target. A nonce
	// is a candidate when bits.ReverseBytes32(H7) <= t7, where H7 is the last
	// state word of the final hash.
	t7 uint32
	// state3 (offset 48) is a..h after rounds 0..2 of block 2.
	state3 [8]uint32
	// state4 (offset 80) is a..h after round 3 computed with W3 = 0; adding
	// W3 to a and to e gives the real state after round 3.
	state4 [8]uint32
	// wpart (offset 112) holds, for t in 16..63, the sum of the terms of
	// W_t = σ1(W_t-2) + W_t-7 + σ0(W_t-15) + W_t-16 whose word does not
	// depend on the nonce (indexes 0..2, 4..17); so wpart[16] = W16 and
	// wpart[17] = W17 exactly. Entries below 16 are W_t itself (0 for t = 3).
	wpart [64]uint32
	// kw (offset 368) is k[t] + wpart[t] for every t.
	kw [64]uint32
}

// Job is one block header prepared for nonce search against one target. It
// is immutable after NewJob and safe for concurrent use by many scanners.
type Job struct {
	st     jobState
	target [Size]byte
}

// NewJob prepares header for nonce search. The header's nonce field (bytes
// 76..79) is ignored. target is a 256-bit number in the byte order of a
// digest (little-endian, as Bitcoin compares hashes): a nonce is a hit when
// its sha256d, read the same way, is at or below it.
func NewJob(header *[HeaderSize]byte, target *[Size]byte) *Job {
	j := &Job{target: *target}
	st := &j.st
	st.mid = iv
	var b1 [16]uint32
	wordsBE(b1[:], header[:64])
	compress(&st.mid, &b1)
	wordsBE(st.w[:], header[64:76])
	st.t7 = binary.LittleEndian.Uint32(target[28:])

	s := st.mid
	for t := 0; t < 3; t++ {
		round(&s, t, st.w[t])
	}
	st.state3 = s
	round(&s, 3, 0)
	st.state4 = s

	// known[i] is W_i where it does not depend on the nonce.
	var known [18]uint32
	isKnown := func(i int) bool { return i < 18 && i != 3 }
	copy(known[:3], st.w[:])
	known[4] = 0x80000000
	known[15] = 640
	known[16] = sigma1(known[14]) + known[9] + sigma0(known[1]) + known[0]
	known[17] = sigma1(known[15]) + known[10] + sigma0(known[2]) + known[1]
	copy(st.wpart[:], known[:])
	for t := 18; t < 64; t++ {
		var p uint32
		if isKnown(t - 2) {
			p += sigma1(known[t-2])
		}
		if isKnown(t - 7) {
			p += known[t-7]
		}
		if isKnown(t - 15) {
			p += sigma0(known[t-15])
		}
		if isKnown(t - 16) {
			p += known[t-16]
		}
		st.wpart[t] = p
	}
	for t := range st.kw {
		st.kw[t] = k[t] + st.wpart[t]
	}
	return j
}

// Hash returns the sha256d of the job's header with nonce in place. It uses
// the plain compression function on the midstate and is the reference every
// kernel's hits are checked against.
func (j *Job) Hash(nonce uint32) [Size]byte {
	var blk [16]uint32
	copy(blk[:3], j.st.w[:])
	blk[3] = bits.ReverseBytes32(nonce)
	blk[4] = 0x80000000
	blk[15] = 640
	h := j.st.mid
	compress(&h, &blk)

	var blk2 [16]uint32
	copy(blk2[:8], h[:])
	blk2[8] = 0x80000000
	blk2[15] = 256
	h2 := iv
	compress(&h2, &blk2)
	var d [Size]byte
	for i, v := range h2 {
		binary.BigEndian.PutUint32(d[4*i:], v)
	}
	return d
}

// Meets reports whether the sha256d of the header with nonce is at or below
// the job's target.
func (j *Job) Meets(nonce uint32) bool {
	d := j.Hash(nonce)
	return HashMeetsTarget(&d, &j.target)
}

// HashMeetsTarget reports whether digest, read as a little-endian 256-bit
// number, is at or below target, read the same way.
func HashMeetsTarget(digest, target *[Size]byte) bool {
	for i := Size - 4; i >= 0; i -= 4 {
		h := binary.LittleEndian.Uint32(digest[i:])
		t := binary.LittleEndian.Uint32(target[i:])
		if h != t {
			return h < t
		}
	}
	return true
}
