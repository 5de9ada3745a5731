package daemon

import (
	"github.com/powmine/powmine/chain/p2p"
	"github.com/prometheus/client_golang/prometheus"
)

// Descriptions of the network metrics, read from the p2p node at each
// scrape (netCollector): chain/p2p keeps atomic counters and knows
// nothing of Prometheus.
var (
	descPeers = prometheus.NewDesc("powmine_p2p_peers",
		"Connected peers, by the direction of their first connection.", []string{"direction"}, nil)
	descGossipReceived = prometheus.NewDesc("powmine_p2p_gossip_received_total",
		"Gossip messages received from peers, by topic and validation verdict.", []string{"topic", "verdict"}, nil)
	descGossipPublished = prometheus.NewDesc("powmine_p2p_gossip_published_total",
		"Gossip messages this node published, by topic.", []string{"topic"}, nil)
	descGossipDropped = prometheus.NewDesc("powmine_p2p_gossip_publish_dropped_total",
		"Gossip messages not published because the publish queue was full, by topic.", []string{"topic"}, nil)
	descSyncs = prometheus.NewDesc("powmine_p2p_syncs_total",
		"Block syncs asked for, by cause: a hello with more work, a gossiped orphan, or a tip announcement (status) with more work.", []string{"cause"}, nil)
	descStatuses = prometheus.NewDesc("powmine_p2p_statuses_total",
		"Tip announcements (status messages), by event: sent, received and read, or received and ignored (too frequent).", []string{"event"}, nil)
	descSyncRequests = prometheus.NewDesc("powmine_p2p_sync_requests_total",
		"Requests sent by sync, by kind: headers, or blocks by hash.", []string{"kind"}, nil)
	descSyncFailures = prometheus.NewDesc("powmine_p2p_sync_failures_total",
		"Sync requests that failed (timeout, malformed or invalid answer).", nil, nil)
	descSyncStalls = prometheus.NewDesc("powmine_p2p_sync_stalls_total",
		"Blocks requests that failed without bad data (timed out or broke off) and were asked again.", nil, nil)
	descSyncHeaders = prometheus.NewDesc("powmine_p2p_sync_headers_total",
		"New headers received by sync that the chain accepted.", nil, nil)
	descSyncBlocks = prometheus.NewDesc("powmine_p2p_sync_blocks_total",
		"Blocks received by sync that the chain accepted.", nil, nil)
	descSyncNotFound = prometheus.NewDesc("powmine_p2p_sync_not_found_total",
		"Blocks asked for by sync that the peer answered it lacks.", nil, nil)
	descSyncForgotten = prometheus.NewDesc("powmine_p2p_sync_forgotten_total",
		"Header branches sync dropped because no peer served a block of theirs.", nil, nil)
	descSyncForgottenHeaders = prometheus.NewDesc("powmine_p2p_sync_forgotten_headers_total",
		"Headers of the branches sync dropped because no peer served a block of theirs.", nil, nil)
	descBans = prometheus.NewDesc("powmine_p2p_bans_total",
		"Peer bans added or extended, by cause: invalid data, or the operator (setban).", []string{"cause"}, nil)
	descBanned = prometheus.NewDesc("powmine_p2p_banned_peers",
		"Peers in the ban list.", nil, nil)
	descRefused = prometheus.NewDesc("powmine_p2p_refused_genesis_total",
		"Peers disconnected at the hello for being on another chain.", nil, nil)
)

// netCollector exports the p2p node's Stats and SyncStats.
type netCollector struct{ n *p2p.Node }

var _ prometheus.Collector = netCollector{}

func (netCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{descPeers, descGossipReceived, descGossipPublished, descGossipDropped,
		descSyncs, descStatuses, descSyncRequests, descSyncFailures, descSyncStalls, descSyncHeaders, descSyncBlocks, descSyncNotFound, descSyncForgotten, descSyncForgottenHeaders, descBans, descBanned, descRefused} {
		ch <- d
	}
}

func (c netCollector) Collect(ch chan<- prometheus.Metric) {
	st, sync := c.n.Stats(), c.n.SyncStats()
	gauge := func(d *prometheus.Desc, v float64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, v, labels...)
	}
	counter := func(d *prometheus.Desc, v int64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.CounterValue, float64(v), labels...)
	}
	gauge(descPeers, float64(st.Inbound), "inbound")
	gauge(descPeers, float64(st.Outbound), "outbound")
	for _, t := range []struct {
		name string
		s    p2p.TopicStats
	}{{"blocks", st.Blocks}, {"transfers", st.Transfers}} {
		counter(descGossipReceived, t.s.Accepted, t.name, "accept")
		counter(descGossipReceived, t.s.Rejected, t.name, "reject")
		counter(descGossipReceived, t.s.Ignored, t.name, "ignore")
		counter(descGossipPublished, t.s.Published, t.name)
		counter(descGossipDropped, t.s.Dropped, t.name)
	}
	counter(descSyncs, sync.HelloSyncs, "hello")
	counter(descSyncs, sync.OrphanSyncs, "orphan")
	counter(descSyncs, sync.StatusSyncs, "status")
	counter(descStatuses, st.StatusesSent, "sent")
	counter(descStatuses, st.StatusesReceived, "received")
	counter(descStatuses, st.StatusesIgnored, "ignored")
	counter(descSyncRequests, sync.HeaderRequests, "headers")
	counter(descSyncRequests, sync.Requests-sync.HeaderRequests, "blocks")
	counter(descSyncFailures, sync.Failed)
	counter(descSyncStalls, sync.Stalls)
	counter(descSyncHeaders, sync.Headers)
	counter(descSyncBlocks, sync.Blocks)
	counter(descSyncNotFound, sync.NotFound)
	counter(descSyncForgotten, sync.Forgotten)
	counter(descSyncForgottenHeaders, sync.ForgottenHeaders)
	counter(descBans, st.InvalidBans, "invalid")
	counter(descBans, st.OperatorBans, "operator")
	gauge(descBanned, float64(st.Banned))
	counter(descRefused, st.Refused)
}
