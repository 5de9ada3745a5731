package sha256d

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"flag"
	"math/rand/v2"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/klauspost/cpuid/v2"
)

// TestMain accepts cpuid's -cpu.disable flag, so that the tests run as on
// a CPU without some features:
//
//	go test ./hash/sha256d -args -cpu.disable=AVX512F,SHA
func TestMain(m *testing.M) {
	cpuid.Flags()
	flag.Parse()
	cpuid.Detect()
	os.Exit(m.Run())
}

// requiredKernels lists the kernels SHA256D_REQUIRE names (comma-separated).
// CI on a machine known to have their features sets it, so that a kernel
// cannot silently go untested there.
func requiredKernels() []string {
	return strings.FieldsFunc(os.Getenv("SHA256D_REQUIRE"), func(r rune) bool { return r == ',' })
}

// requireKernel returns the kernel called name for a test of it. If this
// CPU or build cannot run it, the test is skipped with the reason, or fails
// if SHA256D_REQUIRE names the kernel (and the build compiles kernels in).
func requireKernel(t *testing.T, name string) *Kernel {
	t.Helper()
	k, err := Lookup(name)
	if err == nil {
		return k
	}
	if slices.Contains(requiredKernels(), name) && (asmBuild || !errors.Is(err, ErrUnknownKernel)) {
		t.Fatalf("kernel %s is required (SHA256D_REQUIRE) but cannot run: %v", name, err)
	}
	t.Skipf("kernel %s skipped: %v", name, err)
	return nil
}

// forEachKernel runs f as a subtest for every compiled kernel; requireKernel
// decides what happens to those this CPU cannot run. A required kernel
// that is not compiled in fails the test.
func forEachKernel(t *testing.T, f func(t *testing.T, k *Kernel)) {
	for _, name := range requiredKernels() {
		if _, err := Lookup(name); asmBuild && errors.Is(err, ErrUnknownKernel) {
			t.Errorf("kernel %s is required (SHA256D_REQUIRE) but not compiled in", name)
		}
	}
	for _, k := range Kernels() {
		t.Run(k.Name(), func(t *testing.T) {
			f(t, requireKernel(t, k.Name()))
		})
	}
}

// candidates runs the raw kernel once, to check the early H7 test itself
// before Scan's full comparison hides its mistakes.
func (s *Scanner) candidates(j *Job, start, count uint32) []uint32 {
	c := s.k.scan(&j.st, start, count, &s.cand[0])
	return s.cand[:c]
}

// refHash is sha256d by the standard library, independent of this package.
func refHash(hdr [HeaderSize]byte, nonce uint32) [Size]byte {
	binary.LittleEndian.PutUint32(hdr[76:], nonce)
	first := sha256.Sum256(hdr[:])
	return sha256.Sum256(first[:])
}

// refMeets compares as big-endian numbers after reversing both byte strings.
func refMeets(d, target [Size]byte) bool {
	slices.Reverse(d[:])
	slices.Reverse(target[:])
	return bytes.Compare(d[:], target[:]) <= 0
}

// refCandidates lists the nonces whose final H7, byte-swapped, is at most
// t7: exactly what a raw kernel must report.
func refCandidates(hdr [HeaderSize]byte, t7, start, count uint32) []uint32 {
	var out []uint32
	for i := uint32(0); i < count; i++ {
		d := refHash(hdr, start+i)
		if binary.LittleEndian.Uint32(d[28:]) <= t7 {
			out = append(out, start+i)
		}
	}
	return out
}

func refHits(hdr [HeaderSize]byte, target [Size]byte, start, count uint32) []uint32 {
	var out []uint32
	for i := uint32(0); i < count; i++ {
		if refMeets(refHash(hdr, start+i), target) {
			out = append(out, start+i)
		}
	}
	return out
}

func randomHeader(r *rand.Rand) [HeaderSize]byte {
	var h [HeaderSize]byte
	for i := range h {
		h[i] = byte(r.Uint32())
	}
	return h
}

func targetWithTop(t7 uint32, rest byte) [Size]byte {
	var tg [Size]byte
	for i := range tg {
		tg[i] = rest
	}
	binary.LittleEndian.PutUint32(tg[28:], t7)
	return tg
}

func TestDoubleSumGenesis(t *testing.T) {
	d := DoubleSum(genesisHeader[:])
	slices.Reverse(d[:])
	const want = "000000000019d6689c085ae165831e934ff763ae46a2a6c172b3f1b60a8ce26f"
	if got := hex.EncodeToString(d[:]); got != want {
		t.Fatalf("genesis hash %s, want %s", got, want)
	}
}

func TestSumMatchesStdlib(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for n := range 300 {
		msg := make([]byte, n)
		for i := range msg {
			msg[i] = byte(r.Uint32())
		}
		if Sum(msg) != sha256.Sum256(msg) {
			t.Fatalf("Sum differs from crypto/sha256 at length %d", n)
		}
		first := sha256.Sum256(msg)
		if DoubleSum(msg) != sha256.Sum256(first[:]) {
			t.Fatalf("DoubleSum differs at length %d", n)
		}
	}
}

func TestJobHashMatchesStdlib(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	for range 200 {
		hdr := randomHeader(r)
		var tg [Size]byte
		j := NewJob(&hdr, &tg)
		nonce := r.Uint32()
		if got, want := j.Hash(nonce), refHash(hdr, nonce); got != want {
			t.Fatalf("Job.Hash(%d) = %x, want %x", nonce, got, want)
		}
	}
}

func TestHashMeetsTarget(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	for range 2000 {
		var d, tg [Size]byte
		for i := range d {
			d[i], tg[i] = byte(r.Uint32()), byte(r.Uint32())
		}
		// Make the high bytes often equal, so the lower words decide.
		for i := Size - 1; i > Size-1-int(r.Uint32()%Size); i-- {
			tg[i] = d[i]
		}
		if got, want := HashMeetsTarget(&d, &tg), refMeets(d, tg); got != want {
			t.Fatalf("HashMeetsTarget(%x, %x) = %v, want %v", d, tg, got, want)
		}
	}
	var d [Size]byte
	if !HashMeetsTarget(&d, &d) {
		t.Fatal("a hash equal to the target must meet it")
	}
}

func TestGenericIsRegistered(t *testing.T) {
	k, err := Lookup("generic")
	if err != nil || k != Generic() {
		t.Fatalf("Lookup(generic) = %v, %v", k, err)
	}
	if _, err := Lookup("no-such-kernel"); err == nil {
		t.Fatal("Lookup of an unknown kernel succeeded")
	}
}

func TestKernelGenesisEveryLane(t *testing.T) {
	forEachKernel(t, func(t *testing.T, k *Kernel) {
		if err := k.SelfTest(); err != nil {
			t.Fatal(err)
		}
		var tg [Size]byte
		tg[26], tg[27] = 0xff, 0xff
		j := NewJob(&genesisHeader, &tg)
		s := NewScanner(k)
		for _, span := range []uint32{1, 3, 2 * k.stride, 4096, 10000} {
			for lane := uint32(0); lane < min(span, 2*k.stride+1); lane++ {
				hits := s.Scan(j, genesisNonce-lane, uint64(span), nil)
				if !slices.Equal(hits, []uint32{genesisNonce}) {
					t.Fatalf("span %d lane %d: hits %v", span, lane, hits)
				}
			}
		}
	})
}

// TestKernelCandidates checks the raw early-exit test of every kernel
// against the standard library: the H7 comparison, including the signed /
// unsigned boundary and equality.
func TestKernelCandidates(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 8))
	forEachKernel(t, func(t *testing.T, k *Kernel) {
		s := NewScanner(k)
		t7s := []uint32{0x0fffffff, 0x7fffffff, 0x80000000, 0xfffffffe, 0xffffffff, 0x00ffffff}
		for i := range 24 {
			hdr := randomHeader(r)
			t7 := t7s[i%len(t7s)]
			start := r.Uint32()
			if i%4 == 0 {
				start = 0xffffffff - uint32(i)*k.stride/2 // wrap inside the batch
			}
			count := k.stride * uint32(1+r.IntN(40))
			tg := targetWithTop(t7, 0)
			j := NewJob(&hdr, &tg)
			got := slices.Clone(s.candidates(j, start, count))
			want := refCandidates(hdr, t7, start, count)
			slices.Sort(got)
			slices.Sort(want)
			if !slices.Equal(got, want) {
				t.Fatalf("t7 %#x start %#x count %d: candidates %v, want %v", t7, start, count, got, want)
			}
		}
	})
}

// TestKernelCandidatesEqualTop puts t7 exactly at a nonce's H7, in every
// lane position, so the kernel's <= must include it and exclude H7 - 1.
func TestKernelCandidatesEqualTop(t *testing.T) {
	r := rand.New(rand.NewPCG(9, 10))
	forEachKernel(t, func(t *testing.T, k *Kernel) {
		s := NewScanner(k)
		for lane := uint32(0); lane < k.stride; lane++ {
			hdr := randomHeader(r)
			start := r.Uint32()
			d := refHash(hdr, start+lane)
			top := binary.LittleEndian.Uint32(d[28:])
			for _, t7 := range []uint32{top, top - 1} {
				if top == 0 && t7 == top-1 {
					continue
				}
				tg := targetWithTop(t7, 0)
				j := NewJob(&hdr, &tg)
				got := slices.Contains(s.candidates(j, start, k.stride), start+lane)
				if want := t7 == top; got != want {
					t.Fatalf("lane %d H7 %#x t7 %#x: candidate %v, want %v", lane, top, t7, got, want)
				}
			}
		}
	})
}

// TestScanMatchesReference compares full hits (after Scan's 256-bit check)
// with the standard library, for targets whose top word ties.
func TestScanMatchesReference(t *testing.T) {
	r := rand.New(rand.NewPCG(11, 12))
	forEachKernel(t, func(t *testing.T, k *Kernel) {
		s := NewScanner(k)
		for i := range 16 {
			hdr := randomHeader(r)
			start := r.Uint32()
			if i%3 == 0 {
				start = 0xfffffff0
			}
			count := uint32(1 + r.IntN(700))
			d := refHash(hdr, start+uint32(r.IntN(int(count))))
			tg := targetWithTop(binary.LittleEndian.Uint32(d[28:]), byte(r.Uint32()))
			if i%2 == 0 {
				tg = targetWithTop(0x3fffffff, 0xff)
			}
			j := NewJob(&hdr, &tg)
			got := s.Scan(j, start, uint64(count), nil)
			want := refHits(hdr, tg, start, count)
			if !slices.Equal(got, want) {
				t.Fatalf("start %#x count %d: hits %v, want %v", start, count, got, want)
			}
		}
	})
}

func TestScanZeroAllocs(t *testing.T) {
	forEachKernel(t, func(t *testing.T, k *Kernel) {
		var tg [Size]byte
		j := NewJob(&genesisHeader, &tg)
		s := NewScanner(k)
		hits := make([]uint32, 0, 8)
		allocs := testing.AllocsPerRun(20, func() {
			hits = s.Scan(j, 1000, batchSize*2+5, hits[:0])
		})
		if allocs != 0 {
			t.Fatalf("Scan allocates %.1f times per call", allocs)
		}
	})
}

// TestStep checks the call sizes the miner, SelfTest and Choose use: whole
// kernel iterations, never more than a raw call takes.
func TestStep(t *testing.T) {
	for _, k := range Kernels() {
		step, batch, lanes := k.Step(), k.Batch(), k.Lanes()
		if step <= 0 || step > batch || batch > batchSize || step%lanes != 0 || batch%lanes != 0 {
			t.Errorf("kernel %s: step %d, batch %d, %d lanes", k.Name(), step, batch, lanes)
		}
	}
}

func TestChoose(t *testing.T) {
	c := Choose()
	for _, err := range c.Failures {
		t.Errorf("self-test failure: %v", err)
	}
	var want, got []string
	for _, k := range Kernels() {
		if k.Supported() {
			want = append(want, k.Name())
		}
	}
	chosen := -1.0
	for _, r := range c.Rates {
		got = append(got, r.Kernel.Name())
		if r.HashesPerSecond <= 0 {
			t.Errorf("kernel %s measured at %g H/s", r.Kernel.Name(), r.HashesPerSecond)
		}
		if r.Kernel == c.Kernel {
			chosen = r.HashesPerSecond
		}
	}
	if !slices.Equal(got, want) {
		t.Fatalf("measured kernels %v, want the supported ones %v", got, want)
	}
	for _, r := range c.Rates {
		if r.HashesPerSecond > chosen*tieMargin {
			t.Errorf("chose %s (%.0f H/s), but %s measured %.0f H/s", c.Kernel.Name(), chosen, r.Kernel.Name(), r.HashesPerSecond)
		}
	}
	t.Logf("chose %s in %v: %s", c.Kernel.Name(), c.Elapsed, c)
}

// chooseBudget is the most CPU time Choose may take, self-tests and
// timing together (issue 10: the whole choice under 100 ms).
const chooseBudget = 100 * time.Millisecond

// TestChooseCPUBudget checks Choose's cost against chooseBudget. It
// measures the process's CPU time, not the wall time, which on a machine
// shared with other work also counts the turns of others; the best of
// three calls leaves out a garbage collection that falls into one.
func TestChooseCPUBudget(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector slows the portable kernel's self-test several times")
	}
	best := time.Duration(1<<63 - 1)
	for range 3 {
		c0 := processCPU()
		c := Choose()
		cpu := processCPU() - c0
		if cpu == 0 {
			t.Skip("no CPU time measured on this system")
		}
		t.Logf("chose %s: %v of CPU time, %v of wall time", c.Kernel.Name(), cpu, c.Elapsed)
		best = min(best, cpu)
	}
	if best > chooseBudget {
		t.Fatalf("Choose took %v of CPU time, over its budget of %v", best, chooseBudget)
	}
}

// TestFastest checks the pick among measured rates, preferred kernels
// first: the fastest wins unless a preferred one is within 3% of it.
func TestFastest(t *testing.T) {
	a, b, c := &Kernel{name: "a"}, &Kernel{name: "b"}, &Kernel{name: "c"}
	for _, tc := range []struct {
		name  string
		rates []Rate
		want  *Kernel
	}{
		{"none", nil, nil},
		{"one", []Rate{{a, 1}}, a},
		{"preferred is fastest", []Rate{{a, 28e6}, {b, 15e6}, {c, 1.8e6}}, a},
		{"later is fastest", []Rate{{a, 13e6}, {b, 15e6}, {c, 1.8e6}}, b},
		{"near tie keeps preferred", []Rate{{a, 10e6}, {b, 10.2e6}}, a},
		{"last is fastest", []Rate{{a, 10e6}, {b, 10.2e6}, {c, 11e6}}, c},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := fastest(tc.rates); got != tc.want {
				t.Fatalf("got %v, want %v", got, tc.want)
			}
		})
	}
}

func TestChoiceString(t *testing.T) {
	c := Choice{Rates: []Rate{{&Kernel{name: "avx512"}, 57.14e6}, {generic, 1.8e6}}}
	if got, want := c.String(), "avx512 57.1 MH/s, generic 1.8 MH/s"; got != want {
		t.Fatalf("got %q, want %q", got, want)
	}
}

// FuzzScan compares every supported kernel with the standard library over
// random headers, start nonces and target top words.
func FuzzScan(f *testing.F) {
	f.Add(genesisHeader[:], uint32(genesisNonce-5), uint32(0x0fffffff), uint16(40))
	f.Add(genesisHeader[:], uint32(0xffffffe0), uint32(0x7fffffff), uint16(64))
	f.Add(make([]byte, HeaderSize), uint32(0), uint32(0xffffffff), uint16(33))
	f.Fuzz(func(t *testing.T, hdrBytes []byte, start, t7 uint32, count uint16) {
		var hdr [HeaderSize]byte
		copy(hdr[:], hdrBytes)
		n := uint32(count % 200)
		tg := targetWithTop(t7, 0x80)
		j := NewJob(&hdr, &tg)
		want := refHits(hdr, tg, start, n)
		for _, k := range Kernels() {
			if !k.Supported() {
				continue
			}
			got := NewScanner(k).Scan(j, start, uint64(n), nil)
			if !slices.Equal(got, want) {
				t.Fatalf("kernel %s start %#x count %d t7 %#x: hits %v, want %v", k.Name(), start, n, t7, got, want)
			}
		}
	})
}
