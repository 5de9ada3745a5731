package store

import (
	"bytes"
	"errors"
	"slices"
	"testing"

	"github.com/powmine/powmine/chain"
	"github.com/powmine/powmine/chain/node"
	"github.com/powmine/powmine/chain/storage"
	bolt "go.etcd.io/bbolt"
)

// TestUndoFormats: an undo record without validator entries keeps the
// pre-stake format byte for byte, one with them round-trips in the stake
// format, and the stake format's decoder is strict.
func TestUndoFormats(t *testing.T) {
	a := addr(0)
	old := append(append([]byte{undoFormat, 1}, a[:]...), 0x05, 0x02)
	u := &storage.Undo{Accounts: []storage.AccountEntry{{Address: a, Account: chain.Account{Balance: 5, Sequence: 2}}}}
	if got := appendUndo(nil, u); !bytes.Equal(got, old) {
		t.Fatalf("undo without validators encodes to %x, want the old %x", got, old)
	}
	v := chain.Validator{Owner: addr(1), Stake: 1<<64 - 1, ActivationEpoch: 3, ExitEpoch: 9, Withdrawing: 1<<64 - 2, WithdrawEpoch: 5}
	u.Validators = []storage.ValidatorEntry{{Key: chain.PublicKey{1}}, {Key: chain.PublicKey{2}, Validator: v}}
	enc := appendUndo(nil, u)
	if enc[0] != undoStakeFormat {
		t.Fatalf("format %d, want %d", enc[0], undoStakeFormat)
	}
	got, err := decodeUndo(enc)
	if err != nil || !slices.Equal(got.Accounts, u.Accounts) || !slices.Equal(got.Validators, u.Validators) {
		t.Fatalf("stake undo came back as %+v, %v", got, err)
	}
	for n := 1; n < len(enc); n++ {
		if _, err := decodeUndo(enc[:n]); err == nil {
			t.Fatalf("undo cut at %d decodes", n)
		}
	}
	if _, err := decodeUndo(append(bytes.Clone(enc), 0)); !errors.Is(err, errTrailing) {
		t.Fatalf("trailing byte: %v", err)
	}
	noVals := append(append([]byte{undoStakeFormat}, old[1:]...), 0)
	if _, err := decodeUndo(noVals); !errors.Is(err, errNonCanonical) {
		t.Fatalf("stake format without validators: %v", err)
	}
	if got, err := decodeValidator(appendValidator(nil, v)); err != nil || got != v {
		t.Fatalf("validator came back as %+v, %v", got, err)
	}
	if _, err := decodeValidator(appendValidator(nil, chain.Validator{})); err == nil {
		t.Fatal("zero validator decodes")
	}
	if _, err := decodeValidator(append(appendValidator(nil, v), 0)); !errors.Is(err, errTrailing) {
		t.Fatalf("validator with a trailing byte: %v", err)
	}
	for _, bad := range []chain.Validator{
		{Owner: addr(1), Stake: 10, ActivationEpoch: 1, Withdrawing: 10, WithdrawEpoch: 2}, // all of the stake
		{Owner: addr(1), Stake: 10, ActivationEpoch: 1, Withdrawing: 3},                    // no epoch
		{Owner: addr(1), Stake: 10, ActivationEpoch: 1, WithdrawEpoch: 2},                  // no amount
	} {
		if _, err := decodeValidator(appendValidator(nil, bad)); err == nil {
			t.Fatalf("validator %+v decodes", bad)
		}
	}
}

// TestPartialWithdrawReopenReindex runs a partial withdraw through its
// weight change and its unlock on a DB: at each stage the validator, the
// owner's account and the validator sets are those of a node on a
// MemStore, after a restart too; and a reindex rebuilds the same state.
func TestPartialWithdrawReopenReindex(t *testing.T) {
	c := newTestChain(t, "partial-withdraw", 2)
	coin := uint64(chain.BaseUnitsPerCoin)
	a1 := c.next(c.genesis, 10, 0, deposit(t, 0, 0, 30*coin, 1, 0))
	a2 := c.next(a1, 10, 0, partialWithdraw(t, 0, 0, 12*coin, 1, 1)) // weighs 18 from epoch 1, unlocks at epoch 2
	blocks := []*chain.Block{a1, a2}
	for p := a2; len(blocks) < 11; { // up to height 11, epoch 2
		p = c.next(p, 10, 0)
		blocks = append(blocks, p)
	}
	key := deposit(t, 0, 0, 0, 0, 0).Deposit.Validator
	for _, stage := range []struct {
		n    int    // blocks connected
		want uint64 // validator's Stake then
	}{{5, 30 * coin}, {11, 18 * coin}} {
		s := &scenario{blocks: blocks[:stage.n], addrs: []chain.Address{addr(0), addr(10)}}
		want := runScenario(t, c, s, node.NewMemStore())
		db, path := openTemp(t, c)
		got := runScenario(t, c, s, db)
		if v := got.Validator(key); v.Stake != stage.want || v != want.Validator(key) {
			t.Fatalf("after %d blocks: validator %+v, MemStore's %+v, want stake %d", stage.n, v, want.Validator(key), stage.want)
		}
		epochs := []uint64{1}
		wantSets := stakeSnapshot(t, want, epochs)
		if wantSets[1][0].Stake != 18*coin {
			t.Fatalf("after %d blocks: epoch 1 set %+v, want a weight of 18 coins", stage.n, wantSets[1])
		}
		if err := db.Close(); err != nil {
			t.Fatal(err)
		}
		db, again := reopen(t, c, path)
		if again.Validator(key) != want.Validator(key) || !equalSets(stakeSnapshot(t, again, epochs), wantSets) {
			t.Fatalf("after %d blocks and a restart: validator %+v, want %+v", stage.n, again.Validator(key), want.Validator(key))
		}
		wantSameNode(t, want, again, c, s, false)
		re, err := node.Reindex(c.config(nil), db)
		if err != nil {
			t.Fatal(err)
		}
		if re.Validator(key) != want.Validator(key) || !equalSets(stakeSnapshot(t, re, epochs), wantSets) {
			t.Fatalf("after %d blocks and a reindex: validator %+v, want %+v", stage.n, re.Validator(key), want.Validator(key))
		}
		wantSameNode(t, want, re, c, s, true)
	}
}

// stakeSnapshot is a node's view of the validators of interest.
func stakeSnapshot(t *testing.T, n *node.Node, epochs []uint64) map[uint64][]node.ValidatorStake {
	t.Helper()
	out := map[uint64][]node.ValidatorStake{}
	for _, e := range epochs {
		set, err := n.ValidatorSet(e)
		if err != nil {
			t.Fatalf("ValidatorSet(%d): %v", e, err)
		}
		out[e] = set
	}
	return out
}

// TestStakeReopen runs deposits, a withdraw, an unlock and a reorg on a
// DB, and checks that after a restart the node has the same validator
// set, validators and accounts as before and as a node on a MemStore.
func TestStakeReopen(t *testing.T) {
	c := newTestChain(t, "stake-reopen", 4)
	g := c.genesis
	a1 := c.next(g, 10, 0, deposit(t, 0, 0, 20*chain.BaseUnitsPerCoin, 1, 0), deposit(t, 1, 1, 30*chain.BaseUnitsPerCoin, 1, 0))
	a2 := c.next(a1, 10, 0, withdraw(t, 0, 0, 1, 1)) // exits at epoch 1, unlocks at epoch 2 (height 10)
	blocks := []*chain.Block{a1, a2}
	for p := a2; len(blocks) < 11; {
		p = c.next(p, 10, 0)
		blocks = append(blocks, p)
	}
	// A side branch from a1 with another deposit, heavier: a reorg across
	// the withdraw and the unlock.
	b := c.next(a1, 11, 0, deposit(t, 2, 2, 40*chain.BaseUnitsPerCoin, 1, 0))
	blocks = append(blocks, b)
	for range 11 {
		b = c.next(b, 11, 0)
		blocks = append(blocks, b)
	}
	s := &scenario{blocks: blocks}
	for _, i := range []int{0, 1, 2, 10, 11} {
		s.addrs = append(s.addrs, addr(i))
	}
	want := runScenario(t, c, s, node.NewMemStore())
	db, path := openTemp(t, c)
	got := runScenario(t, c, s, db)
	if got.Tip().Hash != b.Hash() {
		t.Fatalf("tip %v, want the side branch", got.Tip().Hash)
	}
	epochs := []uint64{1, 2}
	before := stakeSnapshot(t, got, epochs)
	if len(before[2]) != 3 {
		t.Fatalf("epoch 2 on the side branch: %+v", before[2])
	}
	if w := stakeSnapshot(t, want, epochs); !equalSets(w, before) {
		t.Fatalf("DB node %+v, MemStore node %+v", before, w)
	}
	wantSameNode(t, want, got, c, s, false)
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	_, again := reopen(t, c, path)
	if after := stakeSnapshot(t, again, epochs); !equalSets(after, before) {
		t.Fatalf("after restart %+v, before %+v", after, before)
	}
	wantSameNode(t, want, again, c, s, false)
}

func equalSets(a, b map[uint64][]node.ValidatorStake) bool {
	if len(a) != len(b) {
		return false
	}
	for e, s := range a {
		if !slices.Equal(s, b[e]) {
			return false
		}
	}
	return true
}

// TestStoreWithoutValidators: a store that never held stake data, as
// every store written before stake, has no validators bucket and loads
// an empty set; the first deposit creates it.
func TestStoreWithoutValidators(t *testing.T) {
	c := newTestChain(t, "pre-stake", 2)
	db, path := openTemp(t, c)
	n, err := node.New(c.config(db))
	if err != nil {
		t.Fatal(err)
	}
	b1 := c.next(c.genesis, 1, 0, transfer(t, 0, 1, 5, 1, 0))
	if _, err := n.ProcessBlock(b1); err != nil {
		t.Fatal(err)
	}
	hasBucket := func() (has bool) {
		_ = db.bolt.View(func(tx *bolt.Tx) error { has = tx.Bucket(bucketValidators) != nil; return nil })
		return has
	}
	if hasBucket() {
		t.Fatal("a store without stake data has a validators bucket")
	}
	if s := mustLoad(t, db); len(s.Validators) != 0 {
		t.Fatalf("validators %+v", s.Validators)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	db, n = reopen(t, c, path)
	if _, err := n.ProcessBlock(c.next(b1, 1, 0, deposit(t, 0, 0, 10*chain.BaseUnitsPerCoin, 0, 1))); err != nil {
		t.Fatal(err)
	}
	if !hasBucket() || len(mustLoad(t, db).Validators) != 1 {
		t.Fatal("the first deposit did not create the validators bucket")
	}
}
