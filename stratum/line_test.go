package stratum

import (
	"bytes"
	"errors"
	"io"
	"strings"
	"testing"
	"testing/iotest"
)

func readAll(r *Reader) ([]string, error) {
	var lines []string
	for {
		l, err := r.ReadLine()
		if err != nil {
			return lines, err
		}
		lines = append(lines, string(l))
	}
}

func TestReaderLines(t *testing.T) {
	in := "{\"a\":1}\n{\"b\":2}\r\n\n  \r\n{\"c\":3}\n"
	for _, name := range []string{"whole", "byte by byte"} {
		var src io.Reader = strings.NewReader(in)
		if name != "whole" {
			src = iotest.OneByteReader(src)
		}
		lines, err := readAll(NewReader(src))
		if err != io.EOF {
			t.Fatalf("%s: err %v, want io.EOF", name, err)
		}
		want := []string{`{"a":1}`, `{"b":2}`, `{"c":3}`}
		if strings.Join(lines, "|") != strings.Join(want, "|") {
			t.Fatalf("%s: lines %q, want %q", name, lines, want)
		}
	}
}

func TestReaderErrors(t *testing.T) {
	long := "{" + strings.Repeat(" ", 100) + "}"
	tests := []struct {
		name  string
		in    string
		limit int
		lines int
		err   error
	}{
		{"unterminated", "{\"a\":1}\n{\"b\"", 0, 1, io.ErrUnexpectedEOF},
		{"tls probe", "\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03", 0, 0, ErrTLSHandshake},
		{"http", "GET / HTTP/1.1\r\n", 0, 0, ErrNotJSON},
		{"junk after good line", "{}\nhello\n", 0, 1, ErrNotJSON},
		{"too long", long + "\n", 64, 0, ErrLineTooLong},
		{"too long, no newline", long, 64, 0, ErrLineTooLong},
		{"at limit with crlf", "{" + strings.Repeat(" ", 62) + "}\r\n", 64, 1, io.EOF},
		{"one over limit with crlf", "{" + strings.Repeat(" ", 63) + "}\r\n", 64, 0, ErrLineTooLong},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := NewReaderSize(strings.NewReader(tc.in), tc.limit)
			lines, err := readAll(r)
			if !errors.Is(err, tc.err) || len(lines) != tc.lines {
				t.Fatalf("got %d lines, err %v; want %d lines, err %v", len(lines), err, tc.lines, tc.err)
			}
			if _, again := r.ReadLine(); again != err {
				t.Fatalf("error not sticky: %v then %v", err, again)
			}
		})
	}
	if !errors.Is(ErrTLSHandshake, ErrNotJSON) {
		t.Fatal("ErrTLSHandshake does not wrap ErrNotJSON")
	}
}

// TestReaderGrows reads lines around the initial buffer size and the
// limit, whole and in chunks: the buffer grows for long lines, up to the
// limit and no further.
func TestReaderGrows(t *testing.T) {
	line := func(n int) string { return "{" + strings.Repeat(" ", n-2) + "}" }
	var in strings.Builder
	var want []string
	for _, n := range []int{100, initialReadSize - 2, initialReadSize - 1, initialReadSize, initialReadSize + 1, 3000, 100, MaxLineSize - 1, MaxLineSize, 2} {
		in.WriteString(line(n) + "\r\n")
		want = append(want, line(n))
	}
	tooLong := in.String() + line(MaxLineSize+1) + "\n" + line(10) + "\n"
	for _, chunk := range []int{1, 7, 4096, 1 << 20} {
		r := NewReader(&chunkReader{data: []byte(tooLong), n: chunk})
		lines, err := readAll(r)
		if !errors.Is(err, ErrLineTooLong) || strings.Join(lines, "|") != strings.Join(want, "|") {
			t.Fatalf("chunks of %d: %d lines, err %v; want %d lines, ErrLineTooLong", chunk, len(lines), err, len(want))
		}
		if len(r.buf) != MaxLineSize+2 {
			t.Errorf("chunks of %d: buffer of %d bytes, want %d", chunk, len(r.buf), MaxLineSize+2)
		}
	}
	r := NewReader(strings.NewReader(line(100) + "\n" + line(200) + "\n"))
	if _, err := readAll(r); err != io.EOF || len(r.buf) != initialReadSize {
		t.Errorf("short lines: err %v, buffer of %d bytes, want io.EOF, %d", err, len(r.buf), initialReadSize)
	}
}

// blockingReader returns its data, then blocks until the test ends: a
// TLS probe whose sender waits for an answer.
type blockingReader struct {
	data []byte
	done chan struct{}
}

func (b *blockingReader) Read(p []byte) (int, error) {
	if len(b.data) > 0 {
		n := copy(p, b.data)
		b.data = b.data[n:]
		return n, nil
	}
	<-b.done
	return 0, io.EOF
}

// TestReaderNotJSONWithoutNewline checks that junk is reported before any
// newline arrives, so a server can close a TLS probe at once.
func TestReaderNotJSONWithoutNewline(t *testing.T) {
	src := &blockingReader{data: []byte{0x16, 0x03, 0x01, 0x00, 0xa5}, done: make(chan struct{})}
	defer close(src.done)
	if _, err := NewReader(src).ReadLine(); err != ErrTLSHandshake {
		t.Fatalf("err %v, want ErrTLSHandshake", err)
	}
}

func TestCheckLineStart(t *testing.T) {
	for in, want := range map[string]error{
		"": nil, " \r\n": nil, "{": nil, "  {\"id\"": nil,
		"\x16": ErrTLSHandshake, "\x16\x03\x01": ErrTLSHandshake, "\x16\x04": ErrNotJSON,
		"[1]": ErrNotJSON, "G": ErrNotJSON, " x": ErrNotJSON,
	} {
		if got := CheckLineStart([]byte(in)); got != want {
			t.Errorf("CheckLineStart(%q) = %v, want %v", in, got, want)
		}
	}
}

func TestReaderNoAllocs(t *testing.T) {
	line := []byte(`{"id":4,"method":"mining.submit","params":["w","1","00000000","6b05c962","a0140500"]}` + "\n")
	src := &repeatReader{line: line}
	r := NewReader(src)
	allocs := testing.AllocsPerRun(1000, func() {
		l, err := r.ReadLine()
		if err != nil || !bytes.Equal(l, line[:len(line)-1]) {
			t.Fatalf("ReadLine = %q, %v", l, err)
		}
	})
	if allocs != 0 {
		t.Fatalf("ReadLine allocates %v times per line", allocs)
	}
}

// repeatReader returns the same line forever, in reads of up to 300
// bytes, so lines straddle reads.
type repeatReader struct {
	line []byte
	off  int
}

func (r *repeatReader) Read(p []byte) (int, error) {
	n := 0
	for n < len(p) && n < 300 {
		c := copy(p[n:min(len(p), 300)], r.line[r.off:])
		n += c
		r.off = (r.off + c) % len(r.line)
	}
	return n, nil
}
