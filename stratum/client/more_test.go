package client

import (
	"bytes"
	"crypto/tls"
	"io"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/powmine/powmine/internal/testcert"
	"github.com/powmine/powmine/miner"
	"github.com/powmine/powmine/stratum"
	"github.com/powmine/powmine/stratum/client/clienttest"
)

// selfSigned returns a server TLS config for 127.0.0.1 and a client
// config that trusts it.
func selfSigned(t *testing.T) (server, client *tls.Config) {
	c := testcert.New(t)
	return c.ServerConfig(), c.ClientConfig()
}

func TestTLS(t *testing.T) {
	for _, scheme := range []string{"stratum+ssl://", "stratum+tls://"} {
		t.Run(scheme, func(t *testing.T) {
			server, client := selfSigned(t)
			pool := newPool(t, clienttest.Config{TLS: server})
			url := scheme + pool.Addr()
			startClient(t, []string{url}, func(c *Config) { c.TLSConfig = client })
			if s := nextSubmit(t, pool, nil); s.Err != nil {
				t.Fatal(s.Err)
			}
		})
	}
}

// TestUntrustedTLSFailsOver: a pool whose certificate is not trusted is
// never mined on.
func TestUntrustedTLSFailsOver(t *testing.T) {
	server, _ := selfSigned(t)
	untrusted := newPool(t, clienttest.Config{TLS: server})
	pool := newPool(t, clienttest.Config{})
	startClient(t, []string{untrusted.URL(), pool.URL()}, nil)
	if s := nextSubmit(t, pool, nil); s.Err != nil {
		t.Fatal(s.Err)
	}
	select {
	case s := <-untrusted.Submits():
		t.Fatalf("share sent to an untrusted pool: %+v", s)
	default:
	}
}

func TestConfigureIgnoredByPool(t *testing.T) {
	pool := newPool(t, clienttest.Config{IgnoreConfigure: true, VersionMask: 0x1fffe000})
	startClient(t, []string{pool.URL()}, nil)
	if s := nextSubmit(t, pool, nil); s.Err != nil || s.Params.HasVersionBits {
		t.Fatalf("share %+v: %v", s.Params, s.Err)
	}
}

// TestHandshakeTimeoutFailsOver: a pool that accepts and says nothing is
// left for the next URL.
func TestHandshakeTimeoutFailsOver(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() { io.Copy(io.Discard, c); c.Close() }()
		}
	}()
	pool := newPool(t, clienttest.Config{})
	startClient(t, []string{"stratum+tcp://" + ln.Addr().String(), pool.URL()}, func(c *Config) {
		c.HandshakeTimeout = 200 * time.Millisecond
	})
	if s := nextSubmit(t, pool, nil); s.Err != nil {
		t.Fatal(s.Err)
	}
}

// TestConnectionDropsAndReconnects: lines that end the connection, each
// followed by a reconnect to the same pool.
func TestConnectionDropsAndReconnects(t *testing.T) {
	for name, line := range map[string]string{
		"client.reconnect":          `{"id":null,"method":"client.reconnect","params":[]}`,
		"line too long":             `{"id":null,"method":"client.show_message","params":["` + strings.Repeat("x", stratum.MaxLineSize) + `"]}`,
		"TLS record":                "\x16\x03\x01\x02\x00",
		"bad extranonce":            `{"id":null,"method":"mining.set_extranonce","params":["zz",4]}`,
		"neither method nor result": `{"id":2}`,
	} {
		t.Run(name, func(t *testing.T) {
			pool := newPool(t, clienttest.Config{})
			startClient(t, []string{pool.URL()}, nil)
			nextSubmit(t, pool, accepted)
			pool.Send(line)
			if s := nextSubmit(t, pool, func(s clienttest.Submit) bool { return s.Conn == 1 }); s.Err != nil {
				t.Fatal(s.Err)
			}
		})
	}
}

func TestSetVersionMask(t *testing.T) {
	pool := newPool(t, clienttest.Config{VersionMask: 0x1fffe000})
	startClient(t, []string{pool.URL()}, nil)
	nextSubmit(t, pool, accepted)
	pool.SetVersionMask(0x00ffe000)
	// The mask applies at once: after the client has resent the current
	// job's work, every share must stay within the new mask.
	for range 10 {
		s := nextSubmit(t, pool, nil)
		if s.Params.VersionBits&^0x00ffe000 != 0 {
			t.Fatalf("version bits %08x outside the new mask", s.Params.VersionBits)
		}
	}
}

// testSession is a session writing to a buffer, subscribed with
// extranonce1 01020304 and extranonce2_size 4.
func testSession(t *testing.T, rolling bool) (*session, *bytes.Buffer) {
	t.Helper()
	m, err := miner.New(miner.Config{Threads: 1})
	if err != nil {
		t.Fatal(err)
	}
	c, err := New(Config{URLs: []string{"stratum+tcp://127.0.0.1:1"}, User: "u", Miner: m, NoVersionRolling: !rolling})
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	s := newSession(c, 0, nil, &out)
	if err := s.handshake(); err != nil {
		t.Fatal(err)
	}
	lines := []string{`{"id":2,"result":[[["mining.notify","s1"]],"01020304",4],"error":null}`}
	if rolling {
		lines = []string{
			`{"id":1,"result":{"version-rolling":true,"version-rolling.mask":"1fffe000"},"error":null}`,
			`{"id":2,"result":[[["mining.notify","s1"]],"01020304",4],"error":null}`,
		}
	} else {
		lines[0] = strings.Replace(lines[0], `"id":2`, `"id":1`, 1)
	}
	for _, l := range lines {
		if err := s.handleLine([]byte(l)); err != nil {
			t.Fatal(err)
		}
	}
	out.Reset()
	return s, &out
}

func notifyLine(job string, clean bool) string {
	c := "false"
	if clean {
		c = "true"
	}
	return `{"id":null,"method":"mining.notify","params":["` + job + `","` + zeros(64) + `","01","02",[],"20000000","1d00ffff","5f5e1000",` + c + `]}`
}

func TestStaleSharesDropped(t *testing.T) {
	s, out := testSession(t, false)
	for _, l := range []string{notifyLine("a", true), notifyLine("b", false)} {
		if err := s.handleLine([]byte(l)); err != nil {
			t.Fatal(err)
		}
	}
	var a *miner.Work
	for w, j := range s.jobs {
		if j.notify.JobID == "a" {
			a = w
		}
	}
	if a == nil {
		t.Fatal("job a not live after a notify without clean_jobs")
	}
	if err := s.submit(&miner.Share{Work: a, Header: a.Header}); err != nil || !strings.Contains(out.String(), `"a"`) {
		t.Fatalf("share of a live older job not submitted: %v %q", err, out.String())
	}
	out.Reset()
	if err := s.handleLine([]byte(notifyLine("c", true))); err != nil {
		t.Fatal(err)
	}
	if err := s.submit(&miner.Share{Work: a, Header: a.Header}); err != nil || out.Len() != 0 {
		t.Fatalf("stale share submitted: %v %q", err, out.String())
	}
	if st := s.c.Stats(); st.Stale != 1 {
		t.Fatalf("stats %+v", st)
	}
}

func TestAnswersPoolRequests(t *testing.T) {
	s, out := testSession(t, false)
	for line, want := range map[string]string{
		`{"id":7,"method":"mining.ping","params":[]}`:                `{"id":7,"result":"pong","error":null}`,
		`{"id":"v","method":"client.get_version"}`:                   `{"id":"v","result":"` + DefaultUserAgent + `","error":null}`,
		`{"id":8,"method":"mining.bogus","params":[]}`:               `{"id":8,"result":false,"error":[26,`,
		`{"id":null,"method":"client.show_message","params":["hi"]}`: ``,
	} {
		out.Reset()
		if err := s.handleLine([]byte(line)); err != nil {
			t.Fatal(err)
		}
		if !strings.HasPrefix(out.String(), want) || (want == "" && out.Len() != 0) {
			t.Errorf("%s: answered %q, want %q", line, out.String(), want)
		}
	}
}

func TestNotifyBeforeSubscribeResult(t *testing.T) {
	m, _ := miner.New(miner.Config{Threads: 1})
	c, _ := New(Config{URLs: []string{"stratum+tcp://127.0.0.1:1"}, User: "u", Miner: m})
	s := newSession(c, 0, nil, io.Discard)
	if err := s.handshake(); err != nil {
		t.Fatal(err)
	}
	for _, l := range []string{
		notifyLine("early", true),
		`{"id":1,"result":{"version-rolling":true,"version-rolling.mask":"1fffe000"},"error":null}`,
	} {
		if err := s.handleLine([]byte(l)); err != nil {
			t.Fatal(err)
		}
	}
	if s.current != nil {
		t.Fatal("mined before the subscribe result gave the extranonce")
	}
	if err := s.handleLine([]byte(`{"id":2,"result":[[["mining.notify","s1"]],"01020304",4],"error":null}`)); err != nil {
		t.Fatal(err)
	}
	if s.current == nil || s.current.ID != "early" || s.jobs[s.current].mask != 0x1fffe000 {
		t.Fatal("the early job was not mined after the handshake")
	}
}

// TestSetVersionMaskRepublishes: a new mask applies at once to the
// current job, and works rolled with the old mask become stale.
func TestSetVersionMaskRepublishes(t *testing.T) {
	s, _ := testSession(t, true)
	if err := s.handleLine([]byte(notifyLine("a", true))); err != nil {
		t.Fatal(err)
	}
	old := s.current
	if err := s.handleLine([]byte(`{"id":null,"method":"mining.set_version_mask","params":["00ff0000"]}`)); err != nil {
		t.Fatal(err)
	}
	j := s.jobs[s.current]
	if s.current == old || j == nil || j.mask != 0x00ff0000 || s.jobs[old] != nil {
		t.Fatal("the current job was not republished with the new mask")
	}
	for n := uint64(1); n < 300; n++ {
		h := s.current.Roll(s.current.Header, n)
		p := j.submitParams("u", &miner.Share{Work: s.current, Roll: n, Header: h})
		if p.VersionBits&^0x00ff0000 != 0 {
			t.Fatalf("roll %d: version bits %08x outside the new mask", n, p.VersionBits)
		}
	}
}

// TestReadTimeoutReconnects: a pool silent for longer than ReadTimeout is
// dropped and reconnected to.
func TestReadTimeoutReconnects(t *testing.T) {
	pool := newPool(t, clienttest.Config{Difficulty: 1e9}) // no shares, so no traffic
	h := startClient(t, []string{pool.URL()}, func(c *Config) { c.ReadTimeout = 200 * time.Millisecond })
	deadline := time.Now().Add(waitTimeout)
	for len(pool.Conns()) < 3 || h.client.Stats().Connects < 2 {
		if time.Now().After(deadline) {
			t.Fatalf("%d connections, stats %+v", len(pool.Conns()), h.client.Stats())
		}
		time.Sleep(20 * time.Millisecond)
	}
}
