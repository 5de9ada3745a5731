package pool

// CloseReason says why a connection was closed.
type CloseReason int

// Close reasons.
const (
	// CloseClientQuit: the client closed the connection.
	CloseClientQuit CloseReason = iota + 1
	// CloseReadError: reading failed (reset, unexpected EOF, ...).
	CloseReadError
	// CloseNotJSON: the input did not start like JSON (e.g. a TLS probe).
	CloseNotJSON
	// CloseLineTooLong: a line exceeded the line limit.
	CloseLineTooLong
	// CloseProtocolError: a line was not a Stratum message.
	CloseProtocolError
	// CloseWriteError: writing failed or missed its deadline.
	CloseWriteError
	// CloseSlowConsumer: the outbound buffer overflowed.
	CloseSlowConsumer
	// CloseIdleTimeout: no line within the idle timeout.
	CloseIdleTimeout
	// CloseHandshakeTimeout: no successful authorize within the handshake
	// timeout.
	CloseHandshakeTimeout
	// CloseBanned: the client's IP is banned (too many of its connections
	// were closed for abuse).
	CloseBanned
	// CloseMaxConns: the server is at MaxConns.
	CloseMaxConns
	// CloseMaxConnsPerIP: the client's IP is at MaxConnsPerIP.
	CloseMaxConnsPerIP
	// CloseServerShutdown: the server is stopping.
	CloseServerShutdown
	// CloseAbuse: the connection sent Config.MaxInvalidPerConn invalid
	// requests within Config.BanWindow.
	CloseAbuse
	// CloseHandshakeEvicted: the connection was the oldest not yet
	// authorized when a new one needed its slot (MaxConns or
	// MaxUnauthConns).
	CloseHandshakeEvicted
)

var closeReasonNames = [...]string{
	CloseClientQuit:       "client quit",
	CloseReadError:        "read error",
	CloseNotJSON:          "not JSON",
	CloseLineTooLong:      "line too long",
	CloseProtocolError:    "protocol error",
	CloseWriteError:       "write error",
	CloseSlowConsumer:     "slow consumer",
	CloseIdleTimeout:      "idle timeout",
	CloseHandshakeTimeout: "handshake timeout",
	CloseBanned:           "banned",
	CloseMaxConns:         "too many connections",
	CloseMaxConnsPerIP:    "too many connections from the IP",
	CloseServerShutdown:   "server shutdown",
	CloseAbuse:            "too many invalid requests",
	CloseHandshakeEvicted: "evicted before authorizing",
}

// String returns the reason in words.
func (r CloseReason) String() string {
	if r > 0 && int(r) < len(closeReasonNames) {
		return closeReasonNames[r]
	}
	return "unknown"
}
