package daemon

import (
	"cmp"
	"context"
	"crypto/ed25519"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/powmine/powmine/chain"
	"github.com/powmine/powmine/chain/dashboard"
	"github.com/powmine/powmine/chain/mempool"
	"github.com/powmine/powmine/chain/mining"
	"github.com/powmine/powmine/chain/node"
	"github.com/powmine/powmine/chain/p2p"
	"github.com/powmine/powmine/chain/store"
	"github.com/powmine/powmine/internal/jsonrpc"
)

// Config configures a Daemon. New validates it.
type Config struct {
	// Params are the consensus rules; Params.GenesisBlock must be set.
	// This field is required.
	Params *chain.Params
	// DataDir holds the store and the RPC cookie. Can be empty: the chain
	// is then kept in memory and lost at exit (tests).
	DataDir string
	// RPCAddr is the JSON-RPC listen address (host:port). Can be empty:
	// no RPC server, unless RPCListener is set.
	RPCAddr string
	// RPCListener, if set, is where the RPC server listens instead of
	// RPCAddr (an embedding program picks a free port this way).
	RPCListener net.Listener
	// RPCUser and RPCPassword are the RPC credentials. Can be empty: a
	// cookie file is written to DataDir/.cookie.
	RPCUser, RPCPassword string
	// Reindex rebuilds the chain state from the stored blocks at start.
	Reindex bool
	// LockTimeout is how long New waits for another process to release
	// the store in DataDir before it fails with an error wrapping
	// store.ErrLocked: a second node on the same data directory fails
	// instead of hanging. 0 selects store.DefaultLockTimeout; it must not
	// be negative.
	LockTimeout time.Duration
	// MaxRPCConns bounds the RPC server's open connections (see
	// connLimiter: an idle connection gives its place to a new one); 0
	// selects DefaultMaxRPCConns.
	MaxRPCConns int
	// RPCIdleTimeout closes keep-alive connections idle this long; 0
	// selects DefaultRPCIdleTimeout.
	RPCIdleTimeout time.Duration
	// HTTPAddr, if set, serves the web dashboard alone on this address
	// too (it is always served to GET requests on the RPC listener).
	// Without credentials only on a loopback address. Needs the RPC
	// server.
	HTTPAddr string
	// PublicMetrics serves /metrics without the RPC credentials on any
	// address. Without it, /metrics needs them unless the RPC server
	// listens on a loopback address.
	PublicMetrics bool
	// MaxMempoolBytes bounds the mempool; 0 selects
	// mempool.DefaultMaxPoolBytes.
	MaxMempoolBytes int
	// Network, if set, connects the node to peers (see Network). Can be
	// nil: no networking.
	Network *Network
	// ValidatorKey, if set, makes the daemon a Casper FFG validator with
	// this ed25519 key: it votes once per epoch while the key is an
	// active validator (see validator; its signing record is kept in
	// DataDir). On a proof-of-stake chain (chain.ConsensusPoS) it also
	// proposes the blocks of the slots the key is elected to (see
	// proposer). Can be nil: not a validator.
	ValidatorKey ed25519.PrivateKey
	// SlashReporter, if set, is the address paid the reporter's share of
	// the stake of a validator the daemon slashes (see equivocation).
	// Zero: the address of ValidatorKey, or without one the zero
	// address, whose share nobody can spend.
	SlashReporter chain.Address
	// Logger receives the node's log. Can be nil: discard.
	Logger *slog.Logger
	// Now is the clock. Can be nil: time.Now.
	Now func() time.Time
}

// ErrConfig is wrapped by New's errors for invalid configuration.
var ErrConfig = errors.New("daemon: bad config")

// Daemon is a running full node. Its methods are safe for concurrent use.
type Daemon struct {
	params  *chain.Params
	node    *node.Node
	pool    *mempool.Pool
	builder *mining.Builder
	log     *slog.Logger
	now     func() time.Time
	metrics *metrics
	rpc     *jsonrpc.Server
	rpcAddr string
	rpcLn   net.Listener
	// maxRPCConns, rpcIdleTimeout and publicMetrics are the RPC server's
	// limits (Config).
	maxRPCConns    int
	rpcIdleTimeout time.Duration
	publicMetrics  bool
	httpAddr       string    // Config.HTTPAddr
	db             *store.DB // nil for a chain kept in memory
	closers        []func() error
	// net is the p2p node; nil without Config.Network. Set in New.
	net *p2p.Node
	// validator signs votes; nil without Config.ValidatorKey. Set in New.
	validator *validator

	// proposer makes blocks in its slots; nil but on a proof-of-stake
	// chain with Config.ValidatorKey. Set in New.
	proposer *proposer

	// equivocation slashes proposers seen sealing two blocks for one
	// slot and validators seen casting a double or surround vote
	// (equivocation.go). Set in New.
	equivocation equivocation

	mu       sync.Mutex
	tipCh    chan struct{}  // closed and replaced when the tip changes
	dashPool dashboard.Pool // SetDashboardPool
	reorgs   int            // disconnects seen since the last connect
	// finalityStalled: the log said finality stalled, in epoch
	// stallLogged, and has not said it resumed (watchFinality).
	finalityStalled bool
	stallLogged     uint64
}

// New opens the store in DataDir (creating it), loads the chain and
// prepares the RPC server. Call Run to serve, Close when done.
func New(cfg Config) (*Daemon, error) {
	if cfg.Params == nil || cfg.Params.GenesisBlock == nil {
		return nil, fmt.Errorf("%w: params with a genesis block are required", ErrConfig)
	}
	if cfg.HTTPAddr != "" && cfg.RPCAddr == "" && cfg.RPCListener == nil {
		return nil, fmt.Errorf("%w: the dashboard's HTTP address needs the RPC server", ErrConfig)
	}
	if cfg.LockTimeout < 0 {
		return nil, fmt.Errorf("%w: negative lock timeout %v", ErrConfig, cfg.LockTimeout)
	}
	if cfg.ValidatorKey != nil && len(cfg.ValidatorKey) != ed25519.PrivateKeySize {
		return nil, fmt.Errorf("%w: validator key of %d bytes, want %d", ErrConfig, len(cfg.ValidatorKey), ed25519.PrivateKeySize)
	}
	if p := cfg.Params; p.Consensus == chain.ConsensusPoS && (p.SlotDuration <= 0 || p.EpochLength <= 0) {
		return nil, fmt.Errorf("%w: a proof-of-stake chain needs a positive slot duration and epoch length, have %v and %d",
			ErrConfig, p.SlotDuration, p.EpochLength)
	}
	if cfg.MaxRPCConns < 0 || cfg.RPCIdleTimeout < 0 {
		return nil, fmt.Errorf("%w: negative RPC connection limit %d or idle timeout %v", ErrConfig, cfg.MaxRPCConns, cfg.RPCIdleTimeout)
	}
	d := &Daemon{
		params:  cfg.Params,
		log:     cfg.Logger,
		now:     cfg.Now,
		rpcAddr: cfg.RPCAddr,
		rpcLn:   cfg.RPCListener,

		maxRPCConns:    cmp.Or(cfg.MaxRPCConns, DefaultMaxRPCConns),
		rpcIdleTimeout: cmp.Or(cfg.RPCIdleTimeout, DefaultRPCIdleTimeout),
		publicMetrics:  cfg.PublicMetrics,
		httpAddr:       cfg.HTTPAddr,
		tipCh:          make(chan struct{}),
	}
	if d.log == nil {
		d.log = slog.New(slog.DiscardHandler)
	}
	if d.now == nil {
		d.now = time.Now
	}
	d.metrics = newMetrics()
	if cfg.DataDir != "" {
		if err := os.MkdirAll(cfg.DataDir, 0o700); err != nil {
			return nil, fmt.Errorf("daemon: data directory: %w", err)
		}
	}
	n, err := d.openNode(cfg.DataDir, cfg.Reindex, cmp.Or(cfg.LockTimeout, store.DefaultLockTimeout), node.Config{
		Params:  cfg.Params,
		Genesis: cfg.Params.GenesisBlock,
		Notify:  d.onEvent,
		Now:     d.now,
		Logger:  d.log.With("component", "node"),
	})
	if err != nil {
		d.Close()
		return nil, err
	}
	pool, err := mempool.New(mempool.Config{Params: cfg.Params, Chain: n, MaxPoolBytes: cfg.MaxMempoolBytes, Now: d.now, Logger: d.log.With("component", "mempool")})
	if err != nil {
		d.Close()
		return nil, err
	}
	d.mu.Lock()
	d.pool = pool
	d.mu.Unlock()
	d.builder = &mining.Builder{Params: cfg.Params, Chain: n, Txs: pool}
	d.equivocation = newEquivocation(cfg.Params, n, cfg.ValidatorKey, cfg.SlashReporter)
	d.mu.Lock()
	d.node = n
	d.mu.Unlock()
	d.metrics.setTip(n.Tip())
	d.metrics.setFinality(n.Finality())
	if cfg.Network != nil {
		if err := d.startNetwork(cfg.Network, cfg.DataDir); err != nil {
			d.Close()
			return nil, err
		}
	}
	if cfg.ValidatorKey != nil {
		if err := d.startValidator(cfg.ValidatorKey, cfg.DataDir); err != nil {
			d.Close()
			return nil, err
		}
		if cfg.Params.Consensus == chain.ConsensusPoS {
			d.startProposer(cfg.ValidatorKey)
		}
	}
	if cfg.RPCAddr != "" || cfg.RPCListener != nil {
		rcfg := jsonrpc.Config{User: cfg.RPCUser, Password: cfg.RPCPassword, Logger: d.log.With("component", "rpc")}
		if cfg.RPCPassword == "" {
			if cfg.DataDir == "" {
				d.Close()
				return nil, fmt.Errorf("%w: an RPC password or a data directory for the cookie is required", ErrConfig)
			}
			rcfg.CookieFile = filepath.Join(cfg.DataDir, ".cookie")
		}
		if d.rpc, err = jsonrpc.New(rcfg); err != nil {
			d.Close()
			return nil, err
		}
		d.registerMethods()
	}
	return d, nil
}

// Node returns the block index and state.
func (d *Daemon) Node() *node.Node { return d.node }

// Params returns the consensus parameters.
func (d *Daemon) Params() *chain.Params { return d.params }

// TipChanged returns a channel that is closed at the next change of the
// tip, for miners that must restart on new work.
func (d *Daemon) TipChanged() <-chan struct{} {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.tipCh
}

// onEvent is the node's Notify callback.
func (d *Daemon) onEvent(e node.Event) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.pool != nil { // nil while a reindex replays the chain in New
		d.pool.HandleEvent(e)
		d.metrics.setMempool(d.pool.Info())
	}
	switch e.Kind {
	case node.BlockConnected:
		if d.reorgs > 0 {
			d.metrics.reorg(d.reorgs)
			d.log.Info("reorganized", "depth", d.reorgs)
			d.reorgs = 0
		}
		d.metrics.connected.Inc()
		d.log.Info("block connected", "height", e.Height, "hash", e.Hash, "txs", len(e.Block.Transactions))
		if d.net != nil {
			d.net.PublishBlock(e.Block)
		}
	case node.BlockDisconnected:
		d.reorgs++
		d.log.Info("block disconnected", "height", e.Height, "hash", e.Hash)
	}
	if d.node != nil { // nil while a reindex replays the chain in New
		d.metrics.setTip(d.node.Tip())
		d.watchFinality()
	}
	close(d.tipCh)
	d.tipCh = make(chan struct{})
}

// watchFinality updates the finality metrics after a change of the tip
// and says in the log when finality stalls (node.FinalityInfo.Stalled),
// once per epoch while it does, and when it resumes. d.mu must be held.
func (d *Daemon) watchFinality() {
	if !d.params.StakeEnabled() {
		return
	}
	f := d.node.Finality()
	d.metrics.setFinality(f)
	switch stalled := f.Stalled(); {
	case stalled && (!d.finalityStalled || f.Epoch != d.stallLogged):
		d.log.Warn("finality stalled: the votes counted carry less than two thirds of the stake",
			"epoch", f.Epoch, "finalized_epoch", f.Finalized.Epoch, "justified_epoch", f.Justified.Epoch,
			"epoch_voted_stake", f.EpochVoted, "epoch_total_stake", f.EpochStake)
		d.finalityStalled, d.stallLogged = true, f.Epoch
	case !stalled && d.finalityStalled:
		d.log.Info("finality resumed", "epoch", f.Epoch, "finalized_epoch", f.Finalized.Epoch)
		d.finalityStalled = false
	}
}

// SubmitBlock validates a block and adds it to the chain. It reports
// whether the block is on the best chain after the call (false for an
// orphan or a block kept on a side branch), and the node's error: one
// holding a chain.RuleError for a consensus failure, one wrapping
// node.ErrDuplicate for a known block. A Stratum pool calls it through
// its own Node interface.
func (d *Daemon) SubmitBlock(b *chain.Block) (mainChain bool, err error) {
	if d.net != nil {
		d.net.RecordLocalBlock(b.Hash()) // the dashboard shows its source
	}
	d.observeBlock(b)
	start := time.Now()
	res, err := d.node.ProcessBlock(b)
	d.metrics.validation.Observe(time.Since(start).Seconds())
	return res.MainChain, err
}

// storeDamaged is closed when the store finds its file damaged; never
// for a chain kept in memory.
func (d *Daemon) storeDamaged() <-chan struct{} {
	if d.db == nil {
		return nil
	}
	return d.db.Damaged()
}

// rpcShutdownGrace is how long Run, once ctx is done, waits for the RPC
// connections to finish before it closes them.
const rpcShutdownGrace = 5 * time.Second

// Run serves the RPC API and /metrics until ctx is done. It returns an
// error wrapping store.ErrDamaged, and stops serving, as soon as the
// store finds its file damaged: the node cannot go on without its store.
func (d *Daemon) Run(ctx context.Context) error {
	if d.rpc == nil {
		select {
		case <-ctx.Done():
			return nil
		case <-d.storeDamaged():
			return fmt.Errorf("daemon: stopping: %w", d.db.Err())
		}
	}
	ln := d.rpcLn
	if ln == nil {
		var err error
		if ln, err = net.Listen("tcp", d.rpcAddr); err != nil {
			return fmt.Errorf("daemon: RPC listen: %w", err)
		}
	}
	public := d.publicMetrics || isLoopback(ln.Addr())
	d.log.Info("RPC listening", "addr", ln.Addr().String(), "max_conns", d.maxRPCConns, "public_metrics", public)
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	dash, dashWait, err := d.startDashboard(ctx)
	if err != nil {
		return err
	}
	defer dashWait()
	var httpc chan error // the dashboard's own listener, with Config.HTTPAddr
	if d.httpAddr != "" {
		httpc = make(chan error, 1)
		go func() { httpc <- d.serveHTTP(ctx, dash) }()
	}
	mux := http.NewServeMux()
	mux.Handle("/", withDashboard(d.dashboardHandler(dash, isLoopback(ln.Addr())), d.rpc))
	if public {
		mux.Handle("/metrics", d.metrics.handler())
	} else {
		mux.Handle("/metrics", d.rpc.RequireAuth(d.metrics.handler()))
	}
	limited := newConnLimiter(ln, d.maxRPCConns)
	srv := &http.Server{
		Handler:           mux,
		ReadHeaderTimeout: rpcHeaderTimeout,
		ReadTimeout:       60 * time.Second,
		WriteTimeout:      60 * time.Second,
		IdleTimeout:       d.rpcIdleTimeout,
		MaxHeaderBytes:    1 << 16,
		ConnState:         limited.track,
		// Requests see the stop: a long-polled getblocktemplate returns
		// at once instead of holding up the shutdown.
		BaseContext: func(net.Listener) context.Context { return ctx },
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(limited) }()
	var stop error
	select {
	case err := <-errc:
		return fmt.Errorf("daemon: RPC server: %w", err)
	case err := <-httpc:
		stop, httpc = err, nil
	case <-ctx.Done():
	case <-d.storeDamaged():
		stop = fmt.Errorf("daemon: stopping: %w", d.db.Err())
	}
	cancel()
	shutdown, cancelShutdown := context.WithTimeout(context.Background(), rpcShutdownGrace)
	defer cancelShutdown()
	err = srv.Shutdown(shutdown)
	if errors.Is(err, context.DeadlineExceeded) {
		// A connection that sent no request (net/http waits 5 s for
		// one), or a request still served: the stop does not fail, the
		// connection is cut.
		d.log.Warn("RPC connections still open after the shutdown grace period: closed", "grace", rpcShutdownGrace)
		_ = srv.Close()
		err = nil
	}
	if httpc != nil {
		err = errors.Join(err, <-httpc)
	}
	return errors.Join(stop, err)
}

// isLoopback reports whether addr is a loopback TCP address.
func isLoopback(addr net.Addr) bool {
	tcp, ok := addr.(*net.TCPAddr)
	return ok && tcp.IP.IsLoopback()
}

// Close stops the networking and releases the store. The Daemon must not
// be used afterwards.
func (d *Daemon) Close() error {
	var errs []error
	if d.proposer != nil { // first: it submits blocks, which are published
		d.proposer.stop()
		d.proposer = nil
	}
	if d.validator != nil { // first: it publishes on the network
		d.validator.stop()
		d.validator = nil
	}
	if d.net != nil {
		errs = append(errs, d.net.Close())
	}
	for _, c := range d.closers {
		errs = append(errs, c())
	}
	d.closers = nil
	return errors.Join(errs...)
}
