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
)

// connLimiter caps the open connections of an HTTP server. At the cap, a
// new connection takes the place of the one waiting longest for a
// request (idle between keep-alive requests, or connected and silent);
// when every connection is running a request, the new one is closed at
// once. Set Server.ConnState to its track method.
type connLimiter struct {
	net.Listener
	max int

	mu    sync.Mutex
	conns map[net.Conn]connState
}

// connState is what the limiter knows of a connection.
type connState struct {
	active bool      // a request is being read or served
	since  time.Time // when it became waiting
}

func newConnLimiter(ln net.Listener, max int) *connLimiter {
	return &connLimiter{Listener: ln, max: max, conns: make(map[net.Conn]connState)}
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
			l.conns[c] = connState{since: time.Now()}
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

// oldestWaiting returns the connection waiting longest for a request, or
// nil when all are active. l.mu must be held.
func (l *connLimiter) oldestWaiting() net.Conn {
	var oldest net.Conn
	var since time.Time
	for c, st := range l.conns {
		if !st.active && (oldest == nil || st.since.Before(since)) {
			oldest, since = c, st.since
		}
	}
	return oldest
}

// track follows the server's view of each connection.
func (l *connLimiter) track(c net.Conn, state http.ConnState) {
	l.mu.Lock()
	defer l.mu.Unlock()
	st, known := l.conns[c]
	switch state {
	case http.StateActive:
		st.active = true
	case http.StateIdle:
		st.active, st.since = false, time.Now()
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
