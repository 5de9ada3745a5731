package stratum

import (
	"errors"
	"fmt"
	"strconv"
)

// Sentinel errors of the line reader and the message parser. Each ends the
// connection: the stream is no longer in step with the protocol.
var (
	// ErrLineTooLong is returned by Reader.ReadLine when a line exceeds the
	// reader's limit (MaxLineSize by default). Close the connection.
	ErrLineTooLong = errors.New("stratum: line too long")

	// ErrNotJSON is returned by Reader.ReadLine and CheckLineStart when a
	// line does not start like a JSON object. Close the connection at once,
	// without waiting for a newline and without banning: real clients probe
	// with TLS first (see ErrTLSHandshake).
	ErrNotJSON = errors.New("stratum: input is not JSON")

	// ErrTLSHandshake is the ErrNotJSON case of a TLS handshake record
	// (0x16 0x03), as BFGMiner sends to a plain stratum+tcp:// URL.
	// errors.Is(ErrTLSHandshake, ErrNotJSON) holds.
	ErrTLSHandshake = fmt.Errorf("%w: TLS handshake", ErrNotJSON)

	// ErrInvalidMessage is returned (wrapped) by ParseMessage for a line
	// that is not a well-formed Stratum message: invalid JSON, not an
	// object, a non-string method, an id that is not a number, string or
	// null, or neither a method nor a result/error.
	ErrInvalidMessage = errors.New("stratum: invalid message")

	// ErrInvalidParams is the cause (Error.Err) of every params or result
	// decoding error: wrong JSON types, wrong counts, bad hex, bad lengths,
	// values out of range.
	ErrInvalidParams = errors.New("stratum: invalid params")

	// ErrDifficulty is returned (wrapped) for a difficulty that is not a
	// finite positive number, or so large that its target is zero.
	ErrDifficulty = errors.New("stratum: invalid difficulty")
)

// ErrorCode is a Stratum V1 error code, the first element of the error
// array in a response. Codes 20-25 come from slush's original protocol
// description and are what pools (miningcore, public-pool,
// node-stratum-pool, btcpool) send; 26 and above are btcpool's additions.
// Clients display the message, not the code, except that cpuminer-opt
// counts a reject as stale when the message contains "job".
type ErrorCode int

// Stratum error codes as pools send them.
const (
	// CodeOther is "other/unknown": malformed requests and anything
	// without a more specific code.
	CodeOther ErrorCode = 20
	// CodeJobNotFound is "job not found": an unknown or stale job id.
	CodeJobNotFound ErrorCode = 21
	// CodeDuplicateShare is "duplicate share".
	CodeDuplicateShare ErrorCode = 22
	// CodeLowDifficulty is "low difficulty share": the hash does not meet
	// the share target.
	CodeLowDifficulty ErrorCode = 23
	// CodeUnauthorized is "unauthorized worker": submit before or without a
	// successful authorize, or a rejected authorize.
	CodeUnauthorized ErrorCode = 24
	// CodeNotSubscribed is "not subscribed": submit before subscribe.
	CodeNotSubscribed ErrorCode = 25
	// CodeIllegalMethod is btcpool's "illegal method" for unknown methods.
	CodeIllegalMethod ErrorCode = 26
	// CodeIllegalParams is btcpool's "illegal params".
	CodeIllegalParams ErrorCode = 27
	// CodeTimeTooOld is btcpool's "time too old": ntime below the job's
	// floor.
	CodeTimeTooOld ErrorCode = 31
	// CodeTimeTooNew is btcpool's "time too new": ntime too far ahead.
	CodeTimeTooNew ErrorCode = 32
	// CodeInvalidVersionMask is btcpool's "invalid version mask": version
	// bits outside the negotiated mask.
	CodeInvalidVersionMask ErrorCode = 33
)

// codeMessages are the standard messages, lowercase as node-stratum-pool
// and miningcore send them.
var codeMessages = map[ErrorCode]string{
	CodeOther:              "other/unknown",
	CodeJobNotFound:        "job not found",
	CodeDuplicateShare:     "duplicate share",
	CodeLowDifficulty:      "low difficulty share",
	CodeUnauthorized:       "unauthorized worker",
	CodeNotSubscribed:      "not subscribed",
	CodeIllegalMethod:      "illegal method",
	CodeIllegalParams:      "illegal params",
	CodeTimeTooOld:         "time too old",
	CodeTimeTooNew:         "time too new",
	CodeInvalidVersionMask: "invalid version mask",
}

// String returns the code's standard message, or "error <n>" for a code
// without one.
func (c ErrorCode) String() string {
	if s, ok := codeMessages[c]; ok {
		return s
	}
	return "error " + strconv.Itoa(int(c))
}

// Error is a Stratum error: the code and message of a response's
// [code, message, null] error array. Params decoders return it (with Code
// CodeOther and Err ErrInvalidParams) so a server can send it back as is;
// Message.ResponseError returns it for a received error in any of the
// shapes pools use.
type Error struct {
	// Code is the Stratum error code.
	Code ErrorCode
	// Message is the human-readable text sent on the wire (error[1] and
	// reject-reason).
	Message string
	// Err is the underlying Go error, if any (ErrInvalidParams for
	// decoding errors); nil for errors built from codes or received.
	Err error
}

// NewError returns an Error with the code and message; an empty message
// is replaced by the code's standard message.
func NewError(code ErrorCode, message string) *Error {
	if message == "" {
		message = code.String()
	}
	return &Error{Code: code, Message: message}
}

// Error implements error.
func (e *Error) Error() string {
	return "stratum: " + e.Message + " (code " + strconv.Itoa(int(e.Code)) + ")"
}

// Unwrap returns the underlying cause, for errors.Is(err, ErrInvalidParams).
func (e *Error) Unwrap() error { return e.Err }

// paramsError builds the decoding error of a method's params or result.
func paramsError(method, format string, args ...any) *Error {
	return &Error{Code: CodeOther, Message: method + ": " + fmt.Sprintf(format, args...), Err: ErrInvalidParams}
}
