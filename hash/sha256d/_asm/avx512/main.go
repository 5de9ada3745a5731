// Command avx512 generates the AVX-512 sha256d nonce-search kernel: several
// independent 16-lane states, one nonce per 32-bit lane, hashed in lockstep.
//
//go:generate go run . -out ../../scan_avx512_amd64.s
package main

import (
	"fmt"
	"math/bits"

	. "github.com/mmcloughlin/avo/build"
	. "github.com/mmcloughlin/avo/operand"
	. "github.com/mmcloughlin/avo/reg"

	"github.com/powmine/powmine/hash/sha256d/_asm/gen"
)

const (
	// streams is how many independent 16-lane states one iteration hashes.
	// A zmm round is a chain of ops with 2-cycle latency on Zen 5, so one
	// state alone leaves most of the vector units idle.
	streams = 2
	lanes   = 16
	stride  = streams * lanes
	vecSize = 64
)

// General-purpose registers, fixed for the whole function.
var (
	stPtr   = RDI // *jobState
	candPtr = RSI // next candidate slot base
	found   = RAX // candidates written so far
	nonce   = RBX // nonce of the iteration's first lane
	left    = RCX // nonces left to scan
	frame   = R8  // 64-byte aligned schedule buffers
)

// zmm returns the vector register Zi.
func zmm(i int) VecPhysical {
	return []VecPhysical{
		Z0, Z1, Z2, Z3, Z4, Z5, Z6, Z7, Z8, Z9, Z10, Z11, Z12, Z13, Z14, Z15,
		Z16, Z17, Z18, Z19, Z20, Z21, Z22, Z23, Z24, Z25, Z26, Z27, Z28, Z29, Z30, Z31,
	}[i]
}

// stream is one 16-lane state: the eight working variables a..h of FIPS
// 180-4 section 6.2.2 (renamed, never moved, from round to round), four
// scratch registers and a 16-word message schedule window in memory.
type stream struct {
	id   int
	v    [8]VecPhysical // a, b, c, d, e, f, g, h
	x, y VecPhysical    // scratch for Σ, σ, Ch and Maj
	z    VecPhysical    // scratch
	w    VecPhysical    // the schedule word W_t of the current round
	mask Op             // opmask receiving the lanes' H7 test
}

// slot is the stream's memory slot for schedule word W_t (a ring of 16).
func (s *stream) slot(t int) Mem {
	return Mem{Base: frame, Disp: (s.id*16 + t%16) * vecSize}
}

func job(off int) Mem { return Mem{Base: stPtr, Disp: off} }

// addend is one term of K_t + W_t that a round adds into h.
type addend struct {
	src  Op
	bcst bool // src is a 32-bit word to broadcast to every lane
}

func addInto(dst VecPhysical, a addend) {
	if a.bcst {
		VPADDD_BCST(a.src, dst, dst)
	} else {
		VPADDD(a.src, dst, dst)
	}
}

// bigSigma emits Σ(src) = ROTR^r0 ^ ROTR^r1 ^ ROTR^r2 into dst.
func bigSigma(r [3]int, src, dst, t1, t2 VecPhysical) {
	VPRORD(U8(r[0]), src, dst)
	VPRORD(U8(r[1]), src, t1)
	VPRORD(U8(r[2]), src, t2)
	VPTERNLOGD(U8(0x96), t2, t1, dst)
}

// smallSigma emits σ(src) = ROTR^r0 ^ ROTR^r1 ^ SHR^sh of the word at src
// into dst; t1 and t2 are clobbered.
func smallSigma(r0, r1, sh int, src Mem, dst, t1, t2 VecPhysical) {
	VMOVDQA32(src, t2)
	VPRORD(U8(r0), t2, dst)
	VPRORD(U8(r1), t2, t1)
	VPSRLD(U8(sh), t2, t2)
	VPTERNLOGD(U8(0x96), t2, t1, dst)
}

func (s *stream) sigma0(t int, dst, t1, t2 VecPhysical) { smallSigma(7, 18, 3, s.slot(t), dst, t1, t2) }
func (s *stream) sigma1(t int, dst, t1, t2 VecPhysical) {
	smallSigma(17, 19, 10, s.slot(t), dst, t1, t2)
}

// schedule emits W_t = σ1(W_t-2) + W_t-7 + σ0(W_t-15) + W_t-16 into s.w,
// keeping only the terms whose word varies (vary(i)); the constant terms
// are the caller's.
func (s *stream) schedule(t int, vary func(int) bool) {
	first := true
	acc := func(r VecPhysical) {
		if first {
			VMOVDQA32(r, s.w)
			first = false
		} else {
			VPADDD(r, s.w, s.w)
		}
	}
	if vary(t - 2) {
		s.sigma1(t-2, s.w, s.x, s.y)
		first = false
	}
	if vary(t - 15) {
		s.sigma0(t-15, s.z, s.x, s.y)
		acc(s.z)
	}
	for _, i := range []int{t - 7, t - 16} {
		if !vary(i) {
			continue
		}
		if first {
			VMOVDQA32(s.slot(i), s.w)
			first = false
		} else {
			VPADDD(s.slot(i), s.w, s.w)
		}
	}
}

// round emits SHA-256 round t (FIPS 180-4 6.2.2 step 3) with K_t + W_t
// given as addends. With withA false only the new e is computed (enough in
// the last rounds of the second hash, which only need H7).
func (s *stream) round(kw []addend, withA bool) {
	a, b, c, d, e, f, g, h := s.v[0], s.v[1], s.v[2], s.v[3], s.v[4], s.v[5], s.v[6], s.v[7]
	x, y, z := s.x, s.y, s.z
	for _, k := range kw {
		addInto(h, k)
	}
	// T1 = h + Σ1(e) + Ch(e, f, g) + K_t + W_t, accumulated in h.
	VMOVDQA32(e, y)
	VPTERNLOGD(U8(0xca), g, f, y) // Ch: e ? f : g
	VPADDD(y, h, h)
	bigSigma([3]int{6, 11, 25}, e, x, y, z)
	VPADDD(x, h, h)
	VPADDD(h, d, d) // e' = d + T1
	if withA {
		// T2 = Σ0(a) + Maj(a, b, c); a' = T1 + T2.
		bigSigma([3]int{2, 13, 22}, a, x, y, z)
		VMOVDQA32(a, y)
		VPTERNLOGD(U8(0xe8), c, b, y) // Maj
		VPADDD(x, y, y)
		VPADDD(y, h, h)
	}
	s.v = [8]VecPhysical{h, a, b, c, d, e, f, g}
}

// firstBlockVaries reports whether word i of the header's second block
// depends on the nonce; the job's wpart holds the sum of the others.
func firstBlockVaries(i int) bool { return i == 3 || i >= 18 }

// secondBlockVaries reports whether word i of the second hash's block is
// not a constant (the first hash's digest and the words derived from it).
func secondBlockVaries(i int) bool { return i < 8 || i >= 16 }

// hashHeaderTail emits rounds 4..63 of the header's second block, starting
// from the job's state after round 3, then adds the midstate: s.v ends as
// the first hash's digest.
func (s *stream) hashHeaderTail(t int) {
	if t < 18 {
		// W_t is per job: K_t + W_t is in kw.
		s.round([]addend{{job(gen.OffKW + 4*t), true}}, true)
		return
	}
	s.schedule(t, firstBlockVaries)
	kw := []addend{{job(gen.OffKW + 4*t), true}, {s.w, false}}
	if t < 34 {
		// wpart[t] (zero from 34 on) completes W_t for later words.
		s.round(kw, true)
		VPADDD_BCST(job(gen.OffWpart+4*t), s.w, s.w)
		VMOVDQA32(s.w, s.slot(t))
		return
	}
	if t <= 61 {
		VMOVDQA32(s.w, s.slot(t))
	}
	s.round(kw, true)
}

// Tables shared by all iterations.
var (
	nonceOffsets Mem // 0, 1, ..., stride-1
	bswap        Mem // VPSHUFB control reversing the bytes of each word
	k2           Mem // K_t + constant W_t of the second hash, per round
	w2c          Mem // constant terms of the second hash's W_t, per t
	hash2IV      Mem // the second hash's state after round 0, less W0 in a and e
)

// lastRound is the last round of the second hash that is computed: H7 is
// IV7 + the e it produces.
const lastRound = 60

func bigSigma0(x uint32) uint32 {
	return bits.RotateLeft32(x, -2) ^ bits.RotateLeft32(x, -13) ^ bits.RotateLeft32(x, -22)
}

func bigSigma1(x uint32) uint32 {
	return bits.RotateLeft32(x, -6) ^ bits.RotateLeft32(x, -11) ^ bits.RotateLeft32(x, -25)
}

// secondHashConstants folds the fixed words of the second hash into round
// and schedule constants.
func secondHashConstants() {
	var kc, wc [lastRound + 1]uint32
	for t := range kc {
		kc[t] = gen.K[t]
		if t >= 8 && t < 16 {
			kc[t] += gen.Hash2[t]
		}
		if t >= 16 {
			wc[t] = w2cValue(t)
		}
	}
	// H7 = IV7 + e after round 60, and e' = d + T1: adding IV7 to round
	// 60's constant makes the final e H7 itself.
	kc[lastRound] += gen.IV[7]
	k2 = gen.Table("k2_avx512", kc[:], 1)
	w2c = gen.Table("w2c_avx512", wc[:], 1)

	// Round 0 runs on the constant IV: only W0 varies, and it enters a and
	// e as an addend.
	iv := gen.IV
	t1 := iv[7] + bigSigma1(iv[4]) + (iv[4]&iv[5] ^ ^iv[4]&iv[6]) + gen.K[0]
	t2 := bigSigma0(iv[0]) + (iv[0]&iv[1] ^ iv[0]&iv[2] ^ iv[1]&iv[2])
	hash2IV = gen.Table("hash2iv_avx512", []uint32{
		t1 + t2, iv[0], iv[1], iv[2], iv[3] + t1, iv[4], iv[5], iv[6],
	}, 1)
}

// hashDigest emits round t of the second hash, whose block is the first
// hash's digest (W0..W7, in the schedule slots) and fixed padding.
func (s *stream) hashDigest(t int) {
	kc := addend{k2.Offset(4 * t), true}
	switch {
	case t == 0:
		// s.v holds the digest; it is in the slots already.
		w0 := s.v[0]
		for i := 1; i < 8; i++ {
			if i == 4 {
				VPADDD_BCST(hash2IV.Offset(4*4), w0, s.v[4])
				continue
			}
			VPBROADCASTD(hash2IV.Offset(4*i), s.v[i])
		}
		VPADDD_BCST(hash2IV, w0, w0)
		s.v = [8]VecPhysical{w0, s.v[1], s.v[2], s.v[3], s.v[4], s.v[5], s.v[6], s.v[7]}
	case t < 8:
		s.round([]addend{kc, {s.slot(t), false}}, true)
	case t < 16:
		s.round([]addend{kc}, true)
	default:
		s.schedule(t, secondBlockVaries)
		if t <= lastRound-2 {
			if w2cValue(t) != 0 {
				VPADDD_BCST(w2c.Offset(4*t), s.w, s.w)
			}
			VMOVDQA32(s.w, s.slot(t))
		}
		// a is needed up to round 56: round 60 reads it as d.
		s.round([]addend{kc, {s.w, false}}, t <= lastRound-4)
	}
}

// w2cValue is the constant part of the second hash's W_t.
func w2cValue(t int) uint32 {
	w := gen.Hash2
	var c uint32
	for _, i := range []int{t - 2, t - 7, t - 15, t - 16} {
		if secondBlockVaries(i) {
			continue
		}
		switch i {
		case t - 2:
			c += gen.Sigma1(w[i])
		case t - 15:
			c += gen.Sigma0(w[i])
		default:
			c += w[i]
		}
	}
	return c
}

func main() {
	ConstraintExpr("!purego")

	iotaWords := make([]uint32, stride)
	for i := range iotaWords {
		iotaWords[i] = uint32(i)
	}
	nonceOffsets = gen.Table("iota_avx512", iotaWords, 1)
	var shuffle []uint32
	for range 4 { // VPSHUFB indexes bytes within each 128-bit lane
		shuffle = append(shuffle, 0x00010203, 0x04050607, 0x08090a0b, 0x0c0d0e0f)
	}
	bswap = gen.Table("bswap_avx512", shuffle, 1)
	secondHashConstants()

	TEXT("scanavx512", 0, gen.Signature)
	gen.Header("avx512")
	Doc(fmt.Sprintf("scanavx512 scans count nonces from start in %d interleaved 16-lane states.", streams))
	local := AllocLocal(streams*16*vecSize + vecSize)

	Load(Param("st"), stPtr)
	Load(Param("cand"), candPtr)
	Load(Param("start"), nonce.As32())
	Load(Param("count"), left.As32())
	LEAQ(local.Offset(vecSize-1), frame)
	ANDQ(I32(-vecSize), frame)
	XORL(found.As32(), found.As32())
	TESTL(left.As32(), left.As32())
	JZ(LabelRef("done"))

	ss := make([]*stream, streams)
	for i := range ss {
		base := 16 + 4*(i%4)
		ss[i] = &stream{
			id: i,
			x:  zmm(base), y: zmm(base + 1), z: zmm(base + 2), w: zmm(base + 3),
			mask: []Op{K1, K2, K3, K4}[i],
		}
		for j := range 8 {
			ss[i].v[j] = zmm(8*i + j)
		}
	}

	Label("loop")
	for _, s := range ss {
		Commentf("Stream %d: W3 = the lanes' nonces, byte-swapped; state after round 3.", s.id)
		VPBROADCASTD(nonce.As32(), s.w)
		VPADDD(nonceOffsets.Offset(vecSize*s.id), s.w, s.w)
		VPSHUFB(bswap, s.w, s.w)
		VMOVDQA32(s.w, s.slot(3))
		for j := range 8 {
			VPBROADCASTD(job(gen.OffState4+4*j), s.v[j])
		}
		VPADDD(s.w, s.v[0], s.v[0])
		VPADDD(s.w, s.v[4], s.v[4])
	}
	for t := 4; t < 64; t++ {
		for _, s := range ss {
			s.hashHeaderTail(t)
		}
	}
	for _, s := range ss {
		Commentf("Stream %d: first digest = W0..W7 of the second hash.", s.id)
		for j := range 8 {
			VPADDD_BCST(job(gen.OffMid+4*j), s.v[j], s.v[j])
			VMOVDQA32(s.v[j], s.slot(j))
		}
	}
	for t := 0; t <= lastRound; t++ {
		for _, s := range ss {
			s.hashDigest(t)
		}
	}
	for _, s := range ss {
		Commentf("Stream %d: candidate lanes have bswap(H7) <= t7.", s.id)
		VPSHUFB(bswap, s.v[4], s.x)
		VPCMPUD_BCST(U8(2), job(gen.OffT7), s.x, s.mask)
	}
	KORTESTW(K1, K2)
	JNZ(LabelRef("candidates"))
	Label("next")
	ADDL(U32(stride), nonce.As32())
	SUBL(U32(stride), left.As32())
	JNZ(LabelRef("loop"))
	Label("done")
	Store(found.As32(), ReturnIndex(0))
	VZEROUPPER()
	RET()

	Label("candidates")
	Comment("Write the lanes that passed, in nonce order.")
	for _, s := range ss {
		KMOVW(s.mask, EDX)
		TESTL(EDX, EDX)
		JZ(LabelRef(fmt.Sprintf("stream%ddone", s.id)))
		Label(fmt.Sprintf("stream%d", s.id))
		BSFL(EDX, R9L)
		LEAL(Mem{Base: nonce, Index: R9, Scale: 1, Disp: lanes * s.id}, R10L)
		MOVL(R10L, Mem{Base: candPtr, Index: found, Scale: 4})
		INCL(found.As32())
		LEAL(Mem{Base: RDX, Disp: -1}, R9L)
		ANDL(R9L, EDX)
		JNZ(LabelRef(fmt.Sprintf("stream%d", s.id)))
		Label(fmt.Sprintf("stream%ddone", s.id))
	}
	JMP(LabelRef("next"))

	Generate()
}
