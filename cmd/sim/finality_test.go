package main

import (
	"encoding/json"
	"errors"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/powmine/powmine/internal/cli"
)

func TestFinalityUsageErrors(t *testing.T) {
	for name, args := range map[string][]string{
		"unknown flag":        {"finality", "--bogus"},
		"unknown mode":        {"finality", "--mode", "pow"},
		"no validators":       {"finality", "--validators", "0"},
		"too many":            {"finality", "--validators", "1001"},
		"no epochs":           {"finality", "--epochs", "0"},
		"offline not share":   {"finality", "--offline", "2"},
		"byzantine not share": {"finality", "--byzantine", "-0.1"},
		"byzantine not float": {"finality", "--byzantine", "a third"},
		"epoch length 0":      {"finality", "--epoch-length", "0"},
		"bad offline epochs":  {"finality", "--offline-epochs", "4:2"},
		"bad partition":       {"finality", "--partition", "x"},
		"partition too late":  {"finality", "--epochs", "3", "--partition", "1:9"},
		"unknown attack":      {"finality", "--attack", "grind"},
		"extra argument":      {"finality", "now"},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := runCmd(t, args...)
			var ue cli.UsageError
			if !errors.As(err, &ue) {
				t.Fatalf("got %v, want a usage error", err)
			}
		})
	}
}

func TestFinalityJSON(t *testing.T) {
	for _, mode := range []string{"hybrid", "pos"} {
		args := []string{"finality", "--mode", mode, "--validators", "12", "--epochs", "3", "--byzantine", "0.25", "--seed", "3", "--json"}
		out, err := runCmd(t, args...)
		if err != nil {
			t.Fatal(err)
		}
		var obj map[string]any
		if err := json.Unmarshal([]byte(out), &obj); err != nil {
			t.Fatalf("%v in %q", err, out)
		}
		var keys []string
		for k := range obj {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		want := []string{"conflicting_finalized", "finalized_epochs", "proposer_share_error", "slashable_offences", "slashed"}
		if !reflect.DeepEqual(keys, want) {
			t.Fatalf("fields %v, want %v", keys, want)
		}
		if obj["finalized_epochs"] != 3.0 || obj["conflicting_finalized"] != 0.0 || obj["slashed"] != obj["slashable_offences"] {
			t.Fatalf("%s report %s", mode, out)
		}
		if (mode == "hybrid") != (obj["proposer_share_error"] == nil) {
			t.Fatalf("%s proposer_share_error in %s", mode, out)
		}
		if again, _ := runCmd(t, args...); again != out {
			t.Fatalf("not deterministic:\n%s%s", out, again)
		}
	}
}

func TestFinalityText(t *testing.T) {
	out, err := runCmd(t, "finality", "--validators", "6", "--epochs", "3", "--offline", "0.4")
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"# hybrid, 6 validators", "finalized_epochs 0", "stalled_epochs 3 (finality stalled)",
		"conflicting_finalized 0", "proposer_share_error - (miners propose)"} {
		if !strings.Contains(out, want) {
			t.Errorf("no %q in:\n%s", want, out)
		}
	}
	if help, err := runCmd(t, "finality", "--help"); err != nil || !strings.Contains(help, "-byzantine") {
		t.Fatalf("help: %v %q", err, help)
	}
}
