package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/powmine/powmine/chain"
	"github.com/powmine/powmine/internal/jsonrpc"
	"github.com/powmine/powmine/miner"
	"github.com/powmine/powmine/miner/solo"
)

// procTimeout bounds each wait of TestThreeProcesses: a start, a block
// to arrive, the nodes to converge, an exit.
const procTimeout = 60 * time.Second

// procNode is the real node in a child process: this test binary run as
// the node (see TestMain), the way TestCrashConsistency runs it.
type procNode struct {
	name   string
	args   []string
	cmd    *exec.Cmd
	stdout *lockedBuffer
	stderr *lockedBuffer
	rpc    *jsonrpc.Client
	rpcURL string
	done   chan struct{} // closed once the process exited
	err    error         // Wait's error, set before done is closed
}

// startProc runs `node --dev` with RPC on rpcAddr and the extra args, and
// waits until its RPC answers and it printed its p2p address. The test's
// cleanup kills it if it still runs, and prints its log if the test
// failed.
func startProc(t *testing.T, name, rpcAddr string, args ...string) *procNode {
	t.Helper()
	args = append([]string{"--dev", "--rpc", rpcAddr, "--rpcuser", "u", "--rpcpassword", "p"}, args...)
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), "NODE_TEST_MAIN=1", "NODE_TEST_ARGS="+strings.Join(args, "\n"))
	n := &procNode{name: name, args: args, cmd: cmd, stdout: &lockedBuffer{}, stderr: &lockedBuffer{},
		rpc: jsonrpc.NewClient("http://"+rpcAddr, "u", "p"), rpcURL: "http://" + rpcAddr, done: make(chan struct{})}
	cmd.Stdout, cmd.Stderr = n.stdout, n.stderr
	if err := cmd.Start(); err != nil {
		t.Skipf("cannot run the node binary %s: %v", os.Args[0], err)
	}
	go func() {
		n.err = cmd.Wait()
		close(n.done)
	}()
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		<-n.done
		if t.Failed() {
			t.Logf("node %s (%q) log:\n%s", n.name, args, n.stderr)
		}
	})
	n.waitFor(t, "its RPC and p2p address", func() bool {
		var height int64
		return n.rpc.Call(context.Background(), "getblockcount", &height) == nil && n.p2pAddr() != ""
	})
	return n
}

// p2pAddr is the first p2p address the node printed, or "".
func (n *procNode) p2pAddr() string {
	for line := range strings.Lines(n.stdout.String()) {
		if a, ok := strings.CutPrefix(line, "p2p address: "); ok {
			return strings.TrimSpace(a)
		}
	}
	return ""
}

// waitFor polls cond for procTimeout; it fails at once if the process
// exits.
func (n *procNode) waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(procTimeout)
	for !cond() {
		select {
		case <-n.done:
			t.Fatalf("node %s exited waiting for %s: %v (its log follows)", n.name, what, n.err)
		case <-time.After(20 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatalf("node %s: timed out after %v waiting for %s (the logs follow)", n.name, procTimeout, what)
		}
	}
}

// best returns the node's tip hash and height, or "" and -1 when it does
// not answer.
func (n *procNode) best() (string, int64) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	var hash string
	var height int64
	if n.rpc.Call(ctx, "getbestblockhash", &hash) != nil || n.rpc.Call(ctx, "getblockcount", &height) != nil {
		return "", -1
	}
	return hash, height
}

// kill ends the process with SIGKILL and checks that the signal ended it.
func (n *procNode) kill(t *testing.T) {
	t.Helper()
	if err := n.cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	n.wait(t)
	var ee *exec.ExitError
	if !errors.As(n.err, &ee) || ee.ExitCode() != -1 {
		t.Fatalf("node %s did not die of SIGKILL: %v", n.name, n.err)
	}
}

// stop ends the process with SIGINT, as Ctrl-C does, and checks that it
// exits cleanly.
func (n *procNode) stop(t *testing.T) {
	t.Helper()
	if err := n.cmd.Process.Signal(os.Interrupt); err != nil {
		t.Fatal(err)
	}
	n.wait(t)
	if n.err != nil {
		t.Errorf("node %s's clean stop: %v (its log follows)", n.name, n.err)
	}
}

func (n *procNode) wait(t *testing.T) {
	t.Helper()
	select {
	case <-n.done:
	case <-time.After(procTimeout):
		t.Fatalf("node %s did not exit within %v", n.name, procTimeout)
	}
}

// freePort returns a loopback TCP port free a moment ago.
func freePort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// TestThreeProcesses runs three `node --dev` processes on 127.0.0.1: a,
// b joined with --genesis a's genesis.bin and --peer a, and c with
// --peer a and --peer b. A solo miner (in the test) mines on a; once its
// blocks reached b and c, b is killed with SIGKILL while mining goes on,
// then restarted on the same data directory and addresses: it has kept
// the blocks it had, catches up, and once mining stops all three end on
// the same tip; then each stops cleanly on SIGINT.
func TestThreeProcesses(t *testing.T) {
	if runtime.GOOS == "windows" || runtime.GOOS == "plan9" {
		t.Skipf("no SIGKILL on %s", runtime.GOOS)
	}
	if testing.Short() {
		t.Skip("starts three node processes; skipped in -short mode")
	}
	start := time.Now()
	dir := t.TempDir()
	dirA, dirB, dirC := filepath.Join(dir, "a"), filepath.Join(dir, "b"), filepath.Join(dir, "c")
	a := startProc(t, "a", freeAddr(t), "--datadir", dirA, "--listen", "/ip4/127.0.0.1/tcp/0")
	genesis := filepath.Join(dirA, "genesis.bin")
	// b is restarted: a fixed p2p port, so that c's --peer still names
	// it (its identity is in its data directory).
	argsB := []string{"--datadir", dirB, "--listen", fmt.Sprintf("/ip4/127.0.0.1/tcp/%d", freePort(t)),
		"--genesis", genesis, "--peer", a.p2pAddr()}
	rpcB := freeAddr(t)
	b := startProc(t, "b", rpcB, argsB...)
	c := startProc(t, "c", freeAddr(t), "--datadir", dirC, "--listen", "/ip4/127.0.0.1/tcp/0",
		"--genesis", genesis, "--peer", a.p2pAddr(), "--peer", b.p2pAddr())

	m, err := miner.New(miner.Config{Threads: 1})
	if err != nil {
		t.Fatal(err)
	}
	ctx, stopMining := context.WithCancel(context.Background())
	defer stopMining()
	minerDone := make(chan struct{}, 2)
	go func() { m.Run(ctx); minerDone <- struct{}{} }()
	go func() {
		solo.Run(ctx, solo.Config{Client: a.rpc, Payout: chain.Address{7}, Miner: m})
		minerDone <- struct{}{}
	}()
	heightAtLeast := func(n *procNode, h int64) func() bool {
		return func() bool { _, got := n.best(); return got >= h }
	}
	for _, n := range []*procNode{b, c} {
		n.waitFor(t, "height 3", heightAtLeast(n, 3))
	}

	_, before := b.best()
	b.kill(t)
	killedAt, _ := a.best()
	for _, n := range []*procNode{a, c} {
		n.waitFor(t, fmt.Sprintf("height %d", before+3), heightAtLeast(n, before+3))
	}
	b = startProc(t, "b (restarted)", rpcB, argsB...)
	if _, h := b.best(); h < before {
		t.Fatalf("b restarted at height %d, below the %d it had before SIGKILL", h, before)
	}
	b.waitFor(t, "the blocks mined while it was down", func() bool {
		hash, _ := b.best()
		var hdr struct{ Hash string }
		return hash != "" && b.rpc.Call(context.Background(), "getblockheader", &hdr, killedAt) == nil
	})

	stopMining()
	<-minerDone
	<-minerDone
	tip, height := a.best()
	for _, n := range []*procNode{b, c} {
		n.waitFor(t, "a's tip "+tip, func() bool { got, _ := n.best(); return got == tip })
	}
	t.Logf("b had height %d when killed; all three on height %d after %v", before, height, time.Since(start).Round(time.Millisecond))
	for _, n := range []*procNode{c, b, a} {
		n.stop(t)
	}
}
