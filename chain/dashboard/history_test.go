package dashboard

import (
	"strings"
	"testing"
	"time"
)

// TestHistory: the rings keep an hour at the sample interval and a day
// at one a minute, bounded, oldest first; shares per minute come from
// the last minute of samples.
func TestHistory(t *testing.T) {
	h := newHistory(10 * time.Second)
	if len(h.short.buf) != 360 || len(h.long.buf) != 1440 {
		t.Fatalf("rings of %d and %d samples, want 360 and 1440", len(h.short.buf), len(h.long.buf))
	}
	for i := range 1000 {
		h.add(sample{T: int64(10 * i), Accepted: uint64(100 * i)})
	}
	hour, day := h.hour(), h.day()
	if len(hour) != 360 || hour[0].T != 10*640 || hour[359].T != 10*999 {
		t.Fatalf("hour: %d samples from %d to %d", len(hour), hour[0].T, hour[len(hour)-1].T)
	}
	if len(day) != 167 || day[0].T != 0 || day[1].T != 60 {
		t.Fatalf("day: %d samples from %d, %d", len(day), day[0].T, day[1].T)
	}
	// 100 shares every 10 s: 600 a minute.
	if r := h.sharesPerMinute(100*999, 10*999); r != 600 {
		t.Fatalf("shares per minute %g, want 600", r)
	}
	if r := newHistory(time.Second).sharesPerMinute(5, 100); r != 0 {
		t.Fatalf("shares per minute without samples %g", r)
	}
}

// TestHashrateChart: the chart draws the pool, the network and the
// fastest workers, with their names escaped.
func TestHashrateChart(t *testing.T) {
	ws := []WorkerStats{{Worker: "a.<b>", Hashrate: 5}, {Worker: "c", Hashrate: 9}, {Worker: "idle"}}
	top := topWorkers(ws, 5)
	if len(top) != 2 || top[0].Worker != "c" {
		t.Fatalf("top workers %v", top)
	}
	svg := string(hashrateChart("t", []sample{{T: 10, Pool: 14, Top: top}, {T: 20, Pool: 15, Top: top}}, 0, 30))
	for _, want := range []string{">pool<", ">network (estimate)<", ">a.&lt;b&gt;<", ">c<", "15.0 H/s"} {
		if !strings.Contains(svg, want) {
			t.Errorf("chart lacks %q", want)
		}
	}
	if strings.Contains(svg, "<b>") {
		t.Error("worker name not escaped")
	}
	if empty := string(lineChart("e", "", 0, 10, nil)); !strings.Contains(empty, "no data yet") {
		t.Error("an empty chart does not say so")
	}
}
