package sim

import (
	"context"
	"encoding/json"
	"fmt"
	"reflect"
	"runtime"
	"testing"
)

func simulateFinality(t *testing.T, cfg FinalityConfig) FinalityReport {
	t.Helper()
	rep, err := SimulateFinality(context.Background(), cfg)
	if err != nil {
		t.Fatalf("%+v: %v", cfg, err)
	}
	return rep
}

// TestFinalityAdvances: with two thirds of the stake honest and online,
// every epoch is finalized, whatever the byzantine minority does, and every
// offence is slashed at every honest node.
func TestFinalityAdvances(t *testing.T) {
	for _, tc := range []struct {
		validators, epochs int
		offline, byzantine float64
	}{
		{4, 6, 0, 0},
		{10, 6, 0.1, 0.2},
		{30, 5, 0.05, 0.25},
		{100, 3, 0.1, 0.2},
	} {
		for _, mode := range []Mode{Hybrid, PoS} {
			t.Run(fmt.Sprintf("%v/%d", mode, tc.validators), func(t *testing.T) {
				if raceEnabled && tc.validators > 30 {
					t.Skip("14 s under -race; go test without -race (as CI runs it) covers it")
				}
				cfg := FinalityConfig{Mode: mode, Validators: tc.validators, Epochs: tc.epochs,
					Offline: tc.offline, Byzantine: tc.byzantine, Seed: 5}
				rep := simulateFinality(t, cfg)
				if rep.OfflineStake+rep.ByzantineStake > 1.0/3 {
					t.Fatalf("setup: offline %.3f + byzantine %.3f", rep.OfflineStake, rep.ByzantineStake)
				}
				if rep.FinalizedEpochs != uint64(tc.epochs) || rep.StalledEpochs != 0 || rep.ConflictingFinalized != 0 {
					t.Fatalf("report %+v", rep)
				}
				if rep.Slashed != rep.SlashableOffences || (tc.byzantine >= 0.2 && rep.SlashableOffences == 0) {
					t.Fatalf("offences %d, slashed %d", rep.SlashableOffences, rep.Slashed)
				}
				if mode == PoS && (rep.ProposerShareError == nil || rep.Equivocations == 0 && tc.byzantine > 0) {
					t.Fatalf("pos report %+v", rep)
				}
				if mode == Hybrid && rep.ProposerShareError != nil {
					t.Fatal("hybrid reports a proposer share error")
				}
			})
		}
	}
}

// TestFinalityStallsAndResumes: with more than a third of the stake
// offline nothing is finalized; with it offline during epochs [2, 4) only,
// finality stalls for the checkpoints of epochs 1 to 3 and then resumes.
func TestFinalityStallsAndResumes(t *testing.T) {
	for _, mode := range []Mode{Hybrid, PoS} {
		t.Run(mode.String(), func(t *testing.T) {
			cfg := FinalityConfig{Mode: mode, Validators: 10, Epochs: 7, Offline: 0.4, Seed: 1}
			rep := simulateFinality(t, cfg)
			if rep.OfflineStake <= 1.0/3 {
				t.Fatalf("setup: offline stake %.3f", rep.OfflineStake)
			}
			if rep.FinalizedEpochs != 0 || rep.StalledEpochs != cfg.Epochs {
				t.Fatalf("all offline: %+v", rep)
			}
			cfg.OfflineFrom, cfg.OfflineTo = 2, 4
			rep = simulateFinality(t, cfg)
			if rep.FinalizedEpochs != uint64(cfg.Epochs) || rep.StalledEpochs != 3 {
				t.Fatalf("offline in [2, 4): %+v", rep)
			}
		})
	}
}

// TestNoConflictBelowThird: byzantine stake under a third never gets two
// conflicting checkpoints finalized, over seeds, with and without a
// partition during which it votes for both halves.
func TestNoConflictBelowThird(t *testing.T) {
	for seed := range uint64(3) {
		for _, mode := range []Mode{Hybrid, PoS} {
			for _, attack := range []Attack{AttackMixed, AttackDouble} {
				cfg := FinalityConfig{Mode: mode, Validators: 12, Epochs: 6, Byzantine: 0.32, Attack: attack,
					PartitionFrom: 2, PartitionTo: 5, Seed: seed}
				rep := simulateFinality(t, cfg)
				if rep.ConflictingFinalized != 0 || rep.Slashed != rep.SlashableOffences || rep.SlashableOffences == 0 {
					t.Errorf("%v %v seed %d: %+v", mode, attack, seed, rep)
				}
			}
		}
	}
}

// TestAccountableSafety is the case the previous test guards against:
// with 45% of the stake double voting on both halves of a partition, both
// halves finalize, and then the validators slashed at every honest node
// hold at least a third of the stake (Casper's Theorem 1).
func TestAccountableSafety(t *testing.T) {
	for _, mode := range []Mode{Hybrid, PoS} {
		cfg := FinalityConfig{Mode: mode, Validators: 20, Epochs: 10, Byzantine: 0.45, Attack: AttackDouble,
			PartitionFrom: 2, PartitionTo: 10, Seed: 1}
		rep := simulateFinality(t, cfg)
		if rep.ConflictingFinalized == 0 {
			t.Errorf("%v: no conflict: %+v", mode, rep)
		}
		if rep.SlashedStake < 1.0/3 || rep.Slashed != rep.SlashableOffences {
			t.Errorf("%v: slashed stake %.3f: %+v", mode, rep.SlashedStake, rep)
		}
	}
}

func TestFinalityDeterministic(t *testing.T) {
	cfg := FinalityConfig{Mode: PoS, Validators: 40, Epochs: 3, Byzantine: 0.25, Offline: 0.05, Seed: 9}
	a, b := simulateFinality(t, cfg), simulateFinality(t, cfg)
	if !reflect.DeepEqual(a, b) {
		t.Fatalf("%+v\n%+v", a, b)
	}
	// The nodes of a tick run on several goroutines; one gives the same run.
	prev := runtime.GOMAXPROCS(1)
	one := simulateFinality(t, cfg)
	runtime.GOMAXPROCS(prev)
	if !reflect.DeepEqual(a, one) {
		t.Fatalf("GOMAXPROCS=1 differs:\n%+v\n%+v", a, one)
	}
	cfg.Seed++
	if c := simulateFinality(t, cfg); reflect.DeepEqual(a, c) {
		t.Fatal("another seed gave the same report")
	}
}

func TestFinalityReportJSON(t *testing.T) {
	share := 0.5
	for _, rep := range []FinalityReport{{StalledEpochs: 3}, {ProposerShareError: &share}} {
		out, err := json.Marshal(rep)
		if err != nil {
			t.Fatal(err)
		}
		var obj map[string]any
		if err := json.Unmarshal(out, &obj); err != nil {
			t.Fatal(err)
		}
		if len(obj) != 5 {
			t.Fatalf("%s", out)
		}
		for _, k := range []string{"finalized_epochs", "conflicting_finalized", "slashable_offences", "slashed", "proposer_share_error"} {
			if _, ok := obj[k]; !ok {
				t.Fatalf("no %s in %s", k, out)
			}
		}
	}
}

func TestFinalityValidate(t *testing.T) {
	good := FinalityConfig{Mode: Hybrid, Validators: 4, Epochs: 2}
	if err := good.Validate(); err != nil {
		t.Fatal(err)
	}
	for name, mod := range map[string]func(*FinalityConfig){
		"no mode":           func(c *FinalityConfig) { c.Mode = 0 },
		"no validators":     func(c *FinalityConfig) { c.Validators = 0 },
		"too many":          func(c *FinalityConfig) { c.Validators = MaxFinalityValidators + 1 },
		"no epochs":         func(c *FinalityConfig) { c.Epochs = 0 },
		"offline > 1":       func(c *FinalityConfig) { c.Offline = 1.5 },
		"byzantine < 0":     func(c *FinalityConfig) { c.Byzantine = -0.1 },
		"sum > 1":           func(c *FinalityConfig) { c.Offline, c.Byzantine = 0.6, 0.6 },
		"long epochs":       func(c *FinalityConfig) { c.EpochLength = MaxEpochLength + 1 },
		"empty offline":     func(c *FinalityConfig) { c.OfflineFrom, c.OfflineTo = 3, 3 },
		"empty partition":   func(c *FinalityConfig) { c.PartitionFrom, c.PartitionTo = 2, 1 },
		"partition too far": func(c *FinalityConfig) { c.PartitionFrom, c.PartitionTo = 1, 5 },
		"unknown attack":    func(c *FinalityConfig) { c.Attack = 7 },
	} {
		c := good
		mod(&c)
		if err := c.Validate(); err == nil {
			t.Errorf("%s: accepted", name)
		}
		if _, err := SimulateFinality(context.Background(), c); err == nil {
			t.Errorf("%s: simulated", name)
		}
	}
	if _, err := SimulateFinality(context.Background(), FinalityConfig{Mode: PoS, Validators: 3, Epochs: 1, Byzantine: 1}); err == nil {
		t.Error("all byzantine: simulated")
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := SimulateFinality(ctx, good); err == nil {
		t.Error("canceled run succeeded")
	}
	if m, err := ParseMode("pos"); err != nil || m != PoS {
		t.Errorf("ParseMode: %v %v", m, err)
	}
	if _, err := ParseMode("pow"); err == nil || Mode(9).String() != "Mode(9)" {
		t.Error("bad mode accepted")
	}
}

// TestProposerEquivocationSlashed: in PoS mode with byzantine validators
// that withhold their votes, equivocating proposers are the only
// offenders: each byzantine validator elected at least once is one
// slashable offence, and every honest node slashes it with
// chain.ProposerEvidence (Finality.AddProposerEvidence). A forged second
// seal slashes nobody.
func TestProposerEquivocationSlashed(t *testing.T) {
	cfg := FinalityConfig{Mode: PoS, Validators: 12, Epochs: 4, Byzantine: 0.3, Seed: 3}
	s, err := newFinSim(cfg)
	if err != nil {
		t.Fatal(err)
	}
	for v := range s.role {
		s.role[v] = roleWithhold
	}
	if err := s.run(context.Background()); err != nil {
		t.Fatal(err)
	}
	rep := s.result()
	want := 0
	for v, byz := range s.byzantine {
		if byz && s.elected[v] > 0 {
			want++
		}
	}
	if want == 0 || rep.SlashableOffences != want || rep.Slashed != want || rep.Equivocations == 0 {
		t.Fatalf("%d byzantine proposers elected; report %+v", want, rep)
	}

	// A forged seal of another header for a slot an honest proposer
	// filled: checkSeal builds the evidence, Finality refuses it.
	nd := s.nodes[s.honest[0]]
	var honestBlk int32 = -1
	for id := range s.blocks {
		if b := s.blocks[id]; b.proposer >= 0 && !s.byzantine[b.proposer] && nd.seals[b.slot] == b.seal {
			honestBlk = int32(id)
			break
		}
	}
	if honestBlk < 0 {
		t.Fatal("no honest block")
	}
	forged := s.blocks[honestBlk]
	forged.hash[0] ^= 1
	forged.seal.HeaderHash = forged.hash
	s.blocks = append(s.blocks, forged)
	nd.out = nd.out[:0]
	s.checkSeal(nd, int32(len(s.blocks)-1))
	if nd.fin.Slashed(forged.seal.Proposer) || len(nd.out) != 0 {
		t.Fatal("a forged seal slashed an honest proposer")
	}
}
