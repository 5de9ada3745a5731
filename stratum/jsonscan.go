package stratum

import (
	"bytes"
	"encoding/json"
	"unicode/utf8"
)

// This file holds a small JSON walker for input already checked with
// json.Valid: it finds values without decoding them, so that the hot
// path (a mining.submit line) needs no reflection and no allocation.

// skipWS returns the index of the first non-whitespace byte at or after i.
func skipWS(b []byte, i int) int {
	for i < len(b) && isSpace(b[i]) {
		i++
	}
	return i
}

// skipValue returns the index just past the value that starts at b[i].
func skipValue(b []byte, i int) int {
	switch b[i] {
	case '"':
		return skipString(b, i)
	case '{', '[':
		depth := 0
		for i < len(b) {
			switch b[i] {
			case '"':
				i = skipString(b, i)
				continue
			case '{', '[':
				depth++
			case '}', ']':
				depth--
				if depth == 0 {
					return i + 1
				}
			}
			i++
		}
		return i
	default: // number, true, false, null
		for i < len(b) && !isSpace(b[i]) && b[i] != ',' && b[i] != ']' && b[i] != '}' {
			i++
		}
		return i
	}
}

// skipString returns the index just past the string that starts at b[i].
func skipString(b []byte, i int) int {
	for i++; i < len(b); i++ {
		switch b[i] {
		case '\\':
			i++
		case '"':
			return i + 1
		}
	}
	return i
}

// iter walks the elements of an array or the members of an object.
type iter struct {
	b []byte
	i int
}

// newIter starts a walk over the array or object raw, which must be valid
// JSON starting with open ('[' or '{').
func newIter(raw []byte, open byte) (iter, bool) {
	i := skipWS(raw, 0)
	if i >= len(raw) || raw[i] != open {
		return iter{}, false
	}
	return iter{b: raw, i: skipWS(raw, i+1)}, true
}

// next returns the next array element.
func (it *iter) next() ([]byte, bool) {
	if it.i >= len(it.b) || it.b[it.i] == ']' || it.b[it.i] == '}' {
		return nil, false
	}
	start := it.i
	end := skipValue(it.b, start)
	it.i = skipWS(it.b, end)
	if it.i < len(it.b) && it.b[it.i] == ',' {
		it.i = skipWS(it.b, it.i+1)
	}
	return it.b[start:end], true
}

// nextMember returns the next object member: its raw key (with quotes)
// and value.
func (it *iter) nextMember() (key, value []byte, ok bool) {
	if it.i >= len(it.b) || it.b[it.i] != '"' {
		return nil, nil, false
	}
	kEnd := skipString(it.b, it.i)
	key = it.b[it.i:kEnd]
	it.i = skipWS(it.b, skipWS(it.b, kEnd)+1) // past ':'
	value, ok = it.next()
	return key, value, ok
}

// isNull reports whether raw is absent or the literal null.
func isNull(raw []byte) bool {
	return len(raw) == 0 || string(raw) == "null"
}

// rawString returns the contents of the JSON string raw without its
// quotes. ok is false when raw is not a string; escaped is true when the
// contents hold escapes and must be decoded with decodeString.
func rawString(raw []byte) (s []byte, ok, escaped bool) {
	if len(raw) < 2 || raw[0] != '"' {
		return nil, false, false
	}
	s = raw[1 : len(raw)-1]
	return s, true, bytes.IndexByte(s, '\\') >= 0
}

// decodeString decodes the JSON string raw.
func decodeString(raw []byte) (string, bool) {
	s, ok, escaped := rawString(raw)
	if !ok {
		return "", false
	}
	if !escaped {
		return string(s), true
	}
	var out string
	if json.Unmarshal(raw, &out) != nil {
		return "", false
	}
	return out, true
}

// kindName names the JSON type of raw for error messages.
func kindName(raw []byte) string {
	if len(raw) == 0 {
		return "nothing"
	}
	switch raw[0] {
	case '"':
		return "a string"
	case '[':
		return "an array"
	case '{':
		return "an object"
	case 't', 'f':
		return "a boolean"
	case 'n':
		return "null"
	default:
		return "a number"
	}
}

// appendString appends s as a JSON string. Invalid UTF-8 becomes U+FFFD,
// as encoding/json writes it.
func appendString(dst []byte, s string) []byte {
	const hexDigits = "0123456789abcdef"
	dst = append(dst, '"')
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			switch {
			case c == '"' || c == '\\':
				dst = append(dst, '\\', c)
			case c < 0x20:
				dst = append(dst, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
			default:
				dst = append(dst, c)
			}
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			dst = append(dst, `\ufffd`...)
		} else {
			dst = append(dst, s[i:i+size]...)
		}
		i += size
	}
	return append(dst, '"')
}
