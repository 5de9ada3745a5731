//go:build !unix

package pool

import "net"

// rawWriter has no non-blocking write outside Unix: the writer goroutine
// writes all.
type rawWriter struct{}

func newRawWriter(*net.TCPConn) *rawWriter { return nil }

func (*rawWriter) writeNow([]byte) (int, error) { return 0, nil }
