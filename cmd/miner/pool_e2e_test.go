package main

import (
	"bytes"
	"context"
	"net"
	"regexp"
	"testing"
	"time"

	"github.com/powmine/powmine/chain"
	"github.com/powmine/powmine/chain/daemon"
	"github.com/powmine/powmine/stratum/pool"
)

// TestMinerOnOwnPool runs the whole pooled path in one process: a dev-chain
// node, our Stratum pool on loopback, and this miner binary's run() as a
// pool client. Shares must be accepted, the pool must find blocks that the
// chain accepts, and its PPLNS coinbase must pay the worker's address.
func TestMinerOnOwnPool(t *testing.T) {
	params, err := daemon.DevParams("", time.Now())
	if err != nil {
		t.Fatal(err)
	}
	d, err := daemon.New(daemon.Config{Params: params})
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var poolAddr, worker chain.Address
	poolAddr[0], worker[0] = 1, 2
	srv, err := pool.New(pool.Config{Node: d, PoolAddress: poolAddr, Listener: ln, StartDifficulty: 0.001, MinDifficulty: 0.0001})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	poolDone := make(chan error, 1)
	go func() { poolDone <- srv.Run(ctx) }()

	var out bytes.Buffer
	args := []string{"-o", "stratum+tcp://" + ln.Addr().String(), "-u", worker.String() + ".rig1", "-p", "x", "-t", "1", "--time-limit", "5"}
	if err := run(ctx, args, &out, &out); err != nil {
		t.Fatalf("miner: %v\n%s", err, out.String())
	}
	if !regexp.MustCompile(`accepted: \d+/\d+ \(100\.00%\), .* yay!!!`).MatchString(out.String()) {
		t.Fatalf("no accepted share:\n%s", out.String())
	}
	if s := out.String(); regexp.MustCompile(`booooo`).MatchString(s) {
		t.Errorf("rejected shares:\n%s", s)
	}
	st := srv.Stats()
	tip := d.Node().Tip()
	t.Logf("pool stats %+v, chain height %d", st, tip.Height)
	if st.Accepted == 0 || st.Rejected != 0 {
		t.Fatalf("pool stats %+v", st)
	}
	// A pool block pays the shares before it (PPLNS): the template of the
	// block after a share may be built before the share is counted, so the
	// worker is surely paid from the third pool block on. The portable
	// kernel (purego) may find fewer in the time limit; the SIMD kernels
	// find many at the dev chain's starting difficulty.
	if regexp.MustCompile(`kernel generic`).MatchString(out.String()) && st.Blocks < 3 {
		t.Logf("portable kernel: %d pool blocks in the time limit, not enough to see a payout", st.Blocks)
		return
	}
	if st.Blocks < 3 || tip.Height < 3 {
		t.Fatalf("fewer than three pool blocks: pool %+v, height %d", st, tip.Height)
	}
	if bal := d.Node().Account(worker).Balance; bal == 0 {
		t.Fatalf("the worker got no PPLNS payout after %d blocks", tip.Height)
	}
	cancel()
	if err := <-poolDone; err != nil {
		t.Fatal(err)
	}
}
