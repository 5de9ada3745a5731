package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/powmine/powmine/chain"
	"github.com/powmine/powmine/internal/cli"
	"github.com/powmine/powmine/stratum/pool"
)

func TestPoolLimitsFit(t *testing.T) {
	log := slog.New(slog.DiscardHandler)
	defaults := poolLimits{maxConns: pool.DefaultMaxConns, maxConnsPerIP: pool.DefaultMaxConnsPerIP, maxUnauthConns: pool.DefaultMaxUnauthConns}
	for _, c := range []struct {
		name                 string
		limit                uint64
		rpc                  int
		wantConns, wantPerIP int
		wantErr              bool
	}{
		{"unknown limit", 0, 128, pool.DefaultMaxConns, pool.DefaultMaxConnsPerIP, false},
		{"room for all", 1 << 20, 128, pool.DefaultMaxConns, pool.DefaultMaxConnsPerIP, false},
		{"exactly enough", pool.DefaultMaxConns + 128 + reservedFiles, 128, pool.DefaultMaxConns, pool.DefaultMaxConnsPerIP, false},
		{"lowered", 4096, 128, 4096 - 128 - reservedFiles, pool.DefaultMaxConnsPerIP, false},
		{"lowered below the per-IP limit", 1024, 128, 1024 - 128 - reservedFiles, 1024 - 128 - reservedFiles, false},
		{"too few left", 200, 128, 0, 0, true},
	} {
		l := defaults
		err := l.fit(c.limit, c.rpc, log)
		if (err != nil) != c.wantErr {
			t.Errorf("%s: error %v", c.name, err)
			continue
		}
		if err == nil && (l.maxConns != c.wantConns || l.maxConnsPerIP != c.wantPerIP || l.maxUnauthConns > l.maxConns) {
			t.Errorf("%s: conns %d per IP %d unauth %d, want %d and %d", c.name, l.maxConns, l.maxConnsPerIP, l.maxUnauthConns, c.wantConns, c.wantPerIP)
		}
	}
}

// TestPoolLimitFlags: the limit flags reach the pool (one connection per
// IP: a second from 127.0.0.1 is refused while the first stays), and bad
// values are usage errors.
func TestPoolLimitFlags(t *testing.T) {
	var payout chain.Address
	payout[0] = 7
	for _, bad := range [][]string{
		{"--rpc-max-conns", "0"},
		{"--stratum-max-conns", "-1"},
		{"--stratum-max-invalid", "-5"},
	} {
		args := append([]string{"--dev", "--listen", "", "--datadir", filepath.Join(t.TempDir(), "d"), "--rpc", "", "--stratum", "127.0.0.1:0",
			"--stratum-payout", payout.String()}, bad...)
		err := run(context.Background(), args, strings.NewReader(""), &bytes.Buffer{}, &bytes.Buffer{})
		var ue cli.UsageError
		if !errors.As(err, &ue) {
			t.Errorf("%v: %v, want a usage error", bad, err)
		}
	}

	addr, first := startPoolNode(t, "--stratum-max-conns-per-ip", "1")
	defer first.Close()
	// The first connection is served: it gets an answer to subscribe.
	first.SetDeadline(time.Now().Add(startTimeout))
	if _, err := first.Write([]byte(`{"id":1,"method":"mining.subscribe","params":["t"]}` + "\n")); err != nil {
		t.Fatal(err)
	}
	if line, err := bufio.NewReader(first).ReadString('\n'); err != nil || !strings.Contains(line, `"id":1`) {
		t.Fatalf("first connection: %q %v", line, err)
	}
	second, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer second.Close()
	second.SetDeadline(time.Now().Add(startTimeout))
	second.Write([]byte(`{"id":1,"method":"mining.subscribe","params":["t"]}` + "\n"))
	rd := bufio.NewReader(second)
	for {
		line, err := rd.ReadString('\n')
		if err != nil {
			break // closed: refused
		}
		if strings.Contains(line, `"result"`) && strings.Contains(line, `"id":1`) {
			t.Fatalf("a second connection from the IP was served with --stratum-max-conns-per-ip 1: %q", line)
		}
	}
}

// TestPoolBanFlags: --stratum-max-invalid, --stratum-ban-conns and
// --stratum-ban-time reach the pool. With 2, 1 and a minute, a connection
// that sends two malformed submits is closed with a message that says
// why, and its IP is then banned: the next connection is told so.
func TestPoolBanFlags(t *testing.T) {
	addr, bad := startPoolNode(t, "--stratum-max-invalid", "2", "--stratum-ban-conns", "1", "--stratum-ban-time", "1m")
	defer bad.Close()
	for id := 1; id <= 2; id++ {
		if _, err := fmt.Fprintf(bad, `{"id":%d,"method":"mining.submit","params":[1,2]}`+"\n", id); err != nil {
			t.Fatal(err)
		}
	}
	if msg := closingMessage(t, bad); !strings.Contains(msg, "invalid") {
		t.Fatalf("after 2 malformed submits with --stratum-max-invalid 2: closing message %q, want one that says invalid", msg)
	}
	next := dialPool(t, addr)
	defer next.Close()
	if msg := closingMessage(t, next); !strings.Contains(msg, "banned") {
		t.Fatalf("with --stratum-ban-conns 1, a connection after an abusive one got %q, want a message that the IP is banned", msg)
	}
}

// closingMessage reads c until the pool closes it and returns the
// client.show_message line it sent before closing ("" for none).
func closingMessage(t *testing.T, c net.Conn) string {
	t.Helper()
	c.SetDeadline(time.Now().Add(startTimeout))
	rd := bufio.NewReader(c)
	msg := ""
	for {
		line, err := rd.ReadString('\n')
		if err != nil {
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				t.Fatalf("the pool did not close the connection within %v", startTimeout)
			}
			return msg
		}
		if strings.Contains(line, `"client.show_message"`) {
			msg = line
		}
	}
}

// startPoolNode runs the node with --stratum on a free 127.0.0.1 port
// and the extra flags until the test ends, and returns the Stratum
// address and the first connection it accepted.
func startPoolNode(t *testing.T, extra ...string) (string, net.Conn) {
	t.Helper()
	var payout chain.Address
	payout[0] = 7
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	args := append([]string{"--dev", "--listen", "", "--datadir", filepath.Join(t.TempDir(), "d"), "--rpc", "", "--stratum", addr,
		"--stratum-payout", payout.String()}, extra...)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, args, strings.NewReader(""), &bytes.Buffer{}, &bytes.Buffer{})
	}()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Error(err)
		}
	})
	for deadline := time.Now().Add(startTimeout); ; time.Sleep(20 * time.Millisecond) {
		c, err := net.Dial("tcp", addr)
		if err == nil {
			return addr, c
		}
		select {
		case err := <-done:
			t.Fatalf("the node stopped: %v", err)
		default:
		}
		if time.Now().After(deadline) {
			t.Fatal(err)
		}
	}
}

// dialPool connects to the pool at addr.
func dialPool(t *testing.T, addr string) net.Conn {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	return c
}
