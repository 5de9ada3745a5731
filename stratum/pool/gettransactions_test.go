package pool

import (
	"crypto/rand"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/powmine/powmine/chain"
	"github.com/powmine/powmine/chain/daemon"
	"github.com/powmine/powmine/chain/template"
	"github.com/powmine/powmine/hash/sha256d"
	"github.com/powmine/powmine/stratum"
)

// TestGetTransactions: mining.get_transactions answers with the job's
// transaction ids after the coinbase, in block order (they make the job's
// merkle branch), echoing BFGMiner's string id; an unknown job gets 21,
// and a list over half the outbound buffer gets 20 on a connection that
// stays open.
func TestGetTransactions(t *testing.T) {
	const transfers = 40 // 40 ids take 2,681 bytes: over 4096/2
	pub, priv, err := chain.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	sender := pub.Address()
	d := newTestDaemon(t)
	tp := newTestPoolOn(t, d, func(c *Config) { c.RefreshInterval = 50 * time.Millisecond; c.MaxJobs = MaxMaxJobs })
	c := dial(t, tp.addr)
	job := c.handshake(testAddr(1))

	getTxs := func(c *client, jobID string) (*stratum.Message, *stratum.Error) {
		t.Helper()
		c.write(fmt.Sprintf(`{"id":"txlist%s","method":"mining.get_transactions","params":[%q]}`+"\n", jobID, jobID))
		for {
			m, err := c.read(5 * time.Second)
			if err != nil {
				t.Fatalf("waiting for the get_transactions answer: %v", err)
			}
			if m.Method == "" {
				if string(m.ID) != `"txlist`+jobID+`"` {
					t.Fatalf("answer id %s, want \"txlist%s\"", m.ID, jobID)
				}
				return m, m.ResponseError()
			}
		}
	}
	ids := func(m *stratum.Message) []string {
		t.Helper()
		var got []string
		if err := json.Unmarshal(m.Result, &got); err != nil || got == nil {
			t.Fatalf("result %s: want an array of strings (%v)", m.Result, err)
		}
		return got
	}

	if m, e := getTxs(c, job.JobID); e != nil || len(ids(m)) != 0 {
		t.Fatalf("job without transfers: %s, %v; want []", m.Result, e)
	}
	if _, e := getTxs(c, "nosuchjob"); e == nil || e.Code != stratum.CodeJobNotFound {
		t.Fatalf("unknown job: %v, want code 21", e)
	}

	// Fund the sender with a block mined on the node (not through the
	// pool, whose refresh jobs would make a slow share stale), then queue
	// the transfers.
	mineTo(t, d, sender)
	var want []string
	for seq := range uint64(transfers) {
		tr := &chain.Transfer{To: testAddr(9), Amount: 1, Fee: 1000, Sequence: seq}
		if err := tr.Sign(priv, d.Params().GenesisHash); err != nil {
			t.Fatal(err)
		}
		tx := chain.Transaction{Transfer: tr}
		if err := d.SendTransaction(&tx); err != nil {
			t.Fatal(err)
		}
		want = append(want, tx.TxID().String())
	}

	// A refresh job carries them all: its merkle branch is the one the
	// ids make, after the coinbase.
	leaves := make([]chain.Hash, 1, 1+len(want))
	for _, s := range want {
		h, err := chain.NewHashFromStr(s)
		if err != nil {
			t.Fatal(err)
		}
		leaves = append(leaves, h)
	}
	branch := chain.CoinbaseMerkleBranch(leaves)
	deadline := time.Now().Add(30 * time.Second)
	for n := len(c.jobs); !slices.Equal(job.MerkleBranch, branch); n++ {
		if time.Now().After(deadline) {
			t.Fatal("no job with the transfers")
		}
		job = c.waitJobs(n + 1)
	}
	m, e := getTxs(c, job.JobID)
	if e != nil {
		t.Fatal(e)
	}
	if got := ids(m); !slices.Equal(got, want) {
		t.Fatalf("ids %q,\nwant %q", got, want)
	}
	// A job re-sent to the connection (a vardiff change) carries a
	// variant id, "<id>.<n>": same transactions.
	if base, _, _ := strings.Cut(job.JobID, "."); base == job.JobID {
		m, e = getTxs(c, job.JobID+".1")
		if e != nil {
			t.Fatalf("variant id: %v", e)
		}
		if got := ids(m); !slices.Equal(got, want) {
			t.Fatalf("variant id: ids %q,\nwant %q", got, want)
		}
	}
	if _, e := getTxs(c, job.JobID+".x"); e == nil || e.Code != stratum.CodeJobNotFound {
		t.Fatalf("malformed variant id: %v, want code 21", e)
	}

	// The same list is too long for a 4 KiB outbound buffer.
	small := newTestPoolOn(t, d, func(c *Config) { c.LineLimit = 2048; c.MaxOutbound = 4096 })
	sc := dial(t, small.addr)
	job = sc.handshake(testAddr(1))
	if !slices.Equal(job.MerkleBranch, branch) {
		t.Fatal("the small pool's job lacks the transfers")
	}
	if _, e := getTxs(sc, job.JobID); e == nil || e.Code != stratum.CodeOther {
		t.Fatalf("list over MaxOutbound/2: %v, want code 20", e)
	}
	if e := sc.authorize(testAddr(2).String() + ".w"); e != nil {
		t.Fatalf("the connection did not stay usable: %v", e)
	}
}

// mineTo mines a block on d's tip paying its whole reward to addr.
func mineTo(t *testing.T, d *daemon.Daemon, addr chain.Address) {
	t.Helper()
	tmpl, err := d.Template([]template.Payout{{Address: addr, Weight: 1}})
	if err != nil {
		t.Fatal(err)
	}
	raw := tmpl.Header.Serialize()
	h, err := chain.BigToHash(chain.CompactToBig(tmpl.Header.Bits))
	if err != nil {
		t.Fatal(err)
	}
	target := [32]byte(h)
	k := sha256d.Choose().Kernel
	sc := sha256d.NewScanner(k)
	var hits []uint32
	for start := uint64(0); len(hits) == 0 && start < sha256d.MaxScan; start += 1 << 20 {
		hits = sc.Scan(sha256d.NewJob(&raw, &target), uint32(start), 1<<20, hits)
	}
	if len(hits) == 0 {
		t.Fatal("no nonce meets the block target")
	}
	b, err := tmpl.Block(make([]byte, tmpl.ExtranonceSize), tmpl.Header.Timestamp, hits[0])
	if err != nil {
		t.Fatal(err)
	}
	if main, err := d.SubmitBlock(b); err != nil || !main {
		t.Fatalf("block paying %s: main chain %v, %v", addr, main, err)
	}
}
