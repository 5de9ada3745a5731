package client

import (
	"bytes"
	"io"
	"testing"

	"github.com/powmine/powmine/miner"
)

// FuzzClientLine feeds arbitrary lines from the pool to a session's
// dispatcher, after a subscribe and configure answer, so that jobs and
// shares are reached: it must never panic, whatever the lines.
func FuzzClientLine(f *testing.F) {
	for _, seed := range []string{
		`{"id":null,"method":"mining.set_difficulty","params":[0.001]}`,
		`{"id":null,"method":"mining.notify","params":["1f","` + zeros(64) + `","01","02",["` + zeros(64) + `"],"20000000","1d00ffff","5f5e1000",true]}`,
		`{"id":null,"method":"mining.set_extranonce","params":["aabbccdd",8]}`,
		`{"id":null,"method":"mining.set_version_mask","params":["00ff0000"]}`,
		`{"id":7,"method":"mining.ping","params":[]}`,
		`{"id":"x","method":"client.get_version","params":null}`,
		`{"id":3,"result":false,"error":[24,"unauthorized",null]}`,
		`{"id":5,"result":null,"error":{"code":23,"message":"low"}}`,
		`{"id":null,"method":"client.reconnect","params":[]}`,
		`{"id":9,"method":"bogus"}`,
	} {
		f.Add([]byte(seed))
	}
	m, err := miner.New(miner.Config{Threads: 1})
	if err != nil {
		f.Fatal(err)
	}
	c, err := New(Config{URLs: []string{"stratum+tcp://127.0.0.1:1"}, User: "u", Miner: m})
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		s := newSession(c, 0, nil, io.Discard)
		if err := s.handshake(); err != nil {
			t.Fatal(err)
		}
		for _, l := range []string{
			`{"id":1,"result":{"version-rolling":true,"version-rolling.mask":"1fffe000"},"error":null}`,
			`{"id":2,"result":[[["mining.notify","s1"]],"01020304",4],"error":null}`,
		} {
			if err := s.handleLine([]byte(l)); err != nil {
				t.Fatal(err)
			}
		}
		for line := range bytes.SplitSeq(data, []byte("\n")) {
			if s.handleLine(line) != nil {
				return
			}
			// Submit a share of the current work, as the miner would.
			s.mu.Lock()
			w := s.current
			s.mu.Unlock()
			if w != nil {
				h := w.Roll(w.Header, 3)
				if s.submit(&miner.Share{Work: w, Roll: 3, Header: h}) != nil {
					return // too many unanswered requests
				}
			}
		}
	})
}

func zeros(n int) string { return string(bytes.Repeat([]byte("0"), n)) }
