package jsonrpc

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

func newTestServer(t *testing.T) (*Server, *httptest.Server) {
	t.Helper()
	s, err := New(Config{User: "u", Password: "p"})
	if err != nil {
		t.Fatal(err)
	}
	s.Register("echo", func(_ context.Context, params json.RawMessage) (any, error) {
		var a string
		var b int
		if err := Params(params, &a, &b); err != nil {
			return nil, err
		}
		return map[string]any{"a": a, "b": b}, nil
	})
	s.Register("fail", func(context.Context, json.RawMessage) (any, error) {
		return nil, Errorf(CodeInvalidAddressOrKey, "Block not found")
	})
	s.Register("plainerr", func(context.Context, json.RawMessage) (any, error) {
		return nil, errors.New("disk on fire")
	})
	hs := httptest.NewServer(s)
	t.Cleanup(hs.Close)
	return s, hs
}

func post(t *testing.T, url, user, pass, body string) (int, string) {
	t.Helper()
	return send(t, http.MethodPost, url, user, pass, body)
}

// send makes one HTTP request, with basic credentials when user is set,
// and returns the status and body.
func send(t *testing.T, method, url, user, pass, body string) (int, string) {
	t.Helper()
	req, _ := http.NewRequest(method, url, strings.NewReader(body))
	if user != "" {
		req.SetBasicAuth(user, pass)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func TestCalls(t *testing.T) {
	_, hs := newTestServer(t)
	for _, c := range []struct {
		name, body string
		status     int
		want       string
	}{
		{"2.0 call", `{"jsonrpc":"2.0","id":7,"method":"echo","params":["x",3]}`, 200, `{"jsonrpc":"2.0","result":{"a":"x","b":3},"error":null,"id":7}`},
		{"1.0 call", `{"jsonrpc":"1.0","id":"curl","method":"echo","params":["y"]}`, 200, `{"result":{"a":"y","b":0},"error":null,"id":"curl"}`},
		{"optional params absent", `{"id":1,"method":"echo"}`, 200, `"result":{"a":"","b":0}`},
		{"unknown method 1.0", `{"id":1,"method":"nope"}`, 404, `"code":-32601`},
		{"unknown method 2.0", `{"jsonrpc":"2.0","id":1,"method":"nope"}`, 200, `"code":-32601`},
		{"handler rpc error", `{"id":1,"method":"fail"}`, 500, `{"result":null,"error":{"code":-5,"message":"Block not found"},"id":1}`},
		{"plain error", `{"id":1,"method":"plainerr"}`, 500, `"code":-1,"message":"disk on fire"`},
		{"parse error", `{"id":1,"method":`, 500, `"code":-32700`},
		{"wrong param type", `{"id":1,"method":"echo","params":[5]}`, 500, `"code":-3`},
		{"too many params", `{"id":1,"method":"echo","params":["a",1,2]}`, 500, `"code":-32602`},
		{"named params", `{"id":1,"method":"echo","params":{"a":"x"}}`, 500, `"code":-32602`},
		{"scalar params", `{"id":1,"method":"echo","params":5}`, 400, `"code":-32600`},
		{"missing method", `{"id":1}`, 400, `"code":-32600`},
		{"method not a string", `{"id":1,"method":5}`, 400, `{"code":-32600,"message":"Method must be a string"}`},
		{"method null", `{"id":1,"method":null}`, 400, `"Method must be a string"`},
		{"keys match exactly", `{"id":1,"METHOD":"echo"}`, 400, `"code":-32600`},
		{"not an object", `5`, 400, `{"code":-32600,"message":"Invalid Request object"}`},
		{"null request", `null`, 400, `"Invalid Request object"`},
		{"data after the request", `{"id":1,"method":"echo"} {"id":2,"method":"echo"}`, 500, `"code":-32700`},
		{"garbage after the request", `{"id":1,"method":"echo"}x`, 500, `"code":-32700`},
		{"2.0 invalid request", `{"jsonrpc":"2.0","id":1,"method":[]}`, 200, `"code":-32600`},
		{"2.0 notification", `{"jsonrpc":"2.0","method":"echo","params":["n"]}`, 204, ``},
		{"2.0 failing notification", `{"jsonrpc":"2.0","method":"fail"}`, 204, ``},
		{"1.0 without id is a call", `{"method":"echo"}`, 200, `"id":null`},
		{"non-object batch entry", `[1,{"jsonrpc":"2.0","id":2,"method":"echo"}]`, 200, `[{"jsonrpc":"2.0","result":null,"error":{"code":-32600,"message":"Invalid Request object"},"id":null},{"jsonrpc":"2.0","result":{"a":"","b":0},"error":null,"id":2}]`},
		{"notifications in a batch", `[{"jsonrpc":"2.0","method":"echo"},{"jsonrpc":"2.0","id":3,"method":"echo"}]`, 200, `[{"jsonrpc":"2.0","result":{"a":"","b":0},"error":null,"id":3}]`},
		{"batch of notifications", `[{"jsonrpc":"2.0","method":"echo"},{"jsonrpc":"2.0","method":"nope"}]`, 204, ``},
		{"data after a batch", `[{"id":1,"method":"echo"}] []`, 200, `"code":-32700`},
		{"batch", `[{"jsonrpc":"2.0","id":1,"method":"echo","params":["a"]},{"jsonrpc":"2.0","id":2,"method":"nope"}]`, 200, `[{"jsonrpc":"2.0","result":{"a":"a","b":0},"error":null,"id":1},{"jsonrpc":"2.0","result":null,"error":{"code":-32601,"message":"Method not found"},"id":2}]`},
		{"empty batch", `[]`, 200, `"code":-32600`},
		{"broken batch", `[{"id":1},`, 200, `"code":-32700`},
	} {
		t.Run(c.name, func(t *testing.T) {
			status, body := post(t, hs.URL, "u", "p", c.body)
			if status != c.status || !strings.Contains(body, c.want) || (c.want == "") != (body == "") {
				t.Fatalf("got %d %s\nwant %d containing %s", status, body, c.status, c.want)
			}
		})
	}
}

func TestAuthAndLimits(t *testing.T) {
	s, hs := newTestServer(t)
	if status, _ := post(t, hs.URL, "", "", `{"id":1,"method":"echo"}`); status != http.StatusUnauthorized {
		t.Fatalf("no credentials: %d", status)
	}
	if status, _ := post(t, hs.URL, "u", "wrong", `{"id":1,"method":"echo"}`); status != http.StatusUnauthorized {
		t.Fatalf("wrong password: %d", status)
	}
	resp, err := http.Get(hs.URL)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusMethodNotAllowed {
		t.Fatalf("GET: %d", resp.StatusCode)
	}
	s.maxBody = 100
	if status, _ := post(t, hs.URL, "u", "p", `{"id":1,"method":"echo","params":["`+strings.Repeat("x", 200)+`"]}`); status != http.StatusRequestEntityTooLarge {
		t.Fatalf("big body: %d", status)
	}
	s.maxBody, s.maxBatch = MaxBodySize, 2
	if _, body := post(t, hs.URL, "u", "p", `[{"id":1,"method":"echo"},{"id":2,"method":"echo"},{"id":3,"method":"echo"}]`); !strings.Contains(body, `"code":-32600`) {
		t.Fatalf("over-long batch: %s", body)
	}
}

// TestReplyLimit checks that a result over the reply limit becomes an
// error, and that a batch stops running calls once its reply reaches the
// limit.
func TestReplyLimit(t *testing.T) {
	s, err := New(Config{User: "u", Password: "p"})
	if err != nil {
		t.Fatal(err)
	}
	runs := 0
	s.Register("big", func(_ context.Context, params json.RawMessage) (any, error) {
		runs++
		var n int
		if err := Params(params, &n); err != nil {
			return nil, err
		}
		return strings.Repeat("x", n), nil
	})
	hs := httptest.NewServer(s)
	defer hs.Close()
	s.maxReply = 1000

	if status, body := post(t, hs.URL, "u", "p", `{"id":1,"method":"big","params":[900]}`); status != 200 || !strings.Contains(body, strings.Repeat("x", 900)) {
		t.Fatalf("reply under the limit: %d %.100s", status, body)
	}
	status, body := post(t, hs.URL, "u", "p", `{"id":1,"method":"big","params":[2000]}`)
	if status != 500 || !strings.Contains(body, `"code":-7`) || len(body) > 200 {
		t.Fatalf("reply over the limit: %d %.200s", status, body)
	}

	runs = 0
	status, body = post(t, hs.URL, "u", "p", `[{"id":1,"method":"big","params":[400]},{"id":2,"method":"big","params":[400]},`+
		`{"id":3,"method":"big","params":[400]},{"id":4,"method":"big","params":[400]}]`)
	var replies []struct {
		Result *string
		Error  *Error
		ID     int
	}
	if err := json.Unmarshal([]byte(body), &replies); err != nil || status != 200 || len(replies) != 4 {
		t.Fatalf("batch: %d %v %.300s", status, err, body)
	}
	for i, r := range replies {
		ok := r.Result != nil && len(*r.Result) == 400
		if want := i < 2; ok != want || (!ok && (r.Error == nil || r.Error.Code != CodeOutOfMemory)) || r.ID != i+1 {
			t.Errorf("batch reply %d: result %v, error %v, id %d", i, ok, r.Error, r.ID)
		}
	}
	// The third call ran and was refused as over the room left; the
	// fourth was not run at all.
	if r := replies[3]; r.Error == nil || !strings.Contains(r.Error.Message, "not run") {
		t.Errorf("fourth reply %+v, want not run", r.Error)
	}
	if runs != 3 || len(body) > 2*s.maxReply {
		t.Fatalf("batch ran %d calls, reply %d bytes", runs, len(body))
	}
}

func TestFailedLoginDelay(t *testing.T) {
	s, hs := newTestServer(t)
	s.authDelay = 50 * time.Millisecond
	start := time.Now()
	if status, _ := post(t, hs.URL, "u", "wrong", `{"id":1,"method":"echo"}`); status != http.StatusUnauthorized {
		t.Fatalf("wrong password: %d", status)
	}
	if d := time.Since(start); d < s.authDelay {
		t.Fatalf("refused after %v, before the %v delay", d, s.authDelay)
	}

	var l logLimiter
	t0 := time.Now()
	if n, ok := l.note(t0); !ok || n != 0 {
		t.Fatalf("first event: %d %v", n, ok)
	}
	for i := 1; i <= 5; i++ {
		if _, ok := l.note(t0.Add(time.Duration(i) * 100 * time.Millisecond)); ok {
			t.Fatalf("event %d within a second was logged", i)
		}
	}
	if n, ok := l.note(t0.Add(1100 * time.Millisecond)); !ok || n != 5 {
		t.Fatalf("event after a second: logged %v, suppressed count %d, want 5", ok, n)
	}
}

// TestFailedLoginsLogged: a burst of failed logins writes one log line
// a second, not one per failure.
func TestFailedLoginsLogged(t *testing.T) {
	var logs syncBuffer
	s, err := New(Config{User: "u", Password: "p", Logger: slog.New(slog.NewTextHandler(&logs, nil))})
	if err != nil {
		t.Fatal(err)
	}
	s.authDelay = 0
	hs := httptest.NewServer(s)
	defer hs.Close()
	const failures = 20
	start := time.Now()
	for range failures {
		if status, _ := post(t, hs.URL, "u", "wrong", `{"id":1,"method":"echo"}`); status != http.StatusUnauthorized {
			t.Fatalf("wrong password: %d", status)
		}
	}
	elapsed := time.Since(start)
	lines := strings.Count(logs.String(), "bad credentials")
	if most := 1 + int(elapsed/time.Second); lines < 1 || lines > most {
		t.Fatalf("%d failed logins in %v logged %d lines, want 1 to %d:\n%s", failures, elapsed, lines, most, logs.String())
	}
}

// syncBuffer is a bytes.Buffer that a server's handlers may write to
// while the test reads it.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func TestCookie(t *testing.T) {
	if _, err := New(Config{}); !errors.Is(err, ErrNoAuth) {
		t.Fatalf("no auth: %v", err)
	}
	path := filepath.Join(t.TempDir(), ".cookie")
	s, err := New(Config{CookieFile: path})
	if err != nil {
		t.Fatal(err)
	}
	s.Register("ping", func(context.Context, json.RawMessage) (any, error) { return "pong", nil })
	hs := httptest.NewServer(s)
	defer hs.Close()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if fi, _ := os.Stat(path); fi.Mode().Perm() != 0o600 {
		t.Fatalf("cookie mode %v", fi.Mode())
	}
	user, pass, ok := strings.Cut(string(b), ":")
	if !ok || user != CookieUser || len(pass) != 64 {
		t.Fatalf("cookie %q", b)
	}
	if status, body := post(t, hs.URL, user, pass, `{"id":1,"method":"ping"}`); status != 200 || !strings.Contains(body, "pong") {
		t.Fatalf("cookie auth: %d %s", status, body)
	}
}

// FuzzHandle feeds arbitrary bodies to the dispatcher: it must always
// answer with valid JSON and never panic.
func FuzzHandle(f *testing.F) {
	f.Add([]byte(`{"jsonrpc":"2.0","id":1,"method":"echo","params":["x",1]}`))
	f.Add([]byte(`[{"id":1,"method":"echo"},{"id":null,"method":"fail"}]`))
	f.Add([]byte(`{"id":{"a":[1,2]},"method":"echo","params":[null,null]}`))
	f.Add([]byte(`[`))
	s, _ := New(Config{Password: "p"})
	s.Register("echo", func(_ context.Context, params json.RawMessage) (any, error) {
		var a string
		var b int
		return []any{a, b}, Params(params, &a, &b)
	})
	s.Register("fail", func(context.Context, json.RawMessage) (any, error) { return nil, errors.New("x") })
	f.Fuzz(func(t *testing.T, body []byte) {
		out, status := s.handle(context.Background(), body)
		if out == nil && status == http.StatusNoContent {
			return // only notifications
		}
		if !json.Valid(out) {
			t.Fatalf("invalid JSON reply %q to %q", out, body)
		}
	})
}

func TestClient(t *testing.T) {
	_, hs := newTestServer(t)
	c := NewClient(hs.URL, "u", "p")
	var got map[string]any
	if err := c.Call(context.Background(), "echo", &got, "hi", 2); err != nil || got["a"] != "hi" || got["b"] != float64(2) {
		t.Fatalf("echo: %v %v", got, err)
	}
	var rerr *Error
	if err := c.Call(context.Background(), "fail", nil); !errors.As(err, &rerr) || rerr.Code != CodeInvalidAddressOrKey {
		t.Fatalf("fail: %v", err)
	}
	if err := NewClient(hs.URL, "u", "bad").Call(context.Background(), "echo", nil); err == nil || !strings.Contains(err.Error(), "unauthorized") {
		t.Fatalf("bad password: %v", err)
	}
	path := filepath.Join(t.TempDir(), "c")
	os.WriteFile(path, []byte("__cookie__:abc\n"), 0o600)
	if u, p, err := ReadCookie(path); err != nil || u != CookieUser || p != "abc" {
		t.Fatalf("ReadCookie: %q %q %v", u, p, err)
	}
}

func TestRequireAuth(t *testing.T) {
	s, err := New(Config{User: "u", Password: "p"})
	if err != nil {
		t.Fatal(err)
	}
	s.authDelay = 0
	hs := httptest.NewServer(s.RequireAuth(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		io.WriteString(w, "secret")
	})))
	defer hs.Close()
	get := func(user, pass string) (int, string) { return send(t, http.MethodGet, hs.URL, user, pass, "") }
	if status, body := get("", ""); status != http.StatusUnauthorized || strings.Contains(body, "secret") {
		t.Fatalf("no credentials: %d %q", status, body)
	}
	if status, body := get("u", "wrong"); status != http.StatusUnauthorized || strings.Contains(body, "secret") {
		t.Fatalf("wrong password: %d %q", status, body)
	}
	if status, body := get("u", "p"); status != http.StatusOK || body != "secret" {
		t.Fatalf("credentials: %d %q", status, body)
	}
}
