package pos

import (
	"crypto/ed25519"
	"math/rand/v2"
	"testing"

	"github.com/powmine/powmine/chain"
)

// The two-branch world of TestAccountableSafety: epochs up to forkEpoch
// are shared, later checkpoints differ by branch (hash byte 0xa or 0xb).
const (
	forkEpoch    = 1
	safetyEpochs = 8
)

func branchCP(branch byte, e uint64) chain.Checkpoint {
	if e <= forkEpoch {
		return cp(e)
	}
	return chain.Checkpoint{Epoch: e, Hash: chain.Hash{byte(e), branch}}
}

// TestAccountableSafety is Casper's Theorem 1 as a test. Validators of
// random stakes vote for eight epochs on a chain that forks after epoch
// 1; each branch has its own Finality, and every vote is delivered to
// both (each counts those on its branch). Honest validators sit on a
// branch (switching now and then, as a partition heals and splits), vote
// from their branch's highest justified checkpoint to the epoch's
// checkpoint and never sign a vote slashable against their own; byzantine
// validators vote on both branches every epoch. Then:
//
//   - with byzantine stake below a third, the branches never finalize
//     conflicting checkpoints;
//   - whenever they do, the slasher, given every vote, finds evidence
//     (verified by Evidence.Verify and accepted by AddEvidence) against
//     validators holding at least a third of the stake.
//
// The runs use fixed seeds; the test also requires that some runs did
// finalize conflicting checkpoints, so the second property is exercised.
func TestAccountableSafety(t *testing.T) {
	runs := 60
	if testing.Short() {
		runs = 15
	}
	conflicts := 0
	for run := range runs {
		if safetyRun(t, uint64(run)) {
			conflicts++
		}
	}
	t.Logf("%d of %d runs finalized conflicting checkpoints", conflicts, runs)
	if conflicts == 0 {
		t.Fatal("no run finalized conflicting checkpoints: the slashing property went untested")
	}
}

// safetyRun runs one world and reports whether it finalized conflicting
// checkpoints.
func safetyRun(t *testing.T, seed uint64) bool {
	rng := rand.New(rand.NewPCG(seed, 0xfa17))
	n := 4 + rng.IntN(13)
	vals := make([]Validator, n)
	privs := make([]ed25519.PrivateKey, n)
	byzantine := make([]bool, n)
	branch := make([]byte, n)
	var total, byzStake uint64
	byzShare := rng.Float64() * 0.6 // the chance of each validator to be byzantine
	for i := range vals {
		vals[i].Key, privs[i] = testKey(i)
		vals[i].Stake = 1 + rng.Uint64N(100)
		total += vals[i].Stake
		byzantine[i] = rng.Float64() < byzShare
		if byzantine[i] {
			byzStake += vals[i].Stake
		}
		branch[i] = 0xa + byte(rng.IntN(2))
	}
	newF := func(b byte) *Finality {
		f, err := New(Config{Network: testNetwork, EpochLength: 10, Validators: vals, Root: cp(0),
			Lookup: func(c chain.Checkpoint) bool { return c.Epoch < safetyEpochs && c == branchCP(b, c.Epoch) }})
		if err != nil {
			t.Fatal(err)
		}
		return f
	}
	views := map[byte]*Finality{0xa: newF(0xa), 0xb: newF(0xb)}
	var all []chain.Vote
	signed := make([][]chain.Vote, n) // each honest validator's own history
	cast := func(i int, b byte, target uint64) {
		v := chain.Vote{Source: views[b].Justified(), Target: branchCP(b, target)}
		if v.Source.Epoch >= target {
			return
		}
		if !byzantine[i] {
			for _, prev := range signed[i] {
				v.Validator = vals[i].Key // as Sign will set it
				if chain.Slashable(&prev, &v) != chain.NoOffence || (prev.Source == v.Source && prev.Target == v.Target) {
					return // self-protection: never sign a slashable vote
				}
			}
		}
		if err := v.Sign(privs[i], testNetwork); err != nil {
			t.Fatal(err)
		}
		signed[i] = append(signed[i], v)
		all = append(all, v)
		for _, f := range views {
			err := f.AddVote(v)
			if !byzantine[i] && codeOf(err) == ErrSlashableVote {
				t.Fatalf("seed %d: honest vote %v→%v slashable: %v", seed, v.Source, v.Target, err)
			}
		}
	}
	for target := uint64(1); target < safetyEpochs; target++ {
		for _, i := range rng.Perm(n) {
			if byzantine[i] {
				cast(i, 0xa, target)
				cast(i, 0xb, target)
				continue
			}
			if rng.IntN(8) == 0 {
				branch[i] ^= 0xa ^ 0xb
			}
			cast(i, branch[i], target)
		}
	}

	fa, fb := views[0xa].Finalized(), views[0xb].Finalized()
	conflict := fa.Epoch > forkEpoch && fb.Epoch > forkEpoch
	if !conflict {
		return false
	}
	if 3*byzStake < total {
		t.Fatalf("seed %d: conflicting finality %v and %v with byzantine stake %d of %d", seed, fa, fb, byzStake, total)
	}
	// The slasher: every pair of votes of one validator.
	slasher := views[0xa]
	var slashed uint64
	for i := range all {
		for j := i + 1; j < len(all); j++ {
			if chain.Slashable(&all[i], &all[j]) == chain.NoOffence {
				continue
			}
			e := chain.NewEvidence(all[i], all[j])
			if err := e.Verify(testNetwork); err != nil {
				t.Fatalf("seed %d: slasher's evidence: %v", seed, err)
			}
			switch err := slasher.AddEvidence(e); codeOf(err) {
			case -1:
				slashed += vals[slasher.index[e.Validator()]].Stake
			case ErrSlashedValidator:
			default:
				t.Fatalf("seed %d: AddEvidence: %v", seed, err)
			}
		}
	}
	if 3*slashed < total {
		t.Fatalf("seed %d: conflicting finality %v and %v, but only %d of %d stake slashable", seed, fa, fb, slashed, total)
	}
	return true
}

// TestLiveness: all honest on one chain, each epoch's votes justify it and
// finalize the one before (k=1), so after epoch t the finalized epoch is
// t−1.
func TestLiveness(t *testing.T) {
	f := newTestFinality(t, 5, 9, 2, 7, 1)
	for target := uint64(1); target < 10; target++ {
		source := f.Justified().Epoch
		for i := range 5 {
			mustAdd(t, f, vote(t, i, source, target))
		}
		if f.Justified() != cp(target) || f.Finalized() != cp(target-1) {
			t.Fatalf("after epoch %d: justified %v, finalized %v", target, f.Justified(), f.Finalized())
		}
	}
}
