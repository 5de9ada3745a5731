package main

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/powmine/powmine/chain"
)

func TestBadFlagsAreUsageErrors(t *testing.T) {
	for _, c := range []struct {
		name string
		args []string
		want string
	}{
		{"unknown flag", []string{"--bogus"}, "not defined"},
		{"unknown algorithm", []string{"-a", "scrypt"}, "unsupported algorithm"},
		{"zero threads", []string{"-t", "0"}, "thread count"},
		{"negative threads", []string{"--threads=-3"}, "thread count"},
		{"unknown kernel", []string{"--benchmark", "--kernel", "avx9"}, "unknown kernel"},
		{"bad affinity", []string{"--cpu-affinity", "zz"}, "cpu-affinity"},
		{"affinity beyond CPUs", []string{"--cpu-affinity", "0x8000000000000000"}, "names CPU"},
		{"bad URL scheme", []string{"-o", "ftp://x:1"}, "unsupported URL scheme"},
		{"negative time limit", []string{"--time-limit", "-1"}, "time limit"},
		{"stray argument", []string{"--benchmark", "extra"}, "unexpected argument"},
		{"pool without user", []string{"-o", "stratum+tcp://127.0.0.1:3333"}, "needs -u"},
		{"pool without port", []string{"-o", "stratum+tcp://127.0.0.1", "-u", "x"}, "host:port"},
		{"failover to a node", []string{"-o", "stratum+tcp://127.0.0.1:3333", "-o", "http://127.0.0.1:1"}, "pools only"},
		{"bad payout", []string{"-o", "http://127.0.0.1:1", "--coinbase-addr", "nope"}, "coinbase-addr"},
	} {
		t.Run(c.name, func(t *testing.T) {
			var out, errOut bytes.Buffer
			err := run(context.Background(), c.args, &out, &errOut)
			var ue usageError
			if !errors.As(err, &ue) {
				t.Fatalf("got %v, want a usage error (exit status 2)", err)
			}
			if !strings.Contains(err.Error(), c.want) || strings.Contains(err.Error(), "\n") {
				t.Fatalf("error %q: want one line mentioning %q", err, c.want)
			}
		})
	}
}

func TestListKernels(t *testing.T) {
	var out bytes.Buffer
	if err := run(context.Background(), []string{"--list-kernels"}, &out, &out); err != nil {
		t.Fatal(err)
	}
	if !regexp.MustCompile(`(?m)^generic\s+1 lanes .* supported$`).MatchString(out.String()) {
		t.Fatalf("listing lacks the generic kernel:\n%s", out.String())
	}
}

func TestBenchmarkPrintsTotal(t *testing.T) {
	var out bytes.Buffer
	err := run(context.Background(), []string{"--benchmark", "--time-limit", "1", "-t", "2", "--kernel", "generic"}, &out, &out)
	if err != nil {
		t.Fatal(err)
	}
	s := out.String()
	for _, want := range []string{"kernel generic chosen by --kernel (self-test passed)", "kernel generic (1 lanes), 2 threads", "features:", "CPU #1: "} {
		if !strings.Contains(s, want) {
			t.Errorf("output lacks %q:\n%s", want, s)
		}
	}
	if !regexp.MustCompile(`Total: [0-9.]+ [kMG]?H/s\n$`).MatchString(s) {
		t.Fatalf("output does not end with a Total line:\n%s", s)
	}
}

// TestStartSaysWhyKernel starts a benchmark without --kernel (and stops
// it at once): the start-up lines must give every kernel's measured rate.
func TestStartSaysWhyKernel(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	var out bytes.Buffer
	if err := run(ctx, []string{"--benchmark", "-t", "1"}, &out, &out); err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`kernel (\w+) chosen in \d+ ms: (?:\w+ [0-9.]+ MH/s, )*generic [0-9.]+ MH/s\n`).FindStringSubmatch(out.String())
	if m == nil {
		t.Fatalf("no line with the kernels' rates:\n%s", out.String())
	}
	if !strings.Contains(out.String(), "kernel "+m[1]+" (") {
		t.Fatalf("chose %s but mines with another kernel:\n%s", m[1], out.String())
	}
	t.Log(strings.TrimSpace(m[0]))
}

func TestFormatRate(t *testing.T) {
	for in, want := range map[float64]string{0: "0.00 H/s", 999: "999.00 H/s", 21.3e6: "21.30 MH/s", 1.5e9: "1.50 GH/s"} {
		if got := formatRate(in); got != want {
			t.Errorf("formatRate(%g) = %q, want %q", in, got, want)
		}
	}
}

// TestEmbeddedDevChain runs the no -o mode: a dev node in the process,
// mined for a few seconds; blocks must be found, accepted and stored.
func TestEmbeddedDevChain(t *testing.T) {
	dir := t.TempDir()
	var out bytes.Buffer
	args := []string{"--datadir", dir, "--time-limit", "4", "-t", "1", "--coinbase-addr", zeroAddress()}
	if err := run(context.Background(), args, &out, &out); err != nil {
		t.Fatalf("%v\n%s", err, out.String())
	}
	s := out.String()
	if !strings.Contains(s, "embedded dev node: data in "+dir) {
		t.Fatalf("the embedded node did not start:\n%s", s)
	}
	// The portable kernel (purego builds) needs seconds per dev block, more
	// under -race: only the SIMD kernels surely find one in the time limit.
	if strings.Contains(s, "kernel generic") {
		t.Log("portable kernel: not waiting for a block (miner/solo's tests mine blocks with it)")
	} else if !regexp.MustCompile(`accepted: \d+/\d+ \(100\.00%\), .* yay!!! block 1 `).MatchString(s) {
		t.Fatalf("no accepted block in the output:\n%s", s)
	}
	if _, err := os.Stat(filepath.Join(dir, "chain.db")); err != nil {
		t.Fatalf("no store: %v", err)
	}
}

func zeroAddress() string {
	var a chain.Address
	return a.String()
}
