package main

import (
	"bytes"
	"context"
	"net"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/powmine/powmine/chain"
	"github.com/powmine/powmine/internal/jsonrpc"
	"github.com/powmine/powmine/miner"
	"github.com/powmine/powmine/miner/solo"
)

// freeAddr returns a loopback TCP address free a moment ago.
func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// lockedBuffer is a bytes.Buffer safe for a writing node and a reading
// test.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// startNetNode runs a node with RPC on a free loopback port and the
// extra args, and returns its RPC client once it answers, and its
// standard output.
func startNetNode(t *testing.T, args ...string) (*jsonrpc.Client, *lockedBuffer) {
	t.Helper()
	rpc := freeAddr(t)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	var stdout, stderr lockedBuffer
	go func() {
		done <- run(ctx, append([]string{"--dev", "--rpc", rpc, "--rpcuser", "u", "--rpcpassword", "p"}, args...),
			strings.NewReader(""), &stdout, &stderr)
	}()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("node %q: %v\n%s", args, err, stderr.String())
		}
	})
	cl := jsonrpc.NewClient("http://"+rpc, "u", "p")
	var n int64
	for deadline := time.Now().Add(startTimeout); cl.Call(ctx, "getblockcount", &n) != nil; {
		if time.Now().After(deadline) {
			t.Fatalf("node %q did not start", args)
		}
		time.Sleep(20 * time.Millisecond)
	}
	return cl, &stdout
}

// TestTwoNodes: a second node joins the first's chain with --genesis and
// --peer, on 127.0.0.1; a block mined on the first reaches it.
func TestTwoNodes(t *testing.T) {
	ctx := context.Background()
	dirA, dirB := filepath.Join(t.TempDir(), "a"), filepath.Join(t.TempDir(), "b")
	a, stdout := startNetNode(t, "--datadir", dirA, "--listen", "/ip4/127.0.0.1/tcp/0", "--listen", "/ip4/127.0.0.1/udp/0/quic-v1")
	var info struct {
		LocalAddresses []string `json:"localaddresses"`
	}
	if err := a.Call(ctx, "getnetworkinfo", &info); err != nil || len(info.LocalAddresses) != 2 || !strings.Contains(info.LocalAddresses[0], "/p2p/") {
		t.Fatalf("getnetworkinfo: %+v %v", info, err)
	}
	if !strings.Contains(stdout.String(), "p2p address: "+info.LocalAddresses[1]+"\n") {
		t.Errorf("the node printed %q, not its address %s", stdout.String(), info.LocalAddresses[1])
	}
	b, _ := startNetNode(t, "--datadir", dirB, "--listen", "/ip4/127.0.0.1/tcp/0",
		"--genesis", filepath.Join(dirA, "genesis.bin"), "--peer", info.LocalAddresses[0])
	var peers []struct {
		Mesh []string `json:"mesh"`
	}
	for deadline := time.Now().Add(startTimeout); len(peers) != 1 || len(peers[0].Mesh) != 2; {
		if err := b.Call(ctx, "getpeerinfo", &peers); err != nil {
			t.Fatal(err)
		}
		if time.Now().After(deadline) {
			t.Fatalf("getpeerinfo: %+v", peers)
		}
		time.Sleep(20 * time.Millisecond)
	}

	m, err := miner.New(miner.Config{Threads: 1})
	if err != nil {
		t.Fatal(err)
	}
	mctx, cancel := context.WithCancel(ctx)
	defer cancel()
	go m.Run(mctx)
	found := make(chan solo.Found, 10)
	go solo.Run(mctx, solo.Config{Client: a, Payout: chain.Address{7}, Miner: m, Found: func(f solo.Found) { found <- f }})
	var f solo.Found
	select {
	case f = <-found:
		cancel()
	case <-time.After(startTimeout):
		t.Fatal("no block mined")
	}
	var best string
	for deadline := time.Now().Add(startTimeout); best != f.Hash.String(); {
		if err := b.Call(ctx, "getbestblockhash", &best); err != nil {
			t.Fatal(err)
		}
		if time.Now().After(deadline) {
			t.Fatalf("node b's tip %s, want the mined block %v", best, f.Hash)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestNetworkConfigMDNS: mDNS is off unless --mdns is given.
func TestNetworkConfigMDNS(t *testing.T) {
	for _, mdns := range []bool{false, true} {
		var listen, peers multiFlag
		n, err := networkConfig(&listen, &peers, mdns)
		if err != nil || n == nil || n.MDNS != mdns || len(n.Listen) != 1 {
			t.Fatalf("networkConfig(--mdns=%v) = %+v, %v", mdns, n, err)
		}
	}
	off := multiFlag{values: []string{""}, set: true}
	if n, err := networkConfig(&off, &multiFlag{}, false); n != nil || err != nil {
		t.Fatalf(`--listen "": %+v, %v; want no networking`, n, err)
	}
}
