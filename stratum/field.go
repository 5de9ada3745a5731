package stratum

import (
	"encoding/hex"
	"encoding/json"
	"math"
	"strconv"
)

// Limits on decoded fields. Each is checked by the decoders; longer or
// larger values are ErrInvalidParams errors.
const (
	// MaxExtranonce1Size is the largest extranonce1, in bytes, that
	// SubscribeResult and SetExtranonceParams accept (pools use 4).
	MaxExtranonce1Size = 32
	// MaxExtranonce2Size is the largest extranonce2_size, in bytes, and so
	// the longest extranonce2 in a submit (ESP-Miner's limit; pools use 4
	// or 8, cpuminer-opt accepts 2..16).
	MaxExtranonce2Size = 32
	// MaxMerkleBranch is the most merkle branch entries a notify may carry
	// (ESP-Miner's limit; 32 levels cover 2^32 transactions).
	MaxMerkleBranch = 32
	// MaxConfigureExtensions is the most extensions a mining.configure may
	// list.
	MaxConfigureExtensions = 16
)

// splitParams checks that raw is a JSON array of min to len(el) elements
// and stores them in el. A missing or null params counts as an empty
// array.
func splitParams(method string, raw []byte, el [][]byte, min int) (int, error) {
	if isNull(raw) {
		if min > 0 {
			return 0, paramsError(method, "missing params")
		}
		return 0, nil
	}
	if !json.Valid(raw) {
		return 0, paramsError(method, "params are not valid JSON")
	}
	it, ok := newIter(raw, '[')
	if !ok {
		return 0, paramsError(method, "params must be an array, got %s", kindName(raw[skipWS(raw, 0):]))
	}
	n := 0
	for {
		v, ok := it.next()
		if !ok {
			break
		}
		if n == len(el) {
			return 0, paramsError(method, "too many params (want at most %d)", len(el))
		}
		el[n] = v
		n++
	}
	if n < min {
		return 0, paramsError(method, "too few params (%d, want at least %d)", n, min)
	}
	return n, nil
}

// stringField decodes a free-text string param; null gives "".
func stringField(method, field string, raw []byte) (string, error) {
	if isNull(raw) {
		return "", nil
	}
	s, ok := decodeString(raw)
	if !ok {
		return "", paramsError(method, "%s must be a string, got %s", field, kindName(raw))
	}
	return s, nil
}

// hexField returns the contents of a hex string param after checking that
// it holds only hex digits, an even number of them, at most 2*maxBytes.
func hexField(method, field string, raw []byte, maxBytes int) ([]byte, error) {
	s, ok, _ := rawString(raw)
	if !ok {
		return nil, paramsError(method, "%s must be a hex string, got %s", field, kindName(raw))
	}
	if len(s)%2 != 0 || len(s) > 2*maxBytes {
		return nil, paramsError(method, "%s: want an even number of hex characters, at most %d, got %d",
			field, 2*maxBytes, len(s))
	}
	if !isHex(s) {
		return nil, paramsError(method, "%s is not hex", field)
	}
	return s, nil
}

// hexBytes decodes a hex string param into a new slice.
func hexBytes(method, field string, raw []byte, maxBytes int) ([]byte, error) {
	s, err := hexField(method, field, raw, maxBytes)
	if err != nil {
		return nil, err
	}
	out := make([]byte, len(s)/2)
	hex.Decode(out, s) // checked by hexField
	return out, nil
}

func isHex(s []byte) bool {
	for _, c := range s {
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F') {
			return false
		}
	}
	return true
}

// u32Field decodes a 32-bit value written as big-endian hex: exactly 8
// characters, or 1 to 8 when exact is false (version masks).
func u32Field(method, field string, raw []byte, exact bool) (uint32, error) {
	s, ok, _ := rawString(raw)
	if !ok {
		return 0, paramsError(method, "%s must be a hex string, got %s", field, kindName(raw))
	}
	if exact && len(s) != 8 || len(s) < 1 || len(s) > 8 {
		return 0, paramsError(method, "%s: want 8 hex characters, got %d", field, len(s))
	}
	var v uint32
	for _, c := range s {
		var d byte
		switch {
		case '0' <= c && c <= '9':
			d = c - '0'
		case 'a' <= c && c <= 'f':
			d = c - 'a' + 10
		case 'A' <= c && c <= 'F':
			d = c - 'A' + 10
		default:
			return 0, paramsError(method, "%s is not hex", field)
		}
		v = v<<4 | uint32(d)
	}
	return v, nil
}

// appendU32 appends v as 8 big-endian hex characters in quotes.
func appendU32(dst []byte, v uint32) []byte {
	var b [4]byte
	b[0], b[1], b[2], b[3] = byte(v>>24), byte(v>>16), byte(v>>8), byte(v)
	return appendHex(dst, b[:])
}

// appendHex appends b as a quoted lowercase hex string.
func appendHex(dst []byte, b []byte) []byte {
	dst = append(dst, '"')
	dst = hex.AppendEncode(dst, b)
	return append(dst, '"')
}

// difficultyField decodes a difficulty sent as a JSON number or as a
// string holding one (cpuminer-opt's suggest_difficulty).
func difficultyField(method string, raw []byte) (float64, error) {
	text := raw
	if s, ok, escaped := rawString(raw); ok {
		if escaped {
			return 0, paramsError(method, "difficulty %s is not a number", raw)
		}
		text = s
		if !isDecimal(text) {
			return 0, paramsError(method, "difficulty %s is not a decimal number", raw)
		}
	} else if len(raw) == 0 || raw[0] != '-' && (raw[0] < '0' || raw[0] > '9') {
		return 0, paramsError(method, "difficulty must be a number, got %s", kindName(raw))
	}
	d, err := strconv.ParseFloat(string(text), 64)
	if err != nil || math.IsInf(d, 0) || math.IsNaN(d) || d <= 0 {
		return 0, paramsError(method, "difficulty %s is not a positive number", raw)
	}
	return d, nil
}

// isDecimal reports whether s holds only the characters of a decimal
// number (digits, sign, point, exponent), so that ParseFloat's hex, inf
// and NaN forms are refused in strings.
func isDecimal(s []byte) bool {
	for _, c := range s {
		if !('0' <= c && c <= '9' || c == '.' || c == '-' || c == '+' || c == 'e' || c == 'E') {
			return false
		}
	}
	return len(s) > 0
}

// appendDifficulty appends d as a JSON number in its shortest exact
// decimal form, the text TargetFromDifficulty reads.
func appendDifficulty(dst []byte, d float64) []byte {
	return strconv.AppendFloat(dst, d, 'g', -1, 64)
}

// intField decodes a non-negative integer param no larger than max.
func intField(method, field string, raw []byte, max int) (int, error) {
	n, err := strconv.Atoi(string(raw))
	if err != nil || n < 0 || n > max {
		return 0, paramsError(method, "%s must be an integer from 0 to %d, got %s", field, max, raw)
	}
	return n, nil
}
