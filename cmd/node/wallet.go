package main

import (
	"bufio"
	"bytes"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/powmine/powmine/chain/daemon"
	"github.com/powmine/powmine/chain/wallet"
	"github.com/powmine/powmine/internal/cli"
)

// walletCmd handles "node wallet new|address". "address" needs no
// passphrase: it prints the address after wallet.ReadAddress has checked
// it against the public key in the file.
func walletCmd(args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	if len(args) == 0 || (args[0] != "new" && args[0] != "address") {
		return cli.Usagef("usage: node wallet new|address [--wallet FILE]")
	}
	fs := flag.NewFlagSet("node wallet "+args[0], flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	path := fs.String("wallet", daemon.DefaultWallet(), "key file")
	passFile := fs.String("passphrase-file", "", "read the passphrase from this file (default: one line on standard input)")
	if err := parse(fs, args[1:], stderr); err != nil {
		return err
	}
	if args[0] == "address" {
		addr, err := wallet.ReadAddress(*path)
		if err != nil {
			return err
		}
		fmt.Fprintln(stdout, addr)
		return nil
	}
	pass, err := readPassphrase(*passFile, stdin, stderr)
	if err != nil {
		return err
	}
	k, err := wallet.New(pass, nil)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(*path), 0o700); err != nil {
		return err
	}
	if err := k.Save(*path); err != nil {
		return err
	}
	fmt.Fprintf(stderr, "key file %s written\n", *path)
	fmt.Fprintln(stdout, k.Address())
	return nil
}

// readPassphrase reads the passphrase from file, or one line of stdin.
func readPassphrase(file string, stdin io.Reader, stderr io.Writer) ([]byte, error) {
	if file != "" {
		b, err := os.ReadFile(file)
		if err != nil {
			return nil, err
		}
		return bytes.TrimRight(b, "\r\n"), nil
	}
	fmt.Fprint(stderr, "passphrase: ")
	line, err := bufio.NewReader(stdin).ReadBytes('\n')
	if err != nil && len(line) == 0 {
		return nil, fmt.Errorf("read passphrase: %w", err)
	}
	return bytes.TrimRight(line, "\r\n"), nil
}
