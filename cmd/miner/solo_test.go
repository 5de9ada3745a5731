package main

import (
	"context"
	"net"
	"path/filepath"
	"regexp"
	"testing"
	"time"

	"github.com/powmine/powmine/chain"
	"github.com/powmine/powmine/chain/daemon"
)

// TestSoloCredentials mines solo on a node with each way of giving its
// RPC credentials: the cookie file, --rpc-user and --rpc-password, and
// cpuminer's -u and -p. Each run must get a block accepted, paid to
// --coinbase-addr.
func TestSoloCredentials(t *testing.T) {
	params, err := daemon.DevParams("", time.Now())
	if err != nil {
		t.Fatal(err)
	}
	cookieDir := t.TempDir()
	cookieURL := startNode(t, daemon.Config{Params: params, DataDir: cookieDir})
	userURL := startNode(t, daemon.Config{Params: params, RPCUser: "alice", RPCPassword: "s3cret"})
	var payout chain.Address
	payout[0] = 0x42
	for _, c := range []struct {
		name string
		args []string
	}{
		{"cookie", []string{"-o", cookieURL, "--rpc-cookie", filepath.Join(cookieDir, ".cookie")}},
		{"rpc flags", []string{"-o", userURL, "--rpc-user", "alice", "--rpc-password", "s3cret"}},
		{"cpuminer flags", []string{"-o", userURL, "-u", "alice", "-p", "s3cret"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			args := append(c.args, "--coinbase-addr", payout.String(), "-t", "1")
			out := mineUntil(t, args, regexp.MustCompile(`accepted: 1/1 \(100\.00%\), .* yay!!! block \d+ `))
			if !regexp.MustCompile(`solo mining, paying ` + payout.String()).MatchString(out) {
				t.Errorf("the payout is not --coinbase-addr:\n%s", out)
			}
		})
	}
}

// startNode runs a node with its RPC on a free loopback port until the
// test ends, and returns the RPC URL.
func startNode(t *testing.T, cfg daemon.Config) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	cfg.RPCListener = ln
	d, err := daemon.New(cfg)
	if err != nil {
		ln.Close()
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- d.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Error(err)
		}
		d.Close()
	})
	return "http://" + ln.Addr().String()
}
