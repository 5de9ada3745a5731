package main

import (
	"context"
	"net"
	"regexp"
	"strings"
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

	// A pool block pays the shares before it (PPLNS): the template of the
	// block after a share may be built before the share is counted, so the
	// worker is surely paid from the third pool block on. The miner runs
	// until then; the deadline allows for the portable kernel (purego).
	var out syncBuffer
	minerCtx, stopMiner := context.WithCancel(ctx)
	defer stopMiner()
	minerDone := make(chan error, 1)
	args := []string{"-o", "stratum+tcp://" + ln.Addr().String(), "-u", worker.String() + ".rig1", "-p", "x", "-t", "1"}
	go func() { minerDone <- run(minerCtx, args, &out, &out) }()
	paid := func() bool { return srv.Stats().Blocks >= 3 && d.Node().Account(worker).Balance > 0 }
	deadline := time.Now().Add(mineDeadline)
	for !paid() && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
	}
	stopMiner()
	if err := <-minerDone; err != nil {
		t.Fatalf("miner: %v\n%s", err, out.String())
	}
	st := srv.Stats()
	tip := d.Node().Tip()
	t.Logf("pool stats %+v, chain height %d", st, tip.Height)
	if !regexp.MustCompile(`accepted: \d+/\d+ \(100\.00%\), .* yay!!!`).MatchString(out.String()) {
		t.Fatalf("no accepted share:\n%s", out.String())
	}
	if s := out.String(); strings.Contains(s, "booooo") {
		t.Errorf("rejected shares:\n%s", s)
	}
	if st.Accepted == 0 || st.Rejected != 0 {
		t.Fatalf("pool stats %+v", st)
	}
	if st.Blocks < 3 || tip.Height < 3 {
		t.Fatalf("fewer than three pool blocks in %v: pool %+v, height %d", mineDeadline, st, tip.Height)
	}
	if bal := d.Node().Account(worker).Balance; bal == 0 {
		t.Fatalf("the worker got no PPLNS payout after %d blocks", tip.Height)
	}
	cancel()
	if err := <-poolDone; err != nil {
		t.Fatal(err)
	}
}
