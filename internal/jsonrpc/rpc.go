// Package jsonrpc serves JSON-RPC over HTTP the way Bitcoin Core does: one
// POST endpoint, JSON-RPC 2.0 (and the 1.0 envelope that Core's clients
// still send), batches, HTTP basic authentication with a password or a
// cookie file, and Core's error codes.
//
// It knows nothing about chains: the node registers its methods as
// Handlers. Every limit (body size, batch length, header and handler time)
// is an exported constant or a Server field.
package jsonrpc

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"strings"
	"sync"
	"time"
)

// Error codes: JSON-RPC 2.0's, then Bitcoin Core's (src/rpc/protocol.h).
const (
	CodeParseError     = -32700
	CodeInvalidRequest = -32600
	CodeMethodNotFound = -32601
	CodeInvalidParams  = -32602
	CodeInternalError  = -32603

	CodeMiscError            = -1  // RPC_MISC_ERROR
	CodeTypeError            = -3  // RPC_TYPE_ERROR
	CodeOutOfMemory          = -7  // RPC_OUT_OF_MEMORY: a reply over MaxReplySize
	CodeInvalidAddressOrKey  = -5  // RPC_INVALID_ADDRESS_OR_KEY: unknown block, bad address
	CodeInvalidParameter     = -8  // RPC_INVALID_PARAMETER
	CodeDeserializationError = -22 // RPC_DESERIALIZATION_ERROR: bad block or transaction encoding
	CodeVerifyError          = -25 // RPC_VERIFY_ERROR
	CodeVerifyRejected       = -26 // RPC_VERIFY_REJECTED: rejected by consensus or policy
	CodeVerifyAlreadyInChain = -27 // RPC_VERIFY_ALREADY_IN_CHAIN
	CodeInWarmup             = -28 // RPC_IN_WARMUP
)

// Limits.
const (
	// MaxBodySize is the largest request body accepted: a maximum-size
	// block in hex with room to spare.
	MaxBodySize = 8 << 20
	// MaxBatch is the most calls one batch may hold.
	MaxBatch = 1000
	// MaxReplySize bounds a reply: one call's result, or a whole batch's
	// (calls left once a batch's replies reach it are not run).
	MaxReplySize = 32 << 20
	// FailedAuthDelay is how long a request with wrong credentials waits
	// for its 401, as Core's 250 ms, to slow password guessing.
	FailedAuthDelay = 250 * time.Millisecond
	// CookieUser is the user name of cookie authentication, as in Core.
	CookieUser = "__cookie__"
)

// Error is a JSON-RPC error object. Handlers return it to choose the code;
// any other error becomes CodeMiscError with the error's text.
type Error struct {
	Code    int    `json:"code"`
	Message string `json:"message"`
}

func (e *Error) Error() string { return fmt.Sprintf("rpc error %d: %s", e.Code, e.Message) }

// Errorf returns an *Error with the given code.
func Errorf(code int, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// Handler runs one method. params is the raw "params" member (an array,
// an object, or nil when absent).
type Handler func(ctx context.Context, params json.RawMessage) (any, error)

// Server dispatches JSON-RPC calls to registered handlers. Register all
// methods before serving; after that it is safe for concurrent use.
type Server struct {
	methods  map[string]Handler
	authHdr  string // the expected Authorization header value
	log      *slog.Logger
	timeout  time.Duration
	maxBody  int64
	maxBatch int
	maxReply int
	// authDelay is FailedAuthDelay; tests shorten it.
	authDelay    time.Duration
	authFailures logLimiter
}

// Config configures a Server.
type Config struct {
	// User and Password, if Password is set, are the HTTP basic credentials.
	User, Password string
	// CookieFile, if set and Password is not, receives a fresh random
	// credential (CookieUser:hex) with mode 0600 when the server is made,
	// as Core's .cookie file.
	CookieFile string
	// Timeout bounds each request's handlers; 0 means 30 s.
	Timeout time.Duration
	// Logger receives one line per failed request; nil discards.
	Logger *slog.Logger
}

// ErrNoAuth is returned by New when neither a password nor a cookie file
// is configured: the API is never served unauthenticated.
var ErrNoAuth = errors.New("rpc: no password or cookie file configured")

// New returns a Server with no methods.
func New(cfg Config) (*Server, error) {
	user, pass := cfg.User, cfg.Password
	switch {
	case pass != "":
	case cfg.CookieFile != "":
		var b [32]byte
		if _, err := rand.Read(b[:]); err != nil {
			return nil, fmt.Errorf("rpc: cookie: %w", err)
		}
		user, pass = CookieUser, hex.EncodeToString(b[:])
		if err := os.WriteFile(cfg.CookieFile, []byte(user+":"+pass), 0o600); err != nil {
			return nil, fmt.Errorf("rpc: write cookie: %w", err)
		}
	default:
		return nil, ErrNoAuth
	}
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	timeout := cfg.Timeout
	if timeout == 0 {
		timeout = 30 * time.Second
	}
	return &Server{
		methods:   map[string]Handler{},
		authHdr:   "Basic " + base64.StdEncoding.EncodeToString([]byte(user+":"+pass)),
		log:       log,
		timeout:   timeout,
		maxBody:   MaxBodySize,
		maxBatch:  MaxBatch,
		maxReply:  MaxReplySize,
		authDelay: FailedAuthDelay,
	}, nil
}

// Register adds a method. It panics on a duplicate name: that is a
// programming error caught at start-up.
func (s *Server) Register(name string, h Handler) {
	if _, dup := s.methods[name]; dup {
		panic("rpc: method registered twice: " + name)
	}
	s.methods[name] = h
}

// Has reports whether a method is registered.
func (s *Server) Has(name string) bool {
	_, ok := s.methods[name]
	return ok
}

// response is one reply. Result and Error are both present for 1.0
// callers (one of them null), as Core does.
type response struct {
	JSONRPC string          `json:"jsonrpc,omitempty"`
	Result  any             `json:"result"`
	Error   *Error          `json:"error"`
	ID      json.RawMessage `json:"id"`
}

// reply is one encoded response, or none for a JSON-RPC 2.0 notification.
type reply struct {
	body    []byte // encoded response; nil for a notification
	version string // "2.0" or "" (1.0)
	code    int    // the error's code, 0 on success
}

// ServeHTTP implements http.Handler.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		http.Error(w, "JSON-RPC server handles only POST requests", http.StatusMethodNotAllowed)
		return
	}
	if !s.authorized(r) {
		s.refuse(w, r)
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, s.maxBody))
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			http.Error(w, fmt.Sprintf("request body over %d bytes", s.maxBody), http.StatusRequestEntityTooLarge)
			return
		}
		http.Error(w, "read error", http.StatusBadRequest)
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), s.timeout)
	defer cancel()
	out, status := s.handle(ctx, body)
	if out == nil {
		w.WriteHeader(http.StatusNoContent)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	w.Write(out)
}

// authorized reports whether r carries the server's credentials.
func (s *Server) authorized(r *http.Request) bool {
	return subtle.ConstantTimeCompare([]byte(r.Header.Get("Authorization")), []byte(s.authHdr)) == 1
}

// RequireAuth returns h behind the server's credentials: a request
// without them is refused as a JSON-RPC call would be (401 after
// FailedAuthDelay, logged at most once a second).
func (s *Server) RequireAuth(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !s.authorized(r) {
			s.refuse(w, r)
			return
		}
		h.ServeHTTP(w, r)
	})
}

// refuse answers a request with wrong or missing credentials after
// FailedAuthDelay, as Core does, and logs at most one line a second.
func (s *Server) refuse(w http.ResponseWriter, r *http.Request) {
	if s.authDelay > 0 {
		t := time.NewTimer(s.authDelay)
		select {
		case <-t.C:
		case <-r.Context().Done():
			t.Stop()
		}
	}
	w.Header().Set("WWW-Authenticate", `Basic realm="jsonrpc"`)
	http.Error(w, "unauthorized", http.StatusUnauthorized)
	if n, ok := s.authFailures.note(time.Now()); ok {
		s.log.Warn("rpc: bad credentials", "remote", r.RemoteAddr, "refused_since_last_line", n)
	}
}

// handle decodes a single call or a batch and returns the encoded reply
// and its HTTP status, or a nil reply when every call was a notification.
// As Core does, errors of single 1.0 calls are answered with 400 (invalid
// request), 404 (unknown method) or 500; 2.0 calls and batches always
// with 200.
func (s *Server) handle(ctx context.Context, body []byte) ([]byte, int) {
	trimmed := bytes.TrimLeft(body, " \t\r\n")
	if len(trimmed) > 0 && trimmed[0] == '[' {
		return s.batch(ctx, trimmed)
	}
	r := s.call(ctx, body, "", s.maxReply)
	if r.body == nil {
		return nil, http.StatusNoContent
	}
	status := http.StatusOK
	if r.code != 0 && r.version == "" {
		switch r.code {
		case CodeInvalidRequest:
			status = http.StatusBadRequest
		case CodeMethodNotFound:
			status = http.StatusNotFound
		default:
			status = http.StatusInternalServerError
		}
	}
	return append(r.body, '\n'), status
}

// batch runs the calls of a batch in order. A call whose result does not
// fit in what is left of maxReply answers an error instead, and the calls
// after it are not run, so a batch's reply never grows past the limit by
// more than a few error objects.
func (s *Server) batch(ctx context.Context, body []byte) ([]byte, int) {
	var calls []json.RawMessage
	if err := strictUnmarshal(body, &calls); err != nil {
		return errorBody(nil, "2.0", Errorf(CodeParseError, "parse error: %v", err)), http.StatusOK
	}
	if len(calls) == 0 || len(calls) > s.maxBatch {
		return errorBody(nil, "2.0", Errorf(CodeInvalidRequest, "batch of %d calls (allowed 1 to %d)", len(calls), s.maxBatch)), http.StatusOK
	}
	out := []byte{'['}
	full := false
	for _, c := range calls {
		var r reply
		if full {
			r = s.overLimit(c)
		} else {
			r = s.call(ctx, c, "2.0", s.maxReply-len(out))
			full = r.code == CodeOutOfMemory
		}
		if r.body == nil {
			continue
		}
		if len(out) > 1 {
			out = append(out, ',')
		}
		out = append(out, r.body...)
	}
	if len(out) == 1 {
		return nil, http.StatusNoContent
	}
	return append(out, ']', '\n'), http.StatusOK
}

// request is one call as parsed by parseRequest.
type request struct {
	version string          // "2.0" or "" (1.0)
	id      json.RawMessage // nil when absent: a 2.0 notification
	method  string
	params  json.RawMessage
}

// parseRequest decodes one call object. Member names match exactly, as
// in Core ("METHOD" is not "method"), and nothing may follow the object.
// A value that is not an object is answered in the given version.
func parseRequest(raw json.RawMessage, version string) (request, *Error) {
	var members map[string]json.RawMessage
	if err := strictUnmarshal(raw, &members); err != nil {
		var typeErr *json.UnmarshalTypeError
		if errors.As(err, &typeErr) {
			return request{version: version}, Errorf(CodeInvalidRequest, "Invalid Request object")
		}
		return request{version: version}, Errorf(CodeParseError, "parse error: %v", err)
	}
	if members == nil {
		return request{version: version}, Errorf(CodeInvalidRequest, "Invalid Request object")
	}
	var req request
	if v, ok := members["jsonrpc"]; ok && string(v) == `"2.0"` {
		req.version = "2.0"
	}
	if id, ok := members["id"]; ok {
		req.id = id
	} else if req.version == "" {
		req.id = json.RawMessage("null") // 1.0 has no notifications
	}
	method, ok := members["method"]
	if !ok {
		return req, Errorf(CodeInvalidRequest, "Missing method")
	}
	if json.Unmarshal(method, &req.method) != nil || method[0] != '"' {
		return req, Errorf(CodeInvalidRequest, "Method must be a string")
	}
	req.params = members["params"]
	if p := req.params; len(p) > 0 && p[0] != '[' && p[0] != '{' && string(p) != "null" {
		return req, Errorf(CodeInvalidRequest, "Params must be an array or object")
	}
	return req, nil
}

// call runs one request and encodes its reply; a result whose encoding
// is longer than maxReply bytes is replaced by an error. version is the
// envelope of an answer to a request that is not an object at all.
func (s *Server) call(ctx context.Context, raw json.RawMessage, version string, maxReply int) reply {
	req, rerr := parseRequest(raw, version)
	if rerr != nil {
		return reply{body: errorBody(req.id, req.version, rerr), version: req.version, code: rerr.Code}
	}
	h, ok := s.methods[req.method]
	if !ok {
		rerr = Errorf(CodeMethodNotFound, "Method not found")
	} else if result, err := h(ctx, req.params); err != nil {
		if !errors.As(err, &rerr) {
			rerr = &Error{Code: CodeMiscError, Message: err.Error()}
		}
		s.log.Info("rpc: call failed", "method", req.method, "code", rerr.Code, "err", rerr.Message)
	} else if req.id != nil {
		body := encode(response{JSONRPC: req.version, Result: result, ID: req.id})
		if len(body) <= maxReply {
			return reply{body: body, version: req.version}
		}
		rerr = Errorf(CodeOutOfMemory, "reply of %d bytes is over the %d-byte limit", len(body), maxReply)
		s.log.Warn("rpc: reply over limit", "method", req.method, "bytes", len(body), "limit", maxReply)
	}
	if req.id == nil {
		return reply{version: req.version} // a notification: no reply
	}
	return reply{body: errorBody(req.id, req.version, rerr), version: req.version, code: rerr.Code}
}

// overLimit answers a batch call that was not run because the batch's
// reply already reached the limit.
func (s *Server) overLimit(raw json.RawMessage) reply {
	req, _ := parseRequest(raw, "2.0")
	if req.id == nil && req.version == "2.0" {
		return reply{version: req.version}
	}
	e := Errorf(CodeOutOfMemory, "not run: the batch's reply reached the %d-byte limit", s.maxReply)
	return reply{body: errorBody(req.id, req.version, e), version: req.version, code: e.Code}
}

// strictUnmarshal decodes one JSON value, keeping numbers as written, and
// fails when anything but white space follows it.
func strictUnmarshal(data []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	if err := dec.Decode(v); err != nil {
		return err
	}
	if _, err := dec.Token(); err != io.EOF {
		return errors.New("data after the JSON value")
	}
	return nil
}

func errorBody(id json.RawMessage, version string, e *Error) []byte {
	if len(id) == 0 {
		id = json.RawMessage("null")
	}
	return encode(response{JSONRPC: version, Error: e, ID: id})
}

func encode(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		// A handler returned a value JSON cannot encode: report it as an
		// internal error rather than sending a broken reply.
		b, _ = json.Marshal(response{Error: Errorf(CodeInternalError, "encode result: %v", err), ID: json.RawMessage("null")})
	}
	return b
}

// logLimiter lets one log line through per second and counts the events
// in between.
type logLimiter struct {
	mu         sync.Mutex
	last       time.Time
	suppressed int
}

// note records an event at now and reports whether to log it, with the
// number of events not logged since the last line.
func (l *logLimiter) note(now time.Time) (int, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if now.Sub(l.last) < time.Second {
		l.suppressed++
		return 0, false
	}
	n := l.suppressed
	l.last, l.suppressed = now, 0
	return n, true
}

// Params decodes positional params (a JSON array) into dst, which are
// pointers in order; missing trailing params keep their values (they are
// optional), extra ones are an error. Named params (an object) are
// rejected with CodeInvalidParams: no method here takes them.
func Params(raw json.RawMessage, dst ...any) error {
	return RequiredParams(raw, 0, dst...)
}

// RequiredParams is Params for a method whose first required params must
// be given: fewer (or a null among them) is a CodeInvalidParams error.
func RequiredParams(raw json.RawMessage, required int, dst ...any) error {
	var items []json.RawMessage
	switch {
	case len(raw) == 0 || string(raw) == "null":
	case strings.HasPrefix(strings.TrimSpace(string(raw)), "{"):
		return Errorf(CodeInvalidParams, "named parameters are not supported; pass an array")
	default:
		if err := json.Unmarshal(raw, &items); err != nil {
			return Errorf(CodeInvalidParams, "params: %v", err)
		}
	}
	if len(items) > len(dst) {
		return Errorf(CodeInvalidParams, "too many parameters: got %d, want at most %d", len(items), len(dst))
	}
	for i := range required {
		if i >= len(items) || string(items[i]) == "null" {
			return Errorf(CodeInvalidParams, "missing required parameter %d of %d", i+1, required)
		}
	}
	for i, it := range items {
		if err := json.Unmarshal(it, dst[i]); err != nil {
			return Errorf(CodeTypeError, "parameter %d: %v", i+1, err)
		}
	}
	return nil
}
