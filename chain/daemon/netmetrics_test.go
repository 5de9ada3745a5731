package daemon

import (
	"bufio"
	"crypto/rand"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/powmine/powmine/chain"
)

// scrape returns td's /metrics samples, keyed by name and labels as
// they are written (name{label="value",...}).
func scrape(t *testing.T, td *testDaemon) map[string]float64 {
	t.Helper()
	resp, err := http.Get(td.url + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	out := make(map[string]float64)
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		line := sc.Text()
		if strings.HasPrefix(line, "#") {
			continue
		}
		i := strings.LastIndexByte(line, ' ')
		if i < 0 {
			continue
		}
		v, err := strconv.ParseFloat(line[i+1:], 64)
		if err != nil {
			t.Fatalf("metric line %q: %v", line, err)
		}
		out[line[:i]] = v
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// checkMetrics fails for each sample of want that td's /metrics does not
// have with that value.
func checkMetrics(t *testing.T, name string, td *testDaemon, want map[string]float64) {
	t.Helper()
	got := scrape(t, td)
	for k, v := range want {
		if g, ok := got[k]; !ok || g != v {
			t.Errorf("%s: %s = %v (present %v), want %v", name, k, g, ok, v)
		}
	}
}

// TestNetworkMetrics: after a real exchange between daemons on
// loopback (a hello sync, a gossiped block and transfer, a peer of
// another chain, an operator's ban) the powmine_p2p_* metrics of both
// sides hold the exact counts.
func TestNetworkMetrics(t *testing.T) {
	const n = 5
	tds := netDaemons(t, 2)
	a, b := tds[0], tds[1]
	pub, priv, err := chain.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	a.miner = pub.Address()
	tip := mineOn(t, a, n).Hash()
	// The blocks mined alone are published (to nobody) before b
	// connects, so b gets them by sync only.
	waitFor(t, "a's publishes", func() bool { return a.net.Stats().Blocks.Published == n })
	dial(t, b, a)
	waitFor(t, "sync", func() bool { return b.Node().Tip().Hash == tip })
	waitFor(t, "mesh", func() bool { return meshed(a, b) && meshed(b, a) })

	// One block and one transfer by gossip.
	block := mineOn(t, a, 1).Hash()
	tx := &chain.Transaction{Transfer: &chain.Transfer{To: chain.Address{9}, Amount: 1000, Fee: 10_000}}
	if err := tx.Transfer.Sign(priv, a.params.GenesisHash); err != nil {
		t.Fatal(err)
	}
	if err := a.SendTransaction(tx); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "gossip", func() bool { return b.Node().Tip().Hash == block && b.pool.Has(tx.TxID()) })

	// A node of another chain dials b and is refused at the hello.
	other := startTestDaemon(t, a.testNow(), Config{Params: syncParams(t, a.testNow().Add(time.Hour)), Network: &Network{Listen: loopback(t)}})
	dial(t, other, b)
	waitFor(t, "refusal", func() bool { return b.net.Stats().Refused == 1 })
	// The operator bans a peer that is not connected.
	if e := b.call(t, nil, "setban", other.net.ID().String(), "add"); e != nil {
		t.Fatal(e.Message)
	}
	waitFor(t, "other's connection closed", func() bool { return b.net.Stats().Inbound == 0 })

	checkMetrics(t, "b", b, map[string]float64{
		`powmine_p2p_peers{direction="outbound"}`:                               1,
		`powmine_p2p_peers{direction="inbound"}`:                                0,
		`powmine_p2p_syncs_total{cause="hello"}`:                                1,
		`powmine_p2p_syncs_total{cause="orphan"}`:                               0,
		`powmine_p2p_sync_requests_total{kind="headers"}`:                       1,
		`powmine_p2p_sync_requests_total{kind="blocks"}`:                        1,
		`powmine_p2p_sync_failures_total`:                                       0,
		`powmine_p2p_sync_stalls_total`:                                         0,
		`powmine_p2p_sync_headers_total`:                                        n,
		`powmine_p2p_sync_blocks_total`:                                         n,
		`powmine_p2p_sync_not_found_total`:                                      0,
		`powmine_p2p_sync_forgotten_total`:                                      0,
		`powmine_p2p_sync_forgotten_headers_total`:                              0,
		`powmine_p2p_gossip_received_total{topic="blocks",verdict="accept"}`:    1,
		`powmine_p2p_gossip_received_total{topic="blocks",verdict="reject"}`:    0,
		`powmine_p2p_gossip_received_total{topic="transfers",verdict="accept"}`: 1,
		`powmine_p2p_gossip_received_total{topic="transfers",verdict="ignore"}`: 0,
		`powmine_p2p_gossip_publish_dropped_total{topic="blocks"}`:              0,
		`powmine_p2p_bans_total{cause="operator"}`:                              1,
		`powmine_p2p_bans_total{cause="invalid"}`:                               0,
		`powmine_p2p_banned_peers`:                                              1,
		`powmine_p2p_refused_genesis_total`:                                     1,
		`powmine_tip_height`:                                                    n + 1,
	})
	checkMetrics(t, "a", a, map[string]float64{
		`powmine_p2p_peers{direction="inbound"}`:                             1,
		`powmine_p2p_sync_requests_total{kind="headers"}`:                    0,
		`powmine_p2p_sync_requests_total{kind="blocks"}`:                     0,
		`powmine_p2p_gossip_published_total{topic="blocks"}`:                 n + 1,
		`powmine_p2p_gossip_published_total{topic="transfers"}`:              1,
		`powmine_p2p_gossip_received_total{topic="blocks",verdict="accept"}`: 0,
		`powmine_p2p_banned_peers`:                                           0,
	})
}
