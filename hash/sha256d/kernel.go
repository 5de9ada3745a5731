package sha256d

import (
	"errors"
	"fmt"
	"slices"
	"strings"
)

// batchSize is the most nonces one call of a raw kernel scans. Assembly is
// not preemptible, so calls stay short (tens of microseconds).
const batchSize = 4096

// scanFunc is the signature every raw kernel shares: it scans count nonces
// from start (wrapping at 2^32), count being a multiple of the kernel's
// stride and at most batchSize, writes every candidate nonce (byte-swapped
// final H7 <= st.t7) to cand and returns how many it wrote.
type scanFunc func(st *jobState, start, count uint32, cand *uint32) uint32

// Kernel is one implementation of the nonce search.
type Kernel struct {
	name     string
	rank     int      // preference among equally fast kernels; lower first
	stride   uint32   // nonces per iteration; raw calls scan multiples of it
	features []string // CPU features it needs, for messages
	usable   func() bool
	scan     scanFunc
}

// Name returns the kernel's name as used by --kernel.
func (k *Kernel) Name() string { return k.name }

// Lanes returns how many nonces the kernel hashes per iteration.
func (k *Kernel) Lanes() int { return int(k.stride) }

// Batch returns the largest nonce count, at most 4096, that the kernel
// scans in whole iterations: Scan calls of multiples of it never fall back
// to the portable kernel for a remainder.
func (k *Kernel) Batch() int { return int(batchSize / k.stride * k.stride) }

// stepIters is the number of kernel iterations in one Step.
const stepIters = 128

// Step returns the nonce count the miner scans per call, between two checks
// for new work: 128 kernel iterations, at most Batch, which is tens of
// microseconds for every kernel. SelfTest checks a call of this size and
// Choose times calls of this size.
func (k *Kernel) Step() int { return min(int(k.stride)*stepIters, k.Batch()) }

// Requires returns the CPU features the kernel needs.
func (k *Kernel) Requires() []string { return slices.Clone(k.features) }

// Supported reports whether this CPU (and this build) can run the kernel. It
// is evaluated on every call, so disabling a feature in cpuid is seen.
func (k *Kernel) Supported() bool { return k.usable() }

var kernels []*Kernel

// register adds a kernel to the registry; called from init functions.
func register(k *Kernel) {
	kernels = append(kernels, k)
	slices.SortFunc(kernels, func(a, b *Kernel) int { return a.rank - b.rank })
}

// generic is the portable kernel, always compiled and always supported.
var generic = &Kernel{
	name:   "generic",
	rank:   100,
	stride: 1,
	usable: func() bool { return true },
	scan:   scanGeneric,
}

func init() { register(generic) }

// Generic returns the portable kernel, the reference for all others.
func Generic() *Kernel { return generic }

// Kernels returns every kernel compiled into this build, supported or not,
// most preferred first.
func Kernels() []*Kernel { return slices.Clone(kernels) }

// ErrUnknownKernel is returned by Lookup for a name no kernel has.
var ErrUnknownKernel = errors.New("sha256d: unknown kernel")

// ErrUnsupportedKernel is returned by Lookup for a kernel this CPU cannot run.
var ErrUnsupportedKernel = errors.New("sha256d: kernel not supported on this CPU")

// Lookup returns the kernel called name if this CPU supports it.
func Lookup(name string) (*Kernel, error) {
	for _, k := range kernels {
		if k.name != name {
			continue
		}
		if !k.Supported() {
			return nil, fmt.Errorf("%w: %s needs %s", ErrUnsupportedKernel, name, strings.Join(k.features, ", "))
		}
		return k, nil
	}
	var names []string
	for _, k := range kernels {
		names = append(names, k.name)
	}
	return nil, fmt.Errorf("%w %q (have %s)", ErrUnknownKernel, name, strings.Join(names, ", "))
}

// Scanner runs one kernel over jobs. It owns the candidate buffer, so it
// makes no allocation per scan; use one Scanner per goroutine.
type Scanner struct {
	k    *Kernel
	cand [batchSize]uint32
}

// NewScanner returns a scanner that runs k.
func NewScanner(k *Kernel) *Scanner { return &Scanner{k: k} }

// MaxScan is the largest count Scan accepts: the whole 32-bit nonce space.
const MaxScan = 1 << 32

// Scan hashes the nonces start, start+1, ... (count of them, at most
// MaxScan, wrapping from 0xffffffff to 0) and appends to hits every nonce
// whose sha256d is at or below the job's target, in increasing scan order.
// It allocates only if hits must grow.
func (s *Scanner) Scan(j *Job, start uint32, count uint64, hits []uint32) []uint32 {
	count = min(count, MaxScan)
	for count > 0 {
		n := uint32(min(count, batchSize))
		scan := s.k.scan
		if r := n % s.k.stride; r != 0 {
			if n -= r; n == 0 {
				n, scan = uint32(count), scanGeneric
			}
		}
		c := scan(&j.st, start, n, &s.cand[0])
		for _, nonce := range s.cand[:c] {
			if j.Meets(nonce) {
				hits = append(hits, nonce)
			}
		}
		start += n
		count -= uint64(n)
	}
	return hits
}
