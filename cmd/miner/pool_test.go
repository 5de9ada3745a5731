package main

import (
	"bytes"
	"net"
	"regexp"
	"strings"
	"testing"

	"github.com/powmine/powmine/stratum/client/clienttest"
)

// TestPoolMining mines on a fake pool that checks every share's header
// against its target: the output must show accepted shares. The first -o
// is a dead port, so the run also fails over to the second.
func TestPoolMining(t *testing.T) {
	pool, err := clienttest.New(clienttest.Config{VersionMask: 0x1fffe000, Difficulty: 1.0 / 4096})
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	dead := "stratum+tcp://" + ln.Addr().String()
	ln.Close()
	args := []string{"-o", dead, "--url", pool.URL(), "-u", zeroAddress(), "-p", "x", "-t", "1"}
	s := mineUntil(t, args, regexp.MustCompile(`accepted: [1-9]\d*/[1-9]\d* \(100\.00%\), [0-9.]+ [kMG]?H/s yay!!!`))
	t.Logf("%d lines; first lines:\n%s", strings.Count(s, "\n"), firstLines(s, 14))
	for {
		select {
		case sub := <-pool.Submits():
			if sub.Err != nil {
				t.Fatalf("the pool rejected a share: %v", sub.Err)
			}
			continue
		default:
		}
		break
	}
}

func firstLines(s string, n int) string {
	lines := regexp.MustCompile("\n").Split(s, n+1)
	if len(lines) > n {
		lines = lines[:n]
	}
	var b bytes.Buffer
	for _, l := range lines {
		b.WriteString(l + "\n")
	}
	return b.String()
}
