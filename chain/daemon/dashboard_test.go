package daemon

import (
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/powmine/powmine/chain/dashboard"
)

// getBody fetches url and returns its status and body.
func getBody(t *testing.T, req *http.Request) (int, string) {
	t.Helper()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, string(b)
}

// TestDashboardOnRPCListener: GET on the RPC listener (loopback) serves
// the page without credentials, while POST is still JSON-RPC, and the
// overview follows the chain.
func TestDashboardOnRPCListener(t *testing.T) {
	td := newTestDaemon(t)
	if main, err := td.SubmitBlock(td.mineBlock(t)); err != nil || !main {
		t.Fatalf("submit: main chain %v, %v", main, err)
	}
	req, _ := http.NewRequest(http.MethodGet, td.url+"/", nil)
	code, body := getBody(t, req)
	if code != http.StatusOK || !strings.Contains(body, `data-k="height">1<`) {
		t.Fatalf("GET /: %d %s", code, body)
	}
	var n int64
	td.call(t, &n, "getblockcount")
	if n != 1 {
		t.Fatalf("getblockcount %d after the page", n)
	}
	req, _ = http.NewRequest(http.MethodGet, td.url+"/api/overview", nil)
	_, body = getBody(t, req)
	var o dashboard.Overview
	if err := json.Unmarshal([]byte(body), &o); err != nil {
		t.Fatal(err)
	}
	if o.Height != 1 || o.Tip != td.Node().Tip().Hash.String() || o.Pool {
		t.Fatalf("overview %+v", o)
	}
}

// TestDashboardCredentials: off loopback the page needs the RPC's
// credentials.
func TestDashboardCredentials(t *testing.T) {
	td := newTestDaemon(t)
	dash, err := dashboard.New(dashboard.Config{Chain: td.Node()})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(td.dashboardHandler(dash, false))
	defer srv.Close()
	req, _ := http.NewRequest(http.MethodGet, srv.URL+"/", nil)
	if code, _ := getBody(t, req); code != http.StatusUnauthorized {
		t.Fatalf("without credentials: %d, want 401", code)
	}
	req, _ = http.NewRequest(http.MethodGet, srv.URL+"/", nil)
	req.SetBasicAuth("u", "p")
	if code, _ := getBody(t, req); code != http.StatusOK {
		t.Fatalf("with credentials: %d, want 200", code)
	}
	open := httptest.NewServer(td.dashboardHandler(dash, true))
	defer open.Close()
	req, _ = http.NewRequest(http.MethodGet, open.URL+"/", nil)
	if code, _ := getBody(t, req); code != http.StatusOK {
		t.Fatalf("public: %d, want 200", code)
	}
}

// TestDashboardHTTPAddr: Config.HTTPAddr serves the page alone, read
// only.
func TestDashboardHTTPAddr(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	p, err := DevParams("", time.Unix(1_800_000_000, 0))
	if err != nil {
		t.Fatal(err)
	}
	startTestDaemon(t, time.Unix(1_800_000_000, 0), Config{Params: p, HTTPAddr: addr})
	var code int
	var body string
	for range 200 { // the listener opens in Run
		req, _ := http.NewRequest(http.MethodGet, "http://"+addr+"/workers", nil)
		if resp, err := http.DefaultClient.Do(req); err == nil {
			resp.Body.Close()
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	req, _ := http.NewRequest(http.MethodGet, "http://"+addr+"/workers", nil)
	code, body = getBody(t, req)
	if code != http.StatusOK || !strings.Contains(body, "runs no Stratum pool") {
		t.Fatalf("GET /workers on --http: %d %s", code, body)
	}
	req, _ = http.NewRequest(http.MethodPost, "http://"+addr+"/", strings.NewReader(`{"method":"getblockcount"}`))
	if code, _ := getBody(t, req); code != http.StatusMethodNotAllowed {
		t.Fatalf("POST on --http: %d, want 405", code)
	}
	if _, err := New(Config{Params: p, HTTPAddr: addr}); err == nil {
		t.Fatal("HTTPAddr without an RPC server accepted")
	}
}

// TestDashboardStreamsLeaveRPC: with every update stream the dashboard
// allows open on the RPC listener, one more gets 503 and JSON-RPC still
// answers (the streams' bound is below the RPC's connection limit).
func TestDashboardStreamsLeaveRPC(t *testing.T) {
	td := newTestDaemon(t)
	tr := &http.Transport{MaxConnsPerHost: 0, MaxIdleConnsPerHost: dashboard.DefaultMaxStreams + 2}
	cl := &http.Client{Transport: tr}
	defer tr.CloseIdleConnections()
	var open []io.Closer
	defer func() {
		for _, b := range open {
			b.Close()
		}
	}()
	for i := range dashboard.DefaultMaxStreams {
		resp, err := cl.Get(td.url + "/events")
		if err != nil {
			t.Fatal(err)
		}
		open = append(open, resp.Body)
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("stream %d: status %d", i, resp.StatusCode)
		}
	}
	resp, err := cl.Get(td.url + "/events")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusServiceUnavailable {
		t.Fatalf("stream over the bound: status %d, want 503", resp.StatusCode)
	}
	var n int64
	td.call(t, &n, "getblockcount")
	if n != 0 {
		t.Fatalf("getblockcount %d", n)
	}
}
