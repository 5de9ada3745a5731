// Command node runs a full node of the powmine chain and manages wallet
// key files.
//
//	node --dev [--datadir DIR] [--rpc 127.0.0.1:18443]   run a local dev chain node
//	     [--stratum 127.0.0.1:3333 --stratum-payout ADDR]  with a Stratum V1 pool
//	     [--listen MULTIADDR]... [--peer MULTIADDR/p2p/ID]... peers (default --listen /ip4/0.0.0.0/tcp/18444)
//	     [--genesis OTHERDIR/genesis.bin]                  join another node's dev chain
//	node wallet new [--wallet FILE]                        create an encrypted key file
//	node wallet address [--wallet FILE]                    print its address
//	node send --to ADDR --amount X [--fee F]               sign and submit a transfer
//	node validator keygen --out FILE                       create an encrypted validator key file
//	node validator deposit --amount X --key FILE [--fee F] lock stake for the validator key
//	node validator withdraw --key FILE [--amount X]        take it back, all of it (the validator leaves)
//	     [--fee F]                                         or X, leaving the minimum deposit (after the withdraw delay)
package main

import (
	"context"
	"errors"
	"io"
	"os"

	"github.com/powmine/powmine/internal/cli"
)

func main() {
	cli.Main("node", func(ctx context.Context) error { return run(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr) })
}

// errHelp is returned by parse for -h after it printed the usage; run
// turns it into success, as miner -h does.
var errHelp = errors.New("help requested")

// run dispatches the subcommands; main only maps its error to an exit
// status.
func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	var err error
	switch {
	case len(args) > 0 && args[0] == "wallet":
		err = walletCmd(args[1:], stdin, stdout, stderr)
	case len(args) > 0 && args[0] == "send":
		err = sendCmd(ctx, args[1:], stdin, stdout, stderr)
	case len(args) > 0 && args[0] == "validator":
		err = validatorCmd(ctx, args[1:], stdin, stdout, stderr)
	default:
		err = daemonCmd(ctx, args, stdout, stderr)
	}
	if errors.Is(err, errHelp) {
		return nil
	}
	return err
}
