package main

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/powmine/powmine/chain"
	"github.com/powmine/powmine/chain/wallet"
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
	for _, args := range [][]string{
		{"--bogus"},
		{},                          // no --dev
		{"--dev", "--rpcuser", "u"}, // user without password
		{"wallet"},                  // no subcommand
		{"wallet", "new", "extra"},  // stray argument
		{"send", "--to", "nope"},    // bad address
		{"send", "--to", chain.Address{}.String(), "--amount", "x"},
	} {
		err := run(context.Background(), args, strings.NewReader(""), &bytes.Buffer{}, &bytes.Buffer{})
		var ue usageError
		if !errors.As(err, &ue) {
			t.Errorf("node %q: %v, want a usage error", args, err)
		}
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
