package main

import (
	"bytes"
	"context"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/powmine/powmine/chain"
	"github.com/powmine/powmine/chain/daemon"
	"github.com/powmine/powmine/internal/jsonrpc"
	"github.com/powmine/powmine/miner"
	"github.com/powmine/powmine/miner/solo"
)

// TestWalletSendMined is the user's path end to end: create a wallet,
// mine to it, send coins with "node send", and see the transfer mined and
// the balances change.
func TestWalletSendMined(t *testing.T) {
	dir := t.TempDir()
	walletPath := filepath.Join(dir, "w.json")
	passFile := filepath.Join(dir, "pass")
	os.WriteFile(passFile, []byte("correct horse\n"), 0o600)
	var out, errOut bytes.Buffer
	if err := run(context.Background(), []string{"wallet", "new", "--wallet", walletPath, "--passphrase-file", passFile}, nil, &out, &errOut); err != nil {
		t.Fatal(err)
	}
	from, err := chain.ParseAddress(strings.TrimSpace(out.String()))
	if err != nil {
		t.Fatal(err)
	}

	// A node with a cookie in its data directory, and a solo miner on it.
	params, err := daemon.DevParams(dir, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	d, err := daemon.New(daemon.Config{Params: params, DataDir: dir, RPCListener: ln})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	nodeDone := make(chan error, 1)
	go func() { nodeDone <- d.Run(ctx) }()
	defer func() { cancel(); <-nodeDone; d.Close() }()
	url := "http://" + ln.Addr().String()
	user, pass, err := jsonrpc.ReadCookie(filepath.Join(dir, ".cookie"))
	if err != nil {
		t.Fatal(err)
	}
	m, err := miner.New(miner.Config{Threads: 1})
	if err != nil {
		t.Fatal(err)
	}
	go m.Run(ctx)
	go solo.Run(ctx, solo.Config{Client: jsonrpc.NewClient(url, user, pass), Payout: from, Miner: m})

	waitFor := func(what string, cond func() bool) {
		t.Helper()
		for deadline := time.Now().Add(120 * time.Second); !cond(); time.Sleep(20 * time.Millisecond) {
			if time.Now().After(deadline) {
				t.Fatalf("timed out waiting for %s", what)
			}
		}
	}
	waitFor("a mined reward", func() bool { return d.Node().Account(from).Balance >= params.InitialSubsidy })

	var to chain.Address
	to[19] = 0x99
	out.Reset()
	args := []string{"send", "--to", to.String(), "--amount", "1.25", "--fee", "0.001", "--wallet", walletPath,
		"--passphrase-file", passFile, "--rpc", url, "--datadir", dir}
	if err := run(ctx, args, nil, &out, &errOut); err != nil {
		t.Fatalf("send: %v\n%s", err, errOut.String())
	}
	txid := strings.TrimSpace(out.String())
	if _, err := chain.NewHashFromStr(txid); err != nil {
		t.Fatalf("send printed %q, not a txid", txid)
	}
	waitFor("the transfer mined", func() bool { return d.Node().Account(to).Balance == 125_000_000 })
	if seq := d.Node().Account(from).Sequence; seq != 1 {
		t.Fatalf("sender's sequence %d after one transfer, want 1", seq)
	}

	// A wrong passphrase is refused before anything is sent.
	os.WriteFile(passFile, []byte("wrong\n"), 0o600)
	if err := run(ctx, args, nil, &out, &errOut); err == nil {
		t.Fatal("send with a wrong passphrase succeeded")
	}
}
