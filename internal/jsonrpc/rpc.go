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
		methods:  map[string]Handler{},
		authHdr:  "Basic " + base64.StdEncoding.EncodeToString([]byte(user+":"+pass)),
		log:      log,
		timeout:  timeout,
		maxBody:  MaxBodySize,
		maxBatch: MaxBatch,
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

// request is one call. ID is kept raw so it is echoed exactly.
type request struct {
	JSONRPC string          `json:"jsonrpc"`
	ID      json.RawMessage `json:"id"`
	Method  string          `json:"method"`
	Params  json.RawMessage `json:"params"`
}

// response is one reply. Result and Error are both present for 1.0
// callers (one of them null), as Core does; 2.0 replies omit the other.
type response struct {
	JSONRPC string          `json:"jsonrpc,omitempty"`
	Result  any             `json:"result"`
	Error   *Error          `json:"error"`
	ID      json.RawMessage `json:"id"`
}

// ServeHTTP implements http.Handler.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		http.Error(w, "JSON-RPC server handles only POST requests", http.StatusMethodNotAllowed)
		return
	}
	if subtle.ConstantTimeCompare([]byte(r.Header.Get("Authorization")), []byte(s.authHdr)) != 1 {
		w.Header().Set("WWW-Authenticate", `Basic realm="jsonrpc"`)
		http.Error(w, "unauthorized", http.StatusUnauthorized)
		s.log.Warn("rpc: bad credentials", "remote", r.RemoteAddr)
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
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	w.Write(out)
}

// handle decodes a single call or a batch and returns the encoded reply
// and its HTTP status (Core answers errors of single 1.0 calls with 500
// or 404; 2.0 calls and batches always with 200).
func (s *Server) handle(ctx context.Context, body []byte) ([]byte, int) {
	trimmed := bytes.TrimLeft(body, " \t\r\n")
	if len(trimmed) > 0 && trimmed[0] == '[' {
		var calls []json.RawMessage
		if err := json.Unmarshal(trimmed, &calls); err != nil {
			return encode(errorReply(nil, "2.0", Errorf(CodeParseError, "parse error: %v", err))), http.StatusOK
		}
		if len(calls) == 0 || len(calls) > s.maxBatch {
			return encode(errorReply(nil, "2.0", Errorf(CodeInvalidRequest, "batch of %d calls (allowed 1 to %d)", len(calls), s.maxBatch))), http.StatusOK
		}
		replies := make([]response, 0, len(calls))
		for _, c := range calls {
			replies = append(replies, s.call(ctx, c))
		}
		return encode(replies), http.StatusOK
	}
	reply := s.call(ctx, body)
	status := http.StatusOK
	if reply.Error != nil && reply.JSONRPC == "" {
		status = http.StatusInternalServerError
		if reply.Error.Code == CodeMethodNotFound {
			status = http.StatusNotFound
		}
	}
	return encode(reply), status
}

// call runs one request.
func (s *Server) call(ctx context.Context, raw json.RawMessage) response {
	var req request
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	if err := dec.Decode(&req); err != nil {
		return errorReply(nil, "", Errorf(CodeParseError, "parse error: %v", err))
	}
	version := ""
	if req.JSONRPC == "2.0" {
		version = "2.0"
	}
	if req.Method == "" {
		return errorReply(req.ID, version, Errorf(CodeInvalidRequest, "missing method"))
	}
	h, ok := s.methods[req.Method]
	if !ok {
		return errorReply(req.ID, version, Errorf(CodeMethodNotFound, "Method not found"))
	}
	if len(req.Params) > 0 && req.Params[0] != '[' && req.Params[0] != '{' && string(req.Params) != "null" {
		return errorReply(req.ID, version, Errorf(CodeInvalidRequest, "params must be an array or an object"))
	}
	result, err := h(ctx, req.Params)
	if err != nil {
		var rerr *Error
		if !errors.As(err, &rerr) {
			rerr = &Error{Code: CodeMiscError, Message: err.Error()}
		}
		s.log.Info("rpc: call failed", "method", req.Method, "code", rerr.Code, "err", rerr.Message)
		return errorReply(req.ID, version, rerr)
	}
	return response{JSONRPC: version, Result: result, ID: idOrNull(req.ID)}
}

func errorReply(id json.RawMessage, version string, e *Error) response {
	return response{JSONRPC: version, Error: e, ID: idOrNull(id)}
}

func idOrNull(id json.RawMessage) json.RawMessage {
	if len(id) == 0 {
		return json.RawMessage("null")
	}
	return id
}

func encode(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		// A handler returned a value JSON cannot encode: report it as an
		// internal error rather than sending a broken reply.
		b, _ = json.Marshal(response{Error: Errorf(CodeInternalError, "encode result: %v", err), ID: json.RawMessage("null")})
	}
	return append(b, '\n')
}

// Params decodes positional params (a JSON array) into dst, which are
// pointers in order; missing trailing params keep their values (they are
// optional), extra ones are an error. Named params (an object) are
// rejected with CodeInvalidParams: no method here takes them.
func Params(raw json.RawMessage, dst ...any) error {
	if len(raw) == 0 || string(raw) == "null" {
		return nil
	}
	if strings.HasPrefix(strings.TrimSpace(string(raw)), "{") {
		return Errorf(CodeInvalidParams, "named parameters are not supported; pass an array")
	}
	var items []json.RawMessage
	if err := json.Unmarshal(raw, &items); err != nil {
		return Errorf(CodeInvalidParams, "params: %v", err)
	}
	if len(items) > len(dst) {
		return Errorf(CodeInvalidParams, "too many parameters: got %d, want at most %d", len(items), len(dst))
	}
	for i, it := range items {
		if err := json.Unmarshal(it, dst[i]); err != nil {
			return Errorf(CodeTypeError, "parameter %d: %v", i+1, err)
		}
	}
	return nil
}
