package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/powmine/powmine/internal/cli"
)

// small keeps the command's runs short.
var small = []string{"--nodes", "5", "--duration", "5m", "--runs", "2", "--latency", "500ms"}

func runCmd(t *testing.T, args ...string) (string, error) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	err := run(context.Background(), args, &stdout, &stderr)
	return stdout.String(), err
}

func TestUsageErrors(t *testing.T) {
	tests := []struct {
		name string
		args []string
	}{
		{"no command", nil},
		{"unknown command", []string{"diverge"}},
		{"unknown flag", []string{"convergence", "--bogus"}},
		{"unknown rule", []string{"convergence", "--rule", "longest"}},
		{"json for all", []string{"convergence", "--rule", "all", "--json"}},
		{"no nodes", []string{"convergence", "--nodes", "0"}},
		{"no runs", []string{"convergence", "--runs", "0"}},
		{"bad latency", []string{"convergence", "--latency", "fast"}},
		{"negative latency", []string{"convergence", "--latency", "-1s"}},
		{"no interval", []string{"convergence", "--block-interval", "0s"}},
		{"no duration", []string{"convergence", "--duration", "0s"}},
		{"shares count", []string{"convergence", "--nodes", "3", "--shares", "1,2"}},
		{"shares not numbers", []string{"convergence", "--nodes", "2", "--shares", "1,x"}},
		{"extra argument", []string{"convergence", "now"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := runCmd(t, tt.args...)
			var ue cli.UsageError
			if !errors.As(err, &ue) {
				t.Fatalf("got %v, want a usage error", err)
			}
			if strings.Contains(err.Error(), "\n") {
				t.Fatalf("error of more than one line: %q", err)
			}
		})
	}
}

func TestJSONFields(t *testing.T) {
	for _, rule := range []string{"heaviest", "keep-first", "take-latest"} {
		out, err := runCmd(t, append([]string{"convergence", "--rule", rule, "--json"}, small...)...)
		if err != nil {
			t.Fatal(err)
		}
		var obj map[string]any
		if err := json.Unmarshal([]byte(out), &obj); err != nil {
			t.Fatalf("%s: %v in %q", rule, err, out)
		}
		var keys []string
		for k := range obj {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		want := []string{"agree_time_mean_s", "agree_time_p99_s", "converged_runs", "max_reorg_depth", "runs",
			"stale_rate", "tip_flips"}
		if !reflect.DeepEqual(keys, want) {
			t.Fatalf("%s: fields %v, want %v", rule, keys, want)
		}
		if obj["runs"] != 2.0 {
			t.Fatalf("%s: runs %v, want 2", rule, obj["runs"])
		}
		if rule == "heaviest" && obj["converged_runs"] != 2.0 {
			t.Fatalf("heaviest converged in %v of 2 runs", obj["converged_runs"])
		}
	}
}

func TestTableAndPlot(t *testing.T) {
	file := filepath.Join(t.TempDir(), "convergence.svg")
	out, err := runCmd(t, append([]string{"convergence", "--rule", "keep-first", "--plot", file, "--shares", "1,1,1,1,2"}, small...)...)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 3 || !strings.HasPrefix(lines[1], "rule ") || !strings.HasPrefix(lines[2], "keep-first ") {
		t.Fatalf("output:\n%s", out)
	}
	svg, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"<svg", "heaviest", "keep-first", "take-latest"} {
		if !bytes.Contains(svg, []byte(want)) {
			t.Errorf("plot has no %q", want)
		}
	}
}

func TestJSONAndPlot(t *testing.T) {
	file := filepath.Join(t.TempDir(), "convergence.svg")
	out, err := runCmd(t, append([]string{"convergence", "--json", "--plot", file}, small...)...)
	if err != nil {
		t.Fatal(err)
	}
	if !json.Valid([]byte(out)) {
		t.Fatalf("not JSON: %q", out)
	}
	if _, err := os.Stat(file); err != nil {
		t.Fatal(err)
	}
}

func TestAllRules(t *testing.T) {
	out, err := runCmd(t, append([]string{"convergence", "--rule", "all"}, small...)...)
	if err != nil {
		t.Fatal(err)
	}
	for _, rule := range []string{"\nheaviest ", "\nkeep-first ", "\ntake-latest "} {
		if !strings.Contains(out, rule) {
			t.Errorf("no row %q in:\n%s", rule, out)
		}
	}
}

func TestCanceled(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	var stdout, stderr bytes.Buffer
	if err := run(ctx, append([]string{"convergence"}, small...), &stdout, &stderr); !errors.Is(err, context.Canceled) {
		t.Fatalf("got %v, want context.Canceled", err)
	}
}

func TestHelp(t *testing.T) {
	out, err := runCmd(t, "convergence", "--help")
	if err != nil || !strings.Contains(out, "-block-interval") {
		t.Fatalf("got %v and:\n%s", err, out)
	}
}
