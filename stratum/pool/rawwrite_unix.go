//go:build unix

package pool

import (
	"net"
	"syscall"
)

// rawWriter makes non-blocking writes to a TCP socket. The function
// RawConn.Write calls is bound once, so that a write does not allocate.
// Its owner serializes its use.
type rawWriter struct {
	rc   syscall.RawConn
	call func(fd uintptr) bool // w.write
	b    []byte
	n    int
	err  error
}

// newRawWriter returns a rawWriter on tc, or nil when it has no socket.
func newRawWriter(tc *net.TCPConn) *rawWriter {
	rc, err := tc.SyscallConn()
	if err != nil {
		return nil
	}
	w := &rawWriter{rc: rc}
	w.call = w.write
	return w
}

func (w *rawWriter) write(fd uintptr) bool {
	w.n, w.err = syscall.Write(int(fd), w.b)
	return true // never wait for the socket
}

// writeNow makes one non-blocking write of b and returns how many bytes
// the socket took. err is nil when it took none for now (full,
// interrupted, closed or past the write deadline: the writer goroutine
// takes over); an error means the connection is broken.
func (w *rawWriter) writeNow(b []byte) (int, error) {
	w.b, w.n, w.err = b, 0, nil
	err := w.rc.Write(w.call)
	n, werr := w.n, w.err
	w.b = nil
	switch {
	case err != nil, werr == syscall.EAGAIN, werr == syscall.EINTR:
		return 0, nil
	case werr != nil:
		return 0, werr
	}
	return n, nil
}
