package main

import (
	"bytes"
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/powmine/powmine/chain"
	"github.com/powmine/powmine/chain/wallet"
	"github.com/powmine/powmine/internal/cli"
)

// TestMain lets tests run the real node in a child process: with
// NODE_TEST_MAIN=1 the test binary runs main with the arguments in
// NODE_TEST_ARGS (one a line) and exits.
func TestMain(m *testing.M) {
	if os.Getenv("NODE_TEST_MAIN") == "1" {
		os.Args = append([]string{"node"}, strings.Split(os.Getenv("NODE_TEST_ARGS"), "\n")...)
		main()
		os.Exit(0)
	}
	os.Exit(m.Run())
}

func TestParseCoins(t *testing.T) {
	for in, want := range map[string]uint64{"1": 1e8, "1.5": 150_000_000, "0.00000001": 1, ".25": 25_000_000, "184467440737": 18446744073700000000} {
		if got, err := parseCoins(in); err != nil || got != want {
			t.Errorf("parseCoins(%q) = %d, %v; want %d", in, got, err, want)
		}
	}
	for _, bad := range []string{"", ".", "-1", "+1", "1.123456789", "1e5", "abc", "184467440738", "1.-5"} {
		if _, err := parseCoins(bad); err == nil {
			t.Errorf("parseCoins(%q) succeeded", bad)
		}
	}
}

func TestUsageErrors(t *testing.T) {
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"--bogus"}, "not defined"},
		{[]string{}, "add --dev"},
		{[]string{"--dev", "--listen", "", "--rpcuser", "u"}, "go together"},
		{[]string{"--dev", "--listen", "/ip4/nope"}, "bad --listen"},
		{[]string{"--dev", "--peer", "/ip4/127.0.0.1/tcp/1"}, "bad --peer"},
		{[]string{"--dev", "--listen", "", "--peer", "/ip4/127.0.0.1/tcp/1/p2p/12D3KooWGa5BNfj4rVv2xcZn35LvTWEsbg6AJzpfcfNWtFYFwcRg"}, "--peer needs networking"},
		{[]string{"--dev", "--listen", "", "--mdns"}, "--mdns needs networking"},
		{[]string{"--dev", "--mdns=maybe"}, "invalid boolean"},
		{[]string{"--dev", "--listen", "", "--slash-reporter", "nope"}, "--slash-reporter"},
		{[]string{"wallet"}, "usage: node wallet"},
		{[]string{"wallet", "new", "extra"}, "unexpected argument"},
		{[]string{"send"}, "--to ADDR is required"},
		{[]string{"send", "--amount", "1"}, "--to ADDR is required"},
		{[]string{"send", "--to", chain.Address{}.String()}, "--amount X is required"},
		{[]string{"send", "--to", "nope", "--amount", "1"}, "bad --to"},
		{[]string{"send", "--to", chain.Address{}.String(), "--amount", "x"}, "bad --amount"},
	} {
		err := run(context.Background(), c.args, strings.NewReader(""), &bytes.Buffer{}, &bytes.Buffer{})
		var ue cli.UsageError
		if !errors.As(err, &ue) || !strings.Contains(err.Error(), c.want) {
			t.Errorf("node %q: %v, want a usage error saying %q", c.args, err, c.want)
		}
	}
}

// runNode runs the real node (main) in a child process with args and
// returns its exit status and standard error.
func runNode(t *testing.T, args ...string) (int, string) {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), "NODE_TEST_MAIN=1", "NODE_TEST_ARGS="+strings.Join(args, "\n"))
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

// TestExitStatus: -h prints the usage and succeeds, as miner -h does, for
// the node and its subcommands; bad flags exit with status 2.
func TestExitStatus(t *testing.T) {
	for _, c := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"-h"}, 0, "-stratum-payout"},
		{[]string{"--help"}, 0, "usage: node --dev"},
		{[]string{"send", "-h"}, 0, "-amount"},
		{[]string{"wallet", "new", "-h"}, 0, "-passphrase-file"},
		{[]string{"--bogus"}, 2, "not defined"},
		{[]string{"--dev", "--listen", "/ip4/nope"}, 2, "bad --listen"},
		{[]string{"send"}, 2, "--to ADDR is required"},
	} {
		code, stderr := runNode(t, c.args...)
		if code != c.code || !strings.Contains(stderr, c.want) {
			t.Errorf("node %q: exit %d, want %d with %q on stderr:\n%s", c.args, code, c.code, c.want, stderr)
		}
	}
}

// TestCorruptWindowFile: a corrupt PPLNS window file in the data directory
// is a runtime error (exit status 1) that names the file, not a usage
// error.
func TestCorruptWindowFile(t *testing.T) {
	dir := t.TempDir()
	window := filepath.Join(dir, poolWindowFile)
	if err := os.WriteFile(window, []byte("not a window file"), 0o600); err != nil {
		t.Fatal(err)
	}
	var payout chain.Address
	payout[0] = 7
	code, stderr := runNode(t, "--dev", "--listen", "", "--datadir", dir, "--rpc", "", "--stratum", "127.0.0.1:0", "--stratum-payout", payout.String())
	if code != 1 || !strings.Contains(stderr, window) {
		t.Fatalf("exit %d, want 1 with an error naming %s:\n%s", code, window, stderr)
	}
}

// TestCorruptBanList: a ban list that does not decode stops the node
// with exit status 1 and an error naming the file.
func TestCorruptBanList(t *testing.T) {
	dir := t.TempDir()
	bans := filepath.Join(dir, "banlist.json")
	if err := os.WriteFile(bans, []byte("not a ban list"), 0o600); err != nil {
		t.Fatal(err)
	}
	code, stderr := runNode(t, "--dev", "--listen", "/ip4/127.0.0.1/tcp/0", "--datadir", dir, "--rpc", "")
	if code != 1 || !strings.Contains(stderr, bans) {
		t.Fatalf("exit %d, want 1 with an error naming %s:\n%s", code, bans, stderr)
	}
}

func TestWalletNewAndAddress(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "w.json")
	var out, errOut bytes.Buffer
	if err := run(context.Background(), []string{"wallet", "new", "--wallet", path}, strings.NewReader("secret\n"), &out, &errOut); err != nil {
		t.Fatal(err)
	}
	addr := strings.TrimSpace(out.String())
	if _, err := chain.ParseAddress(addr); err != nil {
		t.Fatalf("printed address %q: %v", addr, err)
	}
	if fi, err := os.Stat(path); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("key file: %v %v", fi, err)
	}
	out.Reset()
	if err := run(context.Background(), []string{"wallet", "address", "--wallet", path}, nil, &out, &errOut); err != nil || strings.TrimSpace(out.String()) != addr {
		t.Fatalf("wallet address: %q %v", out.String(), err)
	}
	if _, err := wallet.Load(path, []byte("secret")); err != nil {
		t.Fatalf("the passphrase read from stdin does not open the file: %v", err)
	}
	if err := run(context.Background(), []string{"wallet", "new", "--wallet", path}, strings.NewReader("x\n"), &out, &errOut); err == nil {
		t.Fatal("wallet new overwrote an existing key file")
	}
}

// TestWalletTampered replaces the address in a key file with another
// valid one, as an attacker who can write the file would to have coins
// sent to them: "node wallet address" must refuse the file instead of
// printing that address, and "node send" must refuse it before asking the
// node anything.
func TestWalletTampered(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "w.json")
	var out, errOut bytes.Buffer
	if err := run(context.Background(), []string{"wallet", "new", "--wallet", path}, strings.NewReader("secret\n"), &out, &errOut); err != nil {
		t.Fatal(err)
	}
	addr := strings.TrimSpace(out.String())
	other, _, err := chain.GenerateKey(nil)
	if err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(data, []byte(addr)) {
		t.Fatalf("key file does not hold the address %s:\n%s", addr, data)
	}
	data = bytes.Replace(data, []byte(addr), []byte(other.Address().String()), 1)
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}

	out.Reset()
	err = run(context.Background(), []string{"wallet", "address", "--wallet", path}, nil, &out, &errOut)
	if !errors.Is(err, wallet.ErrCorrupt) || out.Len() != 0 {
		t.Fatalf("wallet address of a tampered file: printed %q, error %v; want ErrCorrupt", out.String(), err)
	}
	// No node listens on port 1: send must fail on the file first.
	err = run(context.Background(), []string{"send", "--to", other.Address().String(), "--amount", "1", "--wallet", path,
		"--rpc", "http://127.0.0.1:1", "--rpcuser", "u", "--rpcpassword", "p"}, strings.NewReader("secret\n"), &out, &errOut)
	if !errors.Is(err, wallet.ErrCorrupt) && !errors.Is(err, wallet.ErrBadPassphrase) || out.Len() != 0 {
		t.Fatalf("send from a tampered file: printed %q, error %v; want a wallet error", out.String(), err)
	}
}
