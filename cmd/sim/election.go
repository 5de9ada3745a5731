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

// runElection is the election command; args follow its name.
func runElection(ctx context.Context, args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("sim election", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	validators := fs.Int("validators", 100, "number of validators, each with a random stake from 1 to 1,000,000")
	slots := fs.Uint64("slots", 100_000, "number of slots drawn")
	seed := fs.Uint64("seed", 1, "random seed of the stakes and the beacon")
	asJSON := fs.Bool("json", false, "print one JSON object: slots, max_share_error, chi_square_p")
	if ok, err := parseFlags(fs, args, stdout); !ok {
		return err
	}
	cfg := sim.ElectionConfig{Validators: *validators, Slots: *slots, Seed: *seed}
	if err := cfg.Validate(); err != nil {
		return cli.Usage(err)
	}
	rep, err := sim.SimulateElection(ctx, cfg)
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
	fmt.Fprintf(stdout, "# %d validators, %d slots, seed %d\n", cfg.Validators, cfg.Slots, cfg.Seed)
	_, err = fmt.Fprintf(stdout, "slots %d\nmax_share_error %.6f\nchi_square %.2f (%d degrees of freedom)\nchi_square_p %.4f\n",
		rep.Slots, rep.MaxShareError, rep.ChiSquare, cfg.Validators-1, rep.ChiSquareP)
	return err
}
