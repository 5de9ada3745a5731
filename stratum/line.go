package stratum

import (
	"bytes"
	"io"
)

// MaxLineSize is the default limit on the length of one line, excluding
// its "\n" (and a "\r" before it). Real messages stay far below it: a
// mining.notify with a 32-entry merkle branch and a 1 KB coinbase is about
// 5 KB. miningcore caps lines at 32 KB, node-stratum-pool at 10 KB.
const MaxLineSize = 16 << 10

// minLineLimit is the smallest limit NewReaderSize accepts.
const minLineLimit = 64

// initialReadSize is the initial buffer of a Reader: a few submits.
const initialReadSize = 512

// Reader reads newline-delimited Stratum lines from a stream. Its buffer
// starts at initialReadSize bytes and doubles, up to limit+2, only when a
// line does not fit: a server with many connections keeps a small buffer
// for each, and reading allocates only when a line is longer than any
// before. It is not safe for concurrent use; a connection's read loop
// owns it.
type Reader struct {
	r     io.Reader
	buf   []byte
	start int   // first byte of the pending line
	end   int   // end of buffered data
	scan  int   // bytes of the pending line already searched for '\n'
	limit int   // maximum line length
	err   error // sticky error
}

// NewReader returns a Reader with the MaxLineSize limit.
func NewReader(r io.Reader) *Reader {
	return NewReaderSize(r, MaxLineSize)
}

// NewReaderSize returns a Reader whose lines may be at most limit bytes
// long (64 at least: smaller values are raised to 64).
func NewReaderSize(r io.Reader, limit int) *Reader {
	limit = max(limit, minLineLimit)
	return &Reader{r: r, buf: make([]byte, min(initialReadSize, limit+2)), limit: limit}
}

// ReadLine returns the next non-blank line without its "\n" and without a
// "\r" before it. The slice aliases the reader's buffer and is valid only
// until the next call; copy what must outlive it.
//
// ReadLine fails, and keeps failing, with:
//   - ErrNotJSON (ErrTLSHandshake for a TLS record) as soon as a line's
//     first non-blank byte is not '{', without waiting for its newline;
//   - ErrLineTooLong as soon as a line exceeds the limit;
//   - io.EOF at a clean end of stream, io.ErrUnexpectedEOF when the stream
//     ends inside a line, or the underlying reader's error.
//
// The first two mean the peer does not speak Stratum: close the
// connection.
func (r *Reader) ReadLine() ([]byte, error) {
	if r.err != nil {
		return nil, r.err
	}
	for {
		pending := r.buf[r.start:r.end]
		if err := CheckLineStart(pending); err != nil {
			return nil, r.fail(err)
		}
		if i := bytes.IndexByte(pending[r.scan:], '\n'); i >= 0 {
			line := pending[:r.scan+i]
			r.start += r.scan + i + 1
			r.scan = 0
			line = bytes.TrimSuffix(line, []byte{'\r'})
			if len(line) > r.limit {
				return nil, r.fail(ErrLineTooLong)
			}
			if isBlank(line) {
				continue
			}
			return line, nil
		}
		r.scan = len(pending)
		if len(pending) > r.limit+1 {
			return nil, r.fail(ErrLineTooLong)
		}
		if r.end == len(r.buf) {
			// Make room: grow the buffer when the pending line fills
			// more than half of it, else move the line to the front.
			buf := r.buf
			if 2*len(pending) > len(buf) && len(buf) < r.limit+2 {
				buf = make([]byte, min(2*len(buf), r.limit+2))
			}
			copy(buf, pending)
			r.buf, r.start, r.end = buf, 0, len(pending)
		}
		n, err := r.r.Read(r.buf[r.end:])
		r.end += n
		if err != nil && n == 0 {
			if err == io.EOF && !isBlank(r.buf[r.start:r.end]) {
				err = io.ErrUnexpectedEOF
			}
			return nil, r.fail(err)
		}
	}
}

func (r *Reader) fail(err error) error {
	r.err = err
	return err
}

// isBlank reports whether b holds only JSON whitespace.
func isBlank(b []byte) bool {
	for _, c := range b {
		if !isSpace(c) {
			return false
		}
	}
	return true
}

func isSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\r' || c == '\n' }

// CheckLineStart inspects the first bytes received of a line (any prefix,
// even one byte) and reports whether the line can still be a Stratum
// message: nil while it is blank or its first non-blank byte is '{';
// ErrTLSHandshake when it starts with a TLS handshake record (0x16 0x03);
// ErrNotJSON otherwise. Reader.ReadLine applies it to every line as bytes
// arrive, so a server closes a TLS probe at once instead of waiting for a
// newline that never comes.
func CheckLineStart(b []byte) error {
	for i, c := range b {
		switch {
		case isSpace(c):
			continue
		case c == '{':
			return nil
		case c == 0x16 && i == 0 && (len(b) == 1 || b[1] == 0x03):
			return ErrTLSHandshake
		default:
			return ErrNotJSON
		}
	}
	return nil
}
