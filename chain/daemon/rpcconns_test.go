package daemon

import (
	"bufio"
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// TestConnLimiter checks the RPC connection cap: connections silent
// for minSilence and idle keep-alive ones give their places to new
// clients, a burst of new clients does not push itself out, the count
// never passes the cap, and when every connection is running a request a
// new one is closed at once.
func TestConnLimiter(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	const max = 3
	l := newConnLimiter(ln, max)
	var clock atomic.Int64 // the limiter's clock, moved by the test
	base := time.Now()
	l.now = func() time.Time { return base.Add(time.Duration(clock.Load())) }
	release := make(chan struct{})
	var releaseOnce sync.Once
	unblock := func() { releaseOnce.Do(func() { close(release) }) }
	srv := &http.Server{
		Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.URL.Path == "/block" {
				<-release
			}
			io.WriteString(w, "ok")
		}),
		ReadHeaderTimeout: time.Minute,
		ConnState:         l.track,
	}
	go srv.Serve(l)
	defer srv.Shutdown(context.Background())
	defer unblock() // before Shutdown, which waits for the handlers
	url := "http://" + ln.Addr().String()
	newClient := func() *http.Client {
		return &http.Client{Transport: &http.Transport{MaxConnsPerHost: 1, DisableCompression: true}, Timeout: 10 * time.Second}
	}
	get := func(c *http.Client, path string) error {
		resp, err := c.Get(url + path)
		if err != nil {
			return err
		}
		defer resp.Body.Close()
		_, err = io.ReadAll(resp.Body)
		return err
	}
	active := func() int {
		l.mu.Lock()
		defer l.mu.Unlock()
		n := 0
		for _, st := range l.conns {
			if st.active {
				n++
			}
		}
		return n
	}
	// The server marks a connection idle a little after the client has
	// read the answer: wait for it, so that the next client finds it idle.
	settle := func() { waitFor(t, "the server idle", func() bool { return active() == 0 }) }

	// Silent connections (an attacker's sockets that never send) fill
	// the cap: a new client is refused while they are young, and takes
	// their places once they have been silent for minSilence.
	for range max {
		c, err := net.Dial("tcp", ln.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
	}
	waitFor(t, "the silent connections counted", func() bool { return l.open() == max })
	if err := get(newClient(), "/"); err == nil {
		t.Fatal("a new client pushed out connections silent for less than minSilence")
	}
	clock.Add(int64(minSilence))
	for i := range 2 * max {
		if err := get(newClient(), "/"); err != nil {
			t.Fatalf("client %d with the cap full of waiting connections: %v", i, err)
		}
		settle()
		if n := l.open(); n > max {
			t.Fatalf("%d connections open, cap %d", n, max)
		}
	}

	// A burst of clients takes the places of the idle keep-alive
	// connections, not each other's; with every place running a request,
	// a new connection is closed at once.
	errs := make(chan error, max)
	for range max {
		go func() { errs <- get(newClient(), "/block") }()
	}
	waitFor(t, "the blocking requests running", func() bool {
		select {
		case err := <-errs:
			t.Fatalf("a request of the burst: %v", err)
		default:
		}
		return active() == max
	})
	if err := get(newClient(), "/"); err == nil {
		t.Fatal("a connection beyond the cap was served while every place was busy")
	}
	unblock()
	for range max {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	settle()
	if err := get(newClient(), "/"); err != nil {
		t.Fatalf("after the busy requests ended: %v", err)
	}
}

// fakeAddrListener reports another address than the loopback one it
// listens on, so that a test can play a node bound to a public address
// while all its traffic stays on 127.0.0.1.
type fakeAddrListener struct {
	net.Listener
	addr net.Addr
}

func (l fakeAddrListener) Addr() net.Addr { return l.addr }

// TestMetricsAuth: /metrics is open on a loopback RPC address (TestMetrics),
// needs the RPC credentials on any other, unless PublicMetrics is set.
func TestMetricsAuth(t *testing.T) {
	p, err := DevParams("", time.Unix(1_800_000_000, 0))
	if err != nil {
		t.Fatal(err)
	}
	for _, public := range []bool{false, true} {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		url := "http://" + ln.Addr().String() + "/metrics"
		fake := fakeAddrListener{ln, &net.TCPAddr{IP: net.IPv4(192, 0, 2, 1), Port: 18443}}
		d, err := New(Config{Params: p, RPCListener: fake, RPCUser: "u", RPCPassword: "p", PublicMetrics: public})
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		go func() { done <- d.Run(ctx) }()
		scrape := func(user, pass string) int {
			req, _ := http.NewRequest(http.MethodGet, url, nil)
			if user != "" {
				req.SetBasicAuth(user, pass)
			}
			for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(10 * time.Millisecond) {
				resp, err := http.DefaultClient.Do(req)
				if err != nil {
					if time.Now().After(deadline) {
						t.Fatal(err)
					}
					continue
				}
				b, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				if resp.StatusCode == http.StatusOK && !strings.Contains(string(b), "powmine_tip_height") {
					t.Fatalf("scrape without the node's metrics: %.200s", b)
				}
				return resp.StatusCode
			}
		}
		wantAnon := http.StatusUnauthorized
		if public {
			wantAnon = http.StatusOK
		}
		if got := scrape("", ""); got != wantAnon {
			t.Errorf("public=%v: anonymous scrape %d, want %d", public, got, wantAnon)
		}
		if got := scrape("u", "wrong"); !public && got != http.StatusUnauthorized {
			t.Errorf("wrong password: %d", got)
		}
		if got := scrape("u", "p"); got != http.StatusOK {
			t.Errorf("public=%v: scrape with credentials %d", public, got)
		}
		cancel()
		if err := <-done; err != nil {
			t.Fatal(err)
		}
		d.Close()
	}
}

// TestRPCServerLimits: the daemon's RPC server applies Config.MaxRPCConns
// and Config.RPCIdleTimeout. A keep-alive connection left idle is closed
// by the server; with every allowed connection running a request (a
// long-polled getblocktemplate), a new connection is closed without an
// answer, and once those requests are answered a new one is served.
func TestRPCServerLimits(t *testing.T) {
	const idle = 300 * time.Millisecond
	now := time.Unix(1_800_000_000, 0)
	p, err := DevParams("", now)
	if err != nil {
		t.Fatal(err)
	}
	td := startTestDaemon(t, now, Config{Params: p, MaxRPCConns: 2, RPCIdleTimeout: idle})
	addr := strings.TrimPrefix(td.url, "http://")

	c, br := rpcConn(t, addr)
	if resp := rpcRoundTrip(t, c, br, `{"id":1,"method":"getblockcount"}`); !strings.Contains(resp, `"result":0`) {
		t.Fatalf("getblockcount: %s", resp)
	}
	start := time.Now()
	c.SetReadDeadline(start.Add(10 * time.Second))
	if _, err := br.ReadByte(); err != io.EOF {
		t.Fatalf("a keep-alive connection idle for %v: %v, want closed by the server after %v", time.Since(start), err, idle)
	}
	t.Logf("idle connection closed after %v", time.Since(start))

	poll := fmt.Sprintf(`{"id":2,"method":"getblocktemplate","params":[{"payout":%q,"longpollid":%q}]}`, td.miner, td.Node().Tip().Hash)
	polls := make(chan string, 2)
	for range 2 {
		c, br := rpcConn(t, addr)
		sendCall(t, c, poll)
		go func() {
			resp, err := http.ReadResponse(br, nil)
			if err != nil {
				polls <- err.Error()
				return
			}
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			polls <- string(b)
		}()
	}
	third, br3 := rpcConn(t, addr)
	sendCall(t, third, `{"id":3,"method":"getblockcount"}`)
	third.SetReadDeadline(time.Now().Add(10 * time.Second))
	if line, err := br3.ReadString('\n'); err != io.EOF && !errors.Is(err, syscall.ECONNRESET) {
		t.Fatalf("a third connection with MaxRPCConns 2, both running a request: read %q, %v; want it closed", line, err)
	}

	if _, err := td.SubmitBlock(td.mineBlock(t)); err != nil {
		t.Fatal(err)
	}
	for range 2 {
		if resp := <-polls; !strings.Contains(resp, `"height":2`) {
			t.Fatalf("long poll answered %.200s, want the template of height 2", resp)
		}
	}
	c, br = rpcConn(t, addr)
	if resp := rpcRoundTrip(t, c, br, `{"id":4,"method":"getblockcount"}`); !strings.Contains(resp, `"result":1`) {
		t.Fatalf("getblockcount after the long polls: %s", resp)
	}
}

// rpcConn opens a TCP connection to the RPC server at addr, closed when
// the test ends.
func rpcConn(t *testing.T, addr string) (net.Conn, *bufio.Reader) {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c, bufio.NewReader(c)
}

// sendCall writes one keep-alive HTTP request carrying body, with the
// test daemon's credentials.
func sendCall(t *testing.T, c net.Conn, body string) {
	t.Helper()
	req := fmt.Sprintf("POST / HTTP/1.1\r\nHost: node\r\nAuthorization: Basic %s\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n%s",
		base64.StdEncoding.EncodeToString([]byte("u:p")), len(body), body)
	if _, err := io.WriteString(c, req); err != nil {
		t.Fatal(err)
	}
}

// rpcRoundTrip sends a call on c and returns the reply's body.
func rpcRoundTrip(t *testing.T, c net.Conn, br *bufio.Reader, body string) string {
	t.Helper()
	sendCall(t, c, body)
	c.SetReadDeadline(time.Now().Add(30 * time.Second))
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	c.SetReadDeadline(time.Time{})
	return string(b)
}
