package pool

import (
	"bytes"
	"net"
	"testing"
	"time"

	"github.com/powmine/powmine/chain"
	"github.com/powmine/powmine/stratum"
)

// TestSentRing: a connection remembers, for each of the MaxJobs live
// jobs, the difficulty it was first sent at and the one its variant was
// sent at after a difficulty change; the variant has its own job id and
// ntime.
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
		c.out = c.out[:0]
		c.setDifficultyLocked(high)
		c.appendJobLocked(j, false) // the re-send after a difficulty change
		resent := bytes.Clone(c.out)
		c.out = c.out[:0]
		c.mu.Unlock()
		var p stratum.NotifyParams
		if m, err := stratum.ParseMessage(bytes.TrimSpace(resent[bytes.LastIndexByte(resent[:len(resent)-1], '\n')+1:])); err != nil || p.Decode(m.Params) != nil {
			t.Fatalf("re-sent notify %q: %v", resent, err)
		}
		if p.JobID != j.notify.JobID+".1" || p.Time != j.notify.Time+1 || p.CleanJobs {
			t.Fatalf("re-sent job %s ntime %d clean %v, want %s.1 ntime %d", p.JobID, p.Time, p.CleanJobs, j.notify.JobID, j.notify.Time+1)
		}
		for _, live := range seqs[max(0, len(seqs)-maxJobs):] {
			if d, found, met := c.lookupSent(live, 0, &lowOnly); !found || !met || d != low {
				t.Fatalf("after job %d, job %d meeting the first difficulty: %g, found %v, met %v", j.seq, live, d, found, met)
			}
			if d, found, met := c.lookupSent(live, 1, &any); !found || !met || d != high {
				t.Fatalf("after job %d, variant 1 of job %d: %g, found %v, met %v; want %g", j.seq, live, d, found, met, high)
			}
			if _, found, met := c.lookupSent(live, 1, &lowOnly); !found || met {
				t.Fatalf("after job %d, variant 1 of job %d met by a low share (found %v)", j.seq, live, found)
			}
			if _, found, _ := c.lookupSent(live, 2, &any); found {
				t.Fatalf("variant 2 of job %d found, never sent", live)
			}
		}
	}
	if _, found, _ := c.lookupSent(seqs[0], 0, &any); found {
		t.Errorf("job %d still remembered after 2*MaxJobs newer jobs", seqs[0])
	}
}

// TestSplitJobID: the ids variantJobID writes split back; other suffixes
// do not.
func TestSplitJobID(t *testing.T) {
	for _, n := range []uint32{0, 1, 0xa, 0x10, 0xffffffff} {
		id := "5e3a1b"
		if n != 0 {
			id = variantJobID(id, n)
		}
		if base, v, ok := splitJobID(id); !ok || base != "5e3a1b" || v != n {
			t.Errorf("splitJobID(%q) = %q, %d, %v", id, base, v, ok)
		}
	}
	for _, bad := range []string{"1.", "1.0", "1.01", "1.A", "1.g", "1.1.1", "1.100000000", "1.-1", "1. 1"} {
		if _, _, ok := splitJobID(bad); ok {
			t.Errorf("splitJobID(%q) accepted", bad)
		}
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
