package jsonrpc

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"sync/atomic"
)

// Client calls a JSON-RPC server such as Server (or Bitcoin Core). It is
// safe for concurrent use.
type Client struct {
	url        string
	user, pass string
	http       *http.Client
	id         atomic.Uint64
}

// NewClient returns a client for the server at url with basic-auth
// credentials.
func NewClient(url, user, pass string) *Client {
	return &Client{url: url, user: user, pass: pass, http: &http.Client{}}
}

// ReadCookie reads a cookie file written by a Server and returns its user
// and password.
func ReadCookie(path string) (user, pass string, err error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return "", "", fmt.Errorf("rpc: read cookie: %w", err)
	}
	user, pass, ok := strings.Cut(strings.TrimSpace(string(b)), ":")
	if !ok {
		return "", "", fmt.Errorf("rpc: cookie file %s is malformed", path)
	}
	return user, pass, nil
}

// maxReply bounds the size of a reply the client reads.
const maxReply = 64 << 20

// Call invokes method with positional params and decodes the result into
// result (which may be nil). A JSON-RPC error comes back as *Error.
func (c *Client) Call(ctx context.Context, method string, result any, params ...any) error {
	if params == nil {
		params = []any{}
	}
	body, err := json.Marshal(map[string]any{"jsonrpc": "2.0", "id": c.id.Add(1), "method": method, "params": params})
	if err != nil {
		return fmt.Errorf("rpc: encode %s: %w", method, err)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.url, bytes.NewReader(body))
	if err != nil {
		return fmt.Errorf("rpc: %w", err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.SetBasicAuth(c.user, c.pass)
	resp, err := c.http.Do(req)
	if err != nil {
		return fmt.Errorf("rpc: %s: %w", method, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode == http.StatusUnauthorized {
		return fmt.Errorf("rpc: %s: unauthorized (check the user and password or the cookie)", method)
	}
	raw, err := io.ReadAll(io.LimitReader(resp.Body, maxReply))
	if err != nil {
		return fmt.Errorf("rpc: %s: %w", method, err)
	}
	var reply struct {
		Result json.RawMessage `json:"result"`
		Error  *Error          `json:"error"`
	}
	if err := json.Unmarshal(raw, &reply); err != nil {
		return fmt.Errorf("rpc: %s: HTTP %d, undecodable reply: %w", method, resp.StatusCode, err)
	}
	if reply.Error != nil {
		return reply.Error
	}
	if result == nil {
		return nil
	}
	if err := json.Unmarshal(reply.Result, result); err != nil {
		return fmt.Errorf("rpc: %s: decode result: %w", method, err)
	}
	return nil
}
