package dashboard

import (
	"bufio"
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"
)

// openStream opens /events and returns the response; the caller closes
// its body.
func openStream(t testing.TB, url string) *http.Response {
	t.Helper()
	resp, err := http.Get(url + "/events")
	if err != nil {
		t.Fatal(err)
	}
	return resp
}

// nextOverview reads the stream until an overview event, within limit.
func nextOverview(t *testing.T, r *bufio.Reader, limit time.Duration) Overview {
	t.Helper()
	type result struct {
		o   Overview
		err error
	}
	c := make(chan result, 1)
	go func() {
		for {
			line, err := r.ReadString('\n')
			if err != nil {
				c <- result{err: err}
				return
			}
			if data, ok := strings.CutPrefix(line, "data: "); ok {
				var o Overview
				c <- result{o, json.Unmarshal([]byte(data), &o)}
				return
			}
		}
	}()
	select {
	case res := <-c:
		if res.err != nil {
			t.Fatal(res.err)
		}
		return res.o
	case <-time.After(limit):
		t.Fatalf("no overview event in %v", limit)
	}
	return Overview{}
}

// TestStreamPushesNewBlocks: a stream gets the overview at once, and
// again within 1 s of a new tip, though the periodic update is an hour
// away.
func TestStreamPushesNewBlocks(t *testing.T) {
	ts := newTestServer(t, 3, 1, nil)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- ts.Run(ctx) }()
	defer func() { cancel(); <-done }()
	resp := openStream(t, ts.url)
	defer resp.Body.Close()
	if ct := resp.Header.Get("Content-Type"); ct != "text/event-stream" {
		t.Fatalf("content type %q", ct)
	}
	r := bufio.NewReader(resp.Body)
	if o := nextOverview(t, r, 5*time.Second); o.Height != 3 {
		t.Fatalf("first event at height %d, want 3", o.Height)
	}
	for want := int64(4); want <= 6; want++ {
		start := time.Now()
		ts.chain.extend(1)
		o := nextOverview(t, r, time.Second)
		for o.Height < want && time.Since(start) < time.Second {
			o = nextOverview(t, r, time.Second)
		}
		if o.Height != want {
			t.Fatalf("event at height %d, want %d", o.Height, want)
		}
		t.Logf("height %d pushed %v after the block", want, time.Since(start))
	}
}

// TestStreamsBounded: streams beyond MaxStreams get a 503 while the
// page and the API keep answering; a closed stream frees its place.
func TestStreamsBounded(t *testing.T) {
	const limit = 5
	ts := newTestServer(t, 1, 0, func(c *Config) { c.MaxStreams = limit })
	var open []*http.Response
	for range limit {
		resp := openStream(t, ts.url)
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("stream %d: status %d", len(open), resp.StatusCode)
		}
		open = append(open, resp)
	}
	defer func() {
		for _, r := range open {
			r.Body.Close()
		}
	}()
	over := openStream(t, ts.url)
	over.Body.Close()
	if over.StatusCode != http.StatusServiceUnavailable {
		t.Fatalf("stream over the bound: status %d, want 503", over.StatusCode)
	}
	if code, _ := ts.get(t, "/api/overview"); code != http.StatusOK {
		t.Fatalf("overview with the streams full: %d", code)
	}
	open[0].Body.Close()
	open = open[1:]
	deadline := time.Now().Add(5 * time.Second)
	for ts.hub.count() >= limit {
		if time.Now().After(deadline) {
			t.Fatal("a closed stream still counts")
		}
		time.Sleep(5 * time.Millisecond)
	}
	again := openStream(t, ts.url)
	if again.StatusCode != http.StatusOK {
		t.Fatalf("stream after one closed: status %d", again.StatusCode)
	}
	open = append(open, again)
}

// TestHubSkipsToNewest: a stream that has not read keeps only the
// newest update, so a slow page cannot queue memory.
func TestHubSkipsToNewest(t *testing.T) {
	h := newHub(2)
	c, ok := h.subscribe()
	if !ok {
		t.Fatal("subscribe refused")
	}
	h.broadcast([]byte("1"))
	h.broadcast([]byte("2"))
	if got := string(<-c); got != "2" {
		t.Fatalf("got %q, want the newest", got)
	}
	h.close()
	if _, ok := h.subscribe(); ok {
		t.Fatal("subscribe after close succeeded")
	}
}

// TestStreamHeartbeat: an idle stream gets a comment line every
// HeartbeatInterval.
func TestStreamHeartbeat(t *testing.T) {
	ts := newTestServer(t, 1, 0, func(c *Config) { c.HeartbeatInterval = 20 * time.Millisecond })
	resp := openStream(t, ts.url)
	defer resp.Body.Close()
	r := bufio.NewReader(resp.Body)
	nextOverview(t, r, 5*time.Second)
	beats := 0
	deadline := time.Now().Add(5 * time.Second)
	for beats < 3 && time.Now().Before(deadline) {
		line, err := r.ReadString('\n')
		if err != nil {
			t.Fatal(err)
		}
		if line == ": heartbeat\n" {
			beats++
		}
	}
	if beats < 3 {
		t.Fatalf("%d heartbeats in 5 s, want 3 at 20 ms", beats)
	}
}
