package main

import (
	"bytes"
	"context"
	"encoding/json"
	"net"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/powmine/powmine/chain"
	"github.com/powmine/powmine/chain/dashboard"
)

// TestDashboardWired: with --stratum the dashboard shows the pool, on
// the RPC address and on --http.
func TestDashboardWired(t *testing.T) {
	addrs := make([]string, 3)
	for i := range addrs {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		addrs[i] = ln.Addr().String()
		ln.Close()
	}
	var payout chain.Address
	payout[0] = 9
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, []string{"--dev", "--listen", "", "--datadir", filepath.Join(t.TempDir(), "d"), "--rpc", addrs[0],
			"--rpcuser", "u", "--rpcpassword", "p", "--stratum", addrs[1], "--stratum-payout", payout.String(), "--http", addrs[2]},
			strings.NewReader(""), &bytes.Buffer{}, &bytes.Buffer{})
	}()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Error(err)
		}
	}()
	for _, addr := range []string{addrs[0], addrs[2]} {
		var o dashboard.Overview
		for deadline := time.Now().Add(startTimeout); ; {
			resp, err := http.Get("http://" + addr + "/api/overview")
			if err == nil {
				err = json.NewDecoder(resp.Body).Decode(&o)
				resp.Body.Close()
			}
			if err == nil {
				break
			}
			if time.Now().After(deadline) {
				t.Fatal(err)
			}
			time.Sleep(20 * time.Millisecond)
		}
		if !o.Pool || o.Display["pool_hashrate"] == "no pool" {
			t.Errorf("%s: overview %+v, want the pool's figures", addr, o)
		}
		resp, err := http.Get("http://" + addr + "/api/workers")
		if err != nil {
			t.Fatal(err)
		}
		var rows []dashboard.WorkerRow
		err = json.NewDecoder(resp.Body).Decode(&rows)
		resp.Body.Close()
		if err != nil || rows == nil || len(rows) != 0 {
			t.Errorf("%s: workers %v, %v; want an empty list", addr, rows, err)
		}
	}
}
