package sha256d

import (
	"fmt"
	"strings"
	"time"
)

// Choose's timing: every kernel that passed its self-test runs for one slot
// per round, the kernels taking turns within a round, and keeps its best
// round. A neighbour that slows the core for a while then costs each kernel
// a few rounds rather than one kernel its whole measurement.
const (
	chooseRounds = 10
	chooseSlot   = 500 * time.Microsecond
)

// tieMargin is how much faster than a preferred kernel (lower rank) another
// must measure to be chosen over it.
const tieMargin = 1.03

// Rate is one kernel's speed as Choose measured it.
type Rate struct {
	Kernel *Kernel
	// HashesPerSecond is the rate of the kernel's best round.
	HashesPerSecond float64
}

// Choice is what Choose picked and why.
type Choice struct {
	// Kernel is the chosen kernel: the portable one if no other passed its
	// self-test.
	Kernel *Kernel
	// Rates holds every kernel that passed its self-test, most preferred
	// first.
	Rates []Rate
	// Failures holds the self-test errors of the kernels left out.
	Failures []error
	// Elapsed is how long the choice took, self-tests included.
	Elapsed time.Duration
}

// String lists the measured rates, such as "avx512 57.1 MH/s, shani 24.8
// MH/s, avx2 12.9 MH/s, generic 1.8 MH/s".
func (c Choice) String() string {
	parts := make([]string, len(c.Rates))
	for i, r := range c.Rates {
		parts[i] = fmt.Sprintf("%s %.1f MH/s", r.Kernel.name, r.HashesPerSecond/1e6)
	}
	return strings.Join(parts, ", ")
}

// Choose picks the fastest kernel on this CPU among the supported kernels
// that pass their self-test. It times them in ten interleaved rounds (each
// kernel in turn runs Step-sized calls for half a millisecond) and compares
// each kernel's best round; a kernel must measure 3% faster than a
// preferred one to win. The whole choice takes about 40 ms of CPU time on
// a machine with four kernels. Kernels that fail the self-test are left
// out and their errors returned, so that the caller can warn.
func Choose() Choice {
	t0 := time.Now()
	c := Choice{Kernel: generic}
	var zero [Size]byte
	j := NewJob(&genesisHeader, &zero)
	var scanners []*Scanner
	for _, k := range kernels {
		if !k.Supported() {
			continue
		}
		if err := k.SelfTest(); err != nil {
			c.Failures = append(c.Failures, err)
			continue
		}
		s := NewScanner(k)
		s.Scan(j, 0, uint64(k.Step()), nil) // warm up
		scanners = append(scanners, s)
		c.Rates = append(c.Rates, Rate{Kernel: k})
	}
	var start uint32
	for range chooseRounds {
		for i, s := range scanners {
			c.Rates[i].HashesPerSecond = max(c.Rates[i].HashesPerSecond, timeSlot(s, j, &start))
		}
	}
	if k := fastest(c.Rates); k != nil {
		c.Kernel = k
	}
	c.Elapsed = time.Since(t0)
	return c
}

// timeSlot scans Step-sized calls from *start for at least chooseSlot,
// advancing *start, and returns the rate in hashes per second.
func timeSlot(s *Scanner, j *Job, start *uint32) float64 {
	step := s.k.Step()
	n := 0
	t0 := time.Now()
	for {
		s.Scan(j, *start, uint64(step), nil)
		*start += uint32(step)
		n += step
		if el := time.Since(t0); el >= chooseSlot {
			return float64(n) / el.Seconds()
		}
	}
}

// fastest returns the kernel with the highest rate, preferring the earlier
// of two within tieMargin; rates is in order of preference. It returns nil
// for no rates.
func fastest(rates []Rate) *Kernel {
	var best *Rate
	for i := range rates {
		if best == nil || rates[i].HashesPerSecond > best.HashesPerSecond*tieMargin {
			best = &rates[i]
		}
	}
	if best == nil {
		return nil
	}
	return best.Kernel
}
