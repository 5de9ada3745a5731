package solo

import (
	"context"
	"encoding/hex"
	"net"
	"testing"
	"time"

	"github.com/powmine/powmine/chain"
	"github.com/powmine/powmine/chain/daemon"
	"github.com/powmine/powmine/chain/template"
	"github.com/powmine/powmine/internal/jsonrpc"
	"github.com/powmine/powmine/miner"
)

// startNode runs a dev-chain daemon with its RPC on loopback.
func startNode(t *testing.T, dataDir string) (*daemon.Daemon, *jsonrpc.Client) {
	t.Helper()
	p, err := daemon.DevParams(dataDir, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	d, err := daemon.New(daemon.Config{Params: p, DataDir: dataDir, RPCAddr: addr, RPCUser: "u", RPCPassword: "p"})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- d.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		<-done
		d.Close()
	})
	c := jsonrpc.NewClient("http://"+addr, "u", "p")
	for range 200 {
		if c.Call(context.Background(), "getblockcount", nil) == nil {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	return d, c
}

func TestSoloMinesBlocksWithTransfers(t *testing.T) {
	d, client := startNode(t, t.TempDir())
	pub, priv, err := chain.GenerateKey(nil)
	if err != nil {
		t.Fatal(err)
	}
	payout := pub.Address()
	m, err := miner.New(miner.Config{Threads: 1})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go m.Run(ctx)
	found := make(chan Found, 100)
	go Run(ctx, Config{Client: client, Payout: payout, Miner: m, Found: func(f Found) { found <- f }})

	waitHeight := func(h int64) {
		t.Helper()
		deadline := time.After(120 * time.Second)
		for d.Node().Tip().Height < h {
			select {
			case f := <-found:
				if f.Result != "" && f.Result != "inconclusive" {
					t.Fatalf("block at %d rejected: %s", f.Height, f.Result)
				}
			case <-deadline:
				t.Fatalf("tip at %d, want %d", d.Node().Tip().Height, h)
			case <-time.After(50 * time.Millisecond):
			}
		}
	}
	waitHeight(2)
	if bal := d.Node().Account(payout).Balance; bal < 2*d.Params().InitialSubsidy {
		t.Fatalf("payout balance %d after two blocks", bal)
	}

	// A transfer goes through the mempool into a mined block.
	var acct struct {
		NextSequence uint64 `json:"nextsequence"`
	}
	if err := client.Call(ctx, "getaccount", &acct, payout.String()); err != nil {
		t.Fatal(err)
	}
	var to chain.Address
	to[0] = 7
	tr := &chain.Transfer{To: to, Amount: 12345, Fee: 1000, Sequence: acct.NextSequence}
	if err := tr.Sign(priv, d.Params().GenesisHash); err != nil {
		t.Fatal(err)
	}
	raw, _ := (&chain.Transaction{Transfer: tr}).MarshalBinary()
	var txid string
	if err := client.Call(ctx, "sendrawtransaction", &txid, hex.EncodeToString(raw)); err != nil {
		t.Fatal(err)
	}
	deadline := time.After(120 * time.Second)
	for d.Node().Account(to).Balance != 12345 {
		select {
		case <-deadline:
			t.Fatal("the transfer was never mined")
		case <-time.After(50 * time.Millisecond):
		}
	}
	var info map[string]any
	client.Call(ctx, "getmempoolinfo", &info)
	if info["size"] != float64(0) {
		t.Fatalf("mempool after mining: %v", info)
	}
}

func TestTemplateDecodeRejectsNonsense(t *testing.T) {
	good := template.Reply{PreviousBlockHash: chain.Hash{}.String(), Bits: "207fffff", ExtranonceSize: 4}
	for name, mutate := range map[string]func(*template.Reply){
		"prev":       func(t *template.Reply) { t.PreviousBlockHash = "xyz" },
		"bits":       func(t *template.Reply) { t.Bits = "zz" },
		"extranonce": func(t *template.Reply) { t.ExtranonceSize = 0 },
		"prefix":     func(t *template.Reply) { t.CoinbasePrefix = "0g" },
		"branch":     func(t *template.Reply) { t.MerkleBranch = []string{"00"} },
		"tx": func(t *template.Reply) {
			t.Transactions = append(t.Transactions, template.ReplyTx{Data: "ff"})
		},
		"coinbase": func(t *template.Reply) {},
	} {
		tt := good
		mutate(&tt)
		if _, err := decode(&tt); err == nil {
			t.Errorf("%s: a bad template decoded", name)
		}
	}
}
