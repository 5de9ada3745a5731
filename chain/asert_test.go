package chain

import (
	"bufio"
	"errors"
	"fmt"
	"math"
	"math/big"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// asertVectorParams are the parameters of the specification's test
// vectors: Bitcoin Cash mainnet's, which are Bitcoin's powLimit (2^224-1)
// and 600 s spacing with a half-life of two days.
var asertVectorParams = func() Params {
	p := MainNetParams
	p.Name = "asert-vectors"
	p.DifficultyAlgorithm = DifficultyASERT
	p.ASERTHalfLife = 2 * 24 * time.Hour
	return p
}()

// asertTestParams are ASERT rules for a fast chain: 5 s spacing, a
// half-life of 120 s and the regression-test limit 2^255-1.
var asertTestParams = func() Params {
	p := testParams
	p.Name = "asert-test"
	p.NoRetargeting = false
	p.DifficultyAlgorithm = DifficultyASERT
	p.TargetSpacing = 5 * time.Second
	p.ASERTHalfLife = 2 * time.Minute
	return p
}()

// asertRun is one file of testdata/asert.
type asertRun struct {
	name   string
	anchor ASERTAnchor
	blocks []asertVector
}

// asertVector is one line of a run: a parent's height and time, and the
// bits of its child.
type asertVector struct {
	line   int
	height int64
	time   int64
	bits   uint32
}

// loadASERTRuns reads the aserti3-2d test vectors of the specification,
// testdata/asert/run01 to run12. A missing or unreadable run fails the
// test: it is never skipped.
func loadASERTRuns(t *testing.T) []asertRun {
	t.Helper()
	runs := make([]asertRun, 0, 12)
	for i := 1; i <= 12; i++ {
		runs = append(runs, parseASERTRun(t, filepath.Join("testdata", "asert", fmt.Sprintf("run%02d", i))))
	}
	return runs
}

// parseASERTRun parses a run file: "##   key: value" header lines, a
// "# iteration,height,time,target" comment and "i height time 0xbits"
// lines.
func parseASERTRun(t *testing.T, path string) asertRun {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	run := asertRun{name: filepath.Base(path)}
	var iterations int64 = -1
	seen := map[string]bool{}
	s := bufio.NewScanner(f)
	for n := 1; s.Scan(); n++ {
		line := strings.TrimSpace(s.Text())
		num := func(v string) int64 {
			x, err := strconv.ParseInt(v, 0, 64)
			if err != nil {
				t.Fatalf("%s:%d: %v", path, n, err)
			}
			return x
		}
		switch {
		case line == "" || strings.HasPrefix(line, "# "):
		case strings.HasPrefix(line, "##"):
			key, value, ok := strings.Cut(strings.TrimSpace(strings.TrimPrefix(line, "##")), ":")
			if !ok {
				t.Fatalf("%s:%d: bad header %q", path, n, line)
			}
			value = strings.TrimSpace(value)
			seen[key] = true
			switch key {
			case "anchor height":
				run.anchor.Height = num(value)
			case "anchor ancestor time", "anchor parent time": // the runs use both
				run.anchor.ParentTime = num(value)
			case "anchor nBits":
				run.anchor.Bits = uint32(num(value))
			case "iterations":
				iterations = num(value)
			}
		default:
			f := strings.Fields(line)
			if len(f) != 4 {
				t.Fatalf("%s:%d: want 4 fields, got %q", path, n, line)
			}
			// run10 crosses 2^63-1 in height: read heights as uint64
			// and keep them wrapped into int64, so that differences
			// (all ASERT uses) stay right.
			h, err := strconv.ParseUint(f[1], 10, 64)
			if err != nil {
				t.Fatalf("%s:%d: %v", path, n, err)
			}
			run.blocks = append(run.blocks, asertVector{
				line: n, height: int64(h), time: num(f[2]), bits: uint32(num(f[3])),
			})
		}
	}
	if err := s.Err(); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"anchor height", "anchor nBits", "iterations"} {
		if !seen[k] {
			t.Fatalf("%s: no %q header", path, k)
		}
	}
	if int64(len(run.blocks)) != iterations {
		t.Fatalf("%s: %d vectors, header says %d", path, len(run.blocks), iterations)
	}
	return run
}

// TestASERTVectors checks every vector of the specification's twelve runs,
// through ASERTBits and through HeaderContext.NextBits.
func TestASERTVectors(t *testing.T) {
	total := 0
	for _, run := range loadASERTRuns(t) {
		t.Run(run.name, func(t *testing.T) {
			p := asertVectorParams
			p.ASERTAnchor = run.anchor
			for _, v := range run.blocks {
				got := ASERTBits(&p, run.anchor.Bits, v.time-run.anchor.ParentTime, v.height-run.anchor.Height)
				if got != v.bits {
					t.Fatalf("line %d (height %d, time %d): ASERTBits = %08x, want %08x",
						v.line, v.height, v.time, got, v.bits)
				}
				c := HeaderContext{PrevHeight: v.height, PrevTime: v.time, PrevBits: 0x1d00ffff}
				if got := c.NextBits(&p); got != v.bits {
					t.Fatalf("line %d: NextBits = %08x, want %08x", v.line, got, v.bits)
				}
			}
			total += len(run.blocks)
		})
	}
	if total != 14000 {
		t.Errorf("checked %d vectors, want all 14,000", total)
	}
}

// asertExact returns anchor * 2^((timeDelta - spacing*(heightDelta+1)) /
// halfLife) as a float, with the exponent unrounded.
func asertExact(anchor *big.Int, spacing, halfLife, timeDelta, heightDelta int64) *big.Float {
	x := new(big.Rat).SetFrac64(timeDelta-spacing*(heightDelta+1), halfLife)
	xf, _ := x.Float64()
	whole := math.Floor(xf)
	r := new(big.Float).SetPrec(512).SetInt(anchor)
	r.SetMantExp(r, int(whole))
	return r.Mul(r, big.NewFloat(math.Exp2(xf-whole)))
}

// TestASERTAgainstFormula compares asertTarget with the exact formula on
// random inputs that hit neither the limit nor the floor. The difference
// is the cubic's error (< 0.013%), the exponent's truncation to 2^-16 of
// a half-life (< 0.0011%) and the final shift's truncation (< 1).
func TestASERTAgainstFormula(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	p := asertTestParams
	spacing, halfLife := int64(5), int64(120)
	checked := 0
	for range 5000 {
		anchorBits := BigToCompact(new(big.Int).Rsh(p.PowLimit, 20+rng.UintN(200)))
		heightDelta := rng.Int64N(1_000_000)
		// Up to 20 half-lives off schedule either way.
		timeDelta := spacing*(heightDelta+1) + rng.Int64N(40*halfLife) - 20*halfLife
		anchor := CompactToBig(anchorBits)
		exact := asertExact(anchor, spacing, halfLife, timeDelta, heightDelta)
		if exact.Cmp(new(big.Float).SetInt(p.PowLimit)) >= 0 || exact.Cmp(big.NewFloat(2)) < 0 {
			continue
		}
		checked++
		got := new(big.Float).SetInt(asertTarget(&p, anchorBits, timeDelta, heightDelta))
		diff := new(big.Float).Sub(got, exact)
		tol := new(big.Float).Mul(exact, big.NewFloat(1.45e-4))
		tol.Add(tol, big.NewFloat(1))
		if diff.Abs(diff).Cmp(tol) > 0 {
			t.Fatalf("anchor %08x, timeDelta %d, heightDelta %d: got %.6g, exact %.6g",
				anchorBits, timeDelta, heightDelta, got, exact)
		}
	}
	if checked < 4000 {
		t.Errorf("only %d of 5000 random cases were inside the limits", checked)
	}
}

// TestASERTFactor checks the fixed-point cubic for every fraction: no
// uint64 overflow, increasing, within 0.013% of 2^x, and at x -> 1 not
// above the 2^1 of the next whole shift, so that the target never falls
// as time passes.
func TestASERTFactor(t *testing.T) {
	factor := func(frac uint64) uint64 {
		return 65536 + (195766423245049*frac+971821376*frac*frac+5127*frac*frac*frac+1<<47)>>48
	}
	sum := new(big.Int)
	for _, c := range [][2]uint64{{195766423245049, 1}, {971821376, 2}, {5127, 3}} {
		term := new(big.Int).Exp(big.NewInt(65535), big.NewInt(int64(c[1])), nil)
		sum.Add(sum, term.Mul(term, new(big.Int).SetUint64(c[0])))
	}
	if sum.Add(sum, big.NewInt(1<<47)).BitLen() > 64 {
		t.Fatalf("polynomial at frac 65535 overflows uint64: %v", sum)
	}
	prev := uint64(0)
	for frac := range uint64(65536) {
		f := factor(frac)
		if f < prev {
			t.Fatalf("factor(%d) = %d < factor(%d) = %d", frac, f, frac-1, prev)
		}
		prev = f
		if want := 65536 * math.Exp2(float64(frac)/65536); math.Abs(float64(f)-want)/want > 1.3e-4 {
			t.Fatalf("factor(%d) = %d, 2^x gives %.2f", frac, f, want)
		}
	}
	if prev > 2*65536 {
		t.Errorf("factor(65535) = %d, above 2*65536", prev)
	}
}

func TestASERTHandCases(t *testing.T) {
	p := asertTestParams
	const anchorBits = 0x1c0ffff0
	anchor := CompactToBig(anchorBits)
	const hd = 1000
	onTime := int64(5 * (hd + 1))
	shifted := func(n int) uint32 {
		if n >= 0 {
			return BigToCompact(new(big.Int).Lsh(anchor, uint(n)))
		}
		return BigToCompact(new(big.Int).Rsh(anchor, uint(-n)))
	}
	const minBits = 0x01010000 // target 1
	tests := []struct {
		name                   string
		anchorBits             uint32
		timeDelta, heightDelta int64
		want                   uint32
	}{
		{"anchor's child on time", anchorBits, 5, 0, anchorBits},
		{"on schedule keeps the target", anchorBits, onTime, hd, anchorBits},
		{"one second late eases by 2^(546/65536)", anchorBits, onTime + 1, hd, 0x1c1017bf},
		{"one second early hardens by 2^(-546/65536)", anchorBits, onTime - 1, hd, 0x1c0fe868},
		{"one half-life late doubles", anchorBits, onTime + 120, hd, shifted(1)},
		{"one half-life early halves", anchorBits, onTime - 120, hd, shifted(-1)},
		{"ten half-lives early", anchorBits, onTime - 1200, hd, shifted(-10)},
		{"no time passes for 24 blocks", anchorBits, 5, 24, shifted(-1)},
		{"capped at the limit", anchorBits, onTime + 120*40, hd, p.PowLimitBits},
		{"the limit stays capped", p.PowLimitBits, onTime + 120, hd, p.PowLimitBits},
		{"floored at 1", anchorBits, onTime - 120*300, hd, minBits},
		{"anchor above the limit counts as the limit", 0x2100ffff, 5, 0, p.PowLimitBits},
		{"zero anchor counts as 1", 0, 5, 0, minBits},
		{"negative anchor counts as its magnitude", anchorBits | compactSignBit, 5, 0, anchorBits},
		{"time far future", anchorBits, math.MaxInt64, hd, p.PowLimitBits},
		{"time far past", anchorBits, math.MinInt64, hd, minBits},
		{"height far ahead", anchorBits, 0, math.MaxInt64, minBits},
		{"height MaxInt64-1", anchorBits, math.MaxInt64, math.MaxInt64 - 1, minBits},
		{"negative height (outside the spec)", anchorBits, 0, math.MinInt64, p.PowLimitBits},
		{"both extremes", anchorBits, math.MinInt64, math.MinInt64, p.PowLimitBits},
	}
	for _, tt := range tests {
		if got := ASERTBits(&p, tt.anchorBits, tt.timeDelta, tt.heightDelta); got != tt.want {
			t.Errorf("%s: ASERTBits(%08x, %d, %d) = %08x, want %08x",
				tt.name, tt.anchorBits, tt.timeDelta, tt.heightDelta, got, tt.want)
		}
	}
}

func TestASERTMainnetLimit(t *testing.T) {
	// With the specification's limit, far behind schedule yields its
	// compact form, as the reference's overflow branch does.
	p := asertVectorParams
	if got := ASERTBits(&p, 0x1d00ffff, math.MaxInt64/2, 1); got != 0x1d00ffff {
		t.Errorf("far behind schedule: %08x, want 1d00ffff", got)
	}
	if got := ASERTBits(&p, 0x1802aee8, 600*2+172800*250, 1); got != 0x1d00ffff {
		t.Errorf("250 half-lives behind: %08x, want 1d00ffff", got)
	}
}

func TestASERTHalfLifePanics(t *testing.T) {
	p := asertTestParams
	p.ASERTHalfLife = time.Second - 1
	defer func() {
		if recover() == nil {
			t.Error("ASERTBits with a sub-second half-life did not panic")
		}
	}()
	ASERTBits(&p, 0x1e03ffff, 0, 0)
}

// asertExponentBig is asertExponent computed with math/big only.
func asertExponentBig(timeDelta, heightDelta, spacing, halfLife int64) int64 {
	e := big.NewInt(heightDelta)
	e.Add(e, bigOne)
	e.Mul(e, big.NewInt(spacing))
	e.Sub(big.NewInt(timeDelta), e)
	e.Lsh(e, 16)
	e.Quo(e, big.NewInt(halfLife))
	lim := big.NewInt(asertMaxShift << 16)
	if e.Cmp(lim) > 0 {
		return lim.Int64()
	}
	if e.Cmp(lim.Neg(lim)) < 0 {
		return lim.Int64()
	}
	return e.Int64()
}

func TestASERTExponentPaths(t *testing.T) {
	edges := []int64{0, 1, -1, 5, 599, 600, 601, 1<<40 - 1, 1 << 40, -(1<<40 - 1), -(1 << 40),
		1<<47 - 1, 1 << 47, math.MaxInt64, math.MinInt64, math.MaxInt64 - 1, math.MinInt64 + 1}
	for _, spacing := range []int64{0, 1, 5, 600, 1<<20 - 1, 1 << 20} {
		for _, halfLife := range []int64{1, 120, 172800, math.MaxInt64} {
			for _, td := range edges {
				for _, hd := range edges {
					got := asertExponent(td, hd, spacing, halfLife)
					if want := asertExponentBig(td, hd, spacing, halfLife); got != want {
						t.Fatalf("asertExponent(%d, %d, %d, %d) = %d, want %d", td, hd, spacing, halfLife, got, want)
					}
				}
			}
		}
	}
	// Truncation toward zero, not floor, as in C++.
	if got := asertExponent(-1, 0, 0, 3); got != -65536/3 {
		t.Errorf("asertExponent(-1, 0, 0, 3) = %d, want %d", got, -65536/3)
	}
}

func TestDifficultyAlgorithmString(t *testing.T) {
	for a, want := range map[DifficultyAlgorithm]string{
		DifficultyRetarget: "retarget", DifficultyASERT: "asert", 7: "DifficultyAlgorithm(7)",
	} {
		if got := a.String(); got != want {
			t.Errorf("%d: String = %q, want %q", a, got, want)
		}
	}
	if MainNetParams.DifficultyAlgorithm != DifficultyRetarget {
		t.Errorf("MainNetParams uses %v", MainNetParams.DifficultyAlgorithm)
	}
}

func TestCheckHeaderContextASERTAsserts(t *testing.T) {
	const bits, parentTime = 0x1e03ffff, 1_000_000
	good := asertTestParams
	good.ASERTAnchor = ASERTAnchor{Height: 0, Bits: bits, ParentTime: parentTime - 5}
	h := Header{PrevBlock: Hash{1}, Timestamp: parentTime + 5, Bits: bits}
	c := HeaderContext{PrevHash: Hash{1}, PrevHeight: 0, PrevTime: parentTime, PrevBits: bits, MedianTime: parentTime}
	now := time.Unix(parentTime+5, 0)
	if err := CheckHeaderContext(&h, &good, &c, now); err != nil {
		t.Fatalf("anchor's child on time rejected: %v", err)
	}
	tests := []struct {
		name   string
		change func(p *Params, c *HeaderContext)
	}{
		{"zero half-life", func(p *Params, _ *HeaderContext) { p.ASERTHalfLife = 0 }},
		{"sub-second half-life", func(p *Params, _ *HeaderContext) { p.ASERTHalfLife = time.Millisecond }},
		{"parent below the anchor", func(p *Params, _ *HeaderContext) { p.ASERTAnchor.Height = 1 }},
		{"unknown algorithm", func(p *Params, _ *HeaderContext) { p.DifficultyAlgorithm = 2 }},
		{"retarget without its interval", func(p *Params, _ *HeaderContext) {
			p.DifficultyAlgorithm, p.RetargetInterval = DifficultyRetarget, 0
		}},
		{"negative parent height", func(_ *Params, c *HeaderContext) { c.PrevHeight = -1 }},
	}
	for _, tt := range tests {
		p, cc := good, c
		tt.change(&p, &cc)
		var aerr AssertError
		if err := CheckHeaderContext(&h, &p, &cc, now); !errors.As(err, &aerr) {
			t.Errorf("%s: got %v, want an AssertError", tt.name, err)
		}
	}
	// NoRetargeting needs none of the algorithm's fields.
	p := good
	p.NoRetargeting = true
	p.ASERTHalfLife = 0
	if err := CheckHeaderContext(&h, &p, &c, now); err != nil {
		t.Errorf("NoRetargeting: %v", err)
	}
}

func FuzzASERTBits(f *testing.F) {
	f.Add(uint32(devGenesisBits), int64(5), int64(0))
	f.Add(uint32(0x1d00ffff), int64(math.MaxInt64), int64(math.MaxInt64))
	f.Add(uint32(0x1802aee8), int64(math.MinInt64), int64(math.MinInt64))
	f.Add(uint32(0), int64(-1), int64(-1))
	f.Add(uint32(0xffffffff), int64(1<<47), int64(1<<40))
	f.Add(uint32(0x01010000), int64(174000), int64(1))
	f.Fuzz(func(t *testing.T, anchorBits uint32, timeDelta, heightDelta int64) {
		for _, p := range []*Params{&DevParams, &asertTestParams, &asertVectorParams} {
			bits := ASERTBits(p, anchorBits, timeDelta, heightDelta)
			target, negative, overflow := DecodeCompact(bits)
			if negative || overflow || target.Sign() <= 0 || target.Cmp(p.PowLimit) > 0 {
				t.Fatalf("%s: ASERTBits(%08x, %d, %d) = %08x, outside [1, PowLimit]",
					p.Name, anchorBits, timeDelta, heightDelta, bits)
			}
			if BigToCompact(target) != bits {
				t.Fatalf("%s: %08x is not canonical", p.Name, bits)
			}
			// A later parent never makes the next block harder.
			if timeDelta < math.MaxInt64 {
				later := ASERTBits(p, anchorBits, timeDelta+1, heightDelta)
				if CompactToBig(later).Cmp(target) < 0 {
					t.Fatalf("%s: timeDelta %d -> %08x, +1 s -> %08x", p.Name, timeDelta, bits, later)
				}
			}
			spacing := int64(p.TargetSpacing / time.Second)
			halfLife := int64(p.ASERTHalfLife / time.Second)
			if got, want := asertExponent(timeDelta, heightDelta, spacing, halfLife),
				asertExponentBig(timeDelta, heightDelta, spacing, halfLife); got != want {
				t.Fatalf("asertExponent(%d, %d) = %d, math/big gives %d", timeDelta, heightDelta, got, want)
			}
		}
	})
}
