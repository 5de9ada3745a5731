package pool

import (
	"net"
	"testing"
	"time"

	"github.com/powmine/powmine/chain"
)

// TestSentRing: a connection remembers, for each of the MaxJobs live
// jobs, the difficulty it was first sent at and the one it was re-sent at
// after a difficulty change.
func TestSentRing(t *testing.T) {
	const maxJobs = 4
	tp := newTestPool(t, func(c *Config) { c.MaxJobs = maxJobs; c.RefreshInterval = time.Hour })
	c := fuzzConn(tp.Server)
	defer c.nc.Close()
	const low, high = 1e-6, 4e-6 // below the dev chain's block difficulty
	lowOnly := target(t, low)    // meets the low difficulty's target only
	var any chain.Hash           // meets every target
	var seqs []uint64
	for range 2 * maxJobs {
		if err := tp.newJob(false); err != nil {
			t.Fatal(err)
		}
		j := tp.jobs.Load().latest
		seqs = append(seqs, j.seq)
		c.mu.Lock()
		c.setDifficultyLocked(low)
		c.appendJobLocked(j, false)
		c.setDifficultyLocked(high)
		c.appendJobLocked(j, false) // the re-send after a difficulty change
		c.out = c.out[:0]
		c.mu.Unlock()
		for _, live := range seqs[max(0, len(seqs)-maxJobs):] {
			if d, found, met := c.lookupSent(live, &lowOnly); !found || !met || d != low {
				t.Fatalf("after job %d, job %d meeting the first difficulty only: %g, found %v, met %v", j.seq, live, d, found, met)
			}
			if d, found, met := c.lookupSent(live, &any); !found || !met || d != high {
				t.Fatalf("after job %d, job %d: %g, found %v, met %v; want the newest, %g", j.seq, live, d, found, met, high)
			}
		}
	}
	if _, found, _ := c.lookupSent(seqs[0], &any); found {
		t.Errorf("job %d still remembered after 2*MaxJobs newer jobs", seqs[0])
	}
}

// TestSlowConsumerTCP: jobs keep going out while a TCP client that never
// reads fills its socket, then its outbound buffer; it is closed as a
// slow consumer.
func TestSlowConsumerTCP(t *testing.T) {
	tp := newTestPool(t, func(c *Config) { c.RefreshInterval = time.Hour; c.MaxOutbound = 64 << 10 })
	nc, err := net.Dial("tcp", tp.addr)
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	user := testAddr(16).String() + ".w"
	if _, err := nc.Write([]byte(`{"id":1,"method":"mining.subscribe","params":[]}` + "\n" +
		`{"id":2,"method":"mining.authorize","params":["` + user + `","x"]}` + "\n")); err != nil {
		t.Fatal(err)
	}
	var c *conn
	for c == nil {
		time.Sleep(time.Millisecond)
		for _, k := range tp.connSnapshot() {
			k.mu.Lock()
			if k.subscribed {
				c = k
			}
			k.mu.Unlock()
		}
	}
	jobs := 0
	for !c.closed.Load() {
		if err := tp.newJob(false); err != nil {
			t.Fatal(err)
		}
		if jobs++; jobs > 1e5 {
			t.Fatal("a client that does not read is still open")
		}
	}
	c.mu.Lock()
	reason := c.reason
	c.mu.Unlock()
	if reason != CloseSlowConsumer {
		t.Errorf("closed with %v after %d jobs", reason, jobs)
	}
	t.Logf("closed after %d jobs", jobs)
}
