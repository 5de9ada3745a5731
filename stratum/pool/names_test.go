package pool

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/powmine/powmine/internal/jsonrpc"
	"github.com/powmine/powmine/stratum"
)

// TestAuthorizeUserLength: a user name longer than MaxUserLength is
// refused at mining.authorize with a Stratum error and is not tracked;
// one of exactly MaxUserLength bytes is accepted.
func TestAuthorizeUserLength(t *testing.T) {
	tp := newTestPool(t, nil)
	addr := testAddr(20).String()
	c := dial(t, tp.addr)
	c.subscribe()
	long := addr + "." + strings.Repeat("w", MaxUserLength-len(addr))
	if e := c.authorize(long); e == nil || e.Code != stratum.CodeUnauthorized {
		t.Fatalf("authorize of %d bytes: %v, want code 24", len(long), e)
	}
	for _, huge := range []int{4 << 10, 15 << 10} { // up to the line limit
		if e := c.authorize(addr + "." + strings.Repeat("x", huge)); e == nil {
			t.Fatalf("authorize of %d bytes accepted", huge)
		}
	}
	fits := long[:MaxUserLength]
	if e := c.authorize(fits); e != nil {
		t.Fatalf("authorize of %d bytes: %v", len(fits), e)
	}
	if ws := tp.WorkerStats(); len(ws) != 1 || ws[0].Worker != fits {
		t.Fatalf("tracked %+v, want only %s", ws, fits)
	}
}

// TestWorkerIdleExpiry: a worker without an authorize or a share for
// WorkerIdleTimeout is dropped from the statistics.
func TestWorkerIdleExpiry(t *testing.T) {
	clk := newFakeClock()
	tp := newTestPool(t, func(c *Config) { c.Now = clk.now; c.WorkerIdleTimeout = time.Hour })
	addr := testAddr(21)
	c := dial(t, tp.addr)
	c.subscribe()
	for _, w := range []string{"old", "busy"} {
		if e := c.authorize(addr.String() + "." + w); e != nil {
			t.Fatal(e)
		}
	}
	clk.advance(30 * time.Minute)
	tp.stats.accept(addr.String()+".busy", addr, 1)
	clk.advance(45 * time.Minute)
	ws := tp.WorkerStats()
	if len(ws) != 1 || ws[0].Name != "busy" {
		t.Fatalf("tracked %+v, want busy only", ws)
	}
	if n := tp.PoolStats().Workers; n != 1 {
		t.Fatalf("PoolStats().Workers %d, want 1", n)
	}
	clk.advance(time.Hour)
	if n := tp.PoolStats().Workers; n != 0 {
		t.Fatalf("PoolStats().Workers %d after an idle hour, want 0", n)
	}
}

// TestGetPoolWorkersPages: getpoolworkers lists at most MaxRPCWorkers
// workers, in user order, and pages with [count, after].
func TestGetPoolWorkersPages(t *testing.T) {
	const n = 2*MaxRPCWorkers + 500
	tp := newTestPool(t, func(c *Config) { c.MaxTrackedWorkers = n })
	addr := testAddr(22)
	for i := range n {
		tp.stats.authorize(fmt.Sprintf("%s.w%05d", addr, i), addr)
	}
	call := func(params string) ([]WorkerInfo, error) {
		var raw json.RawMessage
		if params != "" {
			raw = json.RawMessage(params)
		}
		r, err := tp.getPoolWorkers(context.Background(), raw)
		if err != nil {
			return nil, err
		}
		return r.([]WorkerInfo), nil
	}
	all, err := call("")
	if err != nil {
		t.Fatal(err)
	}
	if len(all) != MaxRPCWorkers || all[0].Name != "w00000" {
		t.Fatalf("no params: %d workers from %q, want %d from w00000", len(all), all[0].Name, MaxRPCWorkers)
	}
	var seen []string
	after := ""
	for {
		page, err := call(fmt.Sprintf(`[700,%q]`, after))
		if err != nil {
			t.Fatal(err)
		}
		if len(page) > 700 {
			t.Fatalf("page of %d workers, asked 700", len(page))
		}
		for _, w := range page {
			seen = append(seen, w.Name)
		}
		if len(page) < 700 {
			break
		}
		after = page[len(page)-1].Worker
	}
	if len(seen) != n {
		t.Fatalf("pages listed %d workers, want %d", len(seen), n)
	}
	for i, name := range seen {
		if want := fmt.Sprintf("w%05d", i); name != want {
			t.Fatalf("worker %d is %s, want %s", i, name, want)
		}
	}
	for _, bad := range []string{`[0]`, fmt.Sprintf(`[%d]`, MaxRPCWorkers+1), `[-1]`, `["x"]`, `[10,5]`} {
		_, err := call(bad)
		var re *jsonrpc.Error
		if !errors.As(err, &re) {
			t.Errorf("params %s: %v, want a JSON-RPC error", bad, err)
		}
	}
}

// TestAuthorizeUserPrintable: a user name that is not valid UTF-8, or
// holds a character that is not printable, is refused at
// mining.authorize and never tracked; printable non-ASCII is accepted.
func TestAuthorizeUserPrintable(t *testing.T) {
	tp := newTestPool(t, nil)
	addr := testAddr(23).String()
	c := dial(t, tp.addr)
	c.subscribe()
	for i, worker := range []string{"rig\xff", "\xc3", "a\x7fb", `tab\t`, `nul\u0000`, `zw\u200b`, `bidi\u202e`, "new\\nline"} {
		id := 100 + i
		c.write(fmt.Sprintf(`{"id":%d,"method":"mining.authorize","params":["%s.%s","x"]}`+"\n", id, addr, worker))
		if e := c.response(id).ResponseError(); e == nil || e.Code != stratum.CodeUnauthorized {
			t.Errorf("worker %q: %v, want code 24", worker, e)
		}
	}
	if e := c.authorize(addr + ".rig-ü 1"); e != nil {
		t.Fatalf("printable UTF-8 worker: %v", e)
	}
	if ws := tp.WorkerStats(); len(ws) != 1 || ws[0].Name != "rig-ü 1" {
		t.Fatalf("tracked %+v, want only rig-ü 1", ws)
	}
}

// TestMetricsBadLabels: worker names that are not UTF-8 (which authorize
// refuses, but the statistics must not trust) never fail a scrape, even
// when two of them would be sanitized alike.
func TestMetricsBadLabels(t *testing.T) {
	tp := newTestPool(t, nil)
	addr := testAddr(24)
	for _, w := range []string{"ok", "a\xff", "a\xfe", `a\xff`, "a\xff\xfe"} {
		tp.stats.authorize(addr.String()+"."+w, addr)
	}
	reg := prometheus.NewPedanticRegistry()
	if err := reg.Register(tp.Server); err != nil {
		t.Fatal(err)
	}
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatalf("scrape failed: %v", err)
	}
	labels := map[string]bool{}
	for _, mf := range mfs {
		if mf.GetName() != "powmine_pool_worker_hashrate" {
			continue
		}
		for _, m := range mf.GetMetric() {
			for _, l := range m.GetLabel() {
				if !utf8.ValidString(l.GetValue()) || labels[l.GetValue()] {
					t.Errorf("label %q invalid or repeated", l.GetValue())
				}
				labels[l.GetValue()] = true
			}
		}
	}
	if len(labels) < 4 || !labels[addr.String()+".ok"] {
		t.Errorf("worker series %v, want the valid worker and the others sanitized", labels)
	}
}
