package main

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/powmine/powmine/chain"
	"github.com/powmine/powmine/hash/sha256d"
	"github.com/powmine/powmine/internal/cli"
	"github.com/powmine/powmine/internal/jsonrpc"
	"github.com/powmine/powmine/internal/testcert"
	"github.com/powmine/powmine/stratum"
	"github.com/powmine/powmine/stratum/pool"
)

// TestStratumFlag runs the node with --stratum and mines a block through
// the pool with a tiny Stratum client.
func TestStratumFlag(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	var payout chain.Address
	payout[0] = 7
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	var stderr bytes.Buffer
	dataDir := filepath.Join(t.TempDir(), "d")
	go func() {
		done <- run(ctx, []string{"--dev", "--listen", "", "--datadir", dataDir, "--rpc", "",
			"--stratum", addr, "--stratum-payout", payout.String(), "--stratum-difficulty", "0.00001"},
			strings.NewReader(""), &bytes.Buffer{}, &stderr)
	}()
	var nc net.Conn
	for deadline := time.Now().Add(startTimeout); ; {
		if nc, err = net.Dial("tcp", addr); err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal(err)
		}
		time.Sleep(20 * time.Millisecond)
	}
	defer nc.Close()
	nc.SetDeadline(time.Now().Add(2 * startTimeout))
	var miner chain.Address
	miner[0] = 8
	user := miner.String() + ".rig"
	fmt.Fprintf(nc, "{\"id\":1,\"method\":\"mining.subscribe\",\"params\":[\"t\"]}\n{\"id\":2,\"method\":\"mining.authorize\",\"params\":[%q,\"x\"]}\n", user)
	rd := stratum.NewReader(nc)
	var sub stratum.SubscribeResult
	var job stratum.NotifyParams
	diff := 0.0
	read := func() stratum.Message {
		line, err := rd.ReadLine()
		if err != nil {
			t.Fatalf("%v; node log:\n%s", err, stderr.String())
		}
		m, err := stratum.ParseMessage(bytes.Clone(line))
		if err != nil {
			t.Fatal(err)
		}
		return m
	}
	for job.JobID == "" || sub.Extranonce2Size == 0 {
		m := read()
		switch {
		case string(m.ID) == "1":
			if err := sub.Decode(m.Result); err != nil {
				t.Fatal(err)
			}
		case m.Method == stratum.MethodSetDifficulty:
			var p stratum.SetDifficultyParams
			p.Decode(m.Params)
			diff = p.Difficulty
		case m.Method == stratum.MethodNotify:
			if err := job.Decode(m.Params); err != nil {
				t.Fatal(err)
			}
		}
	}
	if diff != 0.00001 {
		t.Fatalf("difficulty %g, want the --stratum-difficulty", diff)
	}
	// Mine a block on the job and submit it.
	sp := stratum.SubmitParams{Worker: user, JobID: job.JobID, Extranonce2: make([]byte, sub.Extranonce2Size), NTime: job.Time}
	hdr, _ := job.ShareHeader(sub.Extranonce1, &sp, 0)
	raw := hdr.Serialize()
	target, _ := chain.BigToHash(chain.CompactToBig(job.Bits))
	tg := [32]byte(target)
	k := sha256d.Choose().Kernel
	var hits []uint32
	for start := uint64(0); len(hits) == 0; start += 1 << 20 {
		hits = sha256d.NewScanner(k).Scan(sha256d.NewJob(&raw, &tg), uint32(start), 1<<20, hits)
	}
	sp.Nonce = hits[0]
	fmt.Fprintf(nc, "{\"id\":5,\"method\":\"mining.submit\",\"params\":%s}\n", sp.AppendParams(nil))
	// The answer and the clean job on the new tip come in either order:
	// the pool hands the block to the node before it answers the share.
	for answered, cleanJob := false, false; !answered || !cleanJob; {
		m := read()
		if string(m.ID) == "5" {
			if e := m.ResponseError(); e != nil {
				t.Fatal(e)
			}
			answered = true
		}
		if m.Method == stratum.MethodNotify {
			var p stratum.NotifyParams
			if err := p.Decode(m.Params); err != nil {
				t.Fatal(err)
			}
			cleanJob = cleanJob || p.CleanJobs && p.PrevHash != job.PrevHash
		}
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(stderr.String(), "block found") {
		t.Errorf("no block in the log:\n%s", stderr.String())
	}
	// The share is in the PPLNS window saved at shutdown.
	if fi, err := os.Stat(filepath.Join(dataDir, poolWindowFile)); err != nil || fi.Size() == 0 {
		t.Errorf("PPLNS window file: %v", err)
	}
}

func TestStratumUsage(t *testing.T) {
	for _, args := range [][]string{
		{"--dev", "--listen", "", "--rpc", "", "--stratum", "127.0.0.1:0"},
		{"--dev", "--listen", "", "--rpc", "", "--stratum", "127.0.0.1:0", "--stratum-payout", "pm00"},
	} {
		err := run(context.Background(), args, strings.NewReader(""), &bytes.Buffer{}, &bytes.Buffer{})
		var ue cli.UsageError
		if !errors.As(err, &ue) {
			t.Errorf("node %q: %v, want a usage error", args, err)
		}
	}
}

// TestStratumStatsWired: with --stratum and an RPC server the pool's
// statistics are served by getpoolinfo, getpoolworkers and /metrics.
func TestStratumStatsWired(t *testing.T) {
	addrs := make([]string, 2)
	for i := range addrs {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		addrs[i] = ln.Addr().String()
		ln.Close()
	}
	var payout chain.Address
	payout[0] = 7
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, []string{"--dev", "--listen", "", "--datadir", filepath.Join(t.TempDir(), "d"), "--rpc", addrs[0],
			"--rpcuser", "u", "--rpcpassword", "p", "--stratum", addrs[1], "--stratum-payout", payout.String()},
			strings.NewReader(""), &bytes.Buffer{}, &bytes.Buffer{})
	}()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Error(err)
		}
	}()
	cl := jsonrpc.NewClient("http://"+addrs[0], "u", "p")
	var info pool.PoolInfo
	for deadline := time.Now().Add(startTimeout); ; {
		err := cl.Call(ctx, "getpoolinfo", &info)
		if err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal(err)
		}
		time.Sleep(20 * time.Millisecond)
	}
	var workers []pool.WorkerInfo
	if err := cl.Call(ctx, "getpoolworkers", &workers); err != nil || len(workers) != 0 {
		t.Fatalf("getpoolworkers: %v %v", workers, err)
	}
	resp, err := http.Get("http://" + addrs[0] + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !strings.Contains(string(body), "\npowmine_pool_connections 0\n") {
		t.Errorf("metrics lack powmine_pool_connections:\n%s", body)
	}
}

// startTimeout bounds how long a test waits for a node to come up. A new
// dev chain mines its genesis block first: about 2^22 hashes, seconds with
// the portable kernel (purego builds) on a loaded CI machine.
const startTimeout = 60 * time.Second

// writeCert writes a self-signed certificate for 127.0.0.1 and its key
// as PEM files in dir, and returns their paths and a pool of the
// certificate.
func writeCert(t *testing.T, dir string) (certFile, keyFile string, roots *x509.CertPool) {
	t.Helper()
	c := testcert.New(t)
	certFile, keyFile = filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	if err := os.WriteFile(certFile, c.CertPEM, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(keyFile, c.KeyPEM, 0o600); err != nil {
		t.Fatal(err)
	}
	return certFile, keyFile, c.Roots
}

// TestStratumTLSFlags: with --stratum-tls-cert and --stratum-tls-key the
// pool speaks Stratum over TLS with that certificate; the flags are
// checked before the node starts.
func TestStratumTLSFlags(t *testing.T) {
	dir := t.TempDir()
	certFile, keyFile, roots := writeCert(t, dir)
	var payout chain.Address
	payout[0] = 7
	for _, args := range [][]string{
		{"--stratum-tls-cert", certFile},
		{"--stratum", "127.0.0.1:0", "--stratum-payout", payout.String(), "--stratum-tls-key", keyFile},
	} {
		err := run(context.Background(), append([]string{"--dev", "--listen", "", "--rpc", "", "--datadir", filepath.Join(dir, "u")}, args...), strings.NewReader(""), &bytes.Buffer{}, &bytes.Buffer{})
		var ue cli.UsageError
		if !errors.As(err, &ue) {
			t.Errorf("node %q: %v, want a usage error", args, err)
		}
	}
	err := run(context.Background(), []string{"--dev", "--listen", "", "--rpc", "", "--datadir", filepath.Join(dir, "m"), "--stratum", "127.0.0.1:0",
		"--stratum-payout", payout.String(), "--stratum-tls-cert", filepath.Join(dir, "missing.pem"), "--stratum-tls-key", keyFile},
		strings.NewReader(""), &bytes.Buffer{}, &bytes.Buffer{})
	if err == nil || !strings.Contains(err.Error(), "missing.pem") {
		t.Errorf("missing certificate file: %v", err)
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
		done <- run(ctx, []string{"--dev", "--listen", "", "--datadir", filepath.Join(dir, "d"), "--rpc", "", "--stratum", addr,
			"--stratum-payout", payout.String(), "--stratum-tls-cert", certFile, "--stratum-tls-key", keyFile},
			strings.NewReader(""), &bytes.Buffer{}, &bytes.Buffer{})
	}()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Error(err)
		}
	}()
	var nc *tls.Conn
	for deadline := time.Now().Add(startTimeout); ; {
		if nc, err = tls.Dial("tcp", addr, &tls.Config{RootCAs: roots}); err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal(err)
		}
		time.Sleep(20 * time.Millisecond)
	}
	defer nc.Close()
	nc.SetDeadline(time.Now().Add(startTimeout))
	fmt.Fprintf(nc, "{\"id\":1,\"method\":\"mining.subscribe\",\"params\":[\"t\"]}\n")
	line, err := stratum.NewReader(nc).ReadLine()
	if err != nil {
		t.Fatal(err)
	}
	m, err := stratum.ParseMessage(line)
	if err != nil {
		t.Fatal(err)
	}
	var sub stratum.SubscribeResult
	if err := sub.Decode(m.Result); err != nil || len(sub.Extranonce1) != pool.Extranonce1Size {
		t.Fatalf("subscribe over TLS: %s: %v", line, err)
	}
}
