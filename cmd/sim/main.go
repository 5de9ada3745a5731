// Command sim runs the simulations of package chain/sim.
//
//	sim convergence [--rule heaviest|keep-first|take-latest|all] [--nodes N]
//	    [--latency 50ms] [--block-interval 5s] [--duration 1h] [--runs R]
//	    [--seed S] [--shares W1,W2,...] [--json] [--plot FILE.svg]
//
// convergence simulates N nodes on a random connected network, R times,
// under one fork-choice rule (or each of the three with --rule all), and
// prints, per rule: converged_runs of runs (all nodes on one tip at the
// end), agree_time_mean_s and agree_time_p99_s (from the last block found
// before the duration until all nodes agree, over the converged runs),
// tip_flips (tip changes that are not extensions, per node per hour),
// stale_rate (the share of blocks off the final main chain) and
// max_reorg_depth. --json prints those as one JSON object, for one rule.
// --shares gives each node's share of the hash power (default: equal).
// --plot also simulates the three rules and draws, as SVG, the fraction
// of nodes on the majority tip over time, averaged over the runs.
//
//	sim election [--validators N] [--slots S] [--seed S] [--json]
//
// election draws the proposers of S slots among N validators of random
// stakes with the real chain/pos election and prints slots,
// max_share_error (the largest absolute difference between a validator's
// share of proposals and its share of stake) and chi_square_p (the
// p-value of a chi-square test of the proposal counts against the
// stakes); --json prints exactly those three as one JSON object.
//
//	sim finality [--mode hybrid|pos] [--validators N] [--offline F]
//	    [--byzantine F] [--epochs E] [--epoch-length L] [--offline-epochs A:B]
//	    [--partition A:B] [--attack mixed|double] [--seed S] [--json]
//
// finality runs Casper FFG with the real chain/pos code over N simulated
// validators of random stakes, a share F of the stake offline (during
// epochs [A, B) with --offline-epochs) and a share byzantine, and prints
// finalized_epochs (the lowest finalized epoch over the honest nodes at
// the end; E when finality never stalled), stalled_epochs,
// conflicting_finalized, slashable_offences, slashed and
// proposer_share_error (pos mode; null in hybrid mode, where miners
// propose); --json prints exactly finalized_epochs, conflicting_finalized,
// slashable_offences, slashed and proposer_share_error as one JSON object.
//
// Bad flags exit with status 2, other errors with status 1.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/powmine/powmine/chain/sim"
	"github.com/powmine/powmine/internal/cli"
)

func main() {
	cli.Main("sim", func(ctx context.Context) error { return run(ctx, os.Args[1:], os.Stdout, os.Stderr) })
}

// plotBins is the number of time bins of the --plot curves.
const plotBins = 120

// run is the whole program; main only maps its error to an exit status.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) > 0 {
		switch args[0] {
		case "convergence":
			return runConvergence(ctx, args[1:], stdout, stderr)
		case "election":
			return runElection(ctx, args[1:], stdout)
		case "finality":
			return runFinality(ctx, args[1:], stdout)
		case "-h", "--help", "help":
			fmt.Fprintln(stdout, "usage: sim convergence|election|finality [flags]; sim COMMAND --help lists them")
			return nil
		}
	}
	return cli.Usagef("want the command convergence, election or finality, as in: sim convergence --rule heaviest")
}

// runConvergence is the convergence command; args follow its name.
func runConvergence(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("sim convergence", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	ruleName := fs.String("rule", "heaviest", "fork-choice rule: heaviest, keep-first, take-latest or all")
	nodes := fs.Int("nodes", 20, "number of nodes")
	latency := fs.Duration("latency", 50*time.Millisecond, "mean one-way link latency")
	interval := fs.Duration("block-interval", 5*time.Second, "mean time between blocks")
	duration := fs.Duration("duration", time.Hour, "simulated mining time per run")
	runs := fs.Int("runs", 10, "number of runs")
	seed := fs.Uint64("seed", 1, "random seed")
	shares := fs.String("shares", "", "comma-separated hash power shares, one per node (default equal)")
	asJSON := fs.Bool("json", false, "print one JSON object (needs a single --rule)")
	plotFile := fs.String("plot", "", "also write an SVG plot of the majority-tip fraction over time to `FILE`")
	if ok, err := parseFlags(fs, args, stdout); !ok {
		return err
	}

	rules := sim.Rules()
	if *ruleName != "all" {
		r, err := sim.ParseRule(*ruleName)
		if err != nil {
			return cli.Usage(err)
		}
		rules = []sim.Rule{r}
	}
	if *asJSON && len(rules) > 1 {
		return cli.Usagef("--json prints one rule's report: choose --rule heaviest, keep-first or take-latest")
	}
	if *runs < 1 {
		return cli.Usagef("--runs %d, want at least 1", *runs)
	}
	cfg := sim.Config{Nodes: *nodes, Latency: *latency, BlockInterval: *interval, Duration: *duration, Seed: *seed}
	if *shares != "" {
		for _, f := range strings.Split(*shares, ",") {
			w, err := strconv.ParseFloat(strings.TrimSpace(f), 64)
			if err != nil {
				return cli.Usagef("--shares: %q is not a number", f)
			}
			cfg.Shares = append(cfg.Shares, w)
		}
	}
	if *plotFile != "" {
		cfg.Bins = plotBins
	}
	cfg.Rule = rules[0]
	if err := cfg.Validate(); err != nil {
		return cli.Usage(err)
	}

	reports := make(map[sim.Rule]sim.Report)
	simulate := func(r sim.Rule) error {
		c := cfg
		c.Rule = r
		rep, err := sim.Simulate(ctx, c, *runs)
		reports[r] = rep
		return err
	}
	for _, r := range rules {
		if err := simulate(r); err != nil {
			return err
		}
	}
	if err := printReports(stdout, cfg, *runs, *asJSON, rules, reports); err != nil {
		return err
	}
	if *plotFile == "" {
		return nil
	}
	for _, r := range sim.Rules() {
		if _, done := reports[r]; !done {
			if err := simulate(r); err != nil {
				return err
			}
		}
	}
	if err := writePlot(*plotFile, cfg, *runs, reports); err != nil {
		return err
	}
	fmt.Fprintf(stderr, "sim: wrote %s\n", *plotFile)
	return nil
}

// printReports prints the reports of rules: one JSON object (for one
// rule), or a line naming the parameters and a table.
func printReports(stdout io.Writer, cfg sim.Config, runs int, asJSON bool, rules []sim.Rule, reports map[sim.Rule]sim.Report) error {
	if asJSON {
		out, err := json.Marshal(reports[rules[0]])
		if err != nil {
			return err
		}
		_, err = fmt.Fprintf(stdout, "%s\n", out)
		return err
	}
	fmt.Fprintf(stdout, "# %d nodes, latency %v, block interval %v, duration %v, %d runs, seed %d\n",
		cfg.Nodes, cfg.Latency, cfg.BlockInterval, cfg.Duration, runs, cfg.Seed)
	tw := tabwriter.NewWriter(stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "rule\tconverged_runs\truns\tagree_time_mean_s\tagree_time_p99_s\ttip_flips\tstale_rate\tmax_reorg_depth")
	for _, r := range rules {
		rep := reports[r]
		fmt.Fprintf(tw, "%v\t%d\t%d\t%s\t%s\t%.2f\t%.4f\t%d\n", r, rep.ConvergedRuns, rep.Runs,
			seconds(rep.AgreeTimeMean), seconds(rep.AgreeTimeP99), rep.TipFlips, rep.StaleRate, rep.MaxReorgDepth)
	}
	return tw.Flush()
}

// seconds formats an optional number of seconds, "-" when absent.
func seconds(s *float64) string {
	if s == nil {
		return "-"
	}
	return fmt.Sprintf("%.3f", *s)
}

// parseFlags parses a command's flags, which take no arguments after
// them. It reports false when the command must stop: after printing the
// flags for -h (a nil error), or with a usage error.
func parseFlags(fs *flag.FlagSet, args []string, stdout io.Writer) (bool, error) {
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			fs.SetOutput(stdout)
			fs.PrintDefaults()
			return false, nil
		}
		return false, cli.Usage(err)
	}
	if fs.NArg() > 0 {
		return false, cli.Usagef("unexpected argument %q", fs.Arg(0))
	}
	return true, nil
}
