package daemon

import (
	"net"
	"net/http"
	"sync"
	"time"
)

// RPC server limits (Config can change the first two).
const (
	// DefaultMaxRPCConns bounds the RPC listener's open connections, so
	// that idle or slow clients cannot take the file descriptors the
	// store and the pool need.
	DefaultMaxRPCConns = 128
	// DefaultRPCIdleTimeout closes a keep-alive connection idle this
	// long, as Core's -rpcservertimeout (30 s).
	DefaultRPCIdleTimeout = 30 * time.Second
	// rpcHeaderTimeout bounds the wait for a request's headers.
	rpcHeaderTimeout = 10 * time.Second
	// minSilence is how long a new connection may stay silent before it
	// can lose its place: a burst of clients must not push each other
	// out before they have sent their requests.
	minSilence = 2 * time.Second
)

// connLimiter caps the open connections of an HTTP server. At the cap, a
// new connection takes the place of the one idle longest between
// keep-alive requests, else of the one silent longest since it connected
// (if for minSilence at least); when there is neither, the new one is
// closed at once. Set Server.ConnState to its track method.
type connLimiter struct {
	net.Listener
	max        int
	minSilence time.Duration
	now        func() time.Time // the clock; tests replace it

	mu    sync.Mutex
	conns map[net.Conn]connState
}

// connState is what the limiter knows of a connection.
type connState struct {
	active bool      // a request is being read or served
	idle   bool      // between keep-alive requests (else new or active)
	since  time.Time // when it connected or became idle
}

func newConnLimiter(ln net.Listener, max int) *connLimiter {
	return &connLimiter{Listener: ln, max: max, minSilence: minSilence, now: time.Now, conns: make(map[net.Conn]connState)}
}

// Accept returns the next connection, making room for it as above.
func (l *connLimiter) Accept() (net.Conn, error) {
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			return nil, err
		}
		l.mu.Lock()
		var victim net.Conn
		if len(l.conns) >= l.max {
			victim = l.oldestWaiting()
			if victim != nil {
				delete(l.conns, victim)
			}
		}
		full := len(l.conns) >= l.max
		if !full {
			l.conns[c] = connState{since: l.now()}
		}
		l.mu.Unlock()
		if victim != nil {
			victim.Close()
		}
		if full {
			c.Close()
			continue
		}
		return c, nil
	}
}

// oldestWaiting returns the connection idle longest, else the one
// silent longest if for minSilence at least, else nil. l.mu must be held.
func (l *connLimiter) oldestWaiting() net.Conn {
	var idle, silent net.Conn
	var idleSince, silentSince time.Time
	for c, st := range l.conns {
		switch {
		case st.active:
		case st.idle:
			if idle == nil || st.since.Before(idleSince) {
				idle, idleSince = c, st.since
			}
		case silent == nil || st.since.Before(silentSince):
			silent, silentSince = c, st.since
		}
	}
	if idle != nil {
		return idle
	}
	if silent != nil && l.now().Sub(silentSince) >= l.minSilence {
		return silent
	}
	return nil
}

// track follows the server's view of each connection.
func (l *connLimiter) track(c net.Conn, state http.ConnState) {
	l.mu.Lock()
	defer l.mu.Unlock()
	st, known := l.conns[c]
	switch state {
	case http.StateActive:
		st.active, st.idle = true, false
	case http.StateIdle:
		st.active, st.idle, st.since = false, true, l.now()
	case http.StateHijacked, http.StateClosed:
		delete(l.conns, c)
		return
	default:
		return
	}
	if known {
		l.conns[c] = st
	}
}

// open returns the number of connections the limiter counts.
func (l *connLimiter) open() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.conns)
}
