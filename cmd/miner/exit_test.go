package main

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/klauspost/cpuid/v2"
	"github.com/powmine/powmine/hash/sha256d"
	"github.com/powmine/powmine/internal/cli"
)

// TestMain lets tests run the real main in a child process.
func TestMain(m *testing.M) {
	if os.Getenv("MINER_TEST_MAIN") == "1" {
		if name := os.Getenv("MINER_TEST_BREAK_KERNEL"); name != "" {
			// A kernel that fails its self-test, which no real kernel
			// does on demand.
			selfTest = func(k *sha256d.Kernel) error {
				if k.Name() == name {
					return fmt.Errorf("sha256d: kernel %s self-test: broken on purpose", name)
				}
				return k.SelfTest()
			}
		}
		os.Args = append([]string{"miner"}, strings.Fields(os.Getenv("MINER_TEST_ARGS"))...)
		main()
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// runMain runs main in a child process and returns its exit status and
// standard error.
func runMain(t *testing.T, args string, env ...string) (int, string) {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), append(env, "MINER_TEST_MAIN=1", "MINER_TEST_ARGS="+args)...)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	err := cmd.Run()
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		return ee.ExitCode(), stderr.String()
	}
	if err != nil {
		t.Fatal(err)
	}
	return 0, stderr.String()
}

func TestExitStatus(t *testing.T) {
	for _, c := range []struct {
		args string
		env  []string
		code int
		want string // in standard error
	}{
		{"--bogus", nil, 2, "not defined"},
		{"-a scrypt", nil, 2, "unsupported algorithm"},
		{"-t -1", nil, 2, "thread count"},
		{"--list-kernels", nil, 0, ""},
		{"--benchmark --time-limit 1 -q --kernel generic", nil, 0, ""},
		{"--benchmark --time-limit 1 --kernel generic", []string{"MINER_TEST_BREAK_KERNEL=generic"}, 2, "kernel generic self-test: broken"},
	} {
		code, stderr := runMain(t, c.args, c.env...)
		if code != c.code {
			t.Errorf("miner %s %v: exit %d, want %d (stderr %q)", c.args, c.env, code, c.code, stderr)
		}
		if c.code == 2 && strings.Count(strings.TrimSpace(stderr), "\n") != 0 {
			t.Errorf("miner %s: want a one-line error, got %q", c.args, stderr)
		}
		if !strings.Contains(stderr, c.want) {
			t.Errorf("miner %s %v: stderr %q lacks %q", c.args, c.env, stderr, c.want)
		}
	}
}

// TestBadFlagsCreateNothing runs the real main with bad flags and an
// empty home directory (and, in the last cases, an absent --datadir): it
// must exit with status 2 and leave the directory empty.
func TestBadFlagsCreateNothing(t *testing.T) {
	for _, args := range []string{
		"--kernel avx9",
		"-t 0",
		"--cpu-affinity zz",
		"-a scrypt",
		"-o ftp://x:1",
		"--coinbase-addr nope",
		"-u x",
		"-o http://127.0.0.1:1",
		"-o stratum+tcp://127.0.0.1:1",
		"--datadir DATADIR --kernel avx9",
		"--datadir DATADIR --threads=-2",
	} {
		home := t.TempDir()
		args := strings.ReplaceAll(args, "DATADIR", filepath.Join(home, "data"))
		code, stderr := runMain(t, args, "HOME="+home, "XDG_DATA_HOME=")
		if code != 2 {
			t.Errorf("miner %s: exit %d, want 2 (stderr %q)", args, code, stderr)
		}
		entries, err := os.ReadDir(home)
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range entries {
			t.Errorf("miner %s created %s in the home directory", args, e.Name())
		}
	}
}

// TestKernelTheCPULacks turns a kernel's CPU feature off, as on a CPU
// without it, and asks for that kernel.
func TestKernelTheCPULacks(t *testing.T) {
	_, err := sha256d.Lookup("avx2")
	switch {
	case errors.Is(err, sha256d.ErrUnknownKernel):
		t.Skip("no avx2 kernel in this build to turn off")
	case err != nil && slices.Contains(strings.Split(os.Getenv("SHA256D_REQUIRE"), ","), "avx2"):
		t.Fatalf("kernel avx2 is required (SHA256D_REQUIRE) but cannot run: %v", err)
	case err != nil:
		t.Skipf("no avx2 to turn off: %v", err)
	}
	cpuid.CPU.Disable(cpuid.AVX2)
	defer cpuid.CPU.Enable(cpuid.AVX2)
	err = run(t.Context(), []string{"--benchmark", "--kernel", "avx2"}, os.Stdout, os.Stderr)
	var ue cli.UsageError
	if !errors.As(err, &ue) || !errors.Is(err, sha256d.ErrUnsupportedKernel) {
		t.Fatalf("got %v, want an unsupported-kernel usage error", err)
	}
	t.Log(err)
}
