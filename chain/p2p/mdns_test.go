package p2p

import (
	"os"
	"strings"
	"testing"

	ma "github.com/multiformats/go-multiaddr"
	"github.com/powmine/powmine/chain"
)

// TestMDNSOffByDefault: without Config.MDNS no mDNS service runs.
func TestMDNSOffByDefault(t *testing.T) {
	n := newTestNode(t, &chain.DevParams)
	if n.MDNSRunning() {
		t.Fatal("mDNS runs without Config.MDNS")
	}
}

func TestMDNSService(t *testing.T) {
	name := MDNSService(chain.DevParams.GenesisHash)
	other := MDNSService(chain.Hash{0xee})
	if len(name) > 16 || !strings.HasPrefix(name, "_pm") || name == other {
		t.Fatalf("service names %q and %q: want _pm and 12 hex digits, one per genesis", name, other)
	}
}

// TestMDNSDiscovery: two nodes with Config.MDNS find and connect to each
// other. It sends multicast on the machine's interfaces, so it runs only
// with POWMINE_MDNS_TEST=1 (never in CI).
func TestMDNSDiscovery(t *testing.T) {
	if os.Getenv("POWMINE_MDNS_TEST") != "1" {
		t.Skip("sends mDNS multicast: set POWMINE_MDNS_TEST=1 to run")
	}
	p := &chain.DevParams
	var nodes []*Node
	for range 2 {
		f := newFakeChain()
		// mDNS advertises non-loopback addresses only.
		n, err := New(Config{Params: p, Chain: f, Mempool: f, Listen: []ma.Multiaddr{ma.StringCast("/ip4/0.0.0.0/tcp/0")}, MDNS: true})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { n.Close() })
		if !n.MDNSRunning() {
			t.Fatal("mDNS not running")
		}
		nodes = append(nodes, n)
	}
	waitFor(t, "mDNS discovery", func() bool {
		a, b := &testNode{Node: nodes[0]}, &testNode{Node: nodes[1]}
		return hasHello(a, b) && hasHello(b, a)
	})
}
