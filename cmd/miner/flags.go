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

	"github.com/powmine/powmine/chain"
	"github.com/powmine/powmine/internal/cli"
	"github.com/powmine/powmine/stratum/client"
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
	rpcUser      string
	rpcPass      string
	rpcCookie    string
	coinbaseAddr string
	payout       chain.Address // --coinbase-addr parsed
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
	str(&o.user, "", "pool user name (payout address, optionally .worker); with -o http:// the node's RPC user, as --rpc-user", "u", "user")
	str(&o.pass, "", "pool password; with -o http:// the node's RPC password, as --rpc-password", "p", "pass")
	str(&o.rpcUser, "", "RPC user of the -o http:// node (solo mining; with --rpc-password)", "rpc-user")
	str(&o.rpcPass, "", "RPC password of the -o http:// node", "rpc-password")
	str(&o.rpcCookie, "", "RPC cookie file of the -o http:// node (default without --rpc-user: .cookie in --datadir or the default dev data directory)", "rpc-cookie")
	str(&o.coinbaseAddr, "", "payout address: required for solo mining (-o http://) unless the default wallet exists; with no -o, default: the dev key in the data directory, created on the first run", "coinbase-addr")
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
		return nil, cli.Usagef("%v (see miner --help)", err)
	}
	if fs.NArg() > 0 {
		return nil, cli.Usagef("unexpected argument %q", fs.Arg(0))
	}
	if o.algo != "sha256d" {
		return nil, cli.Usagef("unsupported algorithm %q (supported: sha256d)", o.algo)
	}
	if o.threads <= 0 {
		return nil, cli.Usagef("thread count must be positive, got %d", o.threads)
	}
	if limit < 0 {
		return nil, cli.Usagef("time limit must not be negative, got %d", limit)
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
			return nil, cli.Usagef("several -o URLs (failover) are for pools only, got %q", u)
		}
	}
	if o.coinbaseAddr != "" {
		a, err := chain.ParseAddress(o.coinbaseAddr)
		if err != nil {
			return nil, cli.Usagef("bad --coinbase-addr: %v", err)
		}
		o.payout = a
	}
	if err := o.checkMode(); err != nil {
		return nil, err
	}
	return o, nil
}

// checkMode checks the flags that only some modes take: the pool's -u,
// and the node's RPC credentials and payout address. For solo mining it
// moves -u/-p (cpuminer's spelling) into the RPC credentials.
func (o *options) checkMode() error {
	rpcFlags := o.rpcUser != "" || o.rpcPass != "" || o.rpcCookie != ""
	switch scheme := urlScheme(o.url()); {
	case o.benchmark:
	case strings.HasPrefix(scheme, "stratum+"):
		if o.user == "" {
			return cli.Usagef("pool mining needs -u USER (the payout address, optionally .worker)")
		}
		for _, u := range o.urls {
			if _, err := client.ParseURL(u); err != nil {
				return cli.Usage(err)
			}
		}
		if rpcFlags {
			return cli.Usagef("--rpc-user, --rpc-password and --rpc-cookie are for solo mining (-o http://NODE); a pool takes -u and -p")
		}
		if o.coinbaseAddr != "" {
			return cli.Usagef("--coinbase-addr is for solo mining; on a pool the payout address is -u USER")
		}
	case scheme == "http" || scheme == "https":
		if (o.user != "" && o.rpcUser != "") || (o.pass != "" && o.rpcPass != "") {
			return cli.Usagef("give the RPC credentials as --rpc-user and --rpc-password, or as -u and -p, not both")
		}
		if o.user != "" {
			o.rpcUser = o.user
		}
		if o.pass != "" {
			o.rpcPass = o.pass
		}
		if (o.rpcUser == "") != (o.rpcPass == "") {
			return cli.Usagef("--rpc-user and --rpc-password (or -u and -p) go together")
		}
		if o.rpcUser != "" && o.rpcCookie != "" {
			return cli.Usagef("give --rpc-user and --rpc-password, or --rpc-cookie, not both")
		}
	default: // the embedded dev node
		if rpcFlags || o.user != "" || o.pass != "" {
			return cli.Usagef("-u, -p and the --rpc-* flags need -o (a pool or a node); without -o the miner runs its own dev node")
		}
	}
	return nil
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
		return nil, cli.Usagef("bad --cpu-affinity %q: want a non-zero mask such as 0x3", s)
	}
	var cpus []int
	for i := range 64 {
		if mask&(1<<i) != 0 {
			if i >= runtime.NumCPU() {
				return nil, cli.Usagef("--cpu-affinity %s names CPU %d, but this machine has %d", s, i, runtime.NumCPU())
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
		return cli.Usagef("bad URL %q: want stratum+tcp://host:port, stratum+ssl://host:port or http://host:port", s)
	}
	switch strings.ToLower(u.Scheme) {
	case "stratum+tcp", "stratum+ssl", "stratum+tls", "http", "https":
		return nil
	}
	return cli.Usagef("unsupported URL scheme %q in %q", u.Scheme, s)
}
