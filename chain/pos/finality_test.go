package pos

import (
	"errors"
	"fmt"
	"math"
	"sync"
	"testing"

	"github.com/powmine/powmine/chain"
)

// cp returns the checkpoint of epoch e on the test chain: hash {e, 0xc}.
func cp(e uint64) chain.Checkpoint { return chain.Checkpoint{Epoch: e, Hash: chain.Hash{byte(e), 0xc}} }

// onTestChain is the Lookup of the test chain, which has a checkpoint for
// every epoch below 100.
func onTestChain(c chain.Checkpoint) bool { return c.Epoch < 100 && c == cp(c.Epoch) }

// newTestFinality returns a Finality over test keys 0..len(stakes)-1.
func newTestFinality(t testing.TB, stakes ...uint64) *Finality {
	t.Helper()
	vals := make([]Validator, len(stakes))
	for i, s := range stakes {
		vals[i].Key, _ = testKey(i)
		vals[i].Stake = s
	}
	f, err := New(Config{Network: testNetwork, EpochLength: 50, Validators: vals, Root: cp(0), Lookup: onTestChain})
	if err != nil {
		t.Fatal(err)
	}
	return f
}

// vote returns test key i's signed vote from cp(s) to cp(t).
func vote(t testing.TB, i int, s, tg uint64) chain.Vote {
	t.Helper()
	_, priv := testKey(i)
	v := chain.Vote{Source: cp(s), Target: cp(tg)}
	if err := v.Sign(priv, testNetwork); err != nil {
		t.Fatal(err)
	}
	return v
}

// mustAdd adds votes and fails on any error.
func mustAdd(t testing.TB, f *Finality, votes ...chain.Vote) {
	t.Helper()
	for _, v := range votes {
		if err := f.AddVote(v); err != nil {
			t.Fatalf("vote %v→%v: %v", v.Source.Epoch, v.Target.Epoch, err)
		}
	}
}

// state summarizes what AddVote and AddEvidence may change.
func state(f *Finality) string {
	f.mu.RLock()
	defer f.mu.RUnlock()
	return fmt.Sprintf("%v %v %v %v %v %v", f.highest, f.finalized, len(f.justified), f.support,
		f.history, f.slashed)
}

func TestNewRejects(t *testing.T) {
	k0, _ := testKey(0)
	k1, _ := testKey(1)
	ok := Config{Network: testNetwork, EpochLength: 50, Root: cp(0), Lookup: onTestChain}
	tests := []struct {
		name string
		edit func(c *Config)
	}{
		{"no validators", func(c *Config) {}},
		{"zero stake", func(c *Config) { c.Validators = []Validator{{k0, 1}, {k1, 0}} }},
		{"duplicate key", func(c *Config) { c.Validators = []Validator{{k0, 1}, {k0, 2}} }},
		{"overflow", func(c *Config) { c.Validators = []Validator{{k0, MaxTotalStake}, {k1, 1}} }},
		{"no lookup", func(c *Config) { c.Validators = []Validator{{k0, 1}}; c.Lookup = nil }},
		{"no epoch length", func(c *Config) { c.Validators = []Validator{{k0, 1}}; c.EpochLength = 0 }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := ok
			tt.edit(&c)
			if _, err := New(c); codeOf(err) != ErrBadValidatorSet {
				t.Fatalf("got %v, want ErrBadValidatorSet", err)
			}
		})
	}
	c := ok
	c.Validators = []Validator{{k0, MaxTotalStake - 1}, {k1, 1}}
	if _, err := New(c); err != nil {
		t.Fatalf("largest total refused: %v", err)
	}
}

// TestThreshold checks the two-thirds edges: 3·v = 2·T justifies, 3·v =
// 2·T − 1 does not.
func TestThreshold(t *testing.T) {
	f := newTestFinality(t, 2, 1) // T = 3: validator 0 alone has 3·2 = 2·3
	if f.TotalStake() != 3 {
		t.Fatalf("total stake %d", f.TotalStake())
	}
	mustAdd(t, f, vote(t, 0, 0, 1))
	if !f.IsJustified(cp(1)) {
		t.Fatal("3v == 2T did not justify")
	}
	f = newTestFinality(t, 3, 2) // T = 5: 3·3 = 2·5 − 1
	mustAdd(t, f, vote(t, 0, 0, 1))
	if f.IsJustified(cp(1)) || f.Justified() != cp(0) {
		t.Fatal("3v == 2T-1 justified")
	}
	if got := f.Support(cp(0), cp(1)); got != 3 {
		t.Fatalf("support %d, want 3", got)
	}
	mustAdd(t, f, vote(t, 1, 0, 1))
	if !f.IsJustified(cp(1)) || f.Justified() != cp(1) {
		t.Fatal("all stake did not justify")
	}
}

// TestFinalization follows the k=1 rule: a justified checkpoint is
// finalized by a supermajority link to the next epoch, not by a link that
// skips one, and finality never moves back.
func TestFinalization(t *testing.T) {
	f := newTestFinality(t, 10, 10, 10, 10) // 3 of 4 make a supermajority
	link := func(s, tg uint64, who ...int) {
		t.Helper()
		for _, i := range who {
			mustAdd(t, f, vote(t, i, s, tg))
		}
	}
	check := func(just, fin uint64) {
		t.Helper()
		if f.Justified() != cp(just) || f.Finalized() != cp(fin) {
			t.Fatalf("justified %v finalized %v, want epochs %d and %d", f.Justified(), f.Finalized(), just, fin)
		}
	}
	check(0, 0)
	link(0, 1, 0, 1)
	check(0, 0) // half the stake
	link(0, 1, 2)
	check(1, 0) // 0 was finalized already (the root)
	link(1, 2, 0, 1, 2)
	check(2, 1)
	link(2, 4, 0, 1, 3) // skips epoch 3: justifies 4, finalizes nothing
	check(4, 1)
	if f.FinalizedHeight() != 50 || f.AllowReorg(49) || !f.AllowReorg(50) || !f.AllowReorg(300) {
		t.Fatalf("finalized height %d", f.FinalizedHeight())
	}
	link(4, 5, 0, 1, 3)
	check(5, 4)
	if f.FinalizedHeight() != 200 || f.AllowReorg(199) || !f.AllowReorg(200) {
		t.Fatalf("finalized height %d", f.FinalizedHeight())
	}
	// A late supermajority link 1→2 cannot exist (2 is justified by it
	// already); a link from the justified 2 to 3 justifies 3 but leaves
	// finality at 4.
	link(2, 3, 2, 3)
	check(5, 4)
	if !f.IsJustified(cp(2)) || f.IsJustified(cp(3)) {
		t.Fatal("wrong set of justified checkpoints")
	}
}

// TestAddVoteErrors checks every refusal and that nothing changes on any.
func TestAddVoteErrors(t *testing.T) {
	setup := func(t *testing.T) *Finality {
		f := newTestFinality(t, 10, 10, 10, 10)
		mustAdd(t, f, vote(t, 0, 0, 2), vote(t, 1, 0, 2), vote(t, 2, 0, 2), vote(t, 3, 0, 4), vote(t, 1, 2, 3))
		return f // 2 justified; validator 3 voted 0→4, validator 1 also 2→3
	}
	outsider, outsiderPriv := testKey(99)
	tests := []struct {
		name string
		vote func(t *testing.T) chain.Vote
		want ErrorCode
	}{
		{"source not below target", func(t *testing.T) chain.Vote {
			v := vote(t, 0, 2, 3)
			v.Source = cp(3)
			return v
		}, ErrMalformed},
		{"unknown validator", func(t *testing.T) chain.Vote {
			v := chain.Vote{Source: cp(2), Target: cp(3)}
			_ = v.Sign(outsiderPriv, testNetwork)
			if v.Validator != outsider {
				t.Fatal("sign")
			}
			return v
		}, ErrUnknownValidator},
		{"replay", func(t *testing.T) chain.Vote { return vote(t, 1, 0, 2) }, ErrDuplicateVote},
		{"unknown target", func(t *testing.T) chain.Vote {
			v := chain.Vote{Source: cp(2), Target: chain.Checkpoint{Epoch: 3, Hash: chain.Hash{0xee}}}
			_, priv := testKey(0)
			_ = v.Sign(priv, testNetwork)
			return v
		}, ErrUnknownCheckpoint},
		{"unknown source", func(t *testing.T) chain.Vote {
			v := chain.Vote{Source: chain.Checkpoint{Epoch: 2, Hash: chain.Hash{0xee}}, Target: cp(3)}
			_, priv := testKey(0)
			_ = v.Sign(priv, testNetwork)
			return v
		}, ErrUnknownCheckpoint},
		{"target past the chain", func(t *testing.T) chain.Vote { return vote(t, 0, 2, 100) }, ErrUnknownCheckpoint},
		{"bad signature", func(t *testing.T) chain.Vote {
			v := vote(t, 0, 2, 3)
			v.Signature[7] ^= 1
			return v
		}, ErrBadSignature},
		{"other network", func(t *testing.T) chain.Vote {
			v := chain.Vote{Source: cp(2), Target: cp(3)}
			_, priv := testKey(0)
			_ = v.Sign(priv, chain.Hash{1})
			return v
		}, ErrBadSignature},
		{"replay with another key's signature", func(t *testing.T) chain.Vote {
			v := vote(t, 1, 2, 3)
			v.Validator, _ = testKey(0)
			return v
		}, ErrBadSignature},
		{"double vote", func(t *testing.T) chain.Vote { return vote(t, 0, 1, 2) }, ErrSlashableVote},
		{"surrounding vote", func(t *testing.T) chain.Vote { return vote(t, 1, 0, 4) }, ErrSlashableVote},
		{"surrounded vote", func(t *testing.T) chain.Vote { return vote(t, 3, 2, 3) }, ErrSlashableVote},
		{"same source", func(t *testing.T) chain.Vote { return vote(t, 3, 0, 5) }, -1},
		{"chained", func(t *testing.T) chain.Vote { return vote(t, 0, 2, 3) }, -1},
		{"source not justified", func(t *testing.T) chain.Vote { return vote(t, 0, 3, 4) }, ErrSourceNotJustified},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := setup(t)
			before := state(f)
			v := tt.vote(t)
			err := f.AddVote(v)
			if tt.want == -1 {
				if err != nil {
					t.Fatalf("got %v, want the vote counted", err)
				}
				return
			}
			if codeOf(err) != tt.want {
				t.Fatalf("got %v, want %v", err, tt.want)
			}
			if after := state(f); after != before {
				t.Fatalf("state changed on %v:\n%s\n%s", tt.want, before, after)
			}
			var re RuleError
			errors.As(err, &re)
			if (re.Evidence != nil) != (tt.want == ErrSlashableVote) {
				t.Fatalf("evidence %v with %v", re.Evidence, tt.want)
			}
			if errs := f.AddVotes([]chain.Vote{v}); codeOf(errs[0]) != tt.want {
				t.Fatalf("AddVotes: got %v, want %v", errs[0], tt.want)
			}
		})
	}
}

func TestEvidence(t *testing.T) {
	f := newTestFinality(t, 10, 10, 10, 10)
	mustAdd(t, f, vote(t, 0, 0, 2))
	err := f.AddVote(vote(t, 0, 1, 2))
	var re RuleError
	if !errors.As(err, &re) || re.Code != ErrSlashableVote || re.Evidence == nil {
		t.Fatalf("double vote: %v", err)
	}
	e := *re.Evidence
	if e.Offence() != chain.DoubleVote || e.Verify(testNetwork) != nil || e.Validator() != vote(t, 0, 0, 1).Validator {
		t.Fatalf("evidence %+v does not prove the double vote", e)
	}
	if e.Verify(chain.Hash{1}) == nil {
		t.Fatal("evidence verified for another network")
	}

	bad := map[string]chain.Evidence{
		"reversed":        {A: e.B, B: e.A},
		"bad signature A": func() chain.Evidence { x := e; x.A.Signature[0] ^= 1; return x }(),
		"bad signature B": func() chain.Evidence { x := e; x.B.Signature[63] ^= 1; return x }(),
		"two validators":  chain.NewEvidence(vote(t, 0, 1, 3), vote(t, 1, 2, 3)),
		"same vote":       {A: e.A, B: e.A},
		"no offence":      chain.NewEvidence(vote(t, 0, 0, 1), vote(t, 0, 1, 2)),
		"malformed vote":  func() chain.Evidence { x := e; x.A.Source.Epoch = 5; return x }(),
	}
	for name, x := range bad {
		before := state(f)
		if err := f.AddEvidence(x); codeOf(err) != ErrInvalidEvidence {
			t.Fatalf("%s: got %v, want ErrInvalidEvidence", name, err)
		}
		if state(f) != before {
			t.Fatalf("%s: state changed", name)
		}
	}
	_, outsider := testKey(99)
	var o1, o2 chain.Vote
	o1 = chain.Vote{Source: cp(0), Target: cp(2)}
	o2 = chain.Vote{Source: cp(1), Target: cp(2)}
	_ = o1.Sign(outsider, testNetwork)
	_ = o2.Sign(outsider, testNetwork)
	if err := f.AddEvidence(chain.NewEvidence(o1, o2)); codeOf(err) != ErrUnknownValidator {
		t.Fatalf("outsider: %v", err)
	}

	if f.Slashed(e.Validator()) {
		t.Fatal("slashed before evidence")
	}
	if err := f.AddEvidence(e); err != nil {
		t.Fatal(err)
	}
	if !f.Slashed(e.Validator()) {
		t.Fatal("not slashed")
	}
	if err := f.AddEvidence(e); codeOf(err) != ErrSlashedValidator {
		t.Fatalf("second time: %v", err)
	}
	surround := chain.NewEvidence(vote(t, 0, 0, 3), vote(t, 0, 1, 2))
	if err := f.AddEvidence(surround); codeOf(err) != ErrSlashedValidator {
		t.Fatalf("other evidence, same validator: %v", err)
	}
	if err := f.AddVote(vote(t, 0, 0, 1)); codeOf(err) != ErrSlashedValidator {
		t.Fatalf("vote of a slashed validator: %v", err)
	}
	if got := f.Support(cp(0), cp(2)); got != 10 {
		t.Fatalf("support %d: a slashed validator's counted vote stays counted", got)
	}
}

// TestAddVotesBatch checks that the batch path gives AddVote's answers.
func TestAddVotesBatch(t *testing.T) {
	stakes := make([]uint64, 30)
	for i := range stakes {
		stakes[i] = uint64(i + 1)
	}
	var votes []chain.Vote
	for i := range stakes {
		votes = append(votes, vote(t, i, 0, 1))
	}
	votes[4].Signature[1] ^= 1
	votes = append(votes, votes[0], vote(t, 2, 0, 1), vote(t, 3, 1, 2), vote(t, 5, 0, 2))
	one, batch := newTestFinality(t, stakes...), newTestFinality(t, stakes...)
	errs := batch.AddVotes(votes)
	for i, v := range votes {
		want := one.AddVote(v)
		if codeOf(errs[i]) != codeOf(want) || (want == nil) != (errs[i] == nil) {
			t.Fatalf("vote %d: batch %v, one by one %v", i, errs[i], want)
		}
	}
	if state(one) != state(batch) {
		t.Fatalf("states differ:\n%s\n%s", state(one), state(batch))
	}
	if !one.IsJustified(cp(1)) {
		t.Fatal("29 of 30 validators by stake did not justify")
	}
}

// TestConcurrent runs writers and readers together, for -race.
func TestConcurrent(t *testing.T) {
	stakes := make([]uint64, 40)
	for i := range stakes {
		stakes[i] = 1
	}
	f := newTestFinality(t, stakes...)
	var wg sync.WaitGroup
	for w := range 4 {
		wg.Go(func() {
			var votes []chain.Vote
			for i := w; i < len(stakes); i += 4 {
				votes = append(votes, vote(t, i, 0, 1))
			}
			for _, err := range f.AddVotes(votes) {
				if err != nil {
					t.Error(err)
				}
			}
		})
		wg.Go(func() {
			for range 100 {
				_ = f.AllowReorg(int64(w)) && f.Justified().Epoch < 2 && !f.Slashed(chain.PublicKey{})
			}
		})
	}
	wg.Wait()
	if !f.IsJustified(cp(1)) || f.Support(cp(0), cp(1)) != 40 {
		t.Fatal("not all votes counted")
	}
}

func TestErrorCodeString(t *testing.T) {
	for c := ErrMalformed; c < numErrorCodes; c++ {
		if s := c.String(); s == "" || s[:3] != "Err" {
			t.Fatalf("code %d: %q", int(c), s)
		}
	}
	if s := ErrorCode(math.MaxInt32).String(); s != "Unknown ErrorCode (2147483647)" {
		t.Fatal(s)
	}
	if err := ruleError(ErrMalformed, "x %d", 1); err.Error() != "pos: x 1" {
		t.Fatal(err)
	}
}
