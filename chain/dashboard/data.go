package dashboard

import (
	"bytes"
	"encoding/json"
	"fmt"
	"hash/fnv"
	"html/template"
	"math"
	"math/big"
	"strconv"
	"time"

	"github.com/powmine/powmine/chain"
	"github.com/powmine/powmine/chain/node"
)

// Overview is the page's live summary, served at /api/overview and
// pushed on the update stream.
type Overview struct {
	Height          int64   `json:"height"`
	Tip             string  `json:"tip"`
	Difficulty      float64 `json:"difficulty"`
	NetworkHashrate float64 `json:"network_hashrate"` // H/s over the last IntervalBlocks blocks
	// Pool is false without a pool; the pool fields are then zero.
	Pool          bool    `json:"pool"`
	PoolHashrate  float64 `json:"pool_hashrate"`
	SharesPerMin  float64 `json:"shares_per_minute"`
	BlocksFound   uint64  `json:"blocks_found"`
	Workers       int     `json:"workers"`
	Connections   int     `json:"connections"`
	Peers         int     `json:"peers"`
	Orphans       int     `json:"orphans"`
	UptimeSeconds int64   `json:"uptime_seconds"`
	Time          int64   `json:"time"` // Unix seconds
	// TreeVersion changes when the block tree does: an open tree page
	// fetches it again then.
	TreeVersion string `json:"tree_version"`
	// Display are the figures as the page prints them, by the name of
	// the element that shows them (data-k).
	Display map[string]string `json:"display"`
}

// update is one computed state: the overview, its event and the tree.
type update struct {
	overview Overview
	event    []byte // the SSE message
	tree     template.HTML
}

// compute builds the overview and the tree.
func (s *Server) compute() *update {
	c := s.cfg.Chain
	tip := c.Tip()
	now := s.now()
	o := Overview{
		Height:          tip.Height,
		Tip:             tip.Hash.String(),
		Difficulty:      difficulty(tip.Header.Bits),
		NetworkHashrate: s.networkHashrate(tip),
		Orphans:         c.OrphanCount(),
		UptimeSeconds:   int64(now.Sub(s.start) / time.Second),
		Time:            now.Unix(),
	}
	if p := s.cfg.Pool; p != nil {
		ps := p.PoolStats()
		o.Pool = true
		o.PoolHashrate = ps.Hashrate
		o.BlocksFound = ps.Blocks
		o.Workers, o.Connections = ps.Workers, ps.Conns
		o.SharesPerMin = s.hist.sharesPerMinute(ps.Accepted, now.Unix())
	}
	if s.cfg.Peers != nil {
		o.Peers = len(s.cfg.Peers.Peers())
	}
	tree := s.treeSVG(s.buildTree(tip))
	f := fnv.New64a()
	f.Write([]byte(tree))
	o.TreeVersion = strconv.FormatUint(f.Sum64(), 36)
	o.Display = map[string]string{
		"height":       strconv.FormatInt(o.Height, 10),
		"tip":          o.Tip,
		"difficulty":   formatFloat(o.Difficulty),
		"net_hashrate": formatRate(o.NetworkHashrate),
		"pool_hashrate": func() string {
			if !o.Pool {
				return "no pool"
			}
			return formatRate(o.PoolHashrate)
		}(),
		"shares_min":  fmt.Sprintf("%.1f", o.SharesPerMin),
		"blocks":      strconv.FormatUint(o.BlocksFound, 10),
		"workers":     strconv.Itoa(o.Workers),
		"peers":       strconv.Itoa(o.Peers),
		"uptime":      formatDuration(time.Duration(o.UptimeSeconds) * time.Second),
		"orphans":     strconv.Itoa(o.Orphans),
		"updated":     now.UTC().Format("15:04:05 UTC"),
		"connections": strconv.Itoa(o.Connections),
	}
	j, _ := json.Marshal(o) // plain fields: cannot fail
	var ev bytes.Buffer
	ev.WriteString("event: overview\ndata: ")
	ev.Write(j)
	ev.WriteString("\n\n")
	return &update{overview: o, event: ev.Bytes(), tree: tree}
}

// networkHashrate estimates the network's hashrate from the work and the
// time of the last IntervalBlocks blocks.
func (s *Server) networkHashrate(tip node.BlockInfo) float64 {
	if tip.Height == 0 || tip.Work == nil {
		return 0
	}
	anc, ok := s.cfg.Chain.BlockByHeight(max(0, tip.Height-IntervalBlocks))
	if !ok || anc.Work == nil {
		return 0
	}
	dt := int64(tip.Header.Timestamp) - int64(anc.Header.Timestamp)
	if dt <= 0 {
		return 0
	}
	work := new(big.Int).Sub(tip.Work, anc.Work)
	w, _ := new(big.Float).SetInt(work).Float64()
	return w / float64(dt)
}

// diff1 is the target of difficulty 1 (bits 0x1d00ffff).
var diff1 = chain.CompactToBig(0x1d00ffff)

// difficulty returns diff1 / target, as getblockheader's difficulty.
func difficulty(bits uint32) float64 {
	t := chain.CompactToBig(bits)
	if t.Sign() <= 0 {
		return 0
	}
	d, _ := new(big.Rat).SetFrac(diff1, t).Float64()
	return d
}

// formatRate prints a hashrate with an SI prefix.
func formatRate(r float64) string {
	return formatSI(r) + "H/s"
}

// formatSI prints v with three significant digits and an SI prefix.
func formatSI(v float64) string {
	if v == 0 || math.IsNaN(v) || math.IsInf(v, 0) {
		return "0 "
	}
	units := []string{"", "k", "M", "G", "T", "P", "E"}
	i := 0
	for math.Abs(v) >= 1000 && i < len(units)-1 {
		v /= 1000
		i++
	}
	return strconv.FormatFloat(v, 'f', max(0, 2-int(math.Floor(math.Log10(math.Abs(v))))), 64) + " " + units[i]
}

// formatFloat prints a difficulty with four significant digits.
func formatFloat(v float64) string {
	return strconv.FormatFloat(v, 'g', 4, 64)
}

// formatDuration prints a duration as days, hours, minutes, seconds.
func formatDuration(d time.Duration) string {
	d = d.Round(time.Second)
	days := d / (24 * time.Hour)
	d -= days * 24 * time.Hour
	if days > 0 {
		return fmt.Sprintf("%dd %s", days, d)
	}
	return d.String()
}

// coins prints base units as coins with eight decimals.
func coins(units uint64) string {
	return fmt.Sprintf("%d.%08d", units/chain.BaseUnitsPerCoin, units%chain.BaseUnitsPerCoin)
}
