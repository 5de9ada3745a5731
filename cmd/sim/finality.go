package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"

	"github.com/powmine/powmine/chain/sim"
	"github.com/powmine/powmine/internal/cli"
)

// runFinality is the finality command; args follow its name.
func runFinality(ctx context.Context, args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("sim finality", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	modeName := fs.String("mode", "hybrid", "hybrid (miners propose, validators finalize) or pos (elected proposers)")
	validators := fs.Int("validators", 100, "number of validators, each with a random stake from 1 to 1,000")
	offline := fs.Float64("offline", 0, "share of the stake offline")
	byzantine := fs.Float64("byzantine", 0, "share of the stake byzantine")
	epochs := fs.Int("epochs", 20, "number of epochs")
	epochLength := fs.Uint64("epoch-length", sim.DefaultEpochLength, "blocks (hybrid) or slots (pos) per epoch")
	offlineEpochs := fs.String("offline-epochs", "", "`A:B`: the offline stake is offline during epochs [A, B) only (default: the whole run)")
	partition := fs.String("partition", "", "`A:B`: split the honest nodes in two halves during epochs [A, B)")
	attack := fs.String("attack", "mixed", "byzantine behaviour: mixed (double, surround voters, withholders; equivocating proposers) or double")
	seed := fs.Uint64("seed", 1, "random seed")
	asJSON := fs.Bool("json", false, "print one JSON object: finalized_epochs, conflicting_finalized, slashable_offences, slashed, proposer_share_error")
	if ok, err := parseFlags(fs, args, stdout); !ok {
		return err
	}
	mode, err := sim.ParseMode(*modeName)
	if err != nil {
		return cli.Usage(err)
	}
	cfg := sim.FinalityConfig{Mode: mode, Validators: *validators, Offline: *offline, Byzantine: *byzantine,
		Epochs: *epochs, EpochLength: *epochLength, Seed: *seed}
	if *epochLength == 0 {
		return cli.Usagef("--epoch-length 0, want at least 1")
	}
	if cfg.OfflineFrom, cfg.OfflineTo, err = epochRange("--offline-epochs", *offlineEpochs); err != nil {
		return err
	}
	if cfg.PartitionFrom, cfg.PartitionTo, err = epochRange("--partition", *partition); err != nil {
		return err
	}
	switch *attack {
	case "mixed":
		cfg.Attack = sim.AttackMixed
	case "double":
		cfg.Attack = sim.AttackDouble
	default:
		return cli.Usagef("--attack %q, want mixed or double", *attack)
	}
	if err := cfg.Validate(); err != nil {
		return cli.Usage(err)
	}
	rep, err := sim.SimulateFinality(ctx, cfg)
	if err != nil {
		return err
	}
	if *asJSON {
		out, err := json.Marshal(rep)
		if err != nil {
			return err
		}
		_, err = fmt.Fprintf(stdout, "%s\n", out)
		return err
	}
	fmt.Fprintf(stdout, "# %v, %d validators (byzantine stake %.3f, offline %.3f), %d epochs of %d, seed %d\n",
		mode, cfg.Validators, rep.ByzantineStake, rep.OfflineStake, cfg.Epochs, *epochLength, cfg.Seed)
	share := "- (miners propose)"
	if rep.ProposerShareError != nil {
		share = fmt.Sprintf("%.4f", *rep.ProposerShareError)
	}
	stalled := ""
	if rep.StalledEpochs > 0 {
		stalled = " (finality stalled)"
	}
	_, err = fmt.Fprintf(stdout, "finalized_epochs %d\nstalled_epochs %d%s\nconflicting_finalized %d\nslashable_offences %d\nslashed %d (stake %.3f)\nproposer_share_error %s\nblocks %d, equivocations %d, votes %d\n",
		rep.FinalizedEpochs, rep.StalledEpochs, stalled, rep.ConflictingFinalized, rep.SlashableOffences, rep.Slashed,
		rep.SlashedStake, share, rep.Blocks, rep.Equivocations, rep.Votes)
	return err
}

// epochRange parses "A:B" into [A, B); empty gives 0, 0.
func epochRange(flagName, s string) (from, to uint64, err error) {
	if s == "" {
		return 0, 0, nil
	}
	if _, err := fmt.Sscanf(s, "%d:%d", &from, &to); err != nil || to <= from {
		return 0, 0, cli.Usagef("%s %q, want A:B with A < B", flagName, s)
	}
	return from, to, nil
}
