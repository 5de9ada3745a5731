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

func TestElectionUsageErrors(t *testing.T) {
	for name, args := range map[string][]string{
		"unknown flag":    {"election", "--bogus"},
		"no validators":   {"election", "--validators", "0"},
		"too many":        {"election", "--validators", "1000001"},
		"no slots":        {"election", "--slots", "0"},
		"negative slots":  {"election", "--slots", "-5"},
		"seed not number": {"election", "--seed", "x"},
		"extra argument":  {"election", "now"},
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

func TestElectionJSON(t *testing.T) {
	args := []string{"election", "--validators", "30", "--slots", "100000", "--seed", "7", "--json"}
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
	if want := []string{"chi_square_p", "max_share_error", "slots"}; !reflect.DeepEqual(keys, want) {
		t.Fatalf("fields %v, want %v", keys, want)
	}
	// Fixed seed, so deterministic; over random seeds a correct election
	// gives p < 1e-3 one time in a thousand.
	if obj["slots"] != 100000.0 || obj["chi_square_p"].(float64) < 1e-3 || obj["max_share_error"].(float64) > 0.01 {
		t.Fatalf("report %s", out)
	}
	again, _ := runCmd(t, args...)
	if again != out {
		t.Fatalf("not deterministic:\n%s%s", out, again)
	}
}

func TestElectionText(t *testing.T) {
	out, err := runCmd(t, "election", "--validators", "5", "--slots", "1000")
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"# 5 validators, 1000 slots, seed 1", "slots 1000", "max_share_error ", "chi_square_p "} {
		if !strings.Contains(out, want) {
			t.Errorf("no %q in:\n%s", want, out)
		}
	}
	if help, err := runCmd(t, "election", "--help"); err != nil || !strings.Contains(help, "-validators") {
		t.Fatalf("help: %v %q", err, help)
	}
}
