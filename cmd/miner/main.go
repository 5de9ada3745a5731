// Command miner is a CPU sha256d miner with cpuminer's flags.
//
//	miner [--datadir DIR]                        mine an embedded dev-chain node
//	miner -o http://NODE --coinbase-addr ADDR    solo mining on a node's getblocktemplate
//	miner -o stratum+tcp://POOL -u USER -p PASS  pool mining
//	miner --benchmark [-t N] [--time-limit S]    hash synthetic work, print rates
//	miner --list-kernels                         list the kernels and which this CPU runs
//
// With no -o the miner runs a dev-chain node in its own process, keeping
// the chain in the data directory. Unless --coinbase-addr is given it pays
// the key in DIR/wallet.json, and creates that key the first time: a
// chain/wallet key file (mode 0600) sealed with the passphrase
// "powmine-dev", which is no secret since the key is for the dev chain
// only; "node send --wallet DIR/wallet.json" spends with it.
//
// Solo mining needs a payout address: --coinbase-addr, or the default
// wallet (node wallet new). The node's RPC credentials are --rpc-user and
// --rpc-password (or cpuminer's -u and -p), or the node's cookie file
// (--rpc-cookie FILE, default .cookie in the data directory). Pool URLs
// may use TLS (stratum+ssl:// or stratum+tls://), and -o may be repeated
// to name failover pools, tried in order.
//
// Every flag is checked before anything is written to disk; bad flags
// exit with status 2, other errors with status 1.
package main

import (
	"context"
	"io"
	"os"

	"github.com/powmine/powmine/internal/cli"
)

func main() {
	cli.Main("miner", func(ctx context.Context) error { return run(ctx, os.Args[1:], os.Stdout, os.Stderr) })
}

// run is the whole program; main only maps its error to an exit status.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	opts, err := parseFlags(args, stderr)
	if err != nil {
		return err
	}
	if opts.help {
		return nil
	}
	out := newReporter(stdout, opts.quiet)
	if opts.listKernels {
		listKernels(stdout)
		return nil
	}
	return mine(ctx, opts, out)
}
