package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"time"

	"github.com/klauspost/cpuid/v2"
	"github.com/powmine/powmine/chain"
	"github.com/powmine/powmine/chain/daemon"
	"github.com/powmine/powmine/chain/wallet"
	"github.com/powmine/powmine/hash/sha256d"
	"github.com/powmine/powmine/internal/cli"
	"github.com/powmine/powmine/internal/jsonrpc"
	"github.com/powmine/powmine/miner"
	"github.com/powmine/powmine/miner/solo"
	"github.com/powmine/powmine/stratum/client"
)

// reportInterval is how often per-thread rates are printed.
const reportInterval = 5 * time.Second

// mine starts the miner on the work source the flags name: synthetic work
// (--benchmark), a node's RPC (-o http://), or, with no -o, a dev-chain
// node embedded in this process. The kernel and the miner are set up
// first, so that their errors come before anything is written to disk.
func mine(ctx context.Context, o *options, out *reporter) error {
	kernel, why, err := pickKernel(o.kernel, out)
	if err != nil {
		return err
	}
	m, err := miner.New(miner.Config{
		Threads: o.threads,
		Kernel:  kernel,
		CPUs:    o.cpus,
		Logger:  slog.New(slog.NewTextHandler(out.w, nil)),
	})
	if err != nil {
		return cli.Usage(err)
	}
	var source func(ctx context.Context, m *miner.Miner, accepted *counter) error
	switch scheme := urlScheme(o.url()); {
	case o.benchmark:
		source = func(ctx context.Context, m *miner.Miner, _ *counter) error {
			m.SetWork(benchmarkWork())
			<-ctx.Done()
			return nil
		}
	case o.url() == "":
		// The node starts (and a new chain mines its genesis block)
		// before the miner and its time limit.
		node, err := startEmbedded(o, out)
		if err != nil {
			return err
		}
		defer node.close()
		source = node.mine
	case scheme == "http" || scheme == "https":
		payout, err := soloPayout(o)
		if err != nil {
			return err
		}
		client, err := nodeClient(o)
		if err != nil {
			return err
		}
		source = func(ctx context.Context, m *miner.Miner, acc *counter) error {
			return mineSolo(ctx, client, payout, m, out, acc)
		}
	default:
		source = func(ctx context.Context, m *miner.Miner, _ *counter) error {
			return minePool(ctx, o, m, out)
		}
	}
	mode := "benchmark mode"
	if !o.benchmark {
		mode = "mining"
	}
	out.printf("CPU: %s (family %d model %d), features: %s", cpuid.CPU.BrandName, cpuid.CPU.Family, cpuid.CPU.Model, featureList())
	out.printf("kernel %s chosen %s", kernel.Name(), why)
	out.printf("kernel %s (%d lanes), %d threads, %s", kernel.Name(), kernel.Lanes(), m.Threads(), mode)

	if o.timeLimit > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, o.timeLimit)
		defer cancel()
	}
	// Workers keep their Ps busy between batches; one P more lets the
	// goroutines that bring work and report shares run at once.
	runtime.GOMAXPROCS(max(runtime.NumCPU(), m.Threads()+1))
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	minerDone := make(chan error, 1)
	began := time.Now()
	go func() { minerDone <- m.Run(ctx) }()
	var accepted counter
	sourceDone := make(chan error, 1)
	go func() { sourceDone <- source(ctx, m, &accepted) }()

	tick := time.NewTicker(reportInterval)
	defer tick.Stop()
	for {
		select {
		case err := <-sourceDone:
			cancel()
			if mErr := <-minerDone; err == nil {
				err = mErr
			}
			elapsed := time.Since(began)
			out.threadRates(m.Rates())
			out.final(fmt.Sprintf("Total: %s", formatRate(float64(m.Hashes())/elapsed.Seconds())))
			return err
		case <-tick.C:
			r := m.Rates()
			if !out.quiet {
				out.threadRates(r)
				out.printf("Total: %s", formatRate(r.Total))
			}
		}
	}
}

// counter counts submitted and accepted blocks, for cpuminer's
// "accepted: A/S" lines.
type counter struct{ accepted, submitted int }

// mineSolo mines on a node's getblocktemplate and submits blocks.
func mineSolo(ctx context.Context, client *jsonrpc.Client, payout chain.Address, m *miner.Miner, out *reporter, acc *counter) error {
	out.printf("solo mining, paying %s", payout)
	return solo.Run(ctx, solo.Config{
		Client: client,
		Payout: payout,
		Miner:  m,
		Logger: slog.New(slog.NewTextHandler(out.w, nil)),
		Found: func(f solo.Found) {
			acc.submitted++
			verdict := "yay!!!"
			if f.Result == "" {
				acc.accepted++
			} else {
				verdict = "(" + f.Result + ")"
			}
			out.final(fmt.Sprintf("accepted: %d/%d (%.2f%%), %s %s block %d %s", acc.accepted, acc.submitted,
				100*float64(acc.accepted)/float64(acc.submitted), formatRate(m.Rates().Total), verdict, f.Height, f.Hash))
		},
	})
}

// minePool mines on the -o Stratum pools, failing over in order, and
// prints a cpuminer-style line for every share result.
func minePool(ctx context.Context, o *options, m *miner.Miner, out *reporter) error {
	c, err := client.New(client.Config{
		URLs:             o.urls,
		User:             o.user,
		Password:         o.pass,
		NoVersionRolling: o.noRolling,
		Miner:            m,
		Logger:           slog.New(slog.NewTextHandler(out.w, nil)),
		OnShare: func(r client.ShareResult) {
			line := r.Line(formatRate(m.Rates().Total))
			if r.Stale {
				out.printf("%s", line)
			} else {
				out.final(line)
			}
		},
	})
	if err != nil {
		return cli.Usage(err)
	}
	out.printf("Starting Stratum on %s", strings.Join(o.urls, ", "))
	return c.Run(ctx)
}

// embedded is a dev-chain node running in this process, with its RPC on
// a free loopback port.
type embedded struct {
	d      *daemon.Daemon
	client *jsonrpc.Client
	payout chain.Address
	out    *reporter
}

// startEmbedded opens (or creates) the dev chain in the data directory,
// and the dev key there unless --coinbase-addr names the payout address.
func startEmbedded(o *options, out *reporter) (*embedded, error) {
	dataDir := o.dataDir
	if dataDir == "" {
		dataDir = daemon.DefaultDataDir("dev")
	}
	payout := o.payout
	if o.coinbaseAddr == "" {
		var err error
		if payout, err = devKey(dataDir, out); err != nil {
			return nil, err
		}
	}
	params, err := daemon.DevParams(dataDir, time.Now())
	if err != nil {
		return nil, err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	var secret [16]byte
	rand.Read(secret[:])
	password := hex.EncodeToString(secret[:])
	d, err := daemon.New(daemon.Config{
		Params:      params,
		DataDir:     dataDir,
		RPCListener: ln,
		RPCUser:     "miner",
		RPCPassword: password,
		Logger:      slog.New(slog.NewTextHandler(out.w, nil)),
	})
	if err != nil {
		ln.Close()
		return nil, err
	}
	tip := d.Node().Tip()
	out.final(fmt.Sprintf("embedded dev node: data in %s, height %d, tip %s", dataDir, tip.Height, tip.Hash))
	client := jsonrpc.NewClient("http://"+ln.Addr().String(), "miner", password)
	return &embedded{d: d, client: client, payout: payout, out: out}, nil
}

// mine serves the node and mines on it until ctx is done or the node
// stops (its store found damaged).
func (e *embedded) mine(ctx context.Context, m *miner.Miner, acc *counter) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	nodeDone := make(chan error, 1)
	go func() {
		err := e.d.Run(ctx)
		cancel()
		nodeDone <- err
	}()
	err := mineSolo(ctx, e.client, e.payout, m, e.out, acc)
	if nErr := <-nodeDone; err == nil {
		err = nErr
	}
	return err
}

// close closes the node's store.
func (e *embedded) close() { e.d.Close() }

// devKeyFile is the dev key's file in the dev data directory: the file
// "node wallet new" and "node send" use by default (daemon.DefaultWallet)
// when the data directory is the default one.
const devKeyFile = "wallet.json"

// devKeyPassphrase seals the dev key that the miner creates. It is
// printed and documented, so it protects nothing: the key is for the dev
// chain only, and its file is readable by its owner only (mode 0600).
// It lets "node send" spend the dev key's rewards like any wallet's.
const devKeyPassphrase = "powmine-dev"

// devKey returns the address of the key file in dataDir, after creating
// the file (a chain/wallet key sealed with devKeyPassphrase) if there is
// none. A key file made with "node wallet new" is used as it is.
func devKey(dataDir string, out *reporter) (chain.Address, error) {
	path := filepath.Join(dataDir, devKeyFile)
	addr, err := wallet.ReadAddress(path)
	if errors.Is(err, wallet.ErrVersion1) {
		addr, err = upgradeDevKey(path)
	}
	if err == nil {
		out.final(fmt.Sprintf("paying %s, the address of the key in %s", addr, path))
		return addr, nil
	}
	if !errors.Is(err, fs.ErrNotExist) {
		return addr, err
	}
	k, err := wallet.New([]byte(devKeyPassphrase), nil)
	if err != nil {
		return addr, err
	}
	if err := os.MkdirAll(dataDir, 0o700); err != nil {
		return addr, fmt.Errorf("data directory: %w", err)
	}
	if err := k.Save(path); err != nil {
		return addr, err
	}
	out.final(fmt.Sprintf("created the dev key %s (passphrase %q, for the dev chain only): paying its address %s", path, devKeyPassphrase, k.Address()))
	return k.Address(), nil
}

// upgradeDevKey rewrites a version 1 dev key file (whose address
// ReadAddress cannot check) in the current format, same key and
// passphrase, replacing it atomically. A version 1 file sealed with
// another passphrase is the user's own key: it is left alone, with an
// error that says what to do.
func upgradeDevKey(path string) (chain.Address, error) {
	k, err := wallet.Load(path, []byte(devKeyPassphrase))
	if errors.Is(err, wallet.ErrBadPassphrase) {
		return chain.Address{}, fmt.Errorf("%s is a version 1 key file whose address cannot be checked without its passphrase: "+
			"pass --coinbase-addr ADDR, or move the file aside to get a new dev key (its coins stay spendable with node send --wallet FILE)", path)
	}
	if err != nil {
		return chain.Address{}, err
	}
	r, err := k.Reseal([]byte(devKeyPassphrase))
	if err != nil {
		return chain.Address{}, err
	}
	tmp := path + ".v2"
	_ = os.Remove(tmp) // left by an upgrade that stopped before the rename
	if err := r.Save(tmp); err != nil {
		return chain.Address{}, err
	}
	if err := os.Rename(tmp, path); err != nil {
		return chain.Address{}, fmt.Errorf("upgrade the dev key: %w", err)
	}
	return r.Address(), nil
}

// soloPayout is --coinbase-addr, else the default wallet's address. With
// neither, solo mining is refused: the rewards would go to an address
// whose key nobody has.
func soloPayout(o *options) (chain.Address, error) {
	if o.coinbaseAddr != "" {
		return o.payout, nil
	}
	path := daemon.DefaultWallet()
	a, err := wallet.ReadAddress(path)
	if errors.Is(err, fs.ErrNotExist) {
		return a, cli.Usagef("solo mining needs --coinbase-addr ADDR (or a wallet at %s: node wallet new)", path)
	}
	return a, err
}

// nodeClient returns an RPC client for -o, with --rpc-user and
// --rpc-password (or -u and -p), else the cookie file: --rpc-cookie, or
// .cookie in the data directory.
func nodeClient(o *options) (*jsonrpc.Client, error) {
	user, pass := o.rpcUser, o.rpcPass
	if user == "" {
		cookie := o.rpcCookie
		if cookie == "" {
			dir := o.dataDir
			if dir == "" {
				dir = daemon.DefaultDataDir("dev")
			}
			cookie = filepath.Join(dir, ".cookie")
		}
		var err error
		if user, pass, err = jsonrpc.ReadCookie(cookie); err != nil {
			return nil, cli.Usagef("no RPC credentials (--rpc-user and --rpc-password, or --rpc-cookie FILE): %v", err)
		}
	}
	return jsonrpc.NewClient(o.url(), user, pass), nil
}

// selfTest checks the kernel --kernel names. It is a variable so that
// tests can play a kernel that fails its self-test.
var selfTest = (*sha256d.Kernel).SelfTest

// pickKernel returns the kernel --kernel names, which must pass its
// self-test, or else the fastest that passes; and why it was chosen, for
// the start-up lines.
func pickKernel(name string, out *reporter) (*sha256d.Kernel, string, error) {
	if name == "" {
		c := sha256d.Choose()
		for _, err := range c.Failures {
			out.printf("warning: %v; not using it", err)
		}
		return c.Kernel, fmt.Sprintf("in %d ms: %s", c.Elapsed.Milliseconds(), c), nil
	}
	k, err := sha256d.Lookup(name)
	if err != nil {
		return nil, "", cli.Usage(err)
	}
	if err := selfTest(k); err != nil {
		return nil, "", cli.Usage(err)
	}
	return k, "by --kernel (self-test passed)", nil
}

// benchmarkWork is a synthetic header with a target no hash meets, so the
// whole run is spent hashing.
func benchmarkWork() *miner.Work {
	h := chain.Header{Version: 0x20000000, Timestamp: uint32(time.Now().Unix()), Bits: 0x1d00ffff}
	for i := range h.MerkleRoot {
		h.PrevBlock[i] = byte(i)
		h.MerkleRoot[i] = byte(255 - i)
	}
	return &miner.Work{ID: "benchmark", Header: h}
}

// featureList names the SIMD features the kernels care about.
func featureList() string {
	var have []string
	for _, f := range []cpuid.FeatureID{cpuid.SSE4, cpuid.SHA, cpuid.AVX2, cpuid.AVX512F, cpuid.AVX512VL, cpuid.AVX512BW} {
		if cpuid.CPU.Supports(f) {
			have = append(have, f.String())
		}
	}
	if len(have) == 0 {
		return "none"
	}
	return strings.Join(have, " ")
}

func listKernels(w io.Writer) {
	for _, k := range sha256d.Kernels() {
		status := "supported"
		if !k.Supported() {
			status = "not supported on this CPU"
		}
		req := strings.Join(k.Requires(), ", ")
		if req == "" {
			req = "-"
		}
		fmt.Fprintf(w, "%-8s %2d lanes  needs %-28s %s\n", k.Name(), k.Lanes(), req, status)
	}
}

// reporter prints cpuminer-style time-stamped lines. Its writer is shared
// with the loggers of the embedded node and the miner, from several
// goroutines, so every Write is serialized.
type reporter struct {
	w     io.Writer
	quiet bool
}

func newReporter(w io.Writer, quiet bool) *reporter {
	return &reporter{w: &lockedWriter{w: w}, quiet: quiet}
}

// lockedWriter serializes Writes to w.
type lockedWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

func (r *reporter) printf(format string, args ...any) {
	if !r.quiet {
		r.final(fmt.Sprintf(format, args...))
	}
}

// final prints even in quiet mode.
func (r *reporter) final(line string) {
	fmt.Fprintf(r.w, "[%s] %s\n", time.Now().Format("2006-01-02 15:04:05"), line)
}

func (r *reporter) threadRates(rates miner.Rates) {
	for i, v := range rates.PerWorker {
		r.printf("CPU #%d: %s", i, formatRate(v))
	}
}

// formatRate prints hashes per second with a unit, as cpuminer does.
func formatRate(hps float64) string {
	units := []string{"H/s", "kH/s", "MH/s", "GH/s", "TH/s"}
	i := 0
	for hps >= 1000 && i < len(units)-1 {
		hps /= 1000
		i++
	}
	return fmt.Sprintf("%.2f %s", hps, units[i])
}
