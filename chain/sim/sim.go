package sim

import (
	"container/heap"
	"errors"
	"fmt"
	"math/rand/v2"
	"time"
)

// Rule is a fork-choice rule: which block a node takes as its tip when it
// learns one.
type Rule uint8

// The rules.
const (
	// Heaviest is the real rule of chain/node: the chain with the most
	// cumulative work, and at equal work the one seen first. With blocks
	// of equal difficulty, as here, most work means longest.
	Heaviest Rule = iota + 1

	// KeepFirst never leaves the chain a node first adopted: only a block
	// that extends the tip moves it, and competing branches are ignored,
	// even longer ones.
	KeepFirst

	// TakeLatest moves the tip to whatever block the node learned last,
	// every block here being valid, even a shorter branch's.
	TakeLatest
)

// Rules lists every rule, in the order reports show them.
func Rules() []Rule { return []Rule{Heaviest, KeepFirst, TakeLatest} }

// String returns the rule's name as ParseRule reads it: "heaviest",
// "keep-first" or "take-latest".
func (r Rule) String() string {
	switch r {
	case Heaviest:
		return "heaviest"
	case KeepFirst:
		return "keep-first"
	case TakeLatest:
		return "take-latest"
	}
	return fmt.Sprintf("Rule(%d)", uint8(r))
}

// ParseRule returns the rule named s (see Rule.String).
func ParseRule(s string) (Rule, error) {
	for _, r := range Rules() {
		if r.String() == s {
			return r, nil
		}
	}
	return 0, fmt.Errorf("sim: unknown rule %q (want heaviest, keep-first or take-latest)", s)
}

// Bounds of a Config.
const (
	// MaxNodes is the most nodes a Config may have.
	MaxNodes = 1 << 16

	// MaxSpan bounds Latency, BlockInterval and Duration, so that virtual
	// times stay far from overflowing.
	MaxSpan = 10_000 * time.Hour
)

// Config describes one simulation. Validate checks it.
type Config struct {
	// Rule is the fork-choice rule every node follows. Required.
	Rule Rule

	// Nodes is the number of nodes, 1 to MaxNodes.
	Nodes int

	// Latency is the mean one-way latency of a link; each link's is drawn
	// uniformly from [Latency/2, 3*Latency/2), and each message takes the
	// link's times a factor in [0.5, 1.5). 0 to MaxSpan.
	Latency time.Duration

	// BlockInterval is the mean time between blocks over the whole
	// network. Positive, at most MaxSpan.
	BlockInterval time.Duration

	// Duration is how long the network mines. After it, mining goes on
	// only while the nodes disagree or messages are in flight, for at
	// most 100 block intervals (the tail; see the package comment), and
	// the run ends when no message is left. Positive, at most MaxSpan.
	Duration time.Duration

	// Shares are the nodes' shares of the hash power, one per node, not
	// necessarily summing to 1 (they are normalized). Nil means equal
	// shares.
	Shares []float64

	// Bins, when positive, asks each run for the fraction of nodes on the
	// majority tip over time: Duration is cut into Bins equal bins and
	// RunResult.Majority holds the time-weighted mean fraction of each.
	Bins int

	// Seed seeds every random choice; run r of a Simulate call uses the
	// seed pair (Seed, r).
	Seed uint64
}

// Validate reports the first problem with c, or nil.
func (c *Config) Validate() error {
	switch {
	case c.Rule < Heaviest || c.Rule > TakeLatest:
		return fmt.Errorf("sim: unknown rule %v", c.Rule)
	case c.Nodes < 1 || c.Nodes > MaxNodes:
		return fmt.Errorf("sim: %d nodes, want 1 to %d", c.Nodes, MaxNodes)
	case c.Latency < 0 || c.Latency > MaxSpan:
		return fmt.Errorf("sim: latency %v, want 0 to %v", c.Latency, MaxSpan)
	case c.BlockInterval <= 0 || c.BlockInterval > MaxSpan:
		return fmt.Errorf("sim: block interval %v, want more than 0, at most %v", c.BlockInterval, MaxSpan)
	case c.Duration <= 0 || c.Duration > MaxSpan:
		return fmt.Errorf("sim: duration %v, want more than 0, at most %v", c.Duration, MaxSpan)
	case c.Shares != nil && len(c.Shares) != c.Nodes:
		return fmt.Errorf("sim: %d hash power shares for %d nodes", len(c.Shares), c.Nodes)
	case c.Bins < 0 || c.Bins > 0 && c.Duration/time.Duration(c.Bins) == 0:
		return fmt.Errorf("sim: %d bins for a duration of %v", c.Bins, c.Duration)
	}
	var sum float64
	for _, s := range c.Shares {
		if !(s >= 0) { // also NaN
			return fmt.Errorf("sim: hash power share %v, want one at least 0", s)
		}
		sum += s
	}
	if c.Shares != nil && !(sum > 0) {
		return errors.New("sim: hash power shares sum to 0")
	}
	return nil
}

// RunResult is what one run measured.
type RunResult struct {
	// Converged is true when all nodes had the same tip at the end.
	Converged bool

	// AgreeTime is, for a converged run, the time from the discovery of
	// the last block found before Config.Duration to the moment all nodes
	// had the same tip for good. It includes the tail's blocks when it
	// took them to break a tie.
	AgreeTime time.Duration

	// Blocks is the number of blocks found, genesis not counted, the
	// tail's included; Stale is
	// how many of them are not on the final main chain, the chain of the
	// tip most nodes hold at the end (the higher, then the earlier found,
	// at a tie).
	Blocks, Stale int

	// TipFlips counts, over all nodes, the tip changes that are not
	// extensions: the new tip does not descend from the old one.
	TipFlips int

	// MaxReorgDepth is the most blocks one tip change abandoned: the old
	// tip's height minus that of its last common ancestor with the new.
	MaxReorgDepth int

	// Majority is the time-weighted mean fraction of nodes on the
	// majority tip in each of Config.Bins bins; nil when Bins is 0.
	Majority []float64
}

// genesisID is the simulator's id of block 0, known to every node.
const genesisID = 0

// tailIntervals bounds the tail: after Duration, mining goes on while the
// nodes disagree or messages are in flight, for at most this many block
// intervals.
const tailIntervals = 100

// simBlock is one block of the simulator's tree, indexed by id in
// simulation.blocks. Genesis has parent -1.
type simBlock struct {
	parent int32
	height int32
	found  time.Duration
}

// peer is one end of a link.
type peer struct {
	to      int32
	latency time.Duration
}

// heldBlock is a block that arrived before its parent, and its sender.
type heldBlock struct {
	id, from int32
}

// simNode is one node's view.
type simNode struct {
	tip   int32
	peers []peer
	known []bool                // by block id
	held  map[int32][]heldBlock // by the id of the missing parent
}

// eventKind says what an event does.
type eventKind uint8

const (
	blockFound   eventKind = iota + 1 // node to finds a block on its tip
	blockArrives                      // block arrives at node to from node from
)

// event is one entry of the queue; seq orders events at the same time in
// the order they were scheduled, which keeps runs deterministic.
type event struct {
	at       time.Duration
	seq      uint64
	kind     eventKind
	block    int32
	to, from int32
}

// eventQueue is a min-heap of events by (at, seq), for container/heap.
type eventQueue []event

func (q eventQueue) Len() int { return len(q) }
func (q eventQueue) Less(i, j int) bool {
	if q[i].at != q[j].at {
		return q[i].at < q[j].at
	}
	return q[i].seq < q[j].seq
}
func (q eventQueue) Swap(i, j int) { q[i], q[j] = q[j], q[i] }

// Push implements heap.Interface.
func (q *eventQueue) Push(x any) { *q = append(*q, x.(event)) }

// Pop implements heap.Interface.
func (q *eventQueue) Pop() any {
	old := *q
	e := old[len(old)-1]
	*q = old[:len(old)-1]
	return e
}

// simulation is the state of one run.
type simulation struct {
	cfg    *Config
	rng    *rand.Rand
	shares []float64 // cumulative hash power shares, for picking finders
	salt   uint64    // seeds the message delays, see delay
	now    time.Duration
	queue  eventQueue
	seq    uint64
	blocks []simBlock
	nodes  []simNode
	real   *realChain // Heaviest only

	// tipCount[id] is the number of nodes whose tip is block id.
	tipCount []int32

	// Measurements.
	lastFound   time.Duration // discovery of the last block before Duration
	flips       int
	maxReorg    int
	agreedSince time.Duration // when all tips last became equal; -1 while they differ
	lastFrac    float64       // fraction of nodes on the majority tip since lastChange
	lastChange  time.Duration
	majority    []float64 // time integral of the fraction per bin, in seconds
}

// Run simulates run number run of cfg (seeded with cfg.Seed and run).
func Run(cfg Config, run int) (RunResult, error) {
	if err := cfg.Validate(); err != nil {
		return RunResult{}, err
	}
	var rp *realParams
	if cfg.Rule == Heaviest {
		rp = newRealParams()
	}
	return runOne(&cfg, run, rp)
}

// runOne is Run on a validated config; rp holds the params and genesis
// of the Heaviest rule's real nodes, shared read-only between runs.
func runOne(cfg *Config, run int, rp *realParams) (RunResult, error) {
	s, err := newSimulation(cfg, run, rp)
	if err != nil {
		return RunResult{}, err
	}
	if err := s.run(); err != nil {
		return RunResult{}, fmt.Errorf("sim: run %d at %v: %w", run, s.now, err)
	}
	return s.result(), nil
}

// newSimulation sets up run number run of cfg: the topology, the nodes
// at genesis and the first discovery.
func newSimulation(cfg *Config, run int, rp *realParams) (*simulation, error) {
	s := &simulation{
		cfg:      cfg,
		rng:      rand.New(rand.NewPCG(cfg.Seed, uint64(run))),
		nodes:    make([]simNode, cfg.Nodes),
		lastFrac: 1,
	}
	s.buildTopology()
	s.salt = s.rng.Uint64()
	s.shares = make([]float64, cfg.Nodes)
	var sum float64
	for i := range s.shares {
		w := 1.0
		if cfg.Shares != nil {
			w = cfg.Shares[i]
		}
		sum += w
		s.shares[i] = sum
	}

	// About Duration/BlockInterval blocks, plus genesis and some margin;
	// the slices grow past it if need be.
	expect := int(min(cfg.Duration/cfg.BlockInterval, 1<<16))*9/8 + 16
	s.blocks = make([]simBlock, 1, expect)
	s.blocks[genesisID] = simBlock{parent: -1}
	s.tipCount = make([]int32, 1, expect)
	s.tipCount[genesisID] = int32(cfg.Nodes)
	for i := range s.nodes {
		s.nodes[i].known = make([]bool, 1, expect)
		s.nodes[i].known[genesisID] = true
	}
	if cfg.Bins > 0 {
		s.majority = make([]float64, cfg.Bins)
	}
	if cfg.Rule == Heaviest {
		var err error
		if s.real, err = newRealChain(rp, s); err != nil {
			return nil, err
		}
	}
	s.scheduleDiscovery()
	return s, nil
}

// run processes events until none is left.
func (s *simulation) run() error {
	cfg := s.cfg
	for s.queue.Len() > 0 {
		e := heap.Pop(&s.queue).(event)
		s.now = e.at
		var err error
		switch e.kind {
		case blockFound:
			if s.now >= cfg.Duration && (s.queue.Len() == 0 && s.agreedSince >= 0 ||
				s.now >= cfg.Duration+tailIntervals*cfg.BlockInterval) {
				continue // quiet and agreed, or the tail is over: mining stops
			}
			s.scheduleDiscovery()
			err = s.find(e.to)
		case blockArrives:
			err = s.arrive(e.to, e.block, e.from)
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// buildTopology links the nodes: a random spanning tree plus Nodes draws
// of an extra link, skipping those that repeat a link or loop.
func (s *simulation) buildTopology() {
	n := len(s.nodes)
	linked := make(map[[2]int32]bool)
	link := func(a, b int32) {
		if a > b {
			a, b = b, a
		}
		if a == b || linked[[2]int32{a, b}] {
			return
		}
		linked[[2]int32{a, b}] = true
		lat := s.cfg.Latency/2 + time.Duration(s.rng.Int64N(int64(s.cfg.Latency)+1))
		s.nodes[a].peers = append(s.nodes[a].peers, peer{to: b, latency: lat})
		s.nodes[b].peers = append(s.nodes[b].peers, peer{to: a, latency: lat})
	}
	for i := 1; i < n; i++ {
		link(int32(i), int32(s.rng.IntN(i)))
	}
	if n > 1 {
		for range n {
			link(int32(s.rng.IntN(n)), int32(s.rng.IntN(n)))
		}
	}
}

// scheduleDiscovery schedules the next block, an exponential time after
// now (mining is memoryless), by a node picked in proportion to its
// share.
func (s *simulation) scheduleDiscovery() {
	at := s.now + time.Duration(s.rng.ExpFloat64()*float64(s.cfg.BlockInterval))
	x := s.rng.Float64() * s.shares[len(s.shares)-1]
	f := 0
	for f < len(s.shares)-1 && s.shares[f] <= x {
		f++
	}
	s.push(event{at: at, kind: blockFound, to: int32(f)})
}

// push schedules e.
func (s *simulation) push(e event) {
	e.seq = s.seq
	s.seq++
	heap.Push(&s.queue, e)
}

// find makes a new block, found now by node finder on its tip.
func (s *simulation) find(finder int32) error {
	id := int32(len(s.blocks))
	parent := s.nodes[finder].tip
	s.blocks = append(s.blocks, simBlock{parent: parent, height: s.blocks[parent].height + 1, found: s.now})
	s.tipCount = append(s.tipCount, 0)
	for i := range s.nodes {
		s.nodes[i].known = append(s.nodes[i].known, false)
	}
	if s.now < s.cfg.Duration {
		s.lastFound = s.now
	}
	if s.real != nil {
		if err := s.real.build(s, finder, id); err != nil {
			return err
		}
	}
	return s.learn(finder, id, -1)
}

// arrive handles block id reaching node to from node from.
func (s *simulation) arrive(to, id, from int32) error {
	n := &s.nodes[to]
	if n.known[id] {
		return nil
	}
	if p := s.blocks[id].parent; !n.known[p] {
		if n.held == nil {
			n.held = make(map[int32][]heldBlock)
		}
		n.held[p] = append(n.held[p], heldBlock{id: id, from: from})
		return nil
	}
	return s.learn(to, id, from)
}

// learn makes node n learn block id, whose parent it knows, from node
// from (-1 for its own): it applies the rule, forwards the block, then
// learns the blocks held for it.
func (s *simulation) learn(n, id, from int32) error {
	node := &s.nodes[n]
	node.known[id] = true
	tip := node.tip
	switch s.cfg.Rule {
	case Heaviest:
		var err error
		if tip, err = s.real.process(n, id); err != nil {
			return err
		}
	case KeepFirst:
		if s.blocks[id].parent == node.tip {
			tip = id
		}
	case TakeLatest:
		tip = id
	}
	if tip != node.tip {
		s.setTip(n, tip)
	}
	for _, p := range node.peers {
		if p.to != from {
			s.push(event{at: s.now + s.delay(p, id, n), kind: blockArrives, block: id, to: p.to, from: n})
		}
	}
	children, ok := node.held[id]
	if !ok {
		return nil
	}
	delete(node.held, id)
	for _, c := range children {
		if !node.known[c.id] {
			if err := s.learn(n, c.id, c.from); err != nil {
				return err
			}
		}
	}
	return nil
}

// delay returns how long block id takes from node from over link p: the
// link's latency times a factor in [0.5, 1.5). The factor is a hash of
// the run's salt, the block and the link, not a draw from the run's
// random stream, so a block crosses a link in the same time under every
// rule. Since delays vary per message, a block can overtake its parent.
func (s *simulation) delay(p peer, id, from int32) time.Duration {
	x := s.salt ^ uint64(id)<<32 ^ uint64(from)<<16 ^ uint64(p.to)
	// splitmix64's finalizer.
	x ^= x >> 30
	x *= 0xbf58476d1ce4e5b9
	x ^= x >> 27
	x *= 0x94d049bb133111eb
	x ^= x >> 31
	factor := 0.5 + float64(x>>11)/(1<<53)
	return time.Duration(factor * float64(p.latency))
}

// setTip moves node n's tip and records the measurements.
func (s *simulation) setTip(n, tip int32) {
	node := &s.nodes[n]
	old := node.tip
	if fork := s.fork(old, tip); fork != old {
		s.flips++
		s.maxReorg = max(s.maxReorg, int(s.blocks[old].height-s.blocks[fork].height))
	}
	s.tipCount[old]--
	s.tipCount[tip]++
	node.tip = tip

	if int(s.tipCount[tip]) == len(s.nodes) {
		s.agreedSince = s.now
	} else {
		s.agreedSince = -1
	}
	if s.majority == nil {
		return
	}
	s.accumulate(s.now)
	var most int32
	for i := range s.nodes {
		most = max(most, s.tipCount[s.nodes[i].tip])
	}
	s.lastFrac = float64(most) / float64(len(s.nodes))
	s.lastChange = s.now
}

// fork returns the last common ancestor of blocks a and b.
func (s *simulation) fork(a, b int32) int32 {
	for s.blocks[a].height > s.blocks[b].height {
		a = s.blocks[a].parent
	}
	for s.blocks[b].height > s.blocks[a].height {
		b = s.blocks[b].parent
	}
	for a != b {
		a, b = s.blocks[a].parent, s.blocks[b].parent
	}
	return a
}

// accumulate adds the majority fraction held since lastChange, up to
// until (clipped to Duration), to the bins it spans.
func (s *simulation) accumulate(until time.Duration) {
	until = min(until, s.cfg.Duration)
	for from := s.lastChange; from < until; {
		b := min(int(from/s.binWidth()), len(s.majority)-1)
		end := until
		if b < len(s.majority)-1 {
			end = min(until, time.Duration(b+1)*s.binWidth())
		}
		s.majority[b] += s.lastFrac * (end - from).Seconds()
		from = end
	}
}

// binWidth is the width of every majority bin but the last, which runs to
// Duration.
func (s *simulation) binWidth() time.Duration {
	return s.cfg.Duration / time.Duration(s.cfg.Bins)
}

// result gathers the measurements once the queue is empty.
func (s *simulation) result() RunResult {
	r := RunResult{Blocks: len(s.blocks) - 1, TipFlips: s.flips, MaxReorgDepth: s.maxReorg}
	if s.agreedSince >= 0 {
		r.Converged = true
		r.AgreeTime = s.agreedSince - s.lastFound
	}

	// The final main chain: the tip most nodes hold, then the higher,
	// then the earlier found (lower id).
	main := s.nodes[0].tip
	for i := range s.nodes {
		t := s.nodes[i].tip
		ct, cm := s.tipCount[t], s.tipCount[main]
		if ct > cm || ct == cm && (s.blocks[t].height > s.blocks[main].height ||
			s.blocks[t].height == s.blocks[main].height && t < main) {
			main = t
		}
	}
	r.Stale = r.Blocks - int(s.blocks[main].height)

	if s.majority != nil {
		s.accumulate(s.cfg.Duration)
		r.Majority = make([]float64, len(s.majority))
		for i, v := range s.majority {
			width := s.binWidth()
			if i == len(s.majority)-1 {
				width = s.cfg.Duration - time.Duration(i)*s.binWidth()
			}
			r.Majority[i] = v / width.Seconds()
		}
	}
	return r
}
