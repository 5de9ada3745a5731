// Command shani generates scan_shani_amd64.s, the sha256d nonce-search
// kernel built on the x86 SHA extensions (SHA256RNDS2, SHA256MSG1,
// SHA256MSG2).
//
// One SHA-NI stream is a chain of dependent SHA256RNDS2 (latency 4), so the
// kernel hashes several nonces per iteration as independent streams whose
// instructions are interleaved. SHA-NI has only X0..X15, so each stream
// keeps just its two state registers and its newest four message words in
// registers; older message words live in a small ring on the stack. The
// message schedule runs two quad-rounds ahead of the rounds that use it.
package main

//go:generate go run . -out ../../scan_shani_amd64.s

import (
	"flag"
	"fmt"
	"os"

	. "github.com/mmcloughlin/avo/build"
	. "github.com/mmcloughlin/avo/operand"
	. "github.com/mmcloughlin/avo/reg"

	"github.com/powmine/powmine/hash/sha256d/_asm/gen"
)

var streams = flag.Int("streams", 4, "independent nonces hashed per iteration (1..4)")

// lead is how many quad-rounds the message schedule runs ahead of the rounds.
const lead = 2

// ringQuads is the size of each stream's message ring in 4-word quads: it
// holds the 4 quads the schedule reads, the one it writes and the ones the
// rounds have yet to use.
const ringQuads = 8

// Frame layout, relative to the 16-byte aligned frame register.
const (
	offState4 = 0   // state after round 3 of block 2 (W3 = 0): ABEF, CDGH
	offMid    = 32  // midstate: ABEF, CDGH
	offW16    = 64  // block 2's W16, W17 and the nonce-independent parts of W18, W19
	offC20    = 80  // block 2's W4..W7 + σ0(W5..W8) + W13..W16, a term of W20..W23
	offC28    = 96  // block 2's W12..W15 + σ0(W13..W16), a term of W28..W31
	offRing   = 112 // per stream: ringQuads quads
	frameSize = offRing + 4*16*ringQuads
)

// stream is one nonce in flight. abef and cdgh are its SHA-NI state
// registers (they swap roles after every SHA256RNDS2); newest holds its most
// recent schedule quad; older quads are in its ring.
type stream struct {
	abef, cdgh VecPhysical
	newest     Op
	ring       Mem
}

// slot is the ring entry of message quad q (words 4q..4q+3).
func (s *stream) slot(q int) Mem { return s.ring.Offset(16 * (q % ringQuads)) }

// message describes one compression's message schedule.
type message struct {
	// quad returns the operand holding message quad q of s.
	quad func(s *stream, q int) Op
	// plan returns the shortcuts that constant words allow for quad q.
	plan func(q int) quadPlan
}

// quadPlan lists shortcuts for one schedule quad W[t..t+3], t = 4q.
type quadPlan struct {
	// sigma0 is a constant operand holding W[t-16+i] + σ0(W[t-15+i]),
	// used instead of SHA256MSG1; with zeroSigma0 that term is zero.
	sigma0     Op
	zeroSigma0 bool
	// withW7 means sigma0 already includes W[t-7..t-4].
	withW7 bool
}

// Operands shared by the generator functions.
var (
	st    GPVirtual // *jobState
	frame GPVirtual // 16-byte aligned base of the stack frame

	kTab      Mem // K_t for t = 0..63
	ivTab     Mem // IV as ABEF, CDGH
	block2Tab Mem // words W0..W15 of the header's block 2 common to all jobs
	hash2Tab  Mem // words W0..W15 of the second hash common to all headers
	kw2Tab    Mem // K_t + W_t for the second hash's constant words, t = 8..15

	// free lists the vector registers not holding a state or a stream's
	// newest quad.
	free []VecPhysical
)

func main() {
	// https://github.com/mmcloughlin/avo/issues/450
	os.Setenv("GOOS", "linux")
	os.Setenv("GOARCH", "amd64")
	flag.Parse()
	if *streams < 1 || *streams > 4 {
		fmt.Fprintln(os.Stderr, "shani: -streams must be 1..4")
		os.Exit(2)
	}

	ConstraintExpr("!purego")
	kTab = gen.Table("kshani", gen.K[:], 1)
	iv := gen.IV
	ivTab = gen.Table("ivshani", []uint32{iv[5], iv[4], iv[1], iv[0], iv[7], iv[6], iv[3], iv[2]}, 1)
	block2Tab = gen.Table("block2shani", gen.Block2[:], 1)
	hash2Tab = gen.Table("hash2shani", gen.Hash2[:], 1)
	var kw2 [8]uint32
	for i := range kw2 {
		kw2[i] = gen.K[8+i] + gen.Hash2[8+i]
	}
	kw2Tab = gen.Table("kw2shani", kw2[:], 1)

	scan()
	Generate()
}

func local(off int) Mem { return Mem{Base: frame, Disp: off} }

func job(off int) Mem { return Mem{Base: st, Disp: off} }

func alloc() VecPhysical {
	r := free[len(free)-1]
	free = free[:len(free)-1]
	return r
}

func release(op Op) {
	if r, ok := op.(VecPhysical); ok {
		free = append(free, r)
	}
}

// scan emits scanshani: per iteration it hashes nonce, nonce+1, ... as
// independent streams and records the candidates.
func scan() {
	TEXT("scanshani", NOSPLIT, gen.Signature)
	Doc("scanshani scans nonces with the SHA extensions; see kernel_shani_amd64.go.")
	gen.Header("shani")

	st = GP64()
	Load(Param("st"), st)
	nonce := Load(Param("start"), GP32())
	count := Load(Param("count"), GP32())
	cand := Load(Param("cand"), GP64())
	n := GP32()
	XORL(n, n)

	frame = GP64()
	LEAQ(AllocLocal(frameSize+16), frame)
	ADDQ(Imm(15), frame)
	ANDQ(I32(-16), frame)

	states := []VecPhysical{X1, X2, X3, X4, X5, X6, X7, X8}
	free = []VecPhysical{X15, X14, X13, X12, X11, X10, X9}
	for _, r := range states[2**streams:] {
		free = append(free, r)
	}
	ss := make([]*stream, *streams)
	for i := range ss {
		ss[i] = &stream{abef: states[2*i], cdgh: states[2*i+1], ring: local(offRing + i*16*ringQuads)}
	}

	Comment("Job constants in SHA-NI order: state after round 3, midstate.")
	toABEF(job(gen.OffState4), local(offState4))
	toABEF(job(gen.OffMid), local(offMid))
	block2Constants()

	CMPL(count, U32(*streams))
	JB(LabelRef("done"))
	Label("loop")

	headerBlock2(ss, nonce)
	secondHash(ss)

	Comment("H7 = IV7 + e after round 60; candidate when bswap(H7) <= t7.")
	h := GP32()
	nc := GP32()
	for i, s := range ss {
		MOVD(s.abef, h)
		ADDL(U32(gen.IV[7]), h)
		BSWAPL(h)
		MOVL(nonce, nc)
		if i > 0 {
			ADDL(U32(i), nc)
		}
		MOVL(nc, Mem{Base: cand, Index: n, Scale: 4})
		CMPL(job(gen.OffT7), h)
		SBBL(I32(-1), n) // n += 1 - borrow(t7 - h)
	}

	ADDL(U32(*streams), nonce)
	SUBL(U32(*streams), count)
	CMPL(count, U32(*streams))
	JAE(LabelRef("loop")) // a count that is not a multiple of streams leaves the rest unscanned

	Label("done")
	Store(n, ReturnIndex(0))
	RET()
}

// block2 is the message of the header's block 2: W0..W2 per job, W3 the
// nonce, W4..W15 common to all headers.
var block2 = message{
	quad: func(s *stream, q int) Op {
		if q < 4 {
			return block2Tab.Offset(16 * q) // q = 0 is never read
		}
		return s.slot(q)
	},
	plan: func(q int) quadPlan {
		switch q {
		case 5:
			return quadPlan{sigma0: local(offC20), withW7: true}
		case 6:
			return quadPlan{zeroSigma0: true} // W8..W12 are zero
		case 7:
			return quadPlan{sigma0: local(offC28)}
		}
		return quadPlan{}
	},
}

// hash2 is the message of the second hash: the first hash's digest in
// W0..W7, then constant padding.
var hash2 = message{
	quad: func(s *stream, q int) Op {
		if q == 2 || q == 3 {
			return hash2Tab.Offset(16 * q)
		}
		return s.slot(q)
	},
	plan: func(q int) quadPlan {
		if q == 6 {
			// W8 + σ0(W9), ... with W9..W12 zero is W8..W11.
			return quadPlan{sigma0: hash2Tab.Offset(32)}
		}
		return quadPlan{}
	},
}

// headerBlock2 hashes block 2 of the header for nonce, nonce+1, ...: from
// the job's state after round 3, rounds 4..63 and the intermediate hash.
func headerBlock2(ss []*stream, nonce Register) {
	Comment("Header block 2 from the state after round 3.")
	w3 := GP32()
	for i, s := range ss {
		MOVL(nonce, w3)
		if i > 0 {
			ADDL(U32(i), w3)
		}
		BSWAPL(w3)
		block2Init(s, w3)
	}
	schedule(ss, 5, 4+lead, block2)
	Comment("Rounds 4..15: W+K does not depend on the nonce.")
	for t := 4; t < 16; t += 2 {
		MOVQ(job(gen.OffKW+4*t), X0)
		for _, s := range ss {
			sha256TwoRounds(s)
		}
	}
	rounds(ss, 4, 16, block2, false)
}

// secondHash hashes the digests of block 2 up to round 61, which leaves e
// of round 60, and so H7, in each stream's F lane.
func secondHash(ss []*stream) {
	Comment("Intermediate hash, then the second hash's rounds 0..7.")
	for _, s := range ss {
		intermediateHash(s)
	}
	schedule(ss, 5, 4+lead, hash2)
	Comment("Rounds 8..15: W+K is constant.")
	for t := 8; t < 16; t += 2 {
		MOVQ(kw2Tab.Offset(4*(t-8)), X0)
		for _, s := range ss {
			sha256TwoRounds(s)
		}
	}
	rounds(ss, 4, 16, hash2, true)
}

// toABEF loads a..h from src and stores them at dst in the SHA-NI order:
// ABEF = {F, E, B, A} and CDGH = {H, G, D, C} (lane 0 first).
func toABEF(src, dst Mem) {
	x, y, z := alloc(), alloc(), alloc()
	MOVOU(src, x)            // a b c d
	MOVOU(src.Offset(16), y) // e f g h
	MOVO(y, z)
	SHUFPS(U8(0x11), x, z) // f e b a
	SHUFPS(U8(0xbb), x, y) // h g d c
	MOVO(z, dst)
	MOVO(y, dst.Offset(16))
	release(x)
	release(y)
	release(z)
}

// block2Constants stores the per-job terms of block 2's schedule that do
// not depend on the nonce.
func block2Constants() {
	x, y := alloc(), alloc()
	MOVOU(job(gen.OffWpart+4*16), x)
	MOVO(x, local(offW16))
	MOVO(block2Tab.Offset(16), x)
	SHA256MSG1(block2Tab.Offset(32), x)
	MOVOU(job(gen.OffWpart+4*13), y)
	PADDD(y, x)
	MOVO(x, local(offC20))
	MOVO(block2Tab.Offset(48), x)
	SHA256MSG1(local(offW16), x) // only W16 of that quad is read
	MOVO(x, local(offC28))
	release(x)
	release(y)
}

// block2Init sets s to the job's state after round 3 with W3 added to a and
// e (the nonce enters round 3 only as an addend of T1) and computes block
// 2's W16..W19: W16 and W17 do not depend on the nonce, W18 and W19 only
// through σ0(W3) and W3.
func block2Init(s *stream, w3 GPVirtual) {
	release(s.newest)
	x := alloc()
	MOVD(w3, x)
	PSHUFD(U8(0x11), x, s.abef) // {0, W3, 0, W3}: the E and A lanes
	PADDD(local(offState4), s.abef)
	MOVO(local(offState4+16), s.cdgh)
	PSLLDQ(U8(12), x)                   // {0, 0, 0, W3}
	SHA256MSG1(block2Tab.Offset(32), x) // {0, 0, σ0(W3), W3}
	PADDD(local(offW16), x)
	MOVO(x, s.slot(4))
	s.newest = x
}

// intermediateHash adds the midstate to s (FIPS 180-4 6.2.2 step 4), which
// gives the second hash's W0..W7; it then runs that hash's rounds 0..7 from
// the initial hash value and computes its W16..W19.
func intermediateHash(s *stream) {
	PADDD(local(offMid), s.abef)
	PADDD(local(offMid+16), s.cdgh)
	m0, m1 := alloc(), s.abef
	MOVO(s.abef, m0)
	SHUFPS(U8(0xbb), s.cdgh, m0) // a b c d
	SHUFPS(U8(0x11), s.cdgh, m1) // e f g h
	MOVO(m1, s.slot(1))
	s.abef = alloc()
	MOVO(ivTab, s.abef)
	MOVO(ivTab.Offset(16), s.cdgh)
	quadRounds(s, 0, m0, false)
	quadRounds(s, 1, m1, false)

	// W16..W19: W9..W12 are zero.
	SHA256MSG1(m1, m0)
	SHA256MSG2(hash2Tab.Offset(48), m0)
	MOVO(m0, s.slot(4))
	release(m1)
	release(s.newest)
	s.newest = m0
}

// schedule computes message quads from..to-1 of every stream.
func schedule(ss []*stream, from, to int, w message) {
	for q := from; q < to; q++ {
		for _, s := range ss {
			messageSchedule(s, q, w)
		}
	}
}

// rounds runs quad-rounds from..to-1 of every stream, computing the
// schedule lead quads ahead. With last61 the final quad stops after round
// 61, whose output holds e of round 60 in its F lane.
func rounds(ss []*stream, from, to int, w message, last61 bool) {
	for q := from; q < to; q++ {
		for _, s := range ss {
			quadRounds(s, q, w.quad(s, q), last61 && q == to-1)
			if q+lead < 16 && q >= 4 {
				messageSchedule(s, q+lead, w)
			}
		}
	}
}

// quadRounds runs rounds 4q..4q+3 on s with message quad m, or only the
// first two with half.
func quadRounds(s *stream, q int, m Op, half bool) {
	MOVO(m, X0)
	PADDD(kTab.Offset(16*q), X0)
	sha256TwoRounds(s)
	if !half {
		PSHUFD(U8(0x0e), X0, X0)
		sha256TwoRounds(s)
	}
}

// messageSchedule computes message quad q (W[t..t+3], t = 4q; FIPS 180-4
// 6.2.2 step 1) of s from quads q-4..q-1, keeps it in a register and stores
// it in the ring.
func messageSchedule(s *stream, q int, w message) {
	p := w.plan(q)
	x := alloc()
	switch {
	case p.zeroSigma0:
	case p.sigma0 != nil:
		MOVO(p.sigma0, x)
	default:
		MOVO(w.quad(s, q-4), x)
		SHA256MSG1(w.quad(s, q-3), x) // W[t-16+i] + σ0(W[t-15+i])
	}
	switch {
	case p.withW7:
	case p.zeroSigma0:
		MOVO(s.newest, x)
		PALIGNR(U8(4), w.quad(s, q-2), x) // W[t-7..t-4]
	default:
		y := alloc()
		MOVO(s.newest, y)
		PALIGNR(U8(4), w.quad(s, q-2), y) // W[t-7..t-4]
		PADDD(y, x)
		release(y)
	}
	SHA256MSG2(s.newest, x) // W[t..t+3]
	MOVO(x, s.slot(q))
	release(s.newest)
	s.newest = x
}

// sha256TwoRounds runs rounds t and t+1 (FIPS 180-4 6.2.2 step 3) on s with
// W_t+K_t and W_t+1+K_t+1 in the low lanes of X0.
func sha256TwoRounds(s *stream) {
	SHA256RNDS2(X0, s.abef, s.cdgh)
	s.abef, s.cdgh = s.cdgh, s.abef
}
