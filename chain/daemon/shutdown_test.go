package daemon

import (
	"fmt"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/powmine/powmine/chain"
)

// TestStopWithOpenRPCConnections: the node stops cleanly (Run returns
// nil) while a client holds an RPC connection. A pending long-polled
// getblocktemplate ends at once instead of holding up the stop for the
// grace period. A connection that sent no request (a client's dial that
// raced its own cancellation leaves one) is closed after the grace
// period: net/http waits 5 s for its request, as long as Run's grace
// period, and Run used to fail with "context deadline exceeded", so that
// `node` exited with status 1 on SIGINT.
func TestStopWithOpenRPCConnections(t *testing.T) {
	for _, c := range []struct {
		name     string
		longPoll bool
		within   time.Duration
	}{
		{"long poll", true, rpcShutdownGrace / 2},
		{"silent connection", false, 2 * rpcShutdownGrace},
	} {
		t.Run(c.name, func(t *testing.T) {
			td := newTestDaemon(t)
			conn, err := net.Dial("tcp", strings.TrimPrefix(td.url, "http://"))
			if err != nil {
				t.Fatal(err)
			}
			defer conn.Close()
			if c.longPoll {
				body := fmt.Sprintf(`{"jsonrpc":"2.0","id":1,"method":"getblocktemplate","params":[{"payout":%q,"longpollid":%q}]}`,
					chain.Address{1}, td.Node().Tip().Hash)
				req, err := http.NewRequest(http.MethodPost, td.url, strings.NewReader(body))
				if err != nil {
					t.Fatal(err)
				}
				req.SetBasicAuth("u", "p")
				if err := req.Write(conn); err != nil {
					t.Fatal(err)
				}
			}
			start := time.Now()
			td.stop() // fails the test if Run returns an error
			if took := time.Since(start); took > c.within {
				t.Errorf("stopping took %v, want at most %v", took, c.within)
			}
		})
	}
}
