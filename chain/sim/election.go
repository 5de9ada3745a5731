package sim

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"math"
	"math/rand/v2"

	"github.com/powmine/powmine/chain"
	"github.com/powmine/powmine/chain/pos"
	"github.com/powmine/powmine/internal/stats"
)

// Limits of ElectionConfig.
const (
	MaxElectionValidators = 1_000_000
	MaxElectionSlots      = 1_000_000_000
)

// ElectionConfig describes one run of the proposer election alone.
type ElectionConfig struct {
	// Validators is the number of validators, 1 to MaxElectionValidators;
	// each gets a stake drawn uniformly from 1 to 1,000,000.
	Validators int

	// Slots is the number of slots drawn, 1 to MaxElectionSlots.
	Slots uint64

	// Seed fixes the stakes and the beacon value every slot is drawn from.
	Seed uint64
}

// Validate reports the first field out of range.
func (c ElectionConfig) Validate() error {
	if c.Validators < 1 || c.Validators > MaxElectionValidators {
		return fmt.Errorf("sim: %d validators, want 1 to %d", c.Validators, MaxElectionValidators)
	}
	if c.Slots < 1 || c.Slots > MaxElectionSlots {
		return fmt.Errorf("sim: %d slots, want 1 to %d", c.Slots, MaxElectionSlots)
	}
	return nil
}

// ElectionReport sums up an election run. Its JSON form has exactly the
// fields slots, max_share_error and chi_square_p.
type ElectionReport struct {
	Slots uint64 `json:"slots"`

	// MaxShareError is the largest absolute difference, over the
	// validators, between a validator's share of the proposals and its
	// share of the stake.
	MaxShareError float64 `json:"max_share_error"`

	// ChiSquareP is the p-value of Pearson's chi-square test of the
	// proposal counts against the stakes, with Validators−1 degrees of
	// freedom (1 for a single validator, which always proposes). Under a
	// correct election it is uniform on [0, 1].
	ChiSquareP float64 `json:"chi_square_p"`

	// ChiSquare is the test's statistic.
	ChiSquare float64 `json:"-"`
}

// SimulateElection draws the proposers of cfg.Slots slots with the real
// chain/pos Election, over cfg.Validators validators of random stakes,
// from one beacon value (the SHA-256 of the seed: the beacon's own mixing
// is chain/pos's to test), and compares the proposal counts with the
// stakes. It checks ctx every 2¹⁶ slots.
func SimulateElection(ctx context.Context, cfg ElectionConfig) (ElectionReport, error) {
	if err := cfg.Validate(); err != nil {
		return ElectionReport{}, err
	}
	rng := rand.New(rand.NewPCG(cfg.Seed, 0xe1ec7))
	stakes := make([]uint64, cfg.Validators)
	var total uint64
	for i := range stakes {
		stakes[i] = 1 + rng.Uint64N(1_000_000)
		total += stakes[i]
	}
	e, err := pos.NewElection(stakes)
	if err != nil {
		return ElectionReport{}, err
	}
	beacon := chain.Hash(sha256.Sum256(binary.LittleEndian.AppendUint64([]byte("sim election beacon"), cfg.Seed)))
	counts := make([]uint64, len(stakes))
	for slot := range cfg.Slots {
		if slot&0xffff == 0 {
			if err := ctx.Err(); err != nil {
				return ElectionReport{}, err
			}
		}
		counts[e.Proposer(beacon, slot)]++
	}
	rep := ElectionReport{Slots: cfg.Slots}
	for i := range stakes {
		d := math.Abs(float64(counts[i])/float64(cfg.Slots) - float64(stakes[i])/float64(total))
		rep.MaxShareError = max(rep.MaxShareError, d)
	}
	var df int
	rep.ChiSquare, df = stats.ChiSquare(counts, stakes)
	rep.ChiSquareP = stats.ChiSquareP(rep.ChiSquare, df)
	return rep, nil
}
