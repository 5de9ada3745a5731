package sim

import (
	"context"
	"math"
	"reflect"
	"testing"
	"time"
)

// forky is a network whose latency is large next to its block interval,
// so that competing blocks are common.
func forky(rule Rule) Config {
	return Config{Rule: rule, Nodes: 10, Latency: time.Second, BlockInterval: 5 * time.Second,
		Duration: 10 * time.Minute, Seed: 7}
}

func simulate(t *testing.T, cfg Config, runs int) Report {
	t.Helper()
	rep, err := Simulate(context.Background(), cfg, runs)
	if err != nil {
		t.Fatal(err)
	}
	return rep
}

func TestHeaviestConvergesEveryRun(t *testing.T) {
	rep := simulate(t, forky(Heaviest), 20)
	if rep.ConvergedRuns != rep.Runs {
		t.Fatalf("heaviest converged in %d of %d runs", rep.ConvergedRuns, rep.Runs)
	}
	// The runs must have had forks to resolve, or the test proves nothing.
	if rep.TipFlips == 0 || rep.MaxReorgDepth == 0 || rep.StaleRate == 0 {
		t.Fatalf("no forks: %+v", rep)
	}
	if rep.AgreeTimeMean == nil || rep.AgreeTimeP99 == nil || *rep.AgreeTimeMean <= 0 || *rep.AgreeTimeP99 < *rep.AgreeTimeMean {
		t.Fatalf("agree times mean %v, p99 %v", rep.AgreeTimeMean, rep.AgreeTimeP99)
	}
}

func TestKeepFirstFreezesApart(t *testing.T) {
	rep := simulate(t, forky(KeepFirst), 20)
	if rep.ConvergedRuns == rep.Runs {
		t.Fatalf("keep-first converged in all %d runs", rep.Runs)
	}
	if rep.TipFlips != 0 || rep.MaxReorgDepth != 0 {
		t.Fatalf("keep-first left a chain: %+v", rep)
	}
	if heaviest := simulate(t, forky(Heaviest), 20); rep.StaleRate <= heaviest.StaleRate {
		t.Fatalf("keep-first stale rate %v, heaviest %v", rep.StaleRate, heaviest.StaleRate)
	}
}

func TestTakeLatestFlipsMore(t *testing.T) {
	latest := simulate(t, forky(TakeLatest), 20)
	heaviest := simulate(t, forky(Heaviest), 20)
	if latest.TipFlips <= heaviest.TipFlips {
		t.Fatalf("take-latest %v tip flips per node-hour, heaviest %v", latest.TipFlips, heaviest.TipFlips)
	}
	if latest.MaxReorgDepth < heaviest.MaxReorgDepth {
		t.Fatalf("take-latest reorg depth %d, heaviest %d", latest.MaxReorgDepth, heaviest.MaxReorgDepth)
	}
}

func TestDeterministic(t *testing.T) {
	for _, rule := range Rules() {
		t.Run(rule.String(), func(t *testing.T) {
			cfg := forky(rule)
			cfg.Bins = 10
			a, err := Run(cfg, 3)
			if err != nil {
				t.Fatal(err)
			}
			b, err := Run(cfg, 3)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(a, b) {
				t.Fatalf("same seed, different results:\n%+v\n%+v", a, b)
			}
			c, err := Run(cfg, 4)
			if err != nil {
				t.Fatal(err)
			}
			if reflect.DeepEqual(a, c) {
				t.Fatalf("runs 3 and 4 gave the same result %+v", a)
			}
		})
	}
}

// TestSameSchedule checks that the rules see the same blocks found
// before Duration: the network and the schedule depend on the seed only.
func TestSameSchedule(t *testing.T) {
	var found [][]time.Duration
	for _, rule := range Rules() {
		cfg := forky(rule)
		var rp *realParams
		if rule == Heaviest {
			rp = newRealParams()
		}
		s, err := newSimulation(&cfg, 0, rp)
		if err != nil {
			t.Fatal(err)
		}
		if err := s.run(); err != nil {
			t.Fatal(err)
		}
		var times []time.Duration
		for _, b := range s.blocks[1:] {
			if b.found < cfg.Duration {
				times = append(times, b.found)
			}
		}
		found = append(found, times)
	}
	if len(found[0]) == 0 || !reflect.DeepEqual(found[0], found[1]) || !reflect.DeepEqual(found[0], found[2]) {
		t.Fatalf("blocks found per rule: %d, %d, %d", len(found[0]), len(found[1]), len(found[2]))
	}
}

// TestHeaviestEndsOnLongest checks the wiring of the real nodes: at the
// end every node's chain/node tip is the simulator's, and, all blocks
// having the same work, one of the highest blocks.
func TestHeaviestEndsOnLongest(t *testing.T) {
	cfg := forky(Heaviest)
	for run := range 5 {
		s, err := newSimulation(&cfg, run, newRealParams())
		if err != nil {
			t.Fatal(err)
		}
		if err := s.run(); err != nil {
			t.Fatal(err)
		}
		var top int32
		for _, b := range s.blocks {
			top = max(top, b.height)
		}
		for i, n := range s.nodes {
			if got, want := s.real.nodes[i].Tip().Hash, s.real.blocks[n.tip].Hash(); got != want {
				t.Fatalf("run %d: node %d's chain/node tip %v, simulator tip %v", run, i, got, want)
			}
			if h := s.blocks[n.tip].height; h != top {
				t.Fatalf("run %d: node %d ends at height %d of %d", run, i, h, top)
			}
		}
	}
}

// TestFloodingComplete checks that at the end every node knows every
// block and holds none, also when blocks overtook their parents.
func TestFloodingComplete(t *testing.T) {
	held := 0
	for _, rule := range Rules() {
		cfg := forky(rule)
		var rp *realParams
		if rule == Heaviest {
			rp = newRealParams()
		}
		for run := range 3 {
			s, err := newSimulation(&cfg, run, rp)
			if err != nil {
				t.Fatal(err)
			}
			if err := s.run(); err != nil {
				t.Fatal(err)
			}
			for i, n := range s.nodes {
				if n.held != nil {
					held++
				}
				if len(n.held) != 0 {
					t.Fatalf("%v run %d: node %d still holds blocks for %d parents", rule, run, i, len(n.held))
				}
				for id, k := range n.known {
					if !k {
						t.Fatalf("%v run %d: node %d never learned block %d", rule, run, i, id)
					}
				}
			}
		}
	}
	if held == 0 {
		t.Fatal("no block ever arrived before its parent: the held path went untested")
	}
}

func TestSingleNode(t *testing.T) {
	for _, rule := range Rules() {
		cfg := forky(rule)
		cfg.Nodes, cfg.Bins = 1, 4
		r, err := Run(cfg, 0)
		if err != nil {
			t.Fatal(err)
		}
		if !r.Converged || r.AgreeTime != 0 || r.Stale != 0 || r.TipFlips != 0 || r.Blocks == 0 {
			t.Errorf("%v: %+v", rule, r)
		}
		for i, f := range r.Majority {
			if math.Abs(f-1) > 1e-9 {
				t.Errorf("%v: majority %v in bin %d", rule, f, i)
			}
		}
	}
}

func TestMajority(t *testing.T) {
	cfg := forky(KeepFirst)
	cfg.Bins = 20
	rep := simulate(t, cfg, 4)
	if len(rep.Majority) != cfg.Bins {
		t.Fatalf("%d bins, want %d", len(rep.Majority), cfg.Bins)
	}
	for i, f := range rep.Majority {
		if f <= 0 || f > 1+1e-9 {
			t.Fatalf("majority %v in bin %d", f, i)
		}
	}
	// Keep-first splits for good: the last bin has fewer nodes on the
	// majority tip than the first.
	if rep.Majority[cfg.Bins-1] >= rep.Majority[0] {
		t.Fatalf("majority %v", rep.Majority)
	}
}

func TestShares(t *testing.T) {
	// All hash power at node 0: it never competes with itself, so no
	// rule ever forks.
	for _, rule := range Rules() {
		cfg := forky(rule)
		cfg.Shares = make([]float64, cfg.Nodes)
		cfg.Shares[0] = 1
		rep := simulate(t, cfg, 3)
		if rep.ConvergedRuns != 3 || rep.StaleRate != 0 || rep.TipFlips != 0 {
			t.Errorf("%v: %+v", rule, rep)
		}
	}
}

// TestHeldUntilParent checks that a block arriving before its parent
// waits for it, then is learned and forwarded.
func TestHeldUntilParent(t *testing.T) {
	s := &simulation{cfg: &Config{Rule: TakeLatest, Nodes: 2}}
	s.blocks = []simBlock{{parent: -1}, {parent: 0, height: 1}, {parent: 1, height: 2}}
	s.tipCount = []int32{2, 0, 0}
	s.nodes = make([]simNode, 2)
	for i := range s.nodes {
		s.nodes[i].known = make([]bool, 3)
		s.nodes[i].known[genesisID] = true
	}
	s.nodes[1].peers = []peer{{to: 0, latency: time.Second}}
	if err := s.arrive(1, 2, 0); err != nil {
		t.Fatal(err)
	}
	if s.nodes[1].known[2] || s.nodes[1].tip != genesisID || s.queue.Len() != 0 {
		t.Fatalf("block 2 learned before its parent: tip %d, %d messages", s.nodes[1].tip, s.queue.Len())
	}
	if err := s.arrive(1, 1, 0); err != nil {
		t.Fatal(err)
	}
	if !s.nodes[1].known[1] || !s.nodes[1].known[2] || s.nodes[1].tip != 2 {
		t.Fatalf("after the parent: known %v, tip %d", s.nodes[1].known, s.nodes[1].tip)
	}
	// Node 1 has one peer, node 0, which sent both blocks: nothing goes back.
	if s.queue.Len() != 0 {
		t.Fatalf("%d messages sent back to the sender", s.queue.Len())
	}
}

func TestValidate(t *testing.T) {
	ok := forky(Heaviest)
	tests := []struct {
		name   string
		modify func(*Config)
	}{
		{"no rule", func(c *Config) { c.Rule = 0 }},
		{"no nodes", func(c *Config) { c.Nodes = 0 }},
		{"too many nodes", func(c *Config) { c.Nodes = MaxNodes + 1 }},
		{"negative latency", func(c *Config) { c.Latency = -1 }},
		{"huge latency", func(c *Config) { c.Latency = MaxSpan + 1 }},
		{"huge interval", func(c *Config) { c.BlockInterval = MaxSpan + 1 }},
		{"huge duration", func(c *Config) { c.Duration = MaxSpan + 1 }},
		{"no interval", func(c *Config) { c.BlockInterval = 0 }},
		{"no duration", func(c *Config) { c.Duration = 0 }},
		{"shares count", func(c *Config) { c.Shares = []float64{1} }},
		{"negative share", func(c *Config) { c.Shares = make([]float64, c.Nodes); c.Shares[0] = -1 }},
		{"zero shares", func(c *Config) { c.Shares = make([]float64, c.Nodes) }},
		{"negative bins", func(c *Config) { c.Bins = -1 }},
		{"too many bins", func(c *Config) { c.Duration, c.Bins = 10, 11 }},
	}
	if err := ok.Validate(); err != nil {
		t.Fatal(err)
	}
	for _, tt := range tests {
		cfg := forky(Heaviest)
		tt.modify(&cfg)
		if err := cfg.Validate(); err == nil {
			t.Errorf("%s: no error", tt.name)
		}
		if _, err := Run(cfg, 0); err == nil {
			t.Errorf("%s: Run: no error", tt.name)
		}
	}
	if _, err := Simulate(context.Background(), ok, 0); err == nil {
		t.Error("Simulate with 0 runs: no error")
	}
}

func TestSimulateCanceled(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := Simulate(ctx, forky(KeepFirst), 2); err != context.Canceled {
		t.Fatalf("got %v, want context.Canceled", err)
	}
}

func TestParseRule(t *testing.T) {
	for _, r := range Rules() {
		if got, err := ParseRule(r.String()); err != nil || got != r {
			t.Errorf("ParseRule(%q) = %v, %v", r, got, err)
		}
	}
	if _, err := ParseRule("longest"); err == nil {
		t.Error("ParseRule(longest): no error")
	}
}
