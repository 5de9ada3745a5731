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
	streams = 3
	lanes   = 16
	stride  = streams * lanes
	vecSize = 64

	// Each stream keeps the whole message schedule of both hashes in
	// memory, one vector per word; arrays are padded so that they do not
	// alias modulo 4 KiB.
	arrayWords = 66
	arraySize  = arrayWords * vecSize

	// lastRound is the last round of the second hash that is computed: H7
	// is IV7 + the e it produces.
	lastRound = 60
)

// Both hashes run loopRounds rounds through one shared loop of
// blockRounds rounds per iteration with the general message schedule:
// rounds firstLoop..63 of the header's second block and secondLoop.. of
// the second hash. The other rounds are emitted once each, specialised to
// their constant words. Looping keeps the code small enough for the op
// cache: fully unrolled, it ran at two thirds of the speed.
const (
	blockRounds = 8
	firstLoop   = 24
	secondLoop  = 16
	loopRounds  = 64 - firstLoop
)

// General-purpose registers, fixed for the whole function.
var (
	stPtr   = RDI // *jobState
	candPtr = RSI // candidate buffer
	found   = RAX // candidates written so far
	nonce   = RBX // nonce of the iteration's first lane
	left    = RCX // nonces left to scan
	frame   = R8  // 64-byte aligned schedule arrays
	cursor  = R9  // schedule arrays, advanced by the round loops
	kPtr    = R10 // round constants, advanced by the round loops
	kEnd    = R11 // end of the round loop's constants
	loopRun = R12 // which hash is in the round loop: 0 or 1
)

// zmm returns the vector register Zi.
func zmm(i int) VecPhysical {
	return []VecPhysical{
		Z0, Z1, Z2, Z3, Z4, Z5, Z6, Z7, Z8, Z9, Z10, Z11, Z12, Z13, Z14, Z15,
		Z16, Z17, Z18, Z19, Z20, Z21, Z22, Z23, Z24, Z25, Z26, Z27, Z28, Z29, Z30, Z31,
	}[i]
}

// stream is one 16-lane state: the eight working variables a..h of FIPS
// 180-4 section 6.2.2 (renamed, never moved, from round to round), scratch
// registers and the message schedules of both hashes in memory.
type stream struct {
	id   int
	v    [8]VecPhysical // a, b, c, d, e, f, g, h
	x, y VecPhysical    // scratch for Σ, σ, Ch and Maj
	z    VecPhysical    // scratch
	w    VecPhysical    // the schedule word W_t of the current round
	mask Op             // opmask receiving the lanes' H7 test
}

// word is schedule word W_t of hash h (0: header, 1: second hash),
// addressed from base: frame in code emitted once, cursor (pointing at
// the current block of words) in the round loop.
func (s *stream) word(base Register, h, t int) Mem {
	return Mem{Base: base, Disp: (s.id*2+h)*arraySize + t*vecSize}
}

func job(off int) Mem { return Mem{Base: stPtr, Disp: off} }

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

func sigma0(src Mem, dst, t1, t2 VecPhysical) { smallSigma(7, 18, 3, src, dst, t1, t2) }
func sigma1(src Mem, dst, t1, t2 VecPhysical) { smallSigma(17, 19, 10, src, dst, t1, t2) }

// schedule emits W_t = σ1(W_t-2) + W_t-7 + σ0(W_t-15) + W_t-16 of hash h
// into s.w and stores it.
func (s *stream) schedule(at Register, h, t int) {
	// σ1(W_t-2) last: W_t-2 is the most recent word.
	sigma0(s.word(at, h, t-15), s.w, s.x, s.y)
	VPADDD(s.word(at, h, t-16), s.w, s.w)
	VPADDD(s.word(at, h, t-7), s.w, s.w)
	sigma1(s.word(at, h, t-2), s.z, s.x, s.y)
	VPADDD(s.z, s.w, s.w)
	VMOVDQA32(s.w, s.word(at, h, t))
}

// round emits SHA-256 round t (FIPS 180-4 6.2.2 step 3): k is a constant
// part of K_t + W_t to broadcast, w the per-lane parts. With withA false
// only the new e is computed (enough in the last rounds of the second
// hash, which only need H7).
func (s *stream) round(k Mem, w []Op, withA bool) {
	a, b, c, d, e, f, g, h := s.v[0], s.v[1], s.v[2], s.v[3], s.v[4], s.v[5], s.v[6], s.v[7]
	x, y, z := s.x, s.y, s.z
	VPADDD_BCST(k, h, h)
	for _, op := range w {
		VPADDD(op, h, h)
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

// enterLoop points the loop at hash h's schedule words and round
// constants (k locates K_t of round 0) from round from.
func enterLoop(h, from int, k Mem) {
	Commentf("Rounds %d..%d of hash %d run in the shared loop.", from, from+loopRounds-1, h+1)
	LEAQ(Mem{Base: frame, Disp: h*arraySize + from*vecSize}, cursor)
	LEAQ(k.Offset(4*from), kPtr)
	LEAQ(k.Offset(4*(from+loopRounds)), kEnd)
	MOVL(U32(h), loopRun.As32())
}

// roundLoop emits the shared loop: blockRounds rounds of every stream per
// iteration.
func roundLoop(ss []*stream) {
	Label("rounds")
	for t := range blockRounds {
		for _, s := range ss {
			s.schedule(cursor, 0, t)
			s.round(Mem{Base: kPtr, Disp: 4 * t}, []Op{s.w}, true)
		}
	}
	ADDQ(U32(blockRounds*vecSize), cursor)
	ADDQ(U32(4*blockRounds), kPtr)
	CMPQ(kPtr, kEnd)
	JNE(LabelRef("rounds"))
}

// hashHeaderTail emits the header's second block from the job's state
// after round 3: rounds 4..17 take K_t + W_t from the job, rounds 18..23
// add only the nonce-dependent terms of W_t to the job's wpart, and the
// rest run in the shared round loop, emitted here. When the loop has run
// the second hash it jumps to digestTail; otherwise the first hash's
// digest ends in s.v and in the second hash's W0..W7.
func hashHeaderTail(ss []*stream) {
	at := frame
	for t := 4; t < firstLoop; t++ {
		for _, s := range ss {
			kw := job(gen.OffKW + 4*t)
			if t < 18 {
				s.round(kw, nil, true)
				continue
			}
			// W18 = wpart + σ0(W3), W19 = wpart + W3, W20.. = wpart + σ1(W_t-2).
			switch t {
			case 18:
				sigma0(s.word(at, 0, 3), s.w, s.x, s.y)
			case 19:
				VMOVDQA32(s.word(at, 0, 3), s.w)
			default:
				sigma1(s.word(at, 0, t-2), s.w, s.x, s.y)
			}
			s.round(kw, []Op{s.w}, true)
			VPADDD_BCST(job(gen.OffWpart+4*t), s.w, s.w)
			VMOVDQA32(s.w, s.word(at, 0, t))
		}
	}
	enterLoop(0, firstLoop, kTable)
	roundLoop(ss)
	TESTL(loopRun.As32(), loopRun.As32())
	JNZ(LabelRef("digestTail"))
	for _, s := range ss {
		Commentf("Stream %d: first digest = W0..W7 of the second hash.", s.id)
		for j := range 8 {
			VPADDD_BCST(job(gen.OffMid+4*j), s.v[j], s.v[j])
			VMOVDQA32(s.v[j], s.word(at, 1, j))
		}
	}
}

// hashDigest emits the second hash, whose block is the first hash's digest
// (W0..W7) and fixed padding, up to round 60.
func hashDigest(ss []*stream) {
	at := frame
	for _, s := range ss {
		// Round 0 runs on the IV: W0 enters the new a and e as an addend.
		// The new state goes to registers named so that at the loop,
		// secondLoop-1 renamings later, the names are those the loop was
		// emitted with.
		w0, v := s.v[0], s.v
		for i := range s.v {
			s.v[i] = v[(i+secondLoop-1)%8]
		}
		VPADDD_BCST(hash2IV, w0, s.v[0])
		VPADDD_BCST(hash2IV.Offset(4*4), w0, s.v[4])
		for _, i := range []int{1, 2, 3, 5, 6, 7} {
			VPBROADCASTD(hash2IV.Offset(4*i), s.v[i])
		}
	}
	for t := 1; t < secondLoop; t++ {
		for _, s := range ss {
			var w []Op
			if t < 8 {
				w = []Op{s.word(at, 1, t)}
			}
			s.round(k2.Offset(4*t), w, true)
		}
	}
	enterLoop(1, secondLoop, k2)
	JMP(LabelRef("rounds"))
	Label("digestTail")
	for t := secondLoop + loopRounds; t <= lastRound; t++ {
		for _, s := range ss {
			s.schedule(at, 1, t)
			// a is needed up to round 56: round 60 reads it as d.
			s.round(k2.Offset(4*t), []Op{s.w}, t <= lastRound-4)
		}
	}
}

// Tables.
var (
	kTable       Mem // K_t
	k2           Mem // K_t + constant W_t of the second hash; IV7 added in round 60
	hash2W       Mem // W8..W15 of the second hash
	hash2IV      Mem // the second hash's state after round 0, less W0 in a and e
	nonceOffsets Mem // 0, 1, ..., stride-1
	bswap        Mem // VPSHUFB control reversing the bytes of each word
)

func bigSigma0(x uint32) uint32 {
	return bits.RotateLeft32(x, -2) ^ bits.RotateLeft32(x, -13) ^ bits.RotateLeft32(x, -22)
}

func bigSigma1(x uint32) uint32 {
	return bits.RotateLeft32(x, -6) ^ bits.RotateLeft32(x, -11) ^ bits.RotateLeft32(x, -25)
}

// tables emits the constant tables.
func tables() {
	kTable = gen.Table("k_avx512", gen.K[:], 1)

	var kc [lastRound + 1]uint32
	for t := range kc {
		kc[t] = gen.K[t]
		if t < 16 {
			kc[t] += gen.Hash2[t] // zero for the digest words W0..W7
		}
	}
	// H7 = IV7 + e after round 60, and e' = d + T1: adding IV7 to round
	// 60's constant makes the final e H7 itself.
	kc[lastRound] += gen.IV[7]
	k2 = gen.Table("k2_avx512", kc[:], 1)
	hash2W = gen.Table("hash2w_avx512", gen.Hash2[8:], 1)

	// Round 0 of the second hash runs on the constant IV.
	iv := gen.IV
	t1 := iv[7] + bigSigma1(iv[4]) + (iv[4]&iv[5] ^ ^iv[4]&iv[6]) + gen.K[0]
	t2 := bigSigma0(iv[0]) + (iv[0]&iv[1] ^ iv[0]&iv[2] ^ iv[1]&iv[2])
	hash2IV = gen.Table("hash2iv_avx512", []uint32{
		t1 + t2, iv[0], iv[1], iv[2], iv[3] + t1, iv[4], iv[5], iv[6],
	}, 1)

	offsets := make([]uint32, stride)
	for i := range offsets {
		offsets[i] = uint32(i)
	}
	nonceOffsets = gen.Table("nonces_avx512", offsets, 1)
	var shuffle []uint32
	for range 4 { // VPSHUFB indexes bytes within each 128-bit lane
		shuffle = append(shuffle, 0x00010203, 0x04050607, 0x08090a0b, 0x0c0d0e0f)
	}
	bswap = gen.Table("bswap_avx512", shuffle, 1)
}

func main() {
	if loopRounds%blockRounds != 0 || loopRounds%8 != 0 || secondLoop+loopRounds > lastRound {
		panic("round loop does not fit both hashes")
	}
	if streams != 2 && streams != 3 {
		panic("streams must be 2 or 3")
	}
	ConstraintExpr("!purego")
	tables()

	TEXT("scanavx512", 0, gen.Signature)
	gen.Header("avx512")
	local := AllocLocal(streams*2*arraySize + vecSize)

	Load(Param("st"), stPtr)
	Load(Param("cand"), candPtr)
	Load(Param("start"), nonce.As32())
	Load(Param("count"), left.As32())
	LEAQ(local.Offset(vecSize-1), frame)
	ANDQ(I32(-vecSize), frame)
	XORL(found.As32(), found.As32())
	TESTL(left.As32(), left.As32())
	JZ(LabelRef("done"))

	// Each stream has its own eight state registers; the scratch registers
	// left over are shared between streams (register renaming in the core
	// keeps the streams independent).
	ss := make([]*stream, streams)
	for i := range ss {
		base := 8*streams + 4*(i%((32-8*streams)/4))
		ss[i] = &stream{
			id: i,
			x:  zmm(base), y: zmm(base + 1), z: zmm(base + 2), w: zmm(base + 3),
			mask: []Op{K1, K2, K3}[i],
		}
		for j := range 8 {
			ss[i].v[j] = zmm(8*i + j)
		}
	}

	Comment("Schedule words that are the same for every nonce: W8..W17 of the",
		"header's second block, W8..W15 of the second hash.")
	for i := 8; i < 18; i++ {
		VPBROADCASTD(job(gen.OffWpart+4*i), Z0)
		for _, s := range ss {
			VMOVDQA32(Z0, s.word(frame, 0, i))
		}
	}
	for i := 8; i < 16; i++ {
		VPBROADCASTD(hash2W.Offset(4*(i-8)), Z0)
		for _, s := range ss {
			VMOVDQA32(Z0, s.word(frame, 1, i))
		}
	}

	Label("loop")
	for _, s := range ss {
		Commentf("Stream %d: W3 = the lanes' nonces, byte-swapped; state after round 3.", s.id)
		VPBROADCASTD(nonce.As32(), s.w)
		VPADDD(nonceOffsets.Offset(vecSize*s.id), s.w, s.w)
		VPSHUFB(bswap, s.w, s.w)
		VMOVDQA32(s.w, s.word(frame, 0, 3))
		for j := range 8 {
			VPBROADCASTD(job(gen.OffState4+4*j), s.v[j])
		}
		VPADDD(s.w, s.v[0], s.v[0])
		VPADDD(s.w, s.v[4], s.v[4])
	}
	hashHeaderTail(ss)
	hashDigest(ss)
	for _, s := range ss {
		Commentf("Stream %d: candidate lanes have bswap(H7) <= t7.", s.id)
		VPSHUFB(bswap, s.v[4], s.x)
		VPCMPUD_BCST(U8(2), job(gen.OffT7), s.x, s.mask) // predicate 2: <=
	}
	if streams == 3 {
		KORW(K1, K2, K4)
		KORTESTW(K3, K4)
	} else {
		KORTESTW(K1, K2)
	}
	JNZ(LabelRef("candidates")) // rare: t7 is small when mining
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
		BSFL(EDX, R13L)
		LEAL(Mem{Base: nonce, Index: R13, Scale: 1, Disp: lanes * s.id}, R13L)
		MOVL(R13L, Mem{Base: candPtr, Index: found, Scale: 4})
		INCL(found.As32())
		LEAL(Mem{Base: RDX, Disp: -1}, R13L)
		ANDL(R13L, EDX)
		JNZ(LabelRef(fmt.Sprintf("stream%d", s.id)))
		Label(fmt.Sprintf("stream%ddone", s.id))
	}
	JMP(LabelRef("next"))

	Generate()
}
