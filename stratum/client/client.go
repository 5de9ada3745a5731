package client

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/powmine/powmine/miner"
	"github.com/powmine/powmine/stratum"
)

// DefaultUserAgent is the user agent sent in mining.subscribe.
const DefaultUserAgent = "powmine/0.1"

// Defaults of the Config limits.
const (
	// DefaultDialTimeout bounds a TCP connect and TLS handshake.
	DefaultDialTimeout = 10 * time.Second
	// DefaultHandshakeTimeout bounds the time from connecting to the first
	// job.
	DefaultHandshakeTimeout = 30 * time.Second
	// DefaultReadTimeout is the longest silence from the pool before the
	// connection is dropped. Pools send a job at least every minute or
	// two.
	DefaultReadTimeout = 5 * time.Minute
	// DefaultWriteTimeout bounds one write.
	DefaultWriteTimeout = 10 * time.Second
	// DefaultMinBackoff is the first reconnect delay.
	DefaultMinBackoff = time.Second
	// DefaultMaxBackoff caps the reconnect delay.
	DefaultMaxBackoff = time.Minute
	// MaxJobs is how many jobs of a connection stay live (their shares are
	// submitted) until a clean_jobs notify clears them.
	MaxJobs = 16
	// MaxPending is the most requests awaiting a response; a pool that
	// answers none of them is dropped.
	MaxPending = 1024
)

// Errors returned by New and Run.
var (
	// ErrConfig reports a missing or invalid Config field.
	ErrConfig = errors.New("client: invalid config")
	// ErrAuthorize is a refused mining.authorize.
	ErrAuthorize = errors.New("client: authorization refused")
	// ErrSubscribe is a refused or malformed mining.subscribe.
	ErrSubscribe = errors.New("client: subscription refused")
	// ErrProtocol is a malformed message from the pool.
	ErrProtocol = errors.New("client: protocol error")
	// ErrHandshakeTimeout is a pool that did not send a job in time.
	ErrHandshakeTimeout = errors.New("client: handshake timeout")
)

// Config configures a Client.
type Config struct {
	// URLs are the pools, tried in order: stratum+tcp://host:port, or
	// stratum+ssl://host:port (alias stratum+tls://) for TLS. At least one
	// is required.
	URLs []string
	// User is the login, usually address[.worker]. This field is
	// required.
	User string
	// Password is the pool password (often "x").
	Password string
	// UserAgent is sent in mining.subscribe; empty means
	// DefaultUserAgent.
	UserAgent string
	// NoVersionRolling skips mining.configure: no BIP310 version rolling.
	NoVersionRolling bool
	// Miner does the hashing; the client feeds it work and reads its
	// shares. This field is required, and the client must be its only
	// reader of Shares.
	Miner *miner.Miner
	// OnShare, if set, is called for every share result (and every
	// dropped stale share), from the client's goroutines, one at a time.
	OnShare func(ShareResult)
	// TLSConfig is the TLS configuration of stratum+ssl:// URLs; nil means
	// the defaults, with ServerName taken from the URL.
	TLSConfig *tls.Config
	// DialTimeout, HandshakeTimeout, ReadTimeout and WriteTimeout are
	// zero for the defaults (DefaultDialTimeout, ...).
	DialTimeout, HandshakeTimeout, ReadTimeout, WriteTimeout time.Duration
	// MinBackoff and MaxBackoff bound the reconnect delay, which doubles
	// with each failure in a row; zero means the defaults.
	MinBackoff, MaxBackoff time.Duration
	// MaxLineSize limits a line from the pool; zero means
	// stratum.MaxLineSize.
	MaxLineSize int
	// Logger receives connection events and errors. Can be nil: discard.
	Logger *slog.Logger
}

// ShareResult is the outcome of one share.
type ShareResult struct {
	// JobID is the share's job.
	JobID string
	// Difficulty is the share difficulty the job was issued at.
	Difficulty float64
	// Accepted reports whether the pool accepted the share.
	Accepted bool
	// Stale reports a share dropped without submitting (its job was
	// replaced); Accepted is false.
	Stale bool
	// Reason is the pool's reject reason (or "stale").
	Reason string
	// AcceptedTotal and SubmittedTotal count the shares of this Client,
	// this one included (stale shares are not submitted).
	AcceptedTotal, SubmittedTotal uint64
}

// Line formats the result as cpuminer does, with the hashrate text rate:
// "accepted: 12/12 (100.00%), 21.30 MH/s yay!!!", or "booooo (reason)"
// at the end for a reject.
func (r ShareResult) Line(rate string) string {
	if r.Stale {
		return fmt.Sprintf("stale share of job %s dropped", r.JobID)
	}
	pct := 0.0
	if r.SubmittedTotal > 0 {
		pct = 100 * float64(r.AcceptedTotal) / float64(r.SubmittedTotal)
	}
	verdict := "yay!!!"
	if !r.Accepted {
		verdict = "booooo (" + r.Reason + ")"
	}
	return fmt.Sprintf("accepted: %d/%d (%.2f%%), %s %s", r.AcceptedTotal, r.SubmittedTotal, pct, rate, verdict)
}

// Stats are a Client's counters.
type Stats struct {
	// Accepted, Rejected and Stale count shares.
	Accepted, Rejected, Stale uint64
	// Connects counts established sessions (first job received).
	Connects uint64
}

// Client mines on Stratum pools. Create it with New and call Run once.
type Client struct {
	cfg  Config
	urls []*url.URL
	log  *slog.Logger

	accepted, rejected, stale, connects atomic.Uint64
	reportMu                            sync.Mutex

	// resume holds the last subscription id per URL index. A session's
	// reader writes it and the next session's handshake reads it;
	// sessions run one after another.
	resume []string
}

// New validates cfg and returns a Client.
func New(cfg Config) (*Client, error) {
	if len(cfg.URLs) == 0 || cfg.User == "" || cfg.Miner == nil {
		return nil, fmt.Errorf("%w: URLs, User and Miner are required", ErrConfig)
	}
	c := &Client{cfg: cfg, log: cfg.Logger, resume: make([]string, len(cfg.URLs))}
	for _, s := range cfg.URLs {
		u, err := ParseURL(s)
		if err != nil {
			return nil, err
		}
		c.urls = append(c.urls, u)
	}
	if c.log == nil {
		c.log = slog.New(slog.DiscardHandler)
	}
	def := func(p *time.Duration, d time.Duration) {
		if *p <= 0 {
			*p = d
		}
	}
	def(&c.cfg.DialTimeout, DefaultDialTimeout)
	def(&c.cfg.HandshakeTimeout, DefaultHandshakeTimeout)
	def(&c.cfg.ReadTimeout, DefaultReadTimeout)
	def(&c.cfg.WriteTimeout, DefaultWriteTimeout)
	def(&c.cfg.MinBackoff, DefaultMinBackoff)
	def(&c.cfg.MaxBackoff, DefaultMaxBackoff)
	c.cfg.MaxBackoff = max(c.cfg.MaxBackoff, c.cfg.MinBackoff)
	if c.cfg.MaxLineSize <= 0 {
		c.cfg.MaxLineSize = stratum.MaxLineSize
	}
	if c.cfg.UserAgent == "" {
		c.cfg.UserAgent = DefaultUserAgent
	}
	return c, nil
}

// ParseURL checks a pool URL: scheme stratum+tcp, stratum+ssl or
// stratum+tls, and a host with a port.
func ParseURL(s string) (*url.URL, error) {
	u, err := url.Parse(s)
	if err != nil {
		return nil, fmt.Errorf("%w: bad pool URL %q: %v", ErrConfig, s, err)
	}
	u.Scheme = strings.ToLower(u.Scheme)
	switch u.Scheme {
	case "stratum+tcp", "stratum+ssl", "stratum+tls":
	default:
		return nil, fmt.Errorf("%w: pool URL %q: want stratum+tcp://, stratum+ssl:// or stratum+tls://", ErrConfig, s)
	}
	if u.Hostname() == "" || u.Port() == "" {
		return nil, fmt.Errorf("%w: pool URL %q: want host:port", ErrConfig, s)
	}
	return u, nil
}

// Stats returns the share and connection counters.
func (c *Client) Stats() Stats {
	return Stats{Accepted: c.accepted.Load(), Rejected: c.rejected.Load(), Stale: c.stale.Load(), Connects: c.connects.Load()}
}

// Run mines until ctx is done or the miner's Shares channel closes,
// reconnecting and failing over as needed. It returns nil then; it never
// gives up on the pools.
func (c *Client) Run(ctx context.Context) error {
	idx, fails := 0, 0
	for ctx.Err() == nil {
		if fails > 0 {
			if !c.wait(ctx, c.backoff(fails)) {
				return nil
			}
		}
		established, err := c.session(ctx, idx)
		c.cfg.Miner.SetWork(nil) // the work of a dead connection is worthless
		if errors.Is(err, errSharesClosed) {
			return nil
		}
		if ctx.Err() != nil {
			return nil
		}
		c.log.Warn("pool connection ended", "url", c.urls[idx].Redacted(), "err", err)
		if established {
			fails = 1
		} else {
			fails++
			if len(c.urls) > 1 {
				idx = (idx + 1) % len(c.urls)
				c.log.Info("failing over", "url", c.urls[idx].Redacted())
			}
		}
	}
	return nil
}

// errSharesClosed ends Run: the miner has stopped.
var errSharesClosed = errors.New("client: miner stopped")

// backoff returns the delay before the next attempt after fails failures
// in a row: MinBackoff doubled per failure, capped at MaxBackoff, then
// scaled by a random factor in [0.5, 1).
func (c *Client) backoff(fails int) time.Duration {
	d := c.cfg.MinBackoff
	for i := 1; i < fails && d < c.cfg.MaxBackoff; i++ {
		d *= 2
	}
	d = min(d, c.cfg.MaxBackoff)
	return d/2 + time.Duration(rand.Int64N(int64(d/2)+1))
}

// wait sleeps for d, dropping shares that arrive meanwhile; it reports
// false when ctx is done or the miner stopped.
func (c *Client) wait(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return false
		case <-t.C:
			return true
		case _, ok := <-c.cfg.Miner.Shares():
			if !ok {
				return false
			}
		}
	}
}

// dial connects to u, with TLS for stratum+ssl and stratum+tls.
func (c *Client) dial(ctx context.Context, u *url.URL) (net.Conn, error) {
	ctx, cancel := context.WithTimeout(ctx, c.cfg.DialTimeout)
	defer cancel()
	if u.Scheme == "stratum+tcp" {
		var d net.Dialer
		return d.DialContext(ctx, "tcp", u.Host)
	}
	conf := c.cfg.TLSConfig
	if conf == nil {
		conf = &tls.Config{}
	}
	if conf.ServerName == "" {
		conf = conf.Clone()
		conf.ServerName = u.Hostname()
	}
	d := tls.Dialer{Config: conf}
	return d.DialContext(ctx, "tcp", u.Host)
}

// report counts a share result and passes it to OnShare.
func (c *Client) report(r ShareResult) {
	c.reportMu.Lock()
	defer c.reportMu.Unlock()
	switch {
	case r.Stale:
		c.stale.Add(1)
	case r.Accepted:
		c.accepted.Add(1)
	default:
		c.rejected.Add(1)
	}
	r.AcceptedTotal = c.accepted.Load()
	r.SubmittedTotal = r.AcceptedTotal + c.rejected.Load()
	if c.cfg.OnShare != nil {
		c.cfg.OnShare(r)
	}
}
