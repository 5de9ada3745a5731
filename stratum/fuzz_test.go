package stratum

import (
	"bytes"
	"io"
	"testing"
)

// FuzzParseLine feeds arbitrary bytes, whole and in small chunks, through
// the Reader (with a small limit) and ParseMessage, and decodes the params
// of every parsed request with its method's decoder. Nothing may panic,
// no returned line may exceed the limit or contain "\n", and a line the
// reader returns must parse the same however the input was chunked.
func FuzzParseLine(f *testing.F) {
	for _, l := range realLines {
		f.Add([]byte(l + "\n"))
	}
	f.Add([]byte("\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03"))
	f.Add([]byte("{\"id\":1,\"method\":\"mining.subscribe\",\"params\":[]}\r\n\n{\"id\":2"))
	decoders := paramDecoders()
	const limit = 256
	f.Fuzz(func(t *testing.T, data []byte) {
		var whole, chunked []string
		for i, src := range []*Reader{
			NewReaderSize(bytes.NewReader(data), limit),
			NewReaderSize(&chunkReader{data: data, n: 7}, limit),
		} {
			for {
				line, err := src.ReadLine()
				if err != nil {
					break
				}
				if len(line) > limit || bytes.IndexByte(line, '\n') >= 0 {
					t.Fatalf("bad line %q", line)
				}
				if i == 0 {
					whole = append(whole, string(line))
				} else {
					chunked = append(chunked, string(line))
				}
				m, err := ParseMessage(line)
				if err != nil {
					continue
				}
				_ = m.Kind()
				_ = m.ResponseError()
				if dec, ok := decoders[m.Method]; ok {
					_ = dec().Decode(m.Params)
				}
			}
		}
		if len(whole) != len(chunked) {
			t.Fatalf("chunking changed the lines: %q vs %q", whole, chunked)
		}
		for i := range whole {
			if whole[i] != chunked[i] {
				t.Fatalf("chunking changed line %d: %q vs %q", i, whole[i], chunked[i])
			}
		}
	})
}

// chunkReader returns its data n bytes at a time.
type chunkReader struct {
	data []byte
	n    int
}

func (c *chunkReader) Read(p []byte) (int, error) {
	if len(c.data) == 0 {
		return 0, io.EOF
	}
	k := copy(p[:min(len(p), c.n)], c.data)
	c.data = c.data[k:]
	return k, nil
}

// FuzzDecodeParams runs every params and result decoder on arbitrary
// input. None may panic; a successful decode must re-encode to params that
// decode to the same value.
func FuzzDecodeParams(f *testing.F) {
	for _, l := range realLines {
		if m, err := ParseMessage([]byte(l)); err == nil {
			f.Add(string(m.Params))
			f.Add(string(m.Result))
		}
	}
	f.Add(`[[["mining.set_difficulty","1"],["mining.notify","1"]],"08000002",4]`)
	f.Add(`["08000002",4]`)
	f.Add(`["1fffe000"]`)
	decoders := paramDecoders()
	f.Fuzz(func(t *testing.T, raw string) {
		for name, newDec := range decoders {
			d := newDec()
			if d.Decode([]byte(raw)) != nil {
				continue
			}
			p, ok := d.(Params)
			if !ok {
				continue
			}
			again := newDec()
			if err := again.Decode(p.AppendParams(nil)); err != nil {
				t.Fatalf("%s: %s decoded but its encoding %s does not: %v", name, raw, p.AppendParams(nil), err)
			}
		}
	})
}
