package pool

import (
	"bytes"
	"net"
	"testing"
	"time"
)

// fuzzConn returns a connection of s on one end of a pipe, with no
// goroutines: the test drives handleLine and drops the output.
func fuzzConn(s *Server) *conn {
	server, client := net.Pipe()
	client.Close()
	return newConn(s, server, "fuzz")
}

// FuzzHandleLine feeds arbitrary lines, one connection per input, to the
// server's dispatch: it must never panic, and output stays bounded.
func FuzzHandleLine(f *testing.F) {
	tp := newTestPool(f, func(c *Config) { c.RefreshInterval = time.Hour; c.MaxInvalidPerConn = 1 << 30 })
	user := testAddr(12).String() + ".w"
	seeds := []string{
		`{"id":1,"method":"mining.subscribe","params":["cpuminer/2.5.1"]}`,
		`{"id":1,"method":"mining.subscribe","params":[]}` + "\n" + `{"id":2,"method":"mining.authorize","params":["` + user + `","x"]}` + "\n" +
			`{"id":4,"method":"mining.submit","params":["` + user + `","1","00000000","6b05c962","a0140500"]}`,
		`{"id":"auth","method":"mining.authorize","params":["testuser","x"]}`,
		`{"id":1,"method":"mining.configure","params":[["version-rolling"],{"version-rolling.mask":"ffffffff"}]}`,
		`{"id":4,"method":"mining.suggest_difficulty","params":["0.01"]}`,
		`{"id":4,"method":"mining.suggest_difficulty","params":[1e308]}`,
		`{"id":3,"method":"mining.extranonce.subscribe","params":[]}`,
		`{"id":"txlist1","method":"mining.get_transactions","params":["1"]}`,
		`{"params": ["testuser", "65", "01000000", "6b05cbd3", "31211b00", "00002000"], "id": 7, "method": "mining.submit"}`,
		`{"id":null,"method":"mining.notify","params":[]}`,
		`{"id":9,"result":true,"error":null}`,
		`{"id":1,"method":"mining.subscribe","params":["a"]}` + "\n" + `{"id":4,"method":"mining.suggest_difficulty","params":[1e-300]}`,
		`{"id":[],"method":"x"}`,
	}
	for _, s := range seeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		c := fuzzConn(tp.Server)
		defer c.nc.Close()
		for line := range bytes.SplitSeq(data, []byte{'\n'}) {
			if len(line) == 0 || line[0] != '{' {
				continue // the Reader closes such lines before dispatch
			}
			c.handleLine(line)
			if c.closed.Load() {
				return
			}
			c.mu.Lock()
			if len(c.out) > tp.cfg.MaxOutbound {
				t.Fatalf("output %d bytes over the bound", len(c.out))
			}
			c.out = c.out[:0]
			c.mu.Unlock()
		}
	})
}
