package pool

import (
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"time"

	"github.com/powmine/powmine/chain"
	"github.com/powmine/powmine/chain/template"
	"github.com/powmine/powmine/stratum"
)

// Node is what the pool needs from the node: templates in the shared
// chain/template types, and a way to hand blocks back. *daemon.Daemon
// satisfies it.
type Node interface {
	// Params returns the consensus parameters.
	Params() *chain.Params
	// TemplateExtranonce builds a template on the tip paying payouts with
	// an extranonce field of extranonceSize bytes.
	TemplateExtranonce(payouts []template.Payout, extranonceSize int) (*template.Template, error)
	// SubmitBlock validates a block and adds it to the chain; mainChain
	// reports whether it is on the best chain afterwards.
	SubmitBlock(b *chain.Block) (mainChain bool, err error)
	// TipChanged returns a channel closed at the next change of the tip.
	TipChanged() <-chan struct{}
}

// Extranonce1Size is the length of the extranonce1 the pool gives each
// connection: a counter, unique among the 2^32 most recent connections.
const Extranonce1Size = 4

// Limits and defaults of Config.
const (
	// MinExtranonce2Size and MaxExtranonce2Size bound
	// Config.Extranonce2Size (cpuminer-opt accepts 2..16).
	MinExtranonce2Size = 2
	MaxExtranonce2Size = 16
	// DefaultExtranonce2Size is the extranonce2 size when
	// Config.Extranonce2Size is 0.
	DefaultExtranonce2Size = 4

	// DefaultStartDifficulty, DefaultMinDifficulty and
	// DefaultMaxDifficulty are the difficulty defaults.
	DefaultStartDifficulty = 0.001
	DefaultMinDifficulty   = 1e-6
	DefaultMaxDifficulty   = 1e12

	// DefaultShareInterval is the share interval vardiff aims at.
	DefaultShareInterval = 10 * time.Second
	// DefaultRetargetInterval and DefaultRetargetShares: vardiff retargets
	// a connection after this time or this many shares, whichever first.
	DefaultRetargetInterval = 60 * time.Second
	DefaultRetargetShares   = 20
	// VardiffMaxStep is the largest factor of one vardiff step, up or
	// down.
	VardiffMaxStep = 4

	// DefaultWindowSaveInterval is how often the PPLNS window is saved
	// to Config.WindowFile.
	DefaultWindowSaveInterval = 30 * time.Second

	// DefaultRefreshInterval is how often a job without clean_jobs is made
	// from a fresh template.
	DefaultRefreshInterval = 30 * time.Second
	// DefaultMaxJobs is how many recent jobs the pool keeps; MaxMaxJobs
	// caps Config.MaxJobs.
	DefaultMaxJobs = 16
	MaxMaxJobs     = 64

	// DefaultMaxConns and DefaultMaxConnsPerIP are the connection limits.
	DefaultMaxConns      = 10000
	DefaultMaxConnsPerIP = 1024
	// DefaultMaxUnauthConns bounds the connections not yet authorized
	// (Config.MaxUnauthConns): a tenth of DefaultMaxConns. A miner
	// authorizes in its first round trip, so even the reconnection of
	// every miner after a restart keeps far fewer waiting, while idle
	// sockets opened to fill the server hold at most this many slots.
	DefaultMaxUnauthConns = DefaultMaxConns / 10

	// DefaultIdleTimeout closes a connection that sent no line for that
	// long; DefaultHandshakeTimeout one not authorized in time;
	// DefaultWriteTimeout is the deadline of one flush.
	// The handshake timeout is 10 s: miners pipeline subscribe and
	// authorize in their first round trip, and 10 s leaves room for a TLS
	// handshake on a slow link (ckpool drops clients not authorized
	// within 60 s).
	DefaultIdleTimeout      = 10 * time.Minute
	DefaultHandshakeTimeout = 10 * time.Second
	DefaultWriteTimeout     = 10 * time.Second

	// DefaultMaxOutbound is the outbound buffer of a connection in bytes;
	// a client that lets it overflow is closed.
	DefaultMaxOutbound = 256 << 10

	// DefaultMaxInvalidPerConn invalid requests from one connection
	// (invalid shares other than stale and duplicate ones, malformed
	// params, refused authorizations) within DefaultBanWindow close it:
	// 50, the sample of miningcore's and NOMP's invalid-share check.
	// DefaultBanAbusiveConns connections of one IP closed so within
	// DefaultBanWindow ban the IP for DefaultBanDuration. An IP is often
	// a whole farm behind a NAT: one broken miner there is closed at most
	// once per 50 invalid shares, minutes apart at vardiff's pace, so
	// only a client that reconnects to go on sending junk bans it.
	DefaultMaxInvalidPerConn = 50
	DefaultBanAbusiveConns   = 5
	DefaultBanWindow         = 5 * time.Minute
	DefaultBanDuration       = 10 * time.Minute

	// DefaultSessionTimeout is how long the session of a closed
	// connection can be resumed; DefaultMaxSessions bounds the sessions
	// kept (Config.MaxSessions, -1: none).
	DefaultSessionTimeout = 10 * time.Minute
	DefaultMaxSessions    = DefaultMaxConns
	// DefaultMaxSessionsPerIP bounds the sessions kept of one client IP
	// (Config.MaxSessionsPerIP): as many as its open connections may be,
	// so that a farm behind one NAT address that reconnects at once
	// resumes every session, and one IP never holds more.
	DefaultMaxSessionsPerIP = DefaultMaxConnsPerIP

	// MaxWorkersPerConn bounds the users one connection may authorize.
	MaxWorkersPerConn = 32
	// MaxUserLength bounds the user name of mining.authorize in bytes;
	// a longer one is refused (code 24). A user is "address[.worker]":
	// an address is chain.AddressStringSize (50) characters, which leaves
	// 77 bytes for ".worker", more than any rig name needs. ckpool keeps
	// 127 bytes of a user name (a 128-byte buffer). With it a connection
	// holds at most 32 x 128 bytes of names, and a tracked worker's
	// name costs 128 bytes, not a line (16 KB).
	MaxUserLength = 128
	// DefaultWorkerIdleTimeout is the default of Config.WorkerIdleTimeout:
	// a day, so that a daily view of the workers is complete. ckpool
	// stops listing workers idle for a week (600,000 s), but it keeps
	// them on disk; here the statistics are in memory, and a day also
	// bounds how long the names of a burst of junk authorizations stay.
	DefaultWorkerIdleTimeout = 24 * time.Hour
	// MaxTrackedShares bounds the accepted shares a connection remembers
	// for the duplicate check; a share beyond it on live jobs is rejected
	// (code 20) until jobs expire.
	MaxTrackedShares = 1 << 16
	// MaxWindowShares bounds the shares of the PPLNS window.
	MaxWindowShares = 1 << 20
	// DefaultWindowFactor: when Config.WindowDifficulty is 0 the PPLNS
	// window is this many times the network difficulty.
	DefaultWindowFactor = 2
)

// ErrConfig is wrapped by New's errors for an invalid Config.
var ErrConfig = errors.New("pool: bad config")

// Config configures a Server. Zero fields take the defaults above.
type Config struct {
	// Node supplies templates and takes blocks. Required.
	Node Node
	// PoolAddress is paid when the PPLNS window is empty. Required.
	PoolAddress chain.Address

	// Addr is the listen address (host:port); ignored when Listener is set.
	Addr string
	// Listener, if set, is where the server accepts connections.
	Listener net.Listener
	// TLSConfig, if set, makes the server speak Stratum over TLS.
	TLSConfig *tls.Config

	// Extranonce2Size is the miners' extranonce2 length, 2 to 16.
	Extranonce2Size int

	// StartDifficulty, MinDifficulty and MaxDifficulty bound the share
	// difficulty of a connection.
	StartDifficulty, MinDifficulty, MaxDifficulty float64
	// ShareInterval is the time between shares vardiff aims at.
	ShareInterval time.Duration
	// RetargetInterval and RetargetShares: when vardiff looks again.
	RetargetInterval time.Duration
	RetargetShares   int

	// WindowDifficulty is the PPLNS window: the total difficulty of the
	// last shares paid. 0: DefaultWindowFactor times the network
	// difficulty.
	WindowDifficulty float64

	// WindowFile, if set, keeps the PPLNS window across restarts: New
	// loads it (a missing file is an empty window; a bad one an error),
	// and the server saves it every WindowSaveInterval and when it stops.
	// A crash loses the shares of at most one interval.
	WindowFile         string
	WindowSaveInterval time.Duration

	// RefreshInterval is how often a fresh template makes a new job.
	RefreshInterval time.Duration
	// MaxJobs is how many recent jobs stay valid for shares.
	MaxJobs int

	// MaxConns and MaxConnsPerIP limit connections; IPv6 clients count
	// by /64 (a host has a whole /64 to pick addresses from).
	// MaxUnauthConns limits the connections not yet authorized. At
	// MaxConns or MaxUnauthConns a new connection takes the slot of the
	// oldest one not yet authorized (closed with CloseHandshakeEvicted),
	// so idle sockets never lock new miners out; authorized connections
	// keep theirs, and only when all are authorized is a new connection
	// refused.
	MaxConns, MaxConnsPerIP, MaxUnauthConns int
	// LineLimit is the maximum line length (stratum.MaxLineSize).
	LineLimit int
	// IdleTimeout, HandshakeTimeout and WriteTimeout are the timeouts.
	IdleTimeout, HandshakeTimeout, WriteTimeout time.Duration
	// MaxOutbound is a connection's outbound buffer in bytes.
	MaxOutbound int
	// MaxInvalidPerConn invalid requests from one connection within
	// BanWindow close it (CloseAbuse, with a client.show_message saying
	// why); BanAbusiveConns connections of one IP closed so within
	// BanWindow ban the IP for BanDuration: its new connections are
	// refused, with a message, and its open ones go on.
	MaxInvalidPerConn, BanAbusiveConns int
	BanWindow, BanDuration             time.Duration

	// SessionTimeout, MaxSessions, MaxSessionsPerIP and MaxSessionBytes:
	// the session of a closed connection (its extranonce1, difficulty,
	// live jobs and at most MaxSessionShares shares on them) can be
	// resumed for SessionTimeout by a client from the same IP that
	// subscribes with its subscription id; at most MaxSessions are kept
	// (-1 keeps none), MaxSessionsPerIP of one IP, costing at most
	// MaxSessionBytes in all (default DefaultMaxSessionBytes). Beyond a
	// limit the sessions without accepted shares are evicted first.
	SessionTimeout   time.Duration
	MaxSessions      int
	MaxSessionsPerIP int
	MaxSessionBytes  int

	// MaxTrackedWorkers bounds the workers whose statistics are kept; at
	// the cap a new worker evicts the longest idle one.
	MaxTrackedWorkers int
	// WorkerIdleTimeout drops the statistics of a worker without an
	// authorize or a share for that long.
	WorkerIdleTimeout time.Duration
	// Now is the clock of the statistics (hashrate windows, share times).
	// Can be nil: time.Now.
	Now func() time.Time

	// Logger receives the log. Can be nil: discard.
	Logger *slog.Logger
}

// withDefaults returns cfg with defaults filled in, or an error.
func (cfg Config) withDefaults() (Config, error) {
	if cfg.Node == nil {
		return cfg, fmt.Errorf("%w: Node is required", ErrConfig)
	}
	if cfg.PoolAddress == (chain.Address{}) {
		return cfg, fmt.Errorf("%w: PoolAddress is required", ErrConfig)
	}
	def := func(v *int, d int) {
		if *v == 0 {
			*v = d
		}
	}
	defD := func(v *time.Duration, d time.Duration) {
		if *v == 0 {
			*v = d
		}
	}
	defF := func(v *float64, d float64) {
		if *v == 0 {
			*v = d
		}
	}
	def(&cfg.Extranonce2Size, DefaultExtranonce2Size)
	defF(&cfg.StartDifficulty, DefaultStartDifficulty)
	defF(&cfg.MinDifficulty, DefaultMinDifficulty)
	defF(&cfg.MaxDifficulty, DefaultMaxDifficulty)
	defD(&cfg.ShareInterval, DefaultShareInterval)
	defD(&cfg.RetargetInterval, DefaultRetargetInterval)
	def(&cfg.RetargetShares, DefaultRetargetShares)
	defD(&cfg.RefreshInterval, DefaultRefreshInterval)
	defD(&cfg.WindowSaveInterval, DefaultWindowSaveInterval)
	def(&cfg.MaxJobs, DefaultMaxJobs)
	def(&cfg.MaxConns, DefaultMaxConns)
	def(&cfg.MaxConnsPerIP, DefaultMaxConnsPerIP)
	def(&cfg.MaxUnauthConns, DefaultMaxUnauthConns)
	def(&cfg.LineLimit, stratum.MaxLineSize)
	defD(&cfg.IdleTimeout, DefaultIdleTimeout)
	defD(&cfg.HandshakeTimeout, DefaultHandshakeTimeout)
	defD(&cfg.WriteTimeout, DefaultWriteTimeout)
	def(&cfg.MaxOutbound, DefaultMaxOutbound)
	def(&cfg.MaxInvalidPerConn, DefaultMaxInvalidPerConn)
	def(&cfg.BanAbusiveConns, DefaultBanAbusiveConns)
	defD(&cfg.BanWindow, DefaultBanWindow)
	defD(&cfg.BanDuration, DefaultBanDuration)
	def(&cfg.MaxTrackedWorkers, DefaultMaxTrackedWorkers)
	defD(&cfg.WorkerIdleTimeout, DefaultWorkerIdleTimeout)
	defD(&cfg.SessionTimeout, DefaultSessionTimeout)
	def(&cfg.MaxSessions, DefaultMaxSessions)
	def(&cfg.MaxSessionsPerIP, DefaultMaxSessionsPerIP)
	def(&cfg.MaxSessionBytes, DefaultMaxSessionBytes)
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	switch {
	case cfg.Extranonce2Size < MinExtranonce2Size || cfg.Extranonce2Size > MaxExtranonce2Size:
		return cfg, fmt.Errorf("%w: extranonce2 size %d, want %d to %d", ErrConfig, cfg.Extranonce2Size, MinExtranonce2Size, MaxExtranonce2Size)
	case !(cfg.MinDifficulty > 0) || !(cfg.MaxDifficulty >= cfg.MinDifficulty) || cfg.MaxDifficulty > 1e60:
		return cfg, fmt.Errorf("%w: difficulty range [%g, %g]", ErrConfig, cfg.MinDifficulty, cfg.MaxDifficulty)
	case cfg.StartDifficulty < cfg.MinDifficulty || cfg.StartDifficulty > cfg.MaxDifficulty:
		return cfg, fmt.Errorf("%w: start difficulty %g outside [%g, %g]", ErrConfig, cfg.StartDifficulty, cfg.MinDifficulty, cfg.MaxDifficulty)
	case cfg.WindowDifficulty < 0:
		return cfg, fmt.Errorf("%w: negative PPLNS window", ErrConfig)
	case cfg.MaxJobs < 1 || cfg.MaxJobs > MaxMaxJobs:
		return cfg, fmt.Errorf("%w: MaxJobs %d, want 1 to %d", ErrConfig, cfg.MaxJobs, MaxMaxJobs)
	case cfg.MaxSessions < -1:
		return cfg, fmt.Errorf("%w: MaxSessions %d below -1", ErrConfig, cfg.MaxSessions)
	case cfg.MaxConns < 0 || cfg.MaxConnsPerIP < 0 || cfg.MaxUnauthConns < 0 || cfg.RetargetShares < 0 || cfg.MaxInvalidPerConn < 0 || cfg.BanAbusiveConns < 0 || cfg.MaxTrackedWorkers < 0 || cfg.MaxSessionsPerIP < 0 || cfg.MaxSessionBytes < 0:
		return cfg, fmt.Errorf("%w: negative limit", ErrConfig)
	case cfg.LineLimit < 256:
		return cfg, fmt.Errorf("%w: line limit %d below 256", ErrConfig, cfg.LineLimit)
	case cfg.MaxOutbound < 2*cfg.LineLimit:
		return cfg, fmt.Errorf("%w: MaxOutbound %d below twice the line limit", ErrConfig, cfg.MaxOutbound)
	case cfg.ShareInterval < 0 || cfg.RetargetInterval < 0 || cfg.RefreshInterval < 0 || cfg.IdleTimeout < 0 ||
		cfg.HandshakeTimeout < 0 || cfg.WriteTimeout < 0 || cfg.BanWindow < 0 || cfg.BanDuration < 0 || cfg.SessionTimeout < 0 || cfg.WindowSaveInterval < 0 || cfg.WorkerIdleTimeout < 0:
		return cfg, fmt.Errorf("%w: negative duration", ErrConfig)
	}
	return cfg, nil
}
