package stratum

import (
	"encoding/json"
	"fmt"
	"strconv"
)

// Method names. Client to server: subscribe, authorize, configure,
// submit, suggest_difficulty, extranonce.subscribe, get_transactions.
// Server to client: notify, set_difficulty, set_extranonce,
// set_version_mask.
const (
	MethodSubscribe           = "mining.subscribe"
	MethodAuthorize           = "mining.authorize"
	MethodConfigure           = "mining.configure"
	MethodSubmit              = "mining.submit"
	MethodSuggestDifficulty   = "mining.suggest_difficulty"
	MethodExtranonceSubscribe = "mining.extranonce.subscribe"
	MethodGetTransactions     = "mining.get_transactions"
	MethodNotify              = "mining.notify"
	MethodSetDifficulty       = "mining.set_difficulty"
	MethodSetExtranonce       = "mining.set_extranonce"
	MethodSetVersionMask      = "mining.set_version_mask"
)

// internMethod returns the constant for a known method name, so that
// parsing a known method does not allocate.
func internMethod(b []byte) string {
	switch string(b) {
	case MethodSubmit:
		return MethodSubmit
	case MethodNotify:
		return MethodNotify
	case MethodSetDifficulty:
		return MethodSetDifficulty
	case MethodSubscribe:
		return MethodSubscribe
	case MethodAuthorize:
		return MethodAuthorize
	case MethodConfigure:
		return MethodConfigure
	case MethodSuggestDifficulty:
		return MethodSuggestDifficulty
	case MethodExtranonceSubscribe:
		return MethodExtranonceSubscribe
	case MethodGetTransactions:
		return MethodGetTransactions
	case MethodSetExtranonce:
		return MethodSetExtranonce
	case MethodSetVersionMask:
		return MethodSetVersionMask
	}
	return string(b)
}

// Kind tells requests, notifications and responses apart.
type Kind int

// Message kinds.
const (
	// KindRequest has a method and a non-null id: answer it.
	KindRequest Kind = iota + 1
	// KindNotification has a method and a null or missing id: do not
	// answer it.
	KindNotification
	// KindResponse has no method but a result or error member.
	KindResponse
)

// Message is one parsed Stratum line. The raw JSON fields alias the line
// they were parsed from (no copies): they are valid as long as the line
// is, that is until the next Reader.ReadLine. A missing member is nil.
type Message struct {
	// ID is the raw id: a number, a string or null. Echo it verbatim in
	// the response, keeping its JSON type (cpuminer-opt and cgminer want
	// integers back, BFGMiner sends strings such as "auth").
	ID json.RawMessage
	// Method is the method name, empty for a response.
	Method string
	// Params is the raw params array of a request or notification.
	Params json.RawMessage
	// Result is the raw result of a response.
	Result json.RawMessage
	// Error is the raw error of a response; see ResponseError.
	Error json.RawMessage
	// RejectReason is the raw "reject-reason" member (ckpool's reject
	// text); see ResponseError.
	RejectReason json.RawMessage
}

// Kind returns the message's kind. ParseMessage guarantees that it is one
// of the three.
func (m *Message) Kind() Kind {
	switch {
	case m.Method == "":
		return KindResponse
	case isNull(m.ID):
		return KindNotification
	default:
		return KindRequest
	}
}

// ParseMessage parses one line (as Reader.ReadLine returns it) into its
// envelope. The line must be a JSON object with a string "method" (a
// request or notification) or a "result" or "error" member (a response);
// "id", if present, must be a number, a string or null. Unknown members
// are ignored; of a repeated member the last counts. Params are not
// decoded: see the XxxParams types. ParseMessage does not allocate for
// the methods named by the Method constants.
func ParseMessage(line []byte) (Message, error) {
	var m Message
	if !json.Valid(line) {
		return m, fmt.Errorf("%w: not valid JSON", ErrInvalidMessage)
	}
	it, ok := newIter(line, '{')
	if !ok {
		return m, fmt.Errorf("%w: not a JSON object", ErrInvalidMessage)
	}
	var method []byte
	haveMethod := false
	for {
		key, value, ok := it.nextMember()
		if !ok {
			break
		}
		switch string(key) {
		case `"id"`:
			m.ID = value
		case `"method"`:
			method, haveMethod = value, true
		case `"params"`:
			m.Params = value
		case `"result"`:
			m.Result = value
		case `"error"`:
			m.Error = value
		case `"reject-reason"`:
			m.RejectReason = value
		}
	}
	if m.ID != nil {
		switch m.ID[0] {
		case '"', 'n', '-', '0', '1', '2', '3', '4', '5', '6', '7', '8', '9':
		default:
			return Message{}, fmt.Errorf("%w: id is %s", ErrInvalidMessage, kindName(m.ID))
		}
	}
	if haveMethod && !isNull(method) {
		s, ok, escaped := rawString(method)
		switch {
		case !ok:
			return Message{}, fmt.Errorf("%w: method is %s", ErrInvalidMessage, kindName(method))
		case escaped:
			m.Method, _ = decodeString(method)
		default:
			m.Method = internMethod(s)
		}
		if m.Method == "" {
			return Message{}, fmt.Errorf("%w: empty method", ErrInvalidMessage)
		}
		return m, nil
	}
	if m.Result == nil && m.Error == nil {
		return Message{}, fmt.Errorf("%w: neither method nor result", ErrInvalidMessage)
	}
	return m, nil
}

// ResponseError returns the error a response carries, or nil when its
// error member is missing or null and it has no reject-reason. It reads
// every shape pools send: the array [code, "message", data] (slush,
// node-stratum-pool, ckpool's codes), the JSON-RPC 2.0 object
// {"code": c, "message": "..."} (miningcore), a bare string, and ckpool's
// "reject-reason" member. Shapes without a code get CodeOther; a missing
// message is taken from reject-reason, then from the code. Note that
// "result": false with a null error is also a reject (ckpool); the caller
// checks the result.
func (m *Message) ResponseError() *Error {
	reason, _ := decodeString(m.RejectReason)
	if isNull(m.Error) {
		if reason == "" {
			return nil
		}
		return NewError(CodeOther, reason)
	}
	e := &Error{Code: CodeOther}
	switch m.Error[0] {
	case '[':
		it, _ := newIter(m.Error, '[')
		if v, ok := it.next(); ok {
			if c, err := strconv.Atoi(string(v)); err == nil {
				e.Code = ErrorCode(c)
			}
		}
		if v, ok := it.next(); ok {
			e.Message, _ = decodeString(v)
		}
	case '{':
		it, _ := newIter(m.Error, '{')
		for {
			k, v, ok := it.nextMember()
			if !ok {
				break
			}
			switch string(k) {
			case `"code"`:
				if c, err := strconv.Atoi(string(v)); err == nil {
					e.Code = ErrorCode(c)
				}
			case `"message"`:
				e.Message, _ = decodeString(v)
			}
		}
	case '"':
		e.Message, _ = decodeString(m.Error)
	}
	if e.Message == "" {
		e.Message = reason
	}
	if e.Message == "" {
		e.Message = e.Code.String()
	}
	return e
}

// Params is implemented by the typed params of every method. The encoders
// below use it to write a request or notification line.
type Params interface {
	// Method returns the method name the params belong to.
	Method() string
	// AppendParams appends the params as a JSON array.
	AppendParams(dst []byte) []byte
}

// Result is implemented by typed response results.
type Result interface {
	// AppendResult appends the result as JSON.
	AppendResult(dst []byte) []byte
}

// BoolResult is the true/false result of authorize,
// extranonce.subscribe, submit and others.
type BoolResult bool

// AppendResult implements Result.
func (b BoolResult) AppendResult(dst []byte) []byte {
	return strconv.AppendBool(dst, bool(b))
}

// DecodeBoolResult decodes a true/false result. A null result is false.
func DecodeBoolResult(raw []byte) (bool, error) {
	switch string(raw) {
	case "true":
		return true, nil
	case "false", "null", "":
		return false, nil
	}
	return false, paramsError("result", "want a boolean, got %s", kindName(raw))
}

// appendID appends a raw id, or null for a missing one.
func appendID(dst []byte, id json.RawMessage) []byte {
	if len(id) == 0 {
		return append(dst, "null"...)
	}
	return append(dst, id...)
}

// AppendRequest appends one request line, "\n" included:
// {"id":<id>,"method":"<method>","params":[...]}. id is raw JSON (for a
// client, usually an integer written with strconv.AppendUint); nil writes
// null.
func AppendRequest(dst []byte, id json.RawMessage, p Params) []byte {
	dst = append(dst, `{"id":`...)
	dst = appendID(dst, id)
	dst = append(dst, `,"method":`...)
	dst = appendString(dst, p.Method())
	dst = append(dst, `,"params":`...)
	dst = p.AppendParams(dst)
	return append(dst, "}\n"...)
}

// AppendNotification appends one notification line, "\n" included:
// {"id":null,"method":"<method>","params":[...]}.
func AppendNotification(dst []byte, p Params) []byte {
	return AppendRequest(dst, nil, p)
}

// AppendResponse appends one success response line, "\n" included:
// {"id":<id>,"result":<result>,"error":null}. id is echoed verbatim.
func AppendResponse(dst []byte, id json.RawMessage, r Result) []byte {
	dst = append(dst, `{"id":`...)
	dst = appendID(dst, id)
	dst = append(dst, `,"result":`...)
	dst = r.AppendResult(dst)
	return append(dst, `,"error":null}`+"\n"...)
}

// AppendErrorResponse appends one error response line, "\n" included, in
// the shape every client parses:
// {"id":<id>,"result":false,"error":[code,"message",null],"reject-reason":"message"}.
// The array serves cpuminer, cpuminer-opt, cgminer and BFGMiner;
// reject-reason serves ckpool-style parsers; result false marks a reject
// for those that read only the result.
func AppendErrorResponse(dst []byte, id json.RawMessage, e *Error) []byte {
	dst = append(dst, `{"id":`...)
	dst = appendID(dst, id)
	dst = append(dst, `,"result":false,"error":[`...)
	dst = strconv.AppendInt(dst, int64(e.Code), 10)
	dst = append(dst, ',')
	dst = appendString(dst, e.Message)
	dst = append(dst, `,null],"reject-reason":`...)
	dst = appendString(dst, e.Message)
	return append(dst, "}\n"...)
}
