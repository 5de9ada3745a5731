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

// The real mainnet data lives in testdata/ (see testdata/README.md for
// where each file comes from). A missing file fails the test: it is never
// skipped.
const (
	runFile        = "mainnet-headers-822528-830592.hex"
	boundariesFile = "mainnet-retarget-boundaries.csv"

	runFirstHeight = 822528
	runLen         = 8065
)

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

// eachLine calls fn for every line of the named data file, numbering from 1.
func eachLine(name string, fn func(line int, text string) error) error {
	f, err := os.Open(filepath.Join("testdata", name))
	if err != nil {
		return err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for line := 1; sc.Scan(); line++ {
		if err := fn(line, strings.TrimSpace(sc.Text())); err != nil {
			return fmt.Errorf("%s:%d: %w", name, line, err)
		}
	}
	return sc.Err()
}

var (
	loadRunOnce = sync.OnceValues(func() (*runData, error) {
		d := new(runData)
		err := eachLine(runFile, func(_ int, text string) error {
			raw, err := hex.DecodeString(text)
			if err != nil {
				return err
			}
			var h Header
			if err := h.UnmarshalBinary(raw); err != nil {
				return err
			}
			d.raw = append(d.raw, raw)
			d.headers = append(d.headers, h)
			return nil
		})
		if err != nil {
			return nil, err
		}
		if len(d.headers) != runLen {
			return nil, fmt.Errorf("%s: %d headers, want %d", runFile, len(d.headers), runLen)
		}
		return d, nil
	})

	loadBoundariesOnce = sync.OnceValues(func() ([]boundaryRow, error) {
		var rows []boundaryRow
		err := eachLine(boundariesFile, func(line int, text string) error {
			if line == 1 {
				return nil // height,header_hex,chainwork_hex
			}
			fields := strings.Split(text, ",")
			if len(fields) != 3 {
				return fmt.Errorf("%d fields, want 3", len(fields))
			}
			var r boundaryRow
			var err error
			if r.height, err = strconv.ParseInt(fields[0], 10, 64); err != nil {
				return err
			}
			if r.raw, err = hex.DecodeString(fields[1]); err != nil {
				return err
			}
			if err := r.header.UnmarshalBinary(r.raw); err != nil {
				return err
			}
			var ok bool
			if r.chainwork, ok = new(big.Int).SetString(fields[2], 16); !ok || len(fields[2]) != 64 {
				return fmt.Errorf("bad chainwork %q", fields[2])
			}
			rows = append(rows, r)
			return nil
		})
		return rows, err
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
