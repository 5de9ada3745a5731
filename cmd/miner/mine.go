package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"runtime"
	"strings"
	"time"

	"github.com/klauspost/cpuid/v2"
	"github.com/powmine/powmine/chain"
	"github.com/powmine/powmine/hash/sha256d"
	"github.com/powmine/powmine/miner"
)

// reportInterval is how often per-thread rates are printed.
const reportInterval = 5 * time.Second

// mine starts the miner on the work source the flags name.
func mine(ctx context.Context, o *options, out *reporter) error {
	if !o.benchmark {
		if o.url != "" {
			return usagef("mining on %s is not available in this version; use --benchmark", o.url)
		}
		return usagef("no work source: use --benchmark (solo and pool mining use -o URL)")
	}
	kernel, err := pickKernel(o.kernel, out)
	if err != nil {
		return err
	}
	m, err := miner.New(miner.Config{
		Threads: o.threads,
		Kernel:  kernel,
		CPUs:    o.cpus,
		Logger:  slog.New(slog.NewTextHandler(out.w, nil)),
	})
	if err != nil {
		return usageError{err}
	}
	out.printf("CPU: %s (family %d model %d), features: %s", cpuid.CPU.BrandName, cpuid.CPU.Family, cpuid.CPU.Model, featureList())
	out.printf("kernel %s (%d lanes), %d threads, benchmark mode", kernel.Name(), kernel.Lanes(), m.Threads())

	if o.timeLimit > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, o.timeLimit)
		defer cancel()
	}
	// Workers keep their Ps busy between batches; one P more lets the
	// goroutines that bring work and report shares run at once.
	runtime.GOMAXPROCS(max(runtime.NumCPU(), m.Threads()+1))
	m.SetWork(benchmarkWork())
	done := make(chan error, 1)
	began := time.Now()
	go func() { done <- m.Run(ctx) }()

	tick := time.NewTicker(reportInterval)
	defer tick.Stop()
	for {
		select {
		case err := <-done:
			elapsed := time.Since(began)
			r := m.Rates()
			out.threadRates(r)
			out.final(fmt.Sprintf("Total: %s", formatRate(float64(m.Hashes())/elapsed.Seconds())))
			return err
		case <-tick.C:
			r := m.Rates()
			if !out.quiet {
				out.threadRates(r)
				out.printf("Total: %s", formatRate(r.Total))
			}
		case <-m.Shares():
			// The benchmark target cannot be met; nothing to do.
		}
	}
}

// pickKernel returns the named kernel, or the fastest that passes its
// self-test.
func pickKernel(name string, out *reporter) (*sha256d.Kernel, error) {
	if name == "" {
		k, failures := sha256d.Choose()
		for _, err := range failures {
			out.printf("warning: %v; not using it", err)
		}
		return k, nil
	}
	k, err := sha256d.Lookup(name)
	if err != nil {
		return nil, usageError{err}
	}
	if err := k.SelfTest(); err != nil {
		g := sha256d.Generic()
		out.printf("warning: %v; falling back to %s", err, g.Name())
		return g, nil
	}
	return k, nil
}

// benchmarkWork is a synthetic header with a target no hash meets, so the
// whole run is spent hashing.
func benchmarkWork() *miner.Work {
	h := chain.Header{Version: 0x20000000, Timestamp: uint32(time.Now().Unix()), Bits: 0x1d00ffff}
	for i := range h.MerkleRoot {
		h.PrevBlock[i] = byte(i)
		h.MerkleRoot[i] = byte(255 - i)
	}
	return &miner.Work{ID: "benchmark", Header: h}
}

// featureList names the SIMD features the kernels care about.
func featureList() string {
	var have []string
	for _, f := range []cpuid.FeatureID{cpuid.SSE4, cpuid.SHA, cpuid.AVX2, cpuid.AVX512F, cpuid.AVX512VL, cpuid.AVX512BW} {
		if cpuid.CPU.Supports(f) {
			have = append(have, f.String())
		}
	}
	if len(have) == 0 {
		return "none"
	}
	return strings.Join(have, " ")
}

func listKernels(w io.Writer) {
	for _, k := range sha256d.Kernels() {
		status := "supported"
		if !k.Supported() {
			status = "not supported on this CPU"
		}
		req := strings.Join(k.Requires(), ", ")
		if req == "" {
			req = "-"
		}
		fmt.Fprintf(w, "%-8s %2d lanes  needs %-28s %s\n", k.Name(), k.Lanes(), req, status)
	}
}

// reporter prints cpuminer-style time-stamped lines.
type reporter struct {
	w     io.Writer
	quiet bool
}

func newReporter(w io.Writer, quiet bool) *reporter { return &reporter{w: w, quiet: quiet} }

func (r *reporter) printf(format string, args ...any) {
	if !r.quiet {
		r.final(fmt.Sprintf(format, args...))
	}
}

// final prints even in quiet mode.
func (r *reporter) final(line string) {
	fmt.Fprintf(r.w, "[%s] %s\n", time.Now().Format("2006-01-02 15:04:05"), line)
}

func (r *reporter) threadRates(rates miner.Rates) {
	for i, v := range rates.PerWorker {
		r.printf("CPU #%d: %s", i, formatRate(v))
	}
}

// formatRate prints hashes per second with a unit, as cpuminer does.
func formatRate(hps float64) string {
	units := []string{"H/s", "kH/s", "MH/s", "GH/s", "TH/s"}
	i := 0
	for hps >= 1000 && i < len(units)-1 {
		hps /= 1000
		i++
	}
	return fmt.Sprintf("%.2f %s", hps, units[i])
}
