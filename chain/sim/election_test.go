package sim

import (
	"context"
	"testing"
)

func TestSimulateElection(t *testing.T) {
	cfg := ElectionConfig{Validators: 20, Slots: 100_000, Seed: 4}
	rep, err := SimulateElection(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	// Fixed seed: a correct election fails p ≥ 1e-3 with probability
	// 0.1% over seeds; for this seed the result never changes.
	if rep.Slots != cfg.Slots || rep.ChiSquareP < 1e-3 || rep.MaxShareError > 0.01 || rep.MaxShareError <= 0 {
		t.Fatalf("report %+v", rep)
	}
	again, _ := SimulateElection(context.Background(), cfg)
	if again != rep {
		t.Fatal("not deterministic")
	}
	one, err := SimulateElection(context.Background(), ElectionConfig{Validators: 1, Slots: 10})
	if err != nil || one.MaxShareError != 0 || one.ChiSquareP != 1 {
		t.Fatalf("one validator: %+v, %v", one, err)
	}
	for _, bad := range []ElectionConfig{{Validators: 0, Slots: 1}, {Validators: 1}, {Validators: MaxElectionValidators + 1, Slots: 1}} {
		if _, err := SimulateElection(context.Background(), bad); err == nil {
			t.Fatalf("%+v accepted", bad)
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := SimulateElection(ctx, cfg); err == nil {
		t.Fatal("canceled run succeeded")
	}
}
