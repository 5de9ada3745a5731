package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
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

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, []string{"--dev", "--listen", "", "--datadir", filepath.Join(t.TempDir(), "d"), "--rpc", "", "--stratum", addr,
			"--stratum-payout", payout.String(), "--stratum-max-conns-per-ip", "1"}, strings.NewReader(""), &bytes.Buffer{}, &bytes.Buffer{})
	}()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Error(err)
		}
	}()
	var first net.Conn
	for deadline := time.Now().Add(startTimeout); ; time.Sleep(20 * time.Millisecond) {
		if first, err = net.Dial("tcp", addr); err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal(err)
		}
	}
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
