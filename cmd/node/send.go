package main

import (
	"context"
	"encoding/hex"
	"flag"
	"fmt"
	"io"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/powmine/powmine/chain"
	"github.com/powmine/powmine/chain/daemon"
	"github.com/powmine/powmine/chain/wallet"
	"github.com/powmine/powmine/internal/cli"
	"github.com/powmine/powmine/internal/jsonrpc"
)

// sendCmd signs a transfer with the wallet's key and submits it.
func sendCmd(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("node send", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	to := fs.String("to", "", "recipient address")
	amount := fs.String("amount", "", "amount in coins, e.g. 1.5")
	fee := fs.String("fee", "0.0001", "fee in coins")
	path := fs.String("wallet", daemon.DefaultWallet(), "key file")
	passFile := fs.String("passphrase-file", "", "read the passphrase from this file (default: one line on standard input)")
	url := fs.String("rpc", "http://127.0.0.1:18443", "node RPC URL")
	user := fs.String("rpcuser", "", "RPC user (default: the cookie in --datadir)")
	pass := fs.String("rpcpassword", "", "RPC password")
	dataDir := fs.String("datadir", daemon.DefaultDataDir("dev"), "node data directory holding the RPC cookie")
	if err := parse(fs, args, stderr); err != nil {
		return err
	}
	if *to == "" {
		return cli.Usagef("--to ADDR is required: the recipient's address")
	}
	if *amount == "" {
		return cli.Usagef("--amount X is required: the coins to send, e.g. 1.5")
	}
	recipient, err := chain.ParseAddress(*to)
	if err != nil {
		return cli.Usagef("bad --to: %v", err)
	}
	units, err := parseCoins(*amount)
	if err != nil {
		return cli.Usagef("bad --amount: %v", err)
	}
	feeUnits, err := parseCoins(*fee)
	if err != nil {
		return cli.Usagef("bad --fee: %v", err)
	}
	if *user == "" {
		if *user, *pass, err = jsonrpc.ReadCookie(filepath.Join(*dataDir, ".cookie")); err != nil {
			return err
		}
	}
	passphrase, err := readPassphrase(*passFile, stdin, stderr)
	if err != nil {
		return err
	}
	key, err := wallet.Load(*path, passphrase)
	if err != nil {
		return err
	}
	client := jsonrpc.NewClient(*url, *user, *pass)
	// The signature covers the network's genesis hash (no replay on
	// another chain): ask the node which network it runs.
	var genesis string
	if err := client.Call(ctx, "getblockhash", &genesis, 0); err != nil {
		return err
	}
	network, err := chain.NewHashFromStr(genesis)
	if err != nil {
		return fmt.Errorf("node sent a bad genesis hash: %w", err)
	}
	var acct struct {
		NextSequence uint64 `json:"nextsequence"`
	}
	if err := client.Call(ctx, "getaccount", &acct, key.Address().String()); err != nil {
		return err
	}
	t := &chain.Transfer{To: recipient, Amount: units, Fee: feeUnits, Sequence: acct.NextSequence}
	if err := key.SignTransfer(t, network); err != nil {
		return err
	}
	tx := chain.Transaction{Transfer: t}
	raw, err := tx.MarshalBinary()
	if err != nil {
		return err
	}
	var txid string
	if err := client.Call(ctx, "sendrawtransaction", &txid, hex.EncodeToString(raw)); err != nil {
		return err
	}
	fmt.Fprintln(stdout, txid)
	return nil
}

// parseCoins parses a decimal amount of coins (at most 8 decimals) into
// base units, exactly.
func parseCoins(s string) (uint64, error) {
	whole, frac, _ := strings.Cut(s, ".")
	if whole == "" && frac == "" || len(frac) > 8 || strings.HasPrefix(whole, "+") || strings.HasPrefix(whole, "-") {
		return 0, fmt.Errorf("%q is not an amount with at most 8 decimals", s)
	}
	if whole == "" {
		whole = "0"
	}
	w, err := strconv.ParseUint(whole, 10, 64)
	if err != nil {
		return 0, fmt.Errorf("%q is not an amount: %w", s, err)
	}
	f := uint64(0)
	if frac != "" {
		if f, err = strconv.ParseUint(frac+strings.Repeat("0", 8-len(frac)), 10, 64); err != nil {
			return 0, fmt.Errorf("%q is not an amount: %w", s, err)
		}
	}
	if w > (^uint64(0)-f)/chain.BaseUnitsPerCoin {
		return 0, fmt.Errorf("%q is too large", s)
	}
	return w*chain.BaseUnitsPerCoin + f, nil
}
