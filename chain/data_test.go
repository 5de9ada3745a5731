package chain

import (
	"bufio"
	"encoding/hex"
	"fmt"
	"math/big"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
)

// The real mainnet data lives in the shared folder next to the project
// root: ../shared/data from the root, ../../shared/data from chain/. Tests
// walk up from the package directory so that checkouts nested one level
// deeper (git worktrees) find it too; POWMINE_SHARED_DATA overrides the
// search. A missing file fails the test: it is never skipped.
const (
	dataDirEnv     = "POWMINE_SHARED_DATA"
	runFile        = "mainnet-headers-822528-830592.hex"
	boundariesFile = "mainnet-retarget-boundaries.csv"

	runFirstHeight = 822528
	runLen         = 8065
)

func dataPath(name string) (string, error) {
	if dir := os.Getenv(dataDirEnv); dir != "" {
		p := filepath.Join(dir, name)
		if _, err := os.Stat(p); err != nil {
			return "", fmt.Errorf("test data %s not found in %s=%s: %w", name, dataDirEnv, dir, err)
		}
		return p, nil
	}
	start, err := filepath.Abs(".")
	if err != nil {
		return "", err
	}
	for dir := start; ; dir = filepath.Dir(dir) {
		p := filepath.Join(dir, "shared", "data", name)
		if _, err := os.Stat(p); err == nil {
			return p, nil
		}
		if filepath.Dir(dir) == dir {
			break
		}
	}
	return "", fmt.Errorf("test data %s not found: expected shared/data/%s in a directory above %s "+
		"(../../shared/data from chain/); set %s to the data directory", name, name, start, dataDirEnv)
}

// runData is the consecutive mainnet run, heights 822528 to 830592.
type runData struct {
	raw     [][]byte
	headers []Header
}

// boundaryRow is one line of the retarget-boundary file.
type boundaryRow struct {
	height    int64
	raw       []byte
	header    Header
	chainwork *big.Int
}

var (
	loadRunOnce = sync.OnceValues(func() (*runData, error) {
		path, err := dataPath(runFile)
		if err != nil {
			return nil, err
		}
		f, err := os.Open(path)
		if err != nil {
			return nil, err
		}
		defer f.Close()
		d := new(runData)
		sc := bufio.NewScanner(f)
		for line := 1; sc.Scan(); line++ {
			raw, err := hex.DecodeString(strings.TrimSpace(sc.Text()))
			if err != nil {
				return nil, fmt.Errorf("%s:%d: %w", runFile, line, err)
			}
			var h Header
			if err := h.UnmarshalBinary(raw); err != nil {
				return nil, fmt.Errorf("%s:%d: %w", runFile, line, err)
			}
			d.raw = append(d.raw, raw)
			d.headers = append(d.headers, h)
		}
		if err := sc.Err(); err != nil {
			return nil, err
		}
		if len(d.headers) != runLen {
			return nil, fmt.Errorf("%s: %d headers, want %d", runFile, len(d.headers), runLen)
		}
		return d, nil
	})

	loadBoundariesOnce = sync.OnceValues(func() ([]boundaryRow, error) {
		path, err := dataPath(boundariesFile)
		if err != nil {
			return nil, err
		}
		f, err := os.Open(path)
		if err != nil {
			return nil, err
		}
		defer f.Close()
		var rows []boundaryRow
		sc := bufio.NewScanner(f)
		for line := 1; sc.Scan(); line++ {
			if line == 1 {
				continue // height,header_hex,chainwork_hex
			}
			fields := strings.Split(strings.TrimSpace(sc.Text()), ",")
			if len(fields) != 3 {
				return nil, fmt.Errorf("%s:%d: %d fields, want 3", boundariesFile, line, len(fields))
			}
			var r boundaryRow
			if r.height, err = strconv.ParseInt(fields[0], 10, 64); err != nil {
				return nil, fmt.Errorf("%s:%d: %w", boundariesFile, line, err)
			}
			if r.raw, err = hex.DecodeString(fields[1]); err != nil {
				return nil, fmt.Errorf("%s:%d: %w", boundariesFile, line, err)
			}
			if err := r.header.UnmarshalBinary(r.raw); err != nil {
				return nil, fmt.Errorf("%s:%d: %w", boundariesFile, line, err)
			}
			var ok bool
			if r.chainwork, ok = new(big.Int).SetString(fields[2], 16); !ok || len(fields[2]) != 64 {
				return nil, fmt.Errorf("%s:%d: bad chainwork %q", boundariesFile, line, fields[2])
			}
			rows = append(rows, r)
		}
		if err := sc.Err(); err != nil {
			return nil, err
		}
		return rows, nil
	})
)

func loadRun(tb testing.TB) *runData {
	tb.Helper()
	d, err := loadRunOnce()
	if err != nil {
		tb.Fatalf("loading real mainnet headers: %v", err)
	}
	return d
}

func loadBoundaries(tb testing.TB) []boundaryRow {
	tb.Helper()
	rows, err := loadBoundariesOnce()
	if err != nil {
		tb.Fatalf("loading retarget boundaries: %v", err)
	}
	return rows
}

// contextAt builds the HeaderContext for header i of the run from the run
// itself. It needs i >= MedianTimeBlocks and, at a retarget boundary,
// i >= RetargetInterval.
func (d *runData) contextAt(i int, prevHash Hash) HeaderContext {
	prev := &d.headers[i-1]
	var times [11]int64
	for j := range times {
		times[j] = int64(d.headers[i-len(times)+j].Timestamp)
	}
	c := HeaderContext{
		PrevHash:   prevHash,
		PrevHeight: int64(runFirstHeight + i - 1),
		PrevBits:   prev.Bits,
		PrevTime:   int64(prev.Timestamp),
		MedianTime: MedianTimePast(times[:]),
	}
	if start := i - int(MainNetParams.RetargetInterval); start >= 0 {
		c.PeriodStartTime = int64(d.headers[start].Timestamp)
	}
	return c
}
