package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/powmine/powmine/chain"
	"github.com/powmine/powmine/chain/daemon"
	"github.com/powmine/powmine/chain/wallet"
	"github.com/powmine/powmine/internal/cli"
	"github.com/powmine/powmine/internal/jsonrpc"
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
		{"solo without payout", []string{"-o", "http://127.0.0.1:1"}, "solo mining needs --coinbase-addr"},
		{"RPC user on a pool", []string{"-o", "stratum+tcp://127.0.0.1:3333", "-u", "x", "--rpc-user", "u"}, "solo mining"},
		{"RPC cookie on a pool", []string{"-o", "stratum+tcp://127.0.0.1:3333", "-u", "x", "--rpc-cookie", "c"}, "solo mining"},
		{"payout on a pool", []string{"-o", "stratum+tcp://127.0.0.1:3333", "-u", "x", "--coinbase-addr", zeroAddress()}, "payout address is -u"},
		{"pool user without -o", []string{"-u", "x"}, "need -o"},
		{"RPC password without -o", []string{"--rpc-password", "x"}, "need -o"},
		{"RPC user twice", []string{"-o", "http://127.0.0.1:1", "--coinbase-addr", zeroAddress(), "-u", "a", "--rpc-user", "b"}, "not both"},
		{"RPC user alone", []string{"-o", "http://127.0.0.1:1", "--coinbase-addr", zeroAddress(), "--rpc-user", "u"}, "go together"},
		{"RPC user and cookie", []string{"-o", "http://127.0.0.1:1", "--coinbase-addr", zeroAddress(), "--rpc-user", "u", "--rpc-password", "p", "--rpc-cookie", "c"}, "not both"},
		{"no RPC cookie", []string{"-o", "http://127.0.0.1:1", "--coinbase-addr", zeroAddress(), "--rpc-cookie", "/nonexistent/.cookie"}, "no RPC credentials"},
	} {
		t.Run(c.name, func(t *testing.T) {
			emptyHome(t)
			var out, errOut bytes.Buffer
			err := run(context.Background(), c.args, &out, &errOut)
			var ue cli.UsageError
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
	m := regexp.MustCompile(`Total: ([0-9.]+) [kMG]?H/s\n$`).FindStringSubmatch(s)
	if m == nil {
		t.Fatalf("output does not end with a Total line:\n%s", s)
	}
	if rate, err := strconv.ParseFloat(m[1], 64); err != nil || !(rate > 0) {
		t.Fatalf("total hashrate %q, want a positive rate:\n%s", m[1], s)
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

// TestDevKeyVersion1: a version 1 dev key (sealed with the dev
// passphrase, as the miner of an earlier version wrote it) is rewritten in
// the current format, same key, and paid; a version 1 file sealed with
// another passphrase is the user's own and is left alone, with an error.
func TestDevKeyVersion1(t *testing.T) {
	const v1Addr = "pm8849f92cb90f7208dc38681c31d521a5b75454fae2c87ed6"
	old, err := os.ReadFile("testdata/dev-key-v1.json")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	path := filepath.Join(dir, devKeyFile)
	if err := os.WriteFile(path, old, 0o600); err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	addr, err := devKey(dir, newReporter(&out, false))
	if err != nil || addr.String() != v1Addr {
		t.Fatalf("devKey on a version 1 dev key: %s, %v; want %s", addr, err, v1Addr)
	}
	if a, err := wallet.ReadAddress(path); err != nil || a != addr {
		t.Fatalf("the dev key was not rewritten in the current format: %s, %v", a, err)
	}
	if k, err := wallet.Load(path, []byte(devKeyPassphrase)); err != nil || k.Address() != addr {
		t.Fatalf("the rewritten dev key: %v", err)
	}

	// Not the dev passphrase: the user's own key, left as it is.
	user, err := os.ReadFile("testdata/user-key-v1.json")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, user, 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := devKey(dir, newReporter(&out, false)); err == nil || !strings.Contains(err.Error(), "--coinbase-addr") {
		t.Fatalf("devKey on the user's version 1 key: %v, want an error that says what to do", err)
	}
	if now, _ := os.ReadFile(path); !bytes.Equal(now, user) {
		t.Fatal("the user's version 1 key file was changed")
	}
}

// TestDevKey runs the zero-configuration main job (no -o, no --datadir,
// no --coinbase-addr) on an empty home directory until it mines a block:
// it must create the dev key in the default data directory (mode 0600,
// sealed with the documented passphrase), print its address and pay it,
// as the node's getbalance then says. A second run reuses the key, and
// --coinbase-addr pays that address instead.
func TestDevKey(t *testing.T) {
	home := emptyHome(t)
	dir := daemon.DefaultDataDir("dev")
	if !strings.HasPrefix(dir, home+string(filepath.Separator)) {
		t.Fatalf("default data directory %s is not under the empty home %s", dir, home)
	}
	path := filepath.Join(dir, devKeyFile)
	out := mineUntil(t, []string{"-t", "1"}, regexp.MustCompile(`yay!!! block 1 `))

	fi, err := os.Stat(path)
	if err != nil {
		t.Fatalf("no dev key: %v\n%s", err, out)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("dev key mode %v, want 0600", fi.Mode().Perm())
	}
	key, err := wallet.Load(path, []byte(devKeyPassphrase))
	if err != nil {
		t.Fatalf("the documented passphrase does not open the dev key: %v", err)
	}
	addr := key.Address()
	for _, want := range []string{"created the dev key " + path, "paying its address " + addr.String(), "solo mining, paying " + addr.String()} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	if !strings.Contains(out, "embedded dev node: data in "+dir) {
		t.Errorf("the embedded node did not say where its data is:\n%s", out)
	}
	if bal, subsidy := devBalance(t, dir, addr); bal < subsidy {
		t.Fatalf("the dev key's balance is %d after a block, want at least the subsidy %d", bal, subsidy)
	}

	keyFile, _ := os.ReadFile(path)
	var again syncBuffer
	if err := run(t.Context(), []string{"-t", "1", "--time-limit", "1"}, &again, &again); err != nil {
		t.Fatalf("second run: %v\n%s", err, again.String())
	}
	if s := again.String(); !strings.Contains(s, "paying "+addr.String()+", the address of the key in "+path) || strings.Contains(s, "created") {
		t.Errorf("second run does not reuse the key:\n%s", s)
	}
	if now, _ := os.ReadFile(path); !bytes.Equal(now, keyFile) {
		t.Error("second run changed the key file")
	}

	var other chain.Address
	other[0] = 0x77
	var paid syncBuffer
	if err := run(t.Context(), []string{"--datadir", dir, "-t", "1", "--time-limit", "1", "--coinbase-addr", other.String()}, &paid, &paid); err != nil {
		t.Fatalf("run with --coinbase-addr: %v\n%s", err, paid.String())
	}
	if s := paid.String(); !strings.Contains(s, "solo mining, paying "+other.String()) || strings.Contains(s, "the key in") {
		t.Errorf("--coinbase-addr is not the payout:\n%s", s)
	}
}

// devBalance serves the dev chain in dir with a node on 127.0.0.1 and
// returns addr's balance as its getbalance RPC answers, in base units,
// and the chain's initial subsidy.
func devBalance(t *testing.T, dir string, addr chain.Address) (balance, subsidy uint64) {
	t.Helper()
	params, err := daemon.DevParams(dir, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	d, err := daemon.New(daemon.Config{Params: params, DataDir: dir, RPCListener: ln, RPCUser: "u", RPCPassword: "p"})
	if err != nil {
		ln.Close()
		t.Fatal(err)
	}
	defer d.Close()
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- d.Run(ctx) }()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("node: %v", err)
		}
	}()
	var coins json.Number
	if err := jsonrpc.NewClient("http://"+ln.Addr().String(), "u", "p").Call(ctx, "getbalance", &coins, addr.String()); err != nil {
		t.Fatalf("getbalance: %v", err)
	}
	var whole, frac uint64
	if n, err := fmt.Sscanf(coins.String(), "%d.%08d", &whole, &frac); n != 2 || err != nil {
		t.Fatalf("getbalance answered %q, want coins with 8 decimals", coins)
	}
	return whole*chain.BaseUnitsPerCoin + frac, params.InitialSubsidy
}

// mineDeadline bounds how long a test mines for a block or a share: the
// portable kernel (purego builds, ~2 MH/s) needs seconds for a dev block,
// and much more under -race on a loaded machine.
const mineDeadline = 5 * time.Minute

// mineUntil runs the miner with args until its output matches want, then
// stops it and returns the output; it fails after mineDeadline.
func mineUntil(t *testing.T, args []string, want *regexp.Regexp) string {
	t.Helper()
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	var out syncBuffer
	done := make(chan error, 1)
	go func() { done <- run(ctx, args, &out, &out) }()
	deadline := time.After(mineDeadline)
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for !want.MatchString(out.String()) {
		select {
		case err := <-done:
			t.Fatalf("the miner stopped (%v) before printing %q:\n%s", err, want, out.String())
		case <-deadline:
			cancel()
			<-done
			t.Fatalf("no %q after %v:\n%s", want, mineDeadline, out.String())
		case <-tick.C:
		}
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("%v\n%s", err, out.String())
	}
	return out.String()
}

// syncBuffer is a bytes.Buffer that a test may read while the miner
// writes to it.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// emptyHome points the user's home and data directories at an empty
// temporary directory, so that no default wallet or data directory of the
// machine is read, and returns it.
func emptyHome(t *testing.T) string {
	home := t.TempDir()
	t.Setenv("HOME", home)
	t.Setenv("XDG_DATA_HOME", "")
	return home
}

func zeroAddress() string {
	var a chain.Address
	return a.String()
}
