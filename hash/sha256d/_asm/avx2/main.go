// Command avx2 generates scan_avx2_amd64.s, the sha256d nonce-search kernel
// for CPUs with AVX2: eight nonces per iteration, one per 32-bit lane of the
// ymm registers, using only VEX-encoded AVX/AVX2 instructions on Y0-Y15.
//
// Every lane shares the job's state after round 3 of the header's second
// block; the nonce enters as W3, added to a and e. Schedule words that do not
// depend on the nonce come from the job (wpart, kw), the second hash's
// constant words are folded into its first rounds here, and the second hash
// stops after round 60, where H7 = IV7 + e is known.
//
// Fully unrolled, the two compressions are about 33 KB of code, more than
// the L1 instruction cache and the op cache of current cores, so sixteen
// generic rounds (schedule from the ring, K from a pointer) are emitted once
// and run as a loop: rounds 32..63 of the first hash and 32..47 of the
// second. The rounds around it are unrolled to use the constant words.
package main

//go:generate go run . -out ../../scan_avx2_amd64.s

import (
	"fmt"
	"math/bits"
	"os"

	. "github.com/mmcloughlin/avo/build"
	. "github.com/mmcloughlin/avo/operand"
	. "github.com/mmcloughlin/avo/reg"

	"github.com/powmine/powmine/hash/sha256d/_asm/gen"
)

// lanes is the number of nonces hashed per iteration; vecSize is the size
// of one ymm vector in bytes.
const (
	lanes   = 8
	vecSize = 4 * lanes
)

// General-purpose registers.
var (
	st    = RSI // *jobState
	cand  = RDI // candidate buffer
	nonce = RAX // first nonce of the iteration
	left  = RCX // nonces still to scan
	found = R8  // candidates written
	mask  = R9  // candidate lanes of the iteration
	tmp   = R10
	ring  = R11 // 32-byte aligned message-schedule ring on the stack
	kp    = R12 // K_t of the first round of the generic rounds' pass
	pass  = R13 // passes of the generic rounds left
	phase = RBX // 0 in the first hash, 1 in the second
)

// Vector temporaries. The working variables a..h and the Maj carries live
// in Y0..Y9 (see state); Y10..Y15 are scratch. The round uses t0..t2; the
// message schedule uses x, y, acc and acc2, and hands W_t to the round in
// acc.
var (
	t0, t1, t2      = Y10, Y11, Y12
	x, y, acc, acc2 = Y12, Y13, Y14, Y15
)

// Read-only tables, each word repeated in all eight lanes.
var (
	k1Tab   Mem // K_t
	k2Tab   Mem // second hash: K_t, plus W_t for the constant W8..W15, plus IV7 at t = 60
	wc2Tab  Mem // second hash: constant part of W_t, indexed through wc2Idx
	ivTab   Mem // IV, then the constants listed at ivCA
	laneTab Mem // 0, 1, ..., 7
	swapTab Mem // VPSHUFB control that byte-swaps every 32-bit lane
)

// wc2Idx maps t to the wc2Tab entry holding the constant part of the
// second hash's W_t, for the t whose constant part is not zero.
var wc2Idx = map[int]int{}

// The generic rounds: 16 of them (the ring's length, so ring slots are the
// same on every pass) start at these rounds.
const (
	genericLen    = 16
	block2Generic = 32 // passes at 32 and 48
	block2Passes  = 2
	hash2Generic  = 32 // one pass
	hash2Passes   = 1
	hash2Tail     = hash2Generic + hash2Passes*genericLen
)

func main() {
	// https://github.com/mmcloughlin/avo/issues/450
	os.Setenv("GOOS", "linux")
	os.Setenv("GOARCH", "amd64")

	ConstraintExpr("!purego")
	tables()
	TEXT("scanavx2", NOSPLIT, gen.Signature)
	gen.Header("avx2")
	Doc("scanavx2 writes to cand the nonces in start .. start+count-1 whose byte-swapped H7 is at most st.t7.")
	scan()
	Generate()
}

// bigSigma0 and bigSigma1 are Σ0 and Σ1 of FIPS 180-4, for folding constant
// rounds at generation time.
func bigSigma0(x uint32) uint32 {
	return bits.RotateLeft32(x, -2) ^ bits.RotateLeft32(x, -13) ^ bits.RotateLeft32(x, -22)
}

func bigSigma1(x uint32) uint32 {
	return bits.RotateLeft32(x, -6) ^ bits.RotateLeft32(x, -11) ^ bits.RotateLeft32(x, -25)
}

// hash2Known reports whether the second hash's W_i is a constant (W8..W15).
func hash2Known(i int) bool { return i >= 8 && i < 16 }

// hash2Const returns the part of the second hash's W_t (t >= 16) made of
// constant words.
func hash2Const(t int) uint32 {
	var c uint32
	if hash2Known(t - 2) {
		c += gen.Sigma1(gen.Hash2[t-2])
	}
	if hash2Known(t - 7) {
		c += gen.Hash2[t-7]
	}
	if hash2Known(t - 15) {
		c += gen.Sigma0(gen.Hash2[t-15])
	}
	if hash2Known(t - 16) {
		c += gen.Hash2[t-16]
	}
	return c
}

// block2Known reports whether block 2's W_i is the same for every nonce
// (W0..W2, W4..W17); jobState.wpart holds the sum of such terms.
func block2Known(i int) bool { return i < 18 && i != 3 }

// tables emits the read-only tables.
func tables() {
	k1Tab = gen.Table("k1avx2", gen.K[:], lanes)

	var k2 [61]uint32
	for t := range k2 {
		k2[t] = gen.K[t]
		if t < 16 {
			k2[t] += gen.Hash2[t]
		}
	}
	k2[60] += gen.IV[7]
	k2Tab = gen.Table("k2avx2", k2[:], lanes)

	var wc2 []uint32
	for t := 16; t < hash2Generic; t++ {
		if c := hash2Const(t); c != 0 {
			wc2Idx[t] = len(wc2)
			wc2 = append(wc2, c)
		}
	}
	wc2Tab = gen.Table("wc2avx2", wc2, lanes)

	ca, ce := hash2Round0()
	iv := gen.IV
	ivTab = gen.Table("ivavx2", append(iv[:], ca, ce, iv[0]^iv[1]), lanes)

	laneTab = gen.Table("laneavx2", []uint32{0, 1, 2, 3, 4, 5, 6, 7}, 1)
	swap := make([]uint32, lanes)
	for i := range swap {
		b := uint32(4 * i)
		swap[i] = (b + 3) | (b+2)<<8 | (b+1)<<16 | b<<24
	}
	swapTab = gen.Table("swapavx2", swap, 1)
}

// Offsets into ivTab beyond IV itself.
const (
	ivCA = 8  // a after round 0 of the second hash, less W0
	ivCE = 9  // e after round 0 of the second hash, less W0
	ivBC = 10 // IV0 ^ IV1: b ^ c before round 1, for Maj
)

// hash2Round0 folds round 0 of the second hash, whose state is IV: every
// term but W0 is constant, so a = ca + W0 and e = ce + W0 after it.
func hash2Round0() (ca, ce uint32) {
	iv := gen.IV
	ch := (iv[4] & iv[5]) ^ (^iv[4] & iv[6])
	maj := (iv[0] & iv[1]) ^ (iv[0] & iv[2]) ^ (iv[1] & iv[2])
	t1 := iv[7] + bigSigma1(iv[4]) + ch + gen.K[0]
	t2 := bigSigma0(iv[0]) + maj
	return t1 + t2, iv[3] + t1
}

// vec returns the i-th vector of a table.
func vec(tab Mem, i int) Mem { return tab.Offset(vecSize * i) }

// word returns the address of 32-bit word i of the jobState field at off.
func word(off, i int) Mem { return Mem{Base: st, Disp: off + 4*i} }

// slot returns the ring slot of schedule word W_i; i may be negative in
// the generic rounds, whose word 0 is W16, W32 or W48.
func slot(i int) Mem { return Mem{Base: ring, Disp: vecSize * ((i%16 + 16) % 16)} }

// shift is one term of a σ or Σ function: x >> n, or x << n if left.
type shift struct {
	n    int
	left bool
}

// rotr gives the two shifts of a rotation right by n.
func rotr(n int) []shift { return []shift{{n, false}, {32 - n, true}} }

// shr gives a plain right shift by n.
func shr(n int) []shift { return []shift{{n, false}} }

// xorShifts sets dst to the XOR of src shifted by every term. The terms
// are XORed in pairs, so that six terms take one shift and three XOR levels;
// ta and tb are clobbered.
func xorShifts(dst, src, ta, tb VecPhysical, terms ...[]shift) {
	var all []shift
	for _, t := range terms {
		all = append(all, t...)
	}
	emit := func(d VecPhysical, s shift) {
		if s.left {
			VPSLLD(U8(s.n), src, d)
		} else {
			VPSRLD(U8(s.n), src, d)
		}
	}
	emit(dst, all[0])
	emit(ta, all[1])
	VPXOR(ta, dst, dst)
	rest := all[2:]
	for len(rest) >= 2 {
		emit(ta, rest[0])
		emit(tb, rest[1])
		VPXOR(tb, ta, ta)
		VPXOR(ta, dst, dst)
		rest = rest[2:]
	}
	if len(rest) == 1 {
		emit(ta, rest[0])
		VPXOR(ta, dst, dst)
	}
}

// Sigma0 (Σ0), Sigma1 (Σ1), sigma0 (σ0) and sigma1 (σ1) are the functions
// of FIPS 180-4, 4.1.2, on eight lanes; dst must differ from src.
func Sigma0(dst, src, ta, tb VecPhysical) { xorShifts(dst, src, ta, tb, rotr(2), rotr(13), rotr(22)) }
func Sigma1(dst, src, ta, tb VecPhysical) { xorShifts(dst, src, ta, tb, rotr(6), rotr(11), rotr(25)) }
func sigma0(dst, src, ta, tb VecPhysical) { xorShifts(dst, src, ta, tb, rotr(7), rotr(18), shr(3)) }
func sigma1(dst, src, ta, tb VecPhysical) { xorShifts(dst, src, ta, tb, rotr(17), rotr(19), shr(10)) }

// Ch sets dst to Ch(e, f, g) = ((f ^ g) & e) ^ g.
func Ch(dst, e, f, g VecPhysical) {
	VPXOR(g, f, dst)
	VPAND(e, dst, dst)
	VPXOR(g, dst, dst)
}

// state is the eight working variables a..h of one set of lanes. Rounds
// rename registers instead of moving values. bc holds b ^ c (the previous
// round's a ^ b) for Maj; ab receives this round's a ^ b.
type state struct {
	v      [8]VecPhysical
	bc, ab VecPhysical
}

func newState() *state {
	return &state{v: [8]VecPhysical{Y0, Y1, Y2, Y3, Y4, Y5, Y6, Y7}, bc: Y8, ab: Y9}
}

// Maj sets dst to Maj(a, b, c) = b ^ ((a ^ b) & (b ^ c)), reusing b ^ c from
// the previous round and keeping a ^ b for the next one.
func (s *state) Maj(dst VecPhysical) {
	a, b := s.v[0], s.v[1]
	VPXOR(b, a, s.ab)
	VPAND(s.bc, s.ab, dst)
	VPXOR(b, dst, dst)
	s.bc, s.ab = s.ab, s.bc
}

// round emits one round of FIPS 180-4, 6.2.2 step 3. addKW emits h += K_t +
// W_t. If full is false only the new e is computed: the last rounds before
// the H7 test need no new a.
//
// The kernel is bound by vector ALU throughput, so the round uses the fewest
// operations: T1 = ((h + K + W) + Ch) + Σ1(e), e = d + T1 and a = (T1 +
// Maj) + Σ0(a).
func (s *state) round(addKW func(h VecPhysical), full bool) {
	a, d, e, f, g, h := s.v[0], s.v[3], s.v[4], s.v[5], s.v[6], s.v[7]
	addKW(h)
	Ch(t0, e, f, g)
	VPADDD(t0, h, h)
	Sigma1(t0, e, t1, t2)
	VPADDD(t0, h, h) // T1
	VPADDD(h, d, d)  // d + T1: the new e
	if full {
		s.Maj(t0)
		VPADDD(t0, h, h)
		Sigma0(t0, a, t1, t2)
		VPADDD(t0, h, h) // T1 + T2: the new a
	}
	s.v = [8]VecPhysical{h, s.v[0], s.v[1], s.v[2], d, e, f, g}
}

// sum accumulates schedule terms in acc.
type sum struct{ started bool }

func (m *sum) add(v Op) {
	if !m.started {
		VMOVDQU(v, acc)
		m.started = true
		return
	}
	VPADDD(v, acc, acc)
}

// sigma adds σ(W_i), loaded from the ring, to the sum.
func (m *sum) sigma(f func(dst, src, ta, tb VecPhysical), i int) {
	VMOVDQU(slot(i), x)
	if !m.started {
		f(acc, x, y, acc2)
		m.started = true
		return
	}
	f(acc2, x, y, t0)
	VPADDD(acc2, acc, acc)
}

// schedule emits W_t = σ1(W_t-2) + W_t-7 + σ0(W_t-15) + W_t-16 (FIPS 180-4,
// 6.2.2 step 1) into acc, over the terms whose word is not known; known
// terms are added by constant. The result is stored in the ring if store.
func schedule(t int, known func(int) bool, constant func(m *sum), store bool) {
	var m sum
	if !known(t - 2) {
		m.sigma(sigma1, t-2)
	}
	if !known(t - 15) {
		m.sigma(sigma0, t-15)
	}
	if !known(t - 7) {
		m.add(slot(t - 7))
	}
	if !known(t - 16) {
		m.add(slot(t - 16))
	}
	constant(&m)
	if store {
		VMOVDQU(acc, slot(t))
	}
}

// none is the known-word predicate of rounds whose words are all in the ring.
func none(int) bool { return false }

// nothing adds no constant to a schedule word.
func nothing(*sum) {}

// canonical is the register assignment at the top of the generic rounds;
// every path into them must arrive with it.
func canonical() *state {
	return &state{v: [8]VecPhysical{Y0, Y1, Y2, Y3, Y4, Y5, Y6, Y7}, bc: Y8, ab: Y9}
}

// before returns the assignment that becomes canonical after n full
// rounds: each round renames register i to i+1 (mod 8) and swaps the Maj
// carries.
func before(n int) *state {
	c := canonical()
	s := &state{bc: c.bc, ab: c.ab}
	for i := range s.v {
		s.v[i] = c.v[(i+n)%8]
	}
	if n%2 == 1 {
		s.bc, s.ab = s.ab, s.bc
	}
	return s
}

// mustBeCanonical checks, at generation time, that s has the canonical
// assignment.
func mustBeCanonical(s *state, where string) {
	if *s != *canonical() {
		panic(fmt.Sprintf("register assignment at %s is not canonical: %v", where, *s))
	}
}

// scan emits the kernel.
func scan() {
	Load(Param("st"), st)
	Load(Param("start"), nonce.As32())
	Load(Param("count"), left.As32())
	Load(Param("cand"), cand)
	XORL(found.As32(), found.As32())
	LEAQ(AllocLocal(16*vecSize+vecSize), ring)
	ADDQ(I8(vecSize-1), ring)
	ANDQ(I8(-vecSize), ring)

	TESTL(left.As32(), left.As32())
	JZ(LabelRef("done"))

	Label("loop")
	block2Head()
	LEAQ(vec(k1Tab, block2Generic), kp)
	MOVL(U32(block2Passes), pass.As32())
	XORL(phase.As32(), phase.As32())

	Label("generic")
	genericRounds()
	TESTL(phase.As32(), phase.As32())
	JNZ(LabelRef("tail"))

	hash2Head()
	LEAQ(vec(k2Tab, hash2Generic), kp)
	MOVL(U32(hash2Passes), pass.As32())
	MOVL(U32(1), phase.As32())
	JMP(LabelRef("generic"))

	Label("tail")
	hash2Rest()

	ADDL(U8(lanes), nonce.As32())
	SUBL(U8(lanes), left.As32())
	JNZ(LabelRef("loop"))

	Label("done")
	VZEROUPPER()
	Store(found.As32(), ReturnIndex(0))
	RET()
}

// block2Head emits the start of the header's second block from the job's
// state after round 3: W3 = byte-swapped nonce is added to a and e, then
// rounds 4..31. Rounds 4..17 add the job's K+W; rounds 18..31 compute only
// the nonce-dependent terms of W_t and add the job's wpart. W16 and W17 go
// to the ring for the generic rounds.
func block2Head() {
	s := before(block2Generic - 4)
	Comment("W3 = byte-swapped nonces; a..h = state4 with W3 added to a and e.")
	w3 := acc
	VMOVD(nonce.As32(), w3.AsX())
	VPBROADCASTD(w3.AsX(), w3)
	VPADDD(laneTab, w3, w3)
	VPSHUFB(swapTab, w3, w3)
	VMOVDQU(w3, slot(3))
	for i, r := range s.v {
		VPBROADCASTD(word(gen.OffState4, i), r)
	}
	VPADDD(w3, s.v[0], s.v[0])
	VPADDD(w3, s.v[4], s.v[4])
	VPXOR(s.v[1], s.v[2], s.bc)
	for _, t := range []int{16, 17} {
		VPBROADCASTD(word(gen.OffWpart, t), x)
		VMOVDQU(x, slot(t))
	}

	for t := 4; t < block2Generic; t++ {
		Commentf("Block 2, round %d.", t)
		if t < 18 {
			s.round(func(h VecPhysical) {
				VPBROADCASTD(word(gen.OffKW, t), t0)
				VPADDD(t0, h, h)
			}, true)
			continue
		}
		schedule(t, block2Known, func(m *sum) {
			if block2Known(t-2) || block2Known(t-7) || block2Known(t-15) || block2Known(t-16) {
				VPBROADCASTD(word(gen.OffWpart, t), x)
				m.add(x)
			}
		}, true)
		s.round(func(h VecPhysical) {
			VPADDD(acc, h, h)
			VPADDD(vec(k1Tab, t), h, h)
		}, true)
	}
	mustBeCanonical(s, "block 2 round 32")
}

// genericRounds emits the generic rounds: pass times, 16 rounds with every
// schedule word from the ring and K_t at kp.
func genericRounds() {
	s := canonical()
	for i := range genericLen {
		Commentf("Generic round %d of %d.", i, genericLen)
		schedule(i, none, nothing, true)
		s.round(func(h VecPhysical) {
			VPADDD(acc, h, h)
			VPADDD(Mem{Base: kp, Disp: vecSize * i}, h, h)
		}, true)
	}
	mustBeCanonical(s, "the end of the generic rounds")
	ADDQ(U32(genericLen*vecSize), kp)
	DECL(pass.As32())
	JNZ(LabelRef("generic"))
}

// hash2Head emits the end of the first hash (midstate + state, the second
// hash's W0..W7) and the second hash's rounds 0..31. W8..W15 are constant:
// rounds 8..15 add K+W by constant, and W16..W31 skip their zero terms and
// add their constant terms as one word.
func hash2Head() {
	c := canonical()
	Comment("First hash = midstate + state; it is the second hash's W0..W7.")
	for i, r := range c.v {
		VPBROADCASTD(word(gen.OffMid, i), t0)
		VPADDD(t0, r, r)
		VMOVDQU(r, slot(i))
	}

	Comment("Second hash, round 0 (folded): a = ca + W0, e = ce + W0; b..d, f..h = IV.")
	s := before(hash2Generic - 1)
	w0 := c.v[0]
	if s.v[0] == w0 {
		VPADDD(vec(ivTab, ivCE), w0, s.v[4])
		VPADDD(vec(ivTab, ivCA), w0, s.v[0])
	} else {
		VPADDD(vec(ivTab, ivCA), w0, s.v[0])
		VPADDD(vec(ivTab, ivCE), w0, s.v[4])
	}
	for _, i := range []int{1, 2, 3, 5, 6, 7} {
		VMOVDQU(vec(ivTab, i-1), s.v[i])
	}
	VMOVDQU(vec(ivTab, ivBC), s.bc)

	for t := 1; t < hash2Generic; t++ {
		Commentf("Second hash, round %d.", t)
		if t < 16 {
			s.round(func(h VecPhysical) {
				if t < 8 {
					VPADDD(slot(t), h, h)
				}
				VPADDD(vec(k2Tab, t), h, h)
			}, true)
			continue
		}
		schedule(t, hash2Known, func(m *sum) {
			if i, ok := wc2Idx[t]; ok {
				m.add(vec(wc2Tab, i))
			}
		}, true)
		s.round(func(h VecPhysical) {
			VPADDD(acc, h, h)
			VPADDD(vec(k2Tab, t), h, h)
		}, true)
	}
	mustBeCanonical(s, "second hash round 16")
}

// hash2Rest emits the second hash's rounds after the generic ones, up to
// round 60 (57..60 compute only e), and the H7 test.
func hash2Rest() {
	s := canonical()
	for t := hash2Tail; t <= 60; t++ {
		Commentf("Second hash, round %d.", t)
		schedule(t, none, nothing, t+2 <= 60)
		s.round(func(h VecPhysical) {
			VPADDD(acc, h, h)
			VPADDD(vec(k2Tab, t), h, h)
		}, t <= 56)
	}
	test(s.v[4])
}

// test emits the H7 test on h7 (IV7 + e, already summed): every lane whose
// byte-swapped value is at most t7, compared unsigned as max(v, t7) == t7,
// has its nonce written to cand, in nonce order.
func test(h7 VecPhysical) {
	Comment("H7 test: bswap(H7) <= t7 (unsigned), candidates in lane order.")
	VPSHUFB(swapTab, h7, t0)
	VPBROADCASTD(word(gen.OffT7, 0), t1)
	VPMAXUD(t1, t0, t0)
	VPCMPEQD(t1, t0, t0)
	VMOVMSKPS(t0, mask.As32())
	TESTL(mask.As32(), mask.As32())
	JZ(LabelRef("next"))
	Label("hit")
	BSFL(mask.As32(), tmp.As32())
	ADDL(nonce.As32(), tmp.As32())
	MOVL(tmp.As32(), Mem{Base: cand, Index: found, Scale: 4})
	INCL(found.As32())
	LEAL(Mem{Base: mask, Disp: -1}, tmp.As32())
	ANDL(tmp.As32(), mask.As32())
	JNZ(LabelRef("hit"))
	Label("next")
}
