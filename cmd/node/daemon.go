package main

import (
	"context"
	"crypto/ed25519"
	"crypto/tls"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"path/filepath"
	"time"

	"github.com/powmine/powmine/chain"
	"github.com/powmine/powmine/chain/daemon"
	"github.com/powmine/powmine/chain/wallet"
	"github.com/powmine/powmine/internal/cli"
	"github.com/powmine/powmine/stratum/pool"
)

// poolWindowFile is the pool's PPLNS window in the data directory.
const poolWindowFile = "pool-window.dat"

// daemonCmd runs the node until ctx is done.
func daemonCmd(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("node", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	dev := fs.Bool("dev", false, "run the local development chain (the only network with a genesis block yet)")
	dataDir := fs.String("datadir", "", "data directory (default: the user's data directory/powmine/NETWORK)")
	rpcAddr := fs.String("rpc", "127.0.0.1:18443", "JSON-RPC, /metrics and web dashboard (GET /) listen address; empty disables")
	httpAddr := fs.String("http", "", "also serve the web dashboard alone on this address (needs --rpc; credentials off loopback)")
	rpcUser := fs.String("rpcuser", "", "RPC user name (with --rpcpassword; default: cookie file in the data directory)")
	rpcPass := fs.String("rpcpassword", "", "RPC password")
	reindex := fs.Bool("reindex", false, "rebuild the chain state from the stored blocks")
	verbose := fs.Bool("v", false, "log debug records")
	stratumAddr := fs.String("stratum", "", "Stratum V1 pool listen address (host:port); empty disables")
	stratumPayout := fs.String("stratum-payout", "", "address paid while the pool's PPLNS window is empty (required with --stratum)")
	stratumDiff := fs.Float64("stratum-difficulty", pool.DefaultStartDifficulty, "starting share difficulty of a Stratum connection")
	stratumMinDiff := fs.Float64("stratum-min-difficulty", pool.DefaultMinDifficulty, "lowest share difficulty vardiff may set")
	stratumInterval := fs.Duration("stratum-share-interval", pool.DefaultShareInterval, "share interval vardiff aims at")
	stratumE2 := fs.Int("stratum-extranonce2", pool.DefaultExtranonce2Size, "extranonce2 size in bytes (2 to 16)")
	stratumWindow := fs.Float64("stratum-window", 0, "PPLNS window as total share difficulty (0: twice the network difficulty)")
	stratumCert := fs.String("stratum-tls-cert", "", "PEM certificate file: serve Stratum over TLS (stratum+ssl://), with --stratum-tls-key")
	stratumKey := fs.String("stratum-tls-key", "", "PEM private key file of --stratum-tls-cert")
	rpcMaxConns := fs.Int("rpc-max-conns", daemon.DefaultMaxRPCConns, "most open RPC connections (an idle one gives its place to a new one)")
	metricsPublic := fs.Bool("metrics-public", false, "serve /metrics without the RPC credentials on a non-loopback --rpc address")
	var listen, peers multiFlag
	fs.Var(&listen, "listen", "peer-to-peer listen multiaddr, repeatable (default "+defaultListen+`; "" disables networking)`)
	fs.Var(&peers, "peer", "multiaddr with /p2p/ID of a peer to keep connected to, repeatable")
	mdns := fs.Bool("mdns", false, "find peers of this chain on the local network by mDNS (multicast; off by default)")
	genesis := fs.String("genesis", "", "join the dev chain whose genesis block is in this file (another node's DATADIR/genesis.bin)")
	consensus := fs.String("consensus", "pow", "pow: blocks are mined; pos: validators elected by stake propose in 2 s slots (a new chain's genesis stakes --validator-key; no mining, no --stratum)")
	validatorKey := fs.String("validator-key", "", "vote for a checkpoint every epoch with the validator key in this file (node validator keygen; registered by node validator deposit)")
	validatorPass := fs.String("validator-key-passphrase-file", "", "file holding --validator-key's passphrase (required with it)")
	slashReporter := fs.String("slash-reporter", "", "address paid the reporter's share when this node slashes an equivocating validator (default: --validator-key's address; without either the share is burned)")
	epochLength := fs.Int64("epoch-length", chain.DevParams.EpochLength, "dev/test knob: blocks per stake epoch; every node of the chain, at every start, must use the same value")
	slotDuration := fs.Duration("slot-duration", chain.DevSlotDuration, fmt.Sprintf("dev/test knob, --consensus pos only: length of a proposer slot, %v to %v; every node of the chain, at every start, must use the same value", minSlotDuration, maxSlotDuration))
	var lim poolLimits
	lim.flags(fs)
	if err := parse(fs, args, stderr); err != nil {
		return err
	}
	if !*dev {
		return cli.Usagef("only the dev network can run yet: add --dev")
	}
	network, err := networkConfig(&listen, &peers, *mdns)
	if err != nil {
		return err
	}
	if *rpcMaxConns < 1 {
		return cli.Usagef("--rpc-max-conns must be at least 1")
	}
	if *epochLength < 1 {
		return cli.Usagef("--epoch-length must be at least 1")
	}
	if (*rpcUser == "") != (*rpcPass == "") {
		return cli.Usagef("--rpcuser and --rpcpassword go together")
	}
	if *consensus != chain.ConsensusPoW.String() && *consensus != chain.ConsensusPoS.String() {
		return cli.Usagef("--consensus must be pow or pos, not %q", *consensus)
	}
	pos := *consensus == chain.ConsensusPoS.String()
	if err := checkSlotDuration(fs, pos, *slotDuration); err != nil {
		return err
	}
	if pos && *stratumAddr != "" {
		return cli.Usagef("--stratum serves miners: not with --consensus pos, whose blocks are proposed, not mined")
	}
	if pos && *genesis == "" && *validatorKey == "" {
		return cli.Usagef("--consensus pos needs --validator-key (its key holds a new chain's genesis stake) or --genesis to join a chain")
	}
	valKey, err := loadValidatorKey(*validatorKey, *validatorPass, stderr)
	if err != nil {
		return err
	}
	var reporter chain.Address
	if *slashReporter != "" {
		if reporter, err = chain.ParseAddress(*slashReporter); err != nil {
			return cli.Usagef("--slash-reporter: %v", err)
		}
	}
	var payout chain.Address
	var tlsConfig *tls.Config
	if *stratumAddr != "" {
		a, err := chain.ParseAddress(*stratumPayout)
		if err != nil {
			return cli.Usagef("--stratum needs a valid --stratum-payout address: %v", err)
		}
		payout = a
		if tlsConfig, err = stratumTLS(*stratumCert, *stratumKey); err != nil {
			return err
		}
	} else if *stratumCert != "" || *stratumKey != "" {
		return cli.Usagef("--stratum-tls-cert and --stratum-tls-key need --stratum")
	}
	if *dataDir == "" {
		*dataDir = daemon.DefaultDataDir("dev")
	}
	level := slog.LevelInfo
	if *verbose {
		level = slog.LevelDebug
	}
	log := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: level}))
	var params *chain.Params
	if *genesis != "" {
		params, err = daemon.JoinDevParams(*dataDir, *genesis)
	} else if pos {
		params, err = daemon.DevPoSParams(*dataDir, time.Now(), chain.PublicKey(valKey.Public().(ed25519.PublicKey)))
	} else {
		params, err = daemon.DevParams(*dataDir, time.Now())
	}
	if err != nil {
		return err
	}
	if params.Consensus.String() != *consensus {
		return fmt.Errorf("node: %s holds a %v chain, not --consensus %s", *dataDir, params.Consensus, *consensus)
	}
	params.EpochLength = *epochLength
	if pos {
		params.SlotDuration = *slotDuration
	}
	if *stratumAddr != "" {
		if err := lim.fit(openFileLimit(), *rpcMaxConns, log); err != nil {
			return err
		}
	}
	d, err := daemon.New(daemon.Config{
		Params:        params,
		DataDir:       *dataDir,
		RPCAddr:       *rpcAddr,
		HTTPAddr:      *httpAddr,
		RPCUser:       *rpcUser,
		RPCPassword:   *rpcPass,
		MaxRPCConns:   *rpcMaxConns,
		PublicMetrics: *metricsPublic,
		Reindex:       *reindex,
		Network:       network,
		ValidatorKey:  valKey,
		SlashReporter: reporter,
		Logger:        log,
	})
	if err != nil {
		return err
	}
	defer d.Close()
	tip := d.Node().Tip()
	log.Info("node started", "network", params.Name, "datadir", *dataDir, "genesis", params.GenesisHash, "height", tip.Height, "tip", tip.Hash)
	for _, a := range d.NetworkAddrs() {
		fmt.Fprintln(stdout, "p2p address:", a)
	}
	if *stratumAddr == "" {
		return d.Run(ctx)
	}
	srv, err := pool.New(pool.Config{
		Node:             d,
		PoolAddress:      payout,
		Addr:             *stratumAddr,
		TLSConfig:        tlsConfig,
		Extranonce2Size:  *stratumE2,
		StartDifficulty:  *stratumDiff,
		MinDifficulty:    *stratumMinDiff,
		ShareInterval:    *stratumInterval,
		WindowDifficulty: *stratumWindow,
		WindowFile:       filepath.Join(*dataDir, poolWindowFile),
		Logger:           log,

		MaxConns:          lim.maxConns,
		MaxConnsPerIP:     lim.maxConnsPerIP,
		MaxUnauthConns:    lim.maxUnauthConns,
		MaxInvalidPerConn: lim.maxInvalid,
		BanAbusiveConns:   lim.banConns,
		BanWindow:         lim.banWindow,
		BanDuration:       lim.banDuration,
	})
	if errors.Is(err, pool.ErrConfig) {
		return cli.Usage(err) // a --stratum-* flag out of range
	}
	if err != nil {
		return err // such as a corrupt PPLNS window file, named in err
	}
	if err := d.RegisterMetrics(srv); err != nil {
		return err
	}
	d.SetDashboardPool(poolView{srv})
	if *rpcAddr != "" {
		if err := srv.RegisterRPC(d); err != nil {
			return err
		}
	}
	// The node and the pool run side by side; the first to fail stops
	// both.
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	errc := make(chan error, 2)
	go func() { errc <- d.Run(ctx) }()
	go func() { errc <- srv.Run(ctx) }()
	first := <-errc
	cancel()
	return errors.Join(first, <-errc)
}

// The bounds of --slot-duration. Below 100 ms a block would often reach
// the next slot's proposer after that slot started, even on one machine,
// and the chain would fork at every slot; an hour is far beyond any use
// of a dev knob.
const (
	minSlotDuration = 100 * time.Millisecond
	maxSlotDuration = time.Hour
)

// checkSlotDuration refuses a --slot-duration out of its bounds, and one
// given for a proof-of-work node (pos false), whose blocks have no slots.
func checkSlotDuration(fs *flag.FlagSet, pos bool, d time.Duration) error {
	set := false
	fs.Visit(func(f *flag.Flag) { set = set || f.Name == "slot-duration" })
	switch {
	case set && !pos:
		return cli.Usagef("--slot-duration needs --consensus pos: proof-of-work blocks have no slots")
	case d < minSlotDuration || d > maxSlotDuration:
		return cli.Usagef("--slot-duration must be between %v and %v, not %v", minSlotDuration, maxSlotDuration, d)
	}
	return nil
}

// loadValidatorKey opens the --validator-key file with the passphrase in
// passFile; nil without a key file. A node does not prompt: the
// passphrase file is required with the key.
func loadValidatorKey(keyFile, passFile string, stderr io.Writer) (ed25519.PrivateKey, error) {
	switch {
	case keyFile == "" && passFile == "":
		return nil, nil
	case keyFile == "":
		return nil, cli.Usagef("--validator-key-passphrase-file needs --validator-key")
	case passFile == "":
		return nil, cli.Usagef("--validator-key needs --validator-key-passphrase-file")
	}
	pass, err := readPassphrase(passFile, nil, stderr)
	if err != nil {
		return nil, fmt.Errorf("--validator-key-passphrase-file: %w", err)
	}
	key, err := wallet.LoadValidatorKey(keyFile, pass)
	if err != nil {
		return nil, fmt.Errorf("--validator-key %s: %w", keyFile, err)
	}
	return key, nil
}

// stratumTLS loads the pool's TLS certificate; nil without one.
func stratumTLS(certFile, keyFile string) (*tls.Config, error) {
	if certFile == "" && keyFile == "" {
		return nil, nil
	}
	if certFile == "" || keyFile == "" {
		return nil, cli.Usagef("--stratum-tls-cert and --stratum-tls-key go together")
	}
	cert, err := tls.LoadX509KeyPair(certFile, keyFile)
	if err != nil {
		return nil, fmt.Errorf("stratum TLS: %w", err)
	}
	return &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}, nil
}

// parse parses flags, printing usage for -h (and returning errHelp) and
// turning errors into usage errors.
func parse(fs *flag.FlagSet, args []string, stderr io.Writer) error {
	err := fs.Parse(args)
	if errors.Is(err, flag.ErrHelp) {
		fs.SetOutput(stderr)
		if fs.Name() == "node" {
			fmt.Fprint(stderr, `usage: node --dev [flags]                  run a node (flags below)
       node wallet new|address [flags]     create a key file, print its address (node wallet new -h)
       node send --to ADDR --amount X ...  sign and submit a transfer (node send -h)

`)
		}
		fmt.Fprintf(stderr, "usage of %s:\n", fs.Name())
		fs.PrintDefaults()
		return errHelp
	}
	if err != nil {
		return cli.Usagef("%v (see %s -h)", err, fs.Name())
	}
	if fs.NArg() > 0 {
		return cli.Usagef("unexpected argument %q", fs.Arg(0))
	}
	return nil
}
