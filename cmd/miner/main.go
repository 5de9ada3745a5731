// Command miner is a CPU sha256d miner with cpuminer's flags.
//
//	miner --benchmark [-t N] [--time-limit S]   hash synthetic work, print rates
//	miner --list-kernels                         list the kernels and which this CPU runs
//
// Solo mining (-o http://node --coinbase-addr ADDR) and pool mining
// (-o stratum+tcp://host:port -u USER -p PASS) use the same flags. Pool
// URLs may use TLS (stratum+ssl:// or stratum+tls://), and -o may be
// repeated to name failover pools, tried in order.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	if err == nil {
		return
	}
	fmt.Fprintln(os.Stderr, "miner:", err)
	var ue usageError
	if errors.As(err, &ue) {
		os.Exit(2)
	}
	os.Exit(1)
}

// usageError marks bad flags or arguments; they exit with status 2.
type usageError struct{ error }

func (e usageError) Unwrap() error { return e.error }

func usagef(format string, args ...any) error { return usageError{fmt.Errorf(format, args...)} }

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
