package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"net/url"
	"runtime"
	"strconv"
	"strings"
	"time"
)

// options are the parsed command-line flags.
type options struct {
	algo         string
	threads      int
	benchmark    bool
	timeLimit    time.Duration
	quiet        bool
	urls         []string
	noRolling    bool
	user, pass   string
	coinbaseAddr string
	dataDir      string
	cpus         []int
	kernel       string
	listKernels  bool
	help         bool
}

// parseFlags reads cpuminer-style flags: each has a short and/or long name,
// and both -name and --name spellings work.
func parseFlags(args []string, stderr io.Writer) (*options, error) {
	o := &options{}
	fs := flag.NewFlagSet("miner", flag.ContinueOnError)
	fs.SetOutput(io.Discard) // errors are reported once, by main
	str := func(p *string, def, usage string, names ...string) {
		for _, n := range names {
			fs.StringVar(p, n, def, usage)
		}
	}
	boolean := func(p *bool, usage string, names ...string) {
		for _, n := range names {
			fs.BoolVar(p, n, false, usage)
		}
	}
	str(&o.algo, "sha256d", "hash algorithm (only sha256d)", "a", "algo")
	for _, n := range []string{"t", "threads"} {
		fs.IntVar(&o.threads, n, runtime.NumCPU(), "number of mining threads")
	}
	boolean(&o.benchmark, "hash synthetic work offline and print the hashrate", "benchmark")
	var limit int
	fs.IntVar(&limit, "time-limit", 0, "stop after this many seconds (0: run until interrupted)")
	boolean(&o.quiet, "print only the final rate, shares and errors", "q", "quiet")
	for _, n := range []string{"o", "url"} {
		fs.Var((*urlList)(&o.urls), n, "node (http://host:port) or pool (stratum+tcp://host:port, stratum+ssl://host:port) URL; repeat for failover pools")
	}
	boolean(&o.noRolling, "do not ask the pool for version rolling (BIP310)", "no-version-rolling")
	str(&o.user, "", "pool user name (payout address, optionally .worker)", "u", "user")
	str(&o.pass, "", "pool password", "p", "pass")
	str(&o.coinbaseAddr, "", "payout address for solo mining (default: the dev wallet's address)", "coinbase-addr")
	str(&o.dataDir, "", "data directory of the embedded dev node (default: the user's data directory/powmine/dev)", "datadir")
	var affinity string
	str(&affinity, "", "CPU mask to pin threads to, e.g. 0x3 for CPUs 0 and 1 (Linux)", "cpu-affinity")
	str(&o.kernel, "", "hash kernel to use instead of the fastest (see --list-kernels)", "kernel")
	boolean(&o.listKernels, "list the hash kernels and which this CPU supports", "list-kernels")
	fs.Usage = func() {
		fmt.Fprintln(fs.Output(), "usage: miner [flags]\n\nflags (-x and --x are the same):")
		fs.PrintDefaults()
	}

	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			fs.SetOutput(stderr)
			fs.Usage()
			o.help = true
			return o, nil
		}
		return nil, usagef("%v (see miner --help)", err)
	}
	if fs.NArg() > 0 {
		return nil, usagef("unexpected argument %q", fs.Arg(0))
	}
	if o.algo != "sha256d" {
		return nil, usagef("unsupported algorithm %q (supported: sha256d)", o.algo)
	}
	if o.threads <= 0 {
		return nil, usagef("thread count must be positive, got %d", o.threads)
	}
	if limit < 0 {
		return nil, usagef("time limit must not be negative, got %d", limit)
	}
	o.timeLimit = time.Duration(limit) * time.Second
	if affinity != "" {
		cpus, err := parseCPUMask(affinity)
		if err != nil {
			return nil, err
		}
		o.cpus = cpus
	}
	for _, u := range o.urls {
		if err := checkURL(u); err != nil {
			return nil, err
		}
		if len(o.urls) > 1 && !strings.HasPrefix(urlScheme(u), "stratum+") {
			return nil, usagef("several -o URLs (failover) are for pools only, got %q", u)
		}
	}
	return o, nil
}

// urlList is the repeatable -o/--url flag.
type urlList []string

// String implements flag.Value.
func (l *urlList) String() string { return strings.Join(*l, ",") }

// Set implements flag.Value: each -o adds a URL.
func (l *urlList) Set(s string) error {
	*l = append(*l, s)
	return nil
}

// url returns the first -o URL, or "".
func (o *options) url() string {
	if len(o.urls) == 0 {
		return ""
	}
	return o.urls[0]
}

// parseCPUMask turns a mask such as 0x5 (or decimal 5) into CPU numbers.
func parseCPUMask(s string) ([]int, error) {
	mask, err := strconv.ParseUint(s, 0, 64)
	if err != nil || mask == 0 {
		return nil, usagef("bad --cpu-affinity %q: want a non-zero mask such as 0x3", s)
	}
	var cpus []int
	for i := range 64 {
		if mask&(1<<i) != 0 {
			if i >= runtime.NumCPU() {
				return nil, usagef("--cpu-affinity %s names CPU %d, but this machine has %d", s, i, runtime.NumCPU())
			}
			cpus = append(cpus, i)
		}
	}
	return cpus, nil
}

// urlScheme returns the lower-case scheme of a checked URL.
func urlScheme(s string) string {
	u, err := url.Parse(s)
	if err != nil {
		return ""
	}
	return strings.ToLower(u.Scheme)
}

// checkURL accepts the schemes pools and nodes publish.
func checkURL(s string) error {
	u, err := url.Parse(s)
	if err != nil || u.Host == "" {
		return usagef("bad URL %q: want stratum+tcp://host:port, stratum+ssl://host:port or http://host:port", s)
	}
	switch strings.ToLower(u.Scheme) {
	case "stratum+tcp", "stratum+ssl", "stratum+tls", "http", "https":
		return nil
	}
	return usagef("unsupported URL scheme %q in %q", u.Scheme, s)
}
