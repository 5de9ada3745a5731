package cli

import (
	"errors"
	"fmt"
	"strings"
	"testing"
)

func TestReport(t *testing.T) {
	for _, c := range []struct {
		err    error
		status int
		out    string
	}{
		{nil, 0, ""},
		{errors.New("disk full"), 1, "tool: disk full\n"},
		{Usagef("bad --x %d", 3), 2, "tool: bad --x 3\n"},
		{fmt.Errorf("parsing: %w", Usage(errors.New("no"))), 2, "tool: parsing: no\n"},
	} {
		var b strings.Builder
		if got := Report(&b, "tool", c.err); got != c.status || b.String() != c.out {
			t.Errorf("Report(%v) = %d %q, want %d %q", c.err, got, b.String(), c.status, c.out)
		}
	}
	inner := errors.New("inner")
	if !errors.Is(Usage(inner), inner) {
		t.Error("a usage error does not unwrap to its cause")
	}
}
