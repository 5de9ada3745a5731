package daemon

import (
	"context"
	"crypto/ed25519"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/powmine/powmine/chain"
	"github.com/powmine/powmine/chain/dashboard"
	"github.com/powmine/powmine/chain/node"
	"github.com/powmine/powmine/chain/template"
)

// finalityNet is four daemons of one dev chain with epochs of five
// blocks, each a validator, daemon 0 the only miner; validators register
// by deposits from an owner account the test funds by mining.
type finalityNet struct {
	t     *testing.T
	p     *chain.Params
	now   time.Time
	tds   [4]*testDaemon
	dirs  [4]string
	keys  [4]ed25519.PrivateKey
	owner ed25519.PrivateKey
	up    [4]bool
	log0  logBuffer // daemon 0's log, at level info
}

// logBuffer is a log destination that tests read while daemons write.
type logBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

const finalityStake = 10 * chain.BaseUnitsPerCoin

func newFinalityNet(t *testing.T) *finalityNet {
	t.Helper()
	now := time.Now()
	p := syncParams(t, now)
	p.EpochLength = 5
	f := &finalityNet{t: t, p: p, now: now}
	f.owner = ed25519.NewKeyFromSeed(make([]byte, ed25519.SeedSize))
	for i := range f.keys {
		seed := make([]byte, ed25519.SeedSize)
		seed[0] = byte(i + 1)
		f.keys[i] = ed25519.NewKeyFromSeed(seed)
		f.dirs[i] = t.TempDir()
		f.start(i)
	}
	return f
}

// start (re)starts daemon i on its data directory and connects it to
// daemon 0.
func (f *finalityNet) start(i int) {
	f.t.Helper()
	cfg := Config{Params: f.p, DataDir: f.dirs[i], ValidatorKey: f.keys[i], Network: &Network{Listen: loopback(f.t)}}
	if i == 0 {
		cfg.Logger = slog.New(slog.NewTextHandler(&f.log0, nil))
	}
	td := startTestDaemon(f.t, f.now, cfg)
	f.tds[i] = td
	f.up[i] = true
	if i > 0 {
		dial(f.t, td, f.tds[0])
		waitFor(f.t, "mesh", func() bool { return meshed(f.tds[0], td) && meshed(td, f.tds[0]) })
	}
}

// stop stops daemon i.
func (f *finalityNet) stop(i int) {
	f.tds[i].stop()
	f.up[i] = false
}

// mine builds a template on daemon 0 (votes and deposits from its
// mempool), mines it 5 s after the tip, submits it, and waits until
// every running daemon has it as its tip.
func (f *finalityNet) mine(payout chain.Address) *chain.Block {
	f.t.Helper()
	d0 := f.tds[0]
	tmpl, err := d0.builder.NewTemplate([]template.Payout{{Address: payout, Weight: 1}}, d0.testNow())
	if err != nil {
		f.t.Fatal(err)
	}
	tip := d0.Node().Tip()
	b, err := tmpl.Block(make([]byte, tmpl.ExtranonceSize), max(tip.Header.Timestamp+5, tmpl.MinTimestamp), 0)
	if err != nil {
		f.t.Fatal(err)
	}
	solve(f.t, &b.Header)
	if _, err := d0.SubmitBlock(b); err != nil {
		f.t.Fatal(err)
	}
	for i, td := range f.tds {
		if f.up[i] {
			waitFor(f.t, "block at every daemon", func() bool { return td.Node().Tip().Hash == b.Hash() })
		}
	}
	return b
}

// votesIn waits until daemon 0 has, counted or pending, the vote of
// every running validator for the checkpoint of the tip's epoch.
func (f *finalityNet) votesIn() {
	f.t.Helper()
	n := f.tds[0].Node()
	epoch := f.p.Epoch(n.Tip().Height)
	want := 0
	for i := range f.up {
		if f.up[i] && n.Validator(chain.PublicKey(f.keys[i].Public().(ed25519.PublicKey))).ActiveAt(epoch) {
			want++
		}
	}
	waitFor(f.t, "votes at the miner", func() bool {
		got := int(n.Finality().EpochVoted / finalityStake)
		for _, tx := range f.tds[0].pool.Transactions(1000) {
			if tx.Vote != nil && tx.Vote.Target.Epoch == epoch {
				got++
			}
		}
		return got >= want
	})
}

// finality calls getfinality on daemon i.
func (f *finalityNet) finality(i int) finalityJSON {
	f.t.Helper()
	var out finalityJSON
	if e := f.tds[i].call(f.t, &out, "getfinality"); e != nil {
		f.t.Fatalf("getfinality: %+v", e)
	}
	return out
}

// TestFinalityNetwork: four daemons, four validators of equal stake
// registered by deposits, one miner. Finality advances; with two of the
// four validators stopped it stalls (getfinality shows a third of the
// votes missing), and resumes when they return with their signing
// records.
func TestFinalityNetwork(t *testing.T) {
	if testing.Short() {
		t.Skip("four networked daemons")
	}
	f := newFinalityNet(t)
	ownerPub := chain.PublicKey(f.owner.Public().(ed25519.PublicKey))
	f.mine(ownerPub.Address()) // height 1 pays the owner
	for i, k := range f.keys {
		d := &chain.Deposit{Amount: finalityStake, Fee: 1000, Sequence: uint64(i)}
		if err := d.Sign(f.owner, k, f.p.GenesisHash); err != nil {
			t.Fatal(err)
		}
		if err := f.tds[0].acceptTransfer(&chain.Transaction{Deposit: d}); err != nil {
			t.Fatal(err)
		}
	}
	miner := chain.Address{0x42}
	if b := f.mine(miner); len(b.Transactions) != 5 { // height 2: the deposits
		t.Fatalf("block 2 has %d transactions, want the coinbase and 4 deposits", len(b.Transactions))
	}
	// Mine, letting every running validator's vote reach the miner, until
	// epoch 2 is finalized (validators are active from epoch 1). healthy:
	// finality must not lag as if stalled on the way.
	advance := func(until func(finalityJSON) bool, maxBlocks int, healthy bool) finalityJSON {
		t.Helper()
		for range maxBlocks {
			if f.p.Epoch(f.tds[0].Node().Tip().Height) >= 1 {
				f.votesIn()
			}
			f.mine(miner)
			fin := f.finality(0)
			if healthy && (fin.Stalled || fin.Lag > node.FinalityStallLag && fin.EpochStake > 0) {
				t.Fatalf("getfinality with every validator online: %+v", fin)
			}
			if until(fin) {
				return fin
			}
		}
		t.Fatalf("not reached within %d blocks: %+v", maxBlocks, f.finality(0))
		return finalityJSON{}
	}
	fin := advance(func(fin finalityJSON) bool { return fin.Finalized.Epoch >= 2 }, 30, true)
	t.Logf("finalized epoch %d at height %d, justified %d", fin.Finalized.Epoch, f.tds[0].Node().Tip().Height, fin.Justified.Epoch)
	for i := 1; i < 4; i++ {
		if other := f.finality(i); other.Finalized != fin.Finalized {
			t.Fatalf("daemon %d finalized %+v, daemon 0 %+v", i, other.Finalized, fin.Finalized)
		}
	}
	// Validator owners earned their rewards: the owner account holds what
	// block 1 paid minus the deposits, plus VoteReward per counted vote.
	if bal := f.tds[0].Node().Account(ownerPub.Address()).Balance; bal <= chain.CalcBlockSubsidy(1, f.p)-4*(finalityStake+1000) {
		t.Fatalf("owner balance %d: no vote rewards", bal)
	}

	// Two of four stopped: half the stake, below two thirds.
	f.stop(2)
	f.stop(3)
	stalled := fin.Finalized
	for range 3 * f.p.EpochLength {
		if f.p.Epoch(f.tds[0].Node().Tip().Height) >= 1 {
			f.votesIn()
		}
		f.mine(miner)
	}
	now := f.finality(0)
	if now.Finalized != stalled || now.Justified.Epoch > fin.Justified.Epoch {
		t.Fatalf("finality moved without two thirds of the stake: %+v, before %+v", now, fin)
	}
	if now.EpochStake != 4*finalityStake || now.EpochVoted > 2*finalityStake || !now.Stalled || now.Lag <= node.FinalityStallLag {
		t.Fatalf("getfinality while stalled: %+v", now)
	}
	if log := f.log0.String(); !strings.Contains(log, "finality stalled") {
		t.Fatalf("daemon 0 did not log the stall:\n%s", log)
	}
	wantMetric(t, f.tds[0], fmt.Sprintf("powmine_finality_lag_epochs %d", now.Lag))
	t.Logf("stalled at finalized epoch %d for 3 epochs; epoch %d has %d of %d stake voted", now.Finalized.Epoch, now.Epoch, now.EpochVoted, now.EpochStake)

	// They return with their data directories and signing records.
	for _, i := range []int{2, 3} {
		rec, err := os.ReadFile(filepath.Join(f.dirs[i], validatorFile))
		if err != nil {
			t.Fatal(err)
		}
		var s signedEpochs
		if err := json.Unmarshal(rec, &s); err != nil || !s.Any || s.Target < fin.Justified.Epoch {
			t.Fatalf("validator %d record %s: %v", i, rec, err)
		}
		f.start(i)
		waitFor(t, "sync", func() bool { return f.tds[i].Node().Tip().Hash == f.tds[0].Node().Tip().Hash })
	}
	fin = advance(func(fin finalityJSON) bool { return fin.Finalized.Epoch > stalled.Epoch }, 4*int(f.p.EpochLength), false)
	t.Logf("finality resumed: finalized epoch %d at height %d", fin.Finalized.Epoch, f.tds[0].Node().Tip().Height)
	if fin.Stalled {
		t.Fatalf("getfinality once finality resumed: %+v", fin)
	}
	if log := f.log0.String(); !strings.Contains(log, "finality resumed") {
		t.Fatalf("daemon 0 did not log that finality resumed:\n%s", log)
	}
	wantMetric(t, f.tds[0], fmt.Sprintf("powmine_finality_finalized_epoch %d", fin.Finalized.Epoch))

	// The dashboard's block tree marks the same checkpoints.
	ctx, cancel := context.WithCancel(context.Background())
	dash, wait, err := f.tds[0].startDashboard(ctx)
	if err != nil {
		t.Fatal(err)
	}
	rec := httptest.NewRecorder()
	dash.Handler().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/api/tree", nil))
	cancel()
	wait()
	var tree dashboard.Tree
	if err := json.Unmarshal(rec.Body.Bytes(), &tree); err != nil {
		t.Fatalf("/api/tree: %v\n%s", err, rec.Body.String())
	}
	marked := map[string]string{}
	for _, tn := range tree.Nodes {
		if tn.Finalized {
			marked["finalized"] = tn.Hash
		}
		if tn.Justified {
			marked["justified"] = tn.Hash
		}
	}
	if now := f.finality(0); marked["finalized"] != now.Finalized.Hash || marked["justified"] != now.Justified.Hash {
		t.Fatalf("the tree marks %v, getfinality says justified %s, finalized %s", marked, now.Justified.Hash, now.Finalized.Hash)
	}

	// A heavier branch from height 3, below the finalized checkpoint, is
	// refused whatever its work; getchaintips calls it invalid-finality.
	n := f.tds[0].Node()
	tip := n.Tip()
	prev, _ := n.BlockByHeight(3)
	for prev.Work.Cmp(tip.Work) <= 0 {
		height := prev.Height + 1
		ctx := chain.HeaderContext{PrevHash: prev.Hash, PrevHeight: prev.Height, PrevBits: prev.Header.Bits, PrevTime: int64(prev.Header.Timestamp)}
		b := &chain.Block{Transactions: []chain.Transaction{{Coinbase: &chain.Coinbase{Height: uint32(height), Extranonce: []byte{9},
			Outputs: []chain.Output{{Address: chain.Address{9}, Amount: chain.CalcBlockSubsidy(height, f.p)}}}}}}
		b.Header = chain.Header{Version: 1, PrevBlock: prev.Hash, Timestamp: prev.Header.Timestamp + 5, Bits: ctx.NextBits(f.p)}
		b.Header.MerkleRoot, _ = b.MerkleRoot()
		solve(t, &b.Header)
		if _, err := f.tds[0].SubmitBlock(b); err != nil {
			t.Fatal(err)
		}
		var ok bool
		if prev, ok = n.BlockInfo(b.Hash()); !ok {
			t.Fatal("fork block not stored")
		}
	}
	if n.Tip().Hash != tip.Hash {
		t.Fatal("the node reverted its finalized checkpoint for a heavier branch")
	}
	var tips []chainTipJSON
	if e := f.tds[0].call(t, &tips, "getchaintips"); e != nil {
		t.Fatal(e)
	}
	var status string
	for _, ct := range tips {
		if ct.Hash == prev.Hash.String() {
			status = ct.Status
		}
	}
	if status != "invalid-finality" {
		t.Fatalf("getchaintips shows the heavier branch as %q, want invalid-finality: %+v", status, tips)
	}
}

// TestValidatorRecord: the signing record allows only votes that can
// never be slashable against the votes it covers, and a daemon refuses
// to start as a validator on a corrupt record.
func TestValidatorRecord(t *testing.T) {
	s := signedEpochs{Source: 2, Target: 5, Any: true}
	for _, tc := range []struct {
		source, target uint64
		ok             bool
	}{
		{2, 6, true}, {5, 6, true}, {3, 9, true},
		{2, 5, false}, // double vote
		{4, 5, false}, // double vote, other source
		{1, 6, false}, // would surround the recorded 2→5
		{3, 4, false}, // would be surrounded by it
		{0, 3, false},
	} {
		if got := s.allows(tc.source, tc.target); got != tc.ok {
			t.Errorf("%d→%d: allows %v, want %v", tc.source, tc.target, got, tc.ok)
		}
	}
	if !(signedEpochs{}).allows(0, 1) {
		t.Error("an empty record refuses a first vote")
	}
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, validatorFile), []byte("{not json"), 0o600); err != nil {
		t.Fatal(err)
	}
	p := syncParams(t, time.Now())
	key := ed25519.NewKeyFromSeed(make([]byte, ed25519.SeedSize))
	if _, err := New(Config{Params: p, DataDir: dir, ValidatorKey: key}); err == nil {
		t.Fatal("a corrupt signing record was accepted")
	}
	if _, err := New(Config{Params: p, ValidatorKey: key[:10]}); err == nil {
		t.Fatal("a short validator key was accepted")
	}
}

// wantMetric fails t unless td's /metrics has the line want.
func wantMetric(t *testing.T, td *testDaemon, want string) {
	t.Helper()
	resp, err := http.Get(td.url + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains("\n"+string(raw), "\n"+want+"\n") {
		t.Fatalf("metrics lack %q:\n%s", want, raw)
	}
}
