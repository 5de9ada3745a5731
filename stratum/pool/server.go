package pool

import (
	"container/list"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/powmine/powmine/chain"
	"github.com/powmine/powmine/stratum"
)

// Accept loop backoff on temporary errors.
const (
	minAcceptBackoff = 5 * time.Millisecond
	maxAcceptBackoff = time.Second
)

// refuseWriteTimeout bounds the write of the message to a refused
// connection, made by the accept loop: the first write to a new socket
// never waits for the client.
const refuseWriteTimeout = 10 * time.Millisecond

// Stats are the server's counters.
type Stats struct {
	// Conns is the number of open connections.
	Conns int
	// Accepted and Rejected count shares; Blocks the shares that were
	// blocks the node accepted as its new tip.
	Accepted, Rejected, Blocks uint64
	// Jobs counts the jobs made.
	Jobs uint64
}

// Server is a Stratum V1 work server. Create it with New, run it with Run.
type Server struct {
	cfg    Config
	log    *slog.Logger
	params *chain.Params

	jobMu    sync.Mutex             // serializes newJob
	jobs     atomic.Pointer[jobSet] // immutable, swapped by newJob
	pplns    *pplns
	stats    *stats
	nextE1   atomic.Uint32
	sessions *sessionCache
	// jobIDBase offsets job ids, as the first extranonce1 is random, so
	// that a share for a job of before a restart is not mistaken for a
	// job of after it.
	jobIDBase uint64
	quit      chan struct{}
	started   atomic.Bool

	accepted, rejected, blocks, sideBlocks, jobsMade atomic.Uint64

	mu       sync.Mutex
	conns    map[*conn]struct{}
	unauth   list.List           // connections not yet authorized, oldest first
	ips      map[string]*ipState // by ipKey
	shutdown bool
	wg       sync.WaitGroup
}

// ipState is what the server knows of one client IP.
type ipState struct {
	conns       int
	abusive     int       // connections closed for abuse since windowStart
	windowStart time.Time // start of the abuse window
	bannedUntil time.Time
}

// New returns a server for cfg (validated, defaults filled in).
func New(cfg Config) (*Server, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	s := &Server{
		cfg:      cfg,
		log:      cfg.Logger.With("component", "stratum"),
		params:   cfg.Node.Params(),
		pplns:    newPPLNS(),
		stats:    newStats(cfg.Now, cfg.MaxTrackedWorkers, cfg.WorkerIdleTimeout),
		sessions: newSessionCache(cfg.SessionTimeout, cfg.MaxSessions, cfg.MaxSessionsPerIP, cfg.MaxSessionBytes),
		quit:     make(chan struct{}),
		conns:    make(map[*conn]struct{}),
		ips:      make(map[string]*ipState),
	}
	s.jobs.Store(&jobSet{byID: map[string]*job{}})
	s.jobIDBase = uint64(rand.Uint32())
	s.nextE1.Store(rand.Uint32())
	if err := s.loadWindow(); err != nil {
		return nil, err
	}
	return s, nil
}

// Run builds the first job, then serves until ctx is done; it closes every
// connection, waits for the server's goroutines and saves the PPLNS window
// (Config.WindowFile) before returning. It may be called once.
func (s *Server) Run(ctx context.Context) error {
	if !s.started.CompareAndSwap(false, true) {
		return errors.New("pool: Run called twice")
	}
	ln := s.cfg.Listener
	if ln == nil {
		var err error
		if ln, err = net.Listen("tcp", s.cfg.Addr); err != nil {
			return fmt.Errorf("pool: listen: %w", err)
		}
	}
	if s.cfg.TLSConfig != nil {
		ln = tls.NewListener(ln, s.cfg.TLSConfig)
	}
	tip := s.cfg.Node.TipChanged()
	if err := s.newJob(true); err != nil {
		ln.Close()
		return err
	}
	s.log.Info("stratum listening", "addr", ln.Addr().String())
	s.goroutine(func() { s.jobLoop(tip) })
	if s.cfg.WindowFile != "" {
		s.goroutine(s.saveLoop)
	}
	s.goroutine(func() { s.acceptLoop(ln) })
	<-ctx.Done()
	s.mu.Lock()
	s.shutdown = true
	conns := make([]*conn, 0, len(s.conns))
	for c := range s.conns {
		conns = append(conns, c)
	}
	s.mu.Unlock()
	close(s.quit)
	ln.Close()
	for _, c := range conns {
		c.close(CloseServerShutdown)
	}
	s.wg.Wait()
	return s.saveWindow()
}

// goroutine starts f as a tracked goroutine; it refuses once shutdown
// began.
func (s *Server) goroutine(f func()) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.shutdown {
		return false
	}
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		f()
	}()
	return true
}

// acceptLoop accepts connections, backing off on temporary errors.
func (s *Server) acceptLoop(ln net.Listener) {
	backoff := minAcceptBackoff
	for {
		nc, err := ln.Accept()
		if err != nil {
			select {
			case <-s.quit:
				return
			default:
			}
			if errors.Is(err, net.ErrClosed) {
				return
			}
			s.log.Warn("accept", "err", err, "backoff", backoff)
			select {
			case <-time.After(backoff):
			case <-s.quit:
				return
			}
			backoff = min(2*backoff, maxAcceptBackoff)
			continue
		}
		backoff = minAcceptBackoff
		s.startConn(nc)
	}
}

// startConn registers a new connection and starts its goroutines, or
// closes it at once when a limit refuses it. At MaxConns or
// MaxUnauthConns it closes the oldest connection not yet authorized to
// make room; until that one's reader has gone, the server holds one
// connection more than the limit.
func (s *Server) startConn(nc net.Conn) {
	ip := ipKey(nc.RemoteAddr())
	c := newConn(s, nc, ip)
	now := time.Now()
	s.mu.Lock()
	st := s.ips[ip]
	reason := CloseReason(0)
	var evicted *conn
	switch {
	case s.shutdown:
		reason = CloseServerShutdown
	case st != nil && now.Before(st.bannedUntil):
		reason = CloseBanned
	case st != nil && st.conns >= s.cfg.MaxConnsPerIP:
		reason = CloseMaxConnsPerIP
	case len(s.conns) >= s.cfg.MaxConns || s.unauth.Len() >= s.cfg.MaxUnauthConns:
		e := s.unauth.Front()
		if e == nil {
			reason = CloseMaxConns
			break
		}
		evicted = e.Value.(*conn)
		s.unauth.Remove(e)
		evicted.unauth = nil
	}
	if reason != 0 {
		msg := "connection refused: " + reason.String()
		if reason == CloseBanned {
			msg += fmt.Sprintf(" for %v: %d connections closed for invalid requests", st.bannedUntil.Sub(now).Round(time.Second), s.cfg.BanAbusiveConns)
		}
		s.mu.Unlock()
		s.log.Debug("connection refused", "remote", nc.RemoteAddr().String(), "reason", reason)
		refuseConn(nc, msg)
		return
	}
	if st == nil {
		st = &ipState{}
		s.ips[ip] = st
	}
	st.conns++
	s.conns[c] = struct{}{}
	c.unauth = s.unauth.PushBack(c)
	s.wg.Add(2)
	s.mu.Unlock()
	if evicted != nil {
		evicted.close(CloseHandshakeEvicted)
	}
	go func() { defer s.wg.Done(); c.readLoop() }()
	go func() { defer s.wg.Done(); c.writeLoop() }()
}

// removeConn forgets a closed connection.
func (s *Server) removeConn(c *conn) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.conns[c]; !ok {
		return
	}
	delete(s.conns, c)
	if c.unauth != nil {
		s.unauth.Remove(c.unauth)
		c.unauth = nil
	}
	if st := s.ips[c.ip]; st != nil {
		st.conns--
		if st.conns == 0 && st.bannedUntil.IsZero() && st.abusive == 0 {
			delete(s.ips, c.ip)
		}
	}
}

// abusiveConn counts a connection of ip closed for abuse, and bans the
// IP at the BanAbusiveConns-th within BanWindow.
func (s *Server) abusiveConn(ip string) {
	now := time.Now()
	s.mu.Lock()
	defer s.mu.Unlock()
	st := s.ips[ip]
	if st == nil {
		st = &ipState{}
		s.ips[ip] = st
	}
	if now.Sub(st.windowStart) > s.cfg.BanWindow {
		st.windowStart, st.abusive = now, 0
	}
	st.abusive++
	if st.abusive >= s.cfg.BanAbusiveConns {
		st.bannedUntil = now.Add(s.cfg.BanDuration)
		st.abusive = 0
		s.log.Info("IP banned", "ip", ip, "until", st.bannedUntil, "why", fmt.Sprintf("%d connections closed for invalid requests within %v", s.cfg.BanAbusiveConns, s.cfg.BanWindow))
	}
}

// refuseConn tells a client why its connection is refused, when that costs
// no wait (plain TCP: a TLS write would run the handshake), and closes
// it.
func refuseConn(nc net.Conn, msg string) {
	if tc, ok := nc.(*net.TCPConn); ok {
		tc.SetWriteDeadline(time.Now().Add(refuseWriteTimeout))
		tc.Write(stratum.AppendNotification(nil, showMessage(msg)))
	}
	nc.Close()
}

// sweepIPs forgets IPs without connections whose ban and abuse
// window have expired.
func (s *Server) sweepIPs() {
	now := time.Now()
	s.mu.Lock()
	defer s.mu.Unlock()
	for ip, st := range s.ips {
		if st.conns == 0 && now.After(st.bannedUntil) && now.Sub(st.windowStart) > s.cfg.BanWindow {
			delete(s.ips, ip)
		}
	}
}

// authorizedConn takes c off the connections waiting for authorization.
func (s *Server) authorizedConn(c *conn) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if c.unauth != nil {
		s.unauth.Remove(c.unauth)
		c.unauth = nil
	}
}

// Banned reports whether ip (for IPv6, its /64) is banned now.
func (s *Server) Banned(ip string) bool {
	if a := net.ParseIP(ip); a != nil {
		ip = ipKey(&net.TCPAddr{IP: a})
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	st := s.ips[ip]
	return st != nil && time.Now().Before(st.bannedUntil)
}

// connSnapshot returns the open connections.
func (s *Server) connSnapshot() []*conn {
	s.mu.Lock()
	defer s.mu.Unlock()
	cs := make([]*conn, 0, len(s.conns))
	for c := range s.conns {
		cs = append(cs, c)
	}
	return cs
}

// Stats returns the server's counters.
func (s *Server) Stats() Stats {
	s.mu.Lock()
	n := len(s.conns)
	s.mu.Unlock()
	return Stats{Conns: n, Accepted: s.accepted.Load(), Rejected: s.rejected.Load(), Blocks: s.blocks.Load(), Jobs: s.jobsMade.Load()}
}

// ipKey returns the client of a remote address as the limits and bans
// count it: its IP, or for IPv6 its /64 ("2001:db8:1:2::/64"), since a
// host is given a whole /64 and picks addresses from it at will.
func ipKey(a net.Addr) string {
	if ta, ok := a.(*net.TCPAddr); ok {
		if ip4 := ta.IP.To4(); ip4 != nil {
			return ip4.String()
		}
		return ta.IP.Mask(net.CIDRMask(64, 128)).String() + "/64"
	}
	host, _, err := net.SplitHostPort(a.String())
	if err != nil {
		return a.String()
	}
	return host
}
