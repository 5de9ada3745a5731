package sim

import (
	"context"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"runtime"
	"sync"

	"github.com/powmine/powmine/chain"
	"github.com/powmine/powmine/chain/pos"
)

// Mode is how the blocks of a finality simulation are made.
type Mode uint8

// The modes.
const (
	// Hybrid: miners find blocks by proof of work (a Poisson process, as
	// in the convergence simulation) and validators finalize checkpoints.
	Hybrid Mode = iota + 1

	// PoS: each slot's proposer is elected by stake with the chain/pos
	// election and its beacon; an offline proposer misses its slot.
	PoS
)

// String returns "hybrid" or "pos".
func (m Mode) String() string {
	switch m {
	case Hybrid:
		return "hybrid"
	case PoS:
		return "pos"
	}
	return fmt.Sprintf("Mode(%d)", uint8(m))
}

// ParseMode returns the mode named s (see Mode.String).
func ParseMode(s string) (Mode, error) {
	for _, m := range []Mode{Hybrid, PoS} {
		if m.String() == s {
			return m, nil
		}
	}
	return 0, fmt.Errorf("sim: unknown mode %q (want hybrid or pos)", s)
}

// Attack is what the byzantine validators do.
type Attack uint8

// The attacks.
const (
	// AttackMixed gives the byzantine validators, in turn, the roles of
	// double voter, surround voter and vote withholder; in PoS mode every
	// byzantine proposer also equivocates.
	AttackMixed Attack = iota

	// AttackDouble makes every byzantine validator vote, during a
	// partition, for both halves' checkpoints, each half getting the
	// other's vote only when the partition heals (and like an honest
	// one otherwise): the attack on accountable safety. In PoS mode a
	// byzantine proposer likewise seals one block for each half during
	// a partition, and one block otherwise.
	AttackDouble
)

// Virtual time of a finality simulation, in ticks of 50 ms.
const (
	tickMillis   = 50
	slotTicks    = 20 // a PoS slot and the mean hybrid block interval: 1 s
	latencyTicks = 4  // mean one-way link latency: 200 ms
)

// Limits of FinalityConfig.
const (
	MaxFinalityValidators = 1000
	MaxFinalityEpochs     = 1000
	MaxEpochLength        = 1000
	DefaultEpochLength    = 8
)

// FinalityConfig describes one finality simulation. Validate checks it.
type FinalityConfig struct {
	// Mode is Hybrid or PoS. Required.
	Mode Mode

	// Validators is the number of validators, 1 to MaxFinalityValidators,
	// each on its own node, each with a stake drawn uniformly from 1 to
	// 1,000.
	Validators int

	// Offline and Byzantine are the shares of the total stake, in [0, 1],
	// that are offline and byzantine: validators are taken in a random
	// order, and one joins a group while the group's stake stays within
	// its share, so the actual shares (in the report) are at most these.
	Offline, Byzantine float64

	// Epochs is the number of epochs voted on, 1 to MaxFinalityEpochs:
	// blocks are made up to the checkpoint of epoch Epochs+1, so that
	// epoch Epochs can be finalized.
	Epochs int

	// EpochLength is the number of blocks (hybrid) or slots (PoS) of an
	// epoch; 0 means DefaultEpochLength.
	EpochLength uint64

	// OfflineFrom and OfflineTo bound the epochs [OfflineFrom, OfflineTo)
	// during which the offline validators neither vote nor propose;
	// OfflineTo 0 means to the end of the run.
	OfflineFrom, OfflineTo uint64

	// PartitionFrom and PartitionTo bound the epochs of wall time
	// [PartitionFrom, PartitionTo) during which the honest nodes are
	// split in two halves of about equal stake whose messages to each
	// other wait until the partition heals; PartitionTo 0 means no
	// partition. Byzantine nodes reach both halves.
	PartitionFrom, PartitionTo uint64

	// Attack is what the byzantine validators do.
	Attack Attack

	// Seed fixes everything: stakes, keys, roles, link delays, blocks.
	Seed uint64
}

// Validate reports the first field out of range.
func (c *FinalityConfig) Validate() error {
	switch {
	case c.Mode != Hybrid && c.Mode != PoS:
		return fmt.Errorf("sim: mode %v, want hybrid or pos", c.Mode)
	case c.Validators < 1 || c.Validators > MaxFinalityValidators:
		return fmt.Errorf("sim: %d validators, want 1 to %d", c.Validators, MaxFinalityValidators)
	case !(c.Offline >= 0 && c.Offline <= 1) || !(c.Byzantine >= 0 && c.Byzantine <= 1):
		return fmt.Errorf("sim: offline %v and byzantine %v must be shares in [0, 1]", c.Offline, c.Byzantine)
	case c.Offline+c.Byzantine > 1:
		return fmt.Errorf("sim: offline %v plus byzantine %v exceed the whole stake", c.Offline, c.Byzantine)
	case c.Epochs < 1 || c.Epochs > MaxFinalityEpochs:
		return fmt.Errorf("sim: %d epochs, want 1 to %d", c.Epochs, MaxFinalityEpochs)
	case c.EpochLength > MaxEpochLength:
		return fmt.Errorf("sim: epoch length %d, want at most %d", c.EpochLength, MaxEpochLength)
	case c.OfflineTo != 0 && c.OfflineTo <= c.OfflineFrom:
		return fmt.Errorf("sim: offline epochs [%d, %d) are empty", c.OfflineFrom, c.OfflineTo)
	case c.PartitionTo != 0 && (c.PartitionTo <= c.PartitionFrom || c.PartitionTo > uint64(c.Epochs)+2):
		return fmt.Errorf("sim: partition epochs [%d, %d) must be non-empty and end by epoch %d", c.PartitionFrom, c.PartitionTo, c.Epochs+2)
	case c.Attack > AttackDouble:
		return fmt.Errorf("sim: unknown attack %d", c.Attack)
	}
	return nil
}

// FinalityReport sums up a finality simulation. Its JSON form has exactly
// the fields finalized_epochs, conflicting_finalized, slashable_offences,
// slashed and proposer_share_error.
type FinalityReport struct {
	// FinalizedEpochs is the epoch of the finalized checkpoint at the
	// end, the lowest over the honest nodes (Finality.Finalized).
	FinalizedEpochs uint64 `json:"finalized_epochs"`

	// ConflictingFinalized counts the checkpoints finalized by some
	// honest node that are not on one chain with every other checkpoint
	// an honest node finalized: 0 means safety held.
	ConflictingFinalized int `json:"conflicting_finalized"`

	// SlashableOffences counts the byzantine validators that sent two
	// votes making a double or surround vote (chain.Slashable) or, in
	// PoS mode, sealed two blocks for one slot (chain.ProposerEvidence);
	// one validator is slashed once, however often it offends.
	SlashableOffences int `json:"slashable_offences"`

	// Slashed counts those of them slashed at every honest node.
	Slashed int `json:"slashed"`

	// ProposerShareError is, in PoS mode, the largest absolute difference
	// between a validator's share of the slots it was elected for and its
	// share of the stake; in hybrid mode miners propose and it is null.
	ProposerShareError *float64 `json:"proposer_share_error"`

	// StalledEpochs counts the epochs 1..Epochs whose own checkpoint some
	// honest node never finalized (no supermajority link to the next
	// epoch's checkpoint): 0 when finality never stalled.
	StalledEpochs int `json:"-"`

	// ByzantineStake, OfflineStake and SlashedStake are shares of the
	// total stake; SlashedStake counts validators slashed at every honest
	// node.
	ByzantineStake, OfflineStake, SlashedStake float64 `json:"-"`

	// Blocks made, proposer equivocations, votes sent.
	Blocks, Equivocations, Votes int `json:"-"`
}

// simBlockF is a block of the finality simulation's shared tree.
type simBlockF struct {
	hash     chain.Hash
	parent   int32
	height   uint64
	slot     uint64 // the height in hybrid mode
	proposer int32  // -1 for a mined block

	// seal is the proposer's signed header of a PoS block (pos.NewSeal
	// over hash; the simulator mixes reveals apart, so it signs none).
	seal chain.SignedHeader
}

// msgKind tells the messages apart.
type msgKind uint8

const (
	msgBlock msgKind = iota
	msgVote
	msgEvidence
	msgProposerEvidence
)

// message is one delivery to one node.
type message struct {
	kind  msgKind
	block int32
	vote  *chain.Vote
	ev    *chain.Evidence
	pev   *chain.ProposerEvidence
}

// delivery is a message on its way to a node.
type delivery struct {
	to  int32
	msg message
}

// pendingVote is a vote a node cannot count yet.
type pendingVote struct {
	vote chain.Vote

	// tried is set once Finality refused it for an unjustified source:
	// it is tried again only when the source is justified, so that its
	// signature is checked at most twice, while a slashable vote is still
	// caught on the first try (AddVote checks offences before sources).
	tried bool
}

// finNode is one validator's node: its own block tree view and Finality.
// During a tick's parallel phase only its goroutine touches it.
type finNode struct {
	idx     int32
	side    int8 // partition half of an honest node; -1 for byzantine
	fin     *pos.Finality
	known   []bool
	orphans map[int32][]int32
	tip     int32
	justBlk int32 // block id of fin.Justified()
	pending []pendingVote
	voted   uint64                        // highest target epoch voted (or skipped)
	seals   map[uint64]chain.SignedHeader // PoS: the first seal seen per slot
	inbox   []message
	out     []message // broadcasts made this tick
}

// The roles of byzantine validators.
const (
	roleDouble    = iota // two votes for every target epoch
	roleSurround         // a vote from the root every third epoch
	roleWithhold         // no votes
	roleBothSides        // during a partition, a vote for each half's checkpoint
)

// finSim is one run.
type finSim struct {
	cfg     FinalityConfig
	l       uint64
	rng     *rand.Rand
	network chain.Hash

	keys      []ed25519.PrivateKey
	stakes    []uint64
	total     uint64
	byzantine []bool
	offline   []bool
	role      []uint8 // a byzantine validator's role
	latency   [][]uint8

	blocks []simBlockF
	byHash map[chain.Hash]int32
	nodes  []*finNode
	honest []int32
	rep    [2]int32 // a node of each partition half (the same twice without one)

	calendar map[int64][]delivery
	inFlight int
	now      int64

	// byzantine bookkeeping
	byzVoted  [][2]uint64 // highest target epoch voted, per partition half
	byzSent   [][]chain.Vote
	offender  []bool
	elected   []uint64
	reveals   map[[2]uint64]pos.RevealOutput
	seeds     map[uint64]chain.Hash
	election  *pos.Election
	report    FinalityReport
	producing bool
}

// SimulateFinality runs one finality simulation: the real chain/pos
// Finality at every honest node, real ed25519 votes and evidence, the real
// election in PoS mode. See the package documentation. It checks ctx once
// per simulated second.
func SimulateFinality(ctx context.Context, cfg FinalityConfig) (FinalityReport, error) {
	if err := cfg.Validate(); err != nil {
		return FinalityReport{}, err
	}
	s, err := newFinSim(cfg)
	if err != nil {
		return FinalityReport{}, err
	}
	if err := s.run(ctx); err != nil {
		return FinalityReport{}, err
	}
	return s.result(), nil
}

func newFinSim(cfg FinalityConfig) (*finSim, error) {
	l := cfg.EpochLength
	if l == 0 {
		l = DefaultEpochLength
	}
	n := cfg.Validators
	s := &finSim{
		cfg:       cfg,
		l:         l,
		rng:       rand.New(rand.NewPCG(cfg.Seed, 0xf1a1)),
		network:   chain.Hash(sha256.Sum256(binary.LittleEndian.AppendUint64([]byte("sim finality network"), cfg.Seed))),
		byHash:    make(map[chain.Hash]int32),
		calendar:  make(map[int64][]delivery),
		byzVoted:  make([][2]uint64, n),
		byzSent:   make([][]chain.Vote, n),
		offender:  make([]bool, n),
		elected:   make([]uint64, n),
		reveals:   make(map[[2]uint64]pos.RevealOutput),
		seeds:     make(map[uint64]chain.Hash),
		producing: true,
	}
	vals := make([]pos.Validator, n)
	for i := range n {
		seed := sha256.Sum256(binary.LittleEndian.AppendUint64(binary.LittleEndian.AppendUint64([]byte("sim validator key"), cfg.Seed), uint64(i)))
		s.keys = append(s.keys, ed25519.NewKeyFromSeed(seed[:]))
		st := 1 + s.rng.Uint64N(1000)
		s.stakes = append(s.stakes, st)
		s.total += st
		vals[i] = pos.Validator{Key: chain.PublicKey(s.keys[i].Public().(ed25519.PublicKey)), Stake: st}
	}
	s.byzantine = s.pick(cfg.Byzantine, nil)
	s.offline = s.pick(cfg.Offline, s.byzantine)
	s.role = make([]uint8, n)
	var k uint8
	for i := range n {
		if s.byzantine[i] {
			s.role[i] = roleBothSides
			if cfg.Attack == AttackMixed {
				s.role[i] = k % 3
				k++
			}
			s.report.ByzantineStake += float64(s.stakes[i]) / float64(s.total)
		}
		if s.offline[i] {
			s.report.OfflineStake += float64(s.stakes[i]) / float64(s.total)
		}
	}
	s.latency = make([][]uint8, n)
	for i := range s.latency {
		s.latency[i] = make([]uint8, n)
		for j := range s.latency[i] {
			s.latency[i][j] = uint8(latencyTicks/2 + s.rng.IntN(latencyTicks))
		}
	}
	genesis := simBlockF{hash: s.network, parent: -1, proposer: -1}
	s.blocks = []simBlockF{genesis}
	s.byHash[genesis.hash] = 0
	root := chain.Checkpoint{Epoch: 0, Hash: genesis.hash}
	var sideStake [2]uint64
	s.rep = [2]int32{-1, -1}
	for i := range n {
		nd := &finNode{idx: int32(i), side: -1, orphans: make(map[int32][]int32), seals: make(map[uint64]chain.SignedHeader), known: []bool{true}}
		s.nodes = append(s.nodes, nd)
		if s.byzantine[i] {
			continue
		}
		nd.side = 0
		if sideStake[1] < sideStake[0] {
			nd.side = 1
		}
		sideStake[nd.side] += s.stakes[i]
		if s.rep[nd.side] < 0 {
			s.rep[nd.side] = int32(i)
		}
		s.honest = append(s.honest, int32(i))
		f, err := pos.New(pos.Config{Network: s.network, EpochLength: l, Validators: vals, Root: root,
			Lookup: func(c chain.Checkpoint) bool {
				id, ok := s.byHash[c.Hash]
				return ok && int(id) < len(nd.known) && nd.known[id] && s.isCheckpoint(id, c.Epoch)
			}})
		if err != nil {
			return nil, err
		}
		nd.fin = f
	}
	if len(s.honest) == 0 {
		return nil, errors.New("sim: every validator is byzantine")
	}
	if s.rep[1] < 0 {
		s.rep[1] = s.rep[0]
	}
	if cfg.Mode == PoS {
		e, err := pos.NewElection(s.stakes)
		if err != nil {
			return nil, err
		}
		s.election = e
	}
	return s, nil
}

// pick returns a random set of validators, outside exclude, whose stake
// stays within share of the total.
func (s *finSim) pick(share float64, exclude []bool) []bool {
	in := make([]bool, len(s.stakes))
	limit := share * float64(s.total)
	var sum uint64
	for _, i := range s.rng.Perm(len(s.stakes)) {
		if (exclude != nil && exclude[i]) || float64(sum+s.stakes[i]) > limit {
			continue
		}
		in[i] = true
		sum += s.stakes[i]
	}
	return in
}

// epochTicks is the wall time of an epoch.
func (s *finSim) epochTicks() int64 { return int64(s.l) * slotTicks }

// online reports whether validator v votes for (and proposes in) epoch e.
func (s *finSim) online(v int, e uint64) bool {
	return !s.offline[v] || e < s.cfg.OfflineFrom || (s.cfg.OfflineTo != 0 && e >= s.cfg.OfflineTo)
}

// partitioned reports whether the partition is up at tick t.
func (s *finSim) partitioned(t int64) bool {
	e := uint64(t / s.epochTicks())
	return s.cfg.PartitionTo != 0 && e >= s.cfg.PartitionFrom && e < s.cfg.PartitionTo
}

// isCheckpoint reports whether block id can be the checkpoint of epoch e:
// the block at height e·L in hybrid mode; in PoS mode the last block of a
// branch with slot at most e·L, which must belong to epoch e.
func (s *finSim) isCheckpoint(id int32, e uint64) bool {
	if e == 0 {
		return id == 0
	}
	b := &s.blocks[id]
	if s.cfg.Mode == Hybrid {
		return b.slot == e*s.l
	}
	return b.slot <= e*s.l && b.slot > (e-1)*s.l
}

// checkpointOn returns the checkpoint of epoch e on the branch ending at tip.
func (s *finSim) checkpointOn(tip int32, e uint64) (chain.Checkpoint, int32, bool) {
	id := tip
	for id > 0 && s.blocks[id].slot > e*s.l {
		id = s.blocks[id].parent
	}
	if !s.isCheckpoint(id, e) {
		return chain.Checkpoint{}, -1, false
	}
	return chain.Checkpoint{Epoch: e, Hash: s.blocks[id].hash}, id, true
}

// ancestor reports whether a is d or one of its ancestors.
func (s *finSim) ancestor(a, d int32) bool {
	for d >= 0 && s.blocks[d].height > s.blocks[a].height {
		d = s.blocks[d].parent
	}
	return d == a
}

// send schedules msg from node from to every honest node (and itself).
func (s *finSim) send(from int32, msg message) { s.sendTo(from, msg, -1) }

// sendTo is send, but during a partition a byzantine sender naming a half
// (side ≥ 0) holds the message back from the other half until it heals.
func (s *finSim) sendTo(from int32, msg message, side int8) {
	for _, to := range s.honest {
		d := int64(1) // next tick for the node itself
		if to != from {
			d = int64(s.latency[from][to]) + int64(s.rng.IntN(latencyTicks/2+1))
		}
		at := s.now + d
		fs, ts := s.nodes[from].side, s.nodes[to].side
		if fs < 0 {
			fs = side
		}
		if fs >= 0 && ts >= 0 && fs != ts && s.partitioned(s.now) {
			heal := int64(s.cfg.PartitionTo) * s.epochTicks()
			at = max(at, heal+d)
		}
		s.calendar[at] = append(s.calendar[at], delivery{to: to, msg: msg})
		s.inFlight++
	}
}

// newBlock adds a block on parent and sends it from node from (see
// sendTo for side).
func (s *finSim) newBlock(from, parent int32, slot uint64, proposer int32, side int8) {
	p := &s.blocks[parent]
	h := sha256.New()
	h.Write([]byte("sim finality block"))
	h.Write(p.hash[:])
	// The block's index makes its hash unique: two miners finding a block
	// on one parent make two blocks.
	id := int32(len(s.blocks))
	var b [24]byte
	binary.LittleEndian.PutUint64(b[:], slot)
	binary.LittleEndian.PutUint64(b[8:], uint64(int64(proposer)))
	binary.LittleEndian.PutUint64(b[16:], uint64(id))
	h.Write(b[:])
	blk := simBlockF{hash: chain.Hash(h.Sum(nil)), parent: parent, height: p.height + 1, slot: slot, proposer: proposer}
	if s.cfg.Mode == Hybrid {
		blk.slot = blk.height
	} else {
		seal, err := pos.NewSeal(s.keys[proposer], s.network, slot, blk.hash, pos.Reveal{})
		if err != nil {
			panic(err)
		}
		blk.seal = seal.Header(blk.hash)
	}
	s.blocks = append(s.blocks, blk)
	s.byHash[blk.hash] = id
	s.report.Blocks++
	s.sendTo(from, message{kind: msgBlock, block: id}, side)
}

func (s *finSim) run(ctx context.Context) error {
	nextFind := int64(s.rng.ExpFloat64() * slotTicks)
	// Blocks are made until the votes for epoch Epochs+1 are due.
	lastSlot := (uint64(s.cfg.Epochs)+1)*s.l + s.l/2
	end := int64(math.MaxInt64)
	// Mining stops when every honest node reached the last checkpoint, or
	// at ten times the expected duration (a safety bound, not a result).
	stopMining := int64(lastSlot) * slotTicks * 10
	if s.cfg.Mode == PoS {
		end = int64(lastSlot+1) * slotTicks
	}
	for s.now = 0; s.now <= end || s.inFlight > 0; s.now++ {
		if s.now%(1000/tickMillis) == 0 {
			if err := ctx.Err(); err != nil {
				return err
			}
		}
		if s.cfg.Mode == Hybrid && s.producing {
			done := true
			for _, i := range s.honest {
				done = done && s.blocks[s.nodes[i].tip].height >= lastSlot
			}
			if done || s.now >= stopMining {
				s.producing = false
				end = s.now + 1
			}
			for s.producing && s.now >= nextFind {
				f := s.honest[s.rng.IntN(len(s.honest))]
				s.newBlock(f, s.nodes[f].tip, 0, -1, -1)
				nextFind += max(1, int64(s.rng.ExpFloat64()*slotTicks))
			}
		}
		if s.cfg.Mode == PoS && s.now%slotTicks == 0 && s.now > 0 && uint64(s.now/slotTicks) <= lastSlot {
			s.propose(uint64(s.now / slotTicks))
		}
		s.byzantineVotes()
		for _, d := range s.calendar[s.now] {
			nd := s.nodes[d.to]
			nd.inbox = append(nd.inbox, d.msg)
			s.inFlight--
		}
		delete(s.calendar, s.now)
		s.step()
	}
	return nil
}

// minWorkPerGoroutine is the number of messages that justifies one more
// goroutine in a tick.
const minWorkPerGoroutine = 64

// step lets every honest node handle its inbox and act, in parallel (each
// touches only its own state; the shared tree is read-only meanwhile),
// then sends what they made in node order, so a run stays deterministic.
func (s *finSim) step() {
	var busy []*finNode
	work := 0
	for _, i := range s.honest {
		nd := s.nodes[i]
		for len(nd.known) < len(s.blocks) {
			nd.known = append(nd.known, false)
		}
		if len(nd.inbox) > 0 || s.voteDue(nd) {
			busy = append(busy, nd)
			work += len(nd.inbox) + 1
		}
	}
	// Goroutines pay only for enough votes to check (about 15 µs each).
	workers := min(runtime.GOMAXPROCS(0), len(busy), 1+work/minWorkPerGoroutine)
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			for k := w; k < len(busy); k += workers {
				s.handle(busy[k])
			}
		})
	}
	wg.Wait()
	for _, nd := range busy {
		for _, m := range nd.out {
			if m.kind == msgVote {
				s.report.Votes++
			}
			s.send(nd.idx, m)
		}
		nd.out = nd.out[:0]
	}
}

// voteOffset is when, after the start of its epoch, a PoS validator
// votes: in the middle of the epoch's middle slot, so that a fork at the
// checkpoint (an equivocation, a late block) is settled by then.
func (s *finSim) voteOffset() int64 { return int64(s.l/2)*slotTicks + slotTicks/2 }

// dueEpoch returns the target epoch a validator following tip votes for
// now, or 0.
func (s *finSim) dueEpoch(tip int32) uint64 {
	var e uint64
	if s.cfg.Mode == Hybrid {
		if h := s.blocks[tip].height; h >= s.l/2 {
			e = (h - s.l/2) / s.l
		}
	} else if at := s.voteOffset(); s.now >= at {
		e = uint64((s.now - at) / s.epochTicks())
	}
	return min(e, uint64(s.cfg.Epochs)+1)
}

func (s *finSim) voteDue(nd *finNode) bool {
	e := s.dueEpoch(nd.tip)
	return e > nd.voted && s.online(int(nd.idx), e)
}

// handle is one node's tick: learn blocks, count votes, take evidence,
// choose the tip, vote.
func (s *finSim) handle(nd *finNode) {
	for _, m := range nd.inbox {
		switch m.kind {
		case msgBlock:
			s.checkSeal(nd, m.block)
			s.learn(nd, m.block)
		case msgVote:
			nd.pending = append(nd.pending, pendingVote{vote: *m.vote})
		case msgEvidence:
			if !nd.fin.Slashed(m.ev.Validator()) {
				_ = nd.fin.AddEvidence(*m.ev)
			}
		case msgProposerEvidence:
			if !nd.fin.Slashed(m.pev.Proposer()) {
				_ = nd.fin.AddProposerEvidence(*m.pev)
			}
		}
	}
	nd.inbox = nd.inbox[:0]
	for progress := true; progress; {
		progress = s.countVotes(nd)
	}
	if j := nd.fin.Justified(); s.blocks[nd.justBlk].hash != j.Hash {
		nd.justBlk = s.byHash[j.Hash]
		s.chooseTip(nd)
	}
	e := s.dueEpoch(nd.tip)
	if e <= nd.voted {
		return
	}
	nd.voted = e
	if !s.online(int(nd.idx), e) {
		return
	}
	v, ok := s.honestVote(nd, e)
	if !ok {
		return
	}
	if err := v.Sign(s.keys[nd.idx], s.network); err != nil {
		panic(err)
	}
	nd.out = append(nd.out, message{kind: msgVote, vote: &v})
}

// honestVote is the FFG vote of a node for target epoch e: from its
// highest justified checkpoint to the checkpoint of e on its tip's branch.
func (s *finSim) honestVote(nd *finNode, e uint64) (chain.Vote, bool) {
	src := nd.fin.Justified()
	tgt, id, ok := s.checkpointOn(nd.tip, e)
	if !ok || src.Epoch >= e || !s.ancestor(s.byHash[src.Hash], id) {
		return chain.Vote{}, false
	}
	return chain.Vote{Source: src, Target: tgt}, true
}

// countVotes passes the pending votes that can count now to
// Finality.AddVotes: both checkpoints known, the source an ancestor of
// the target, and the source justified unless the vote was never tried.
// It keeps the others pending, and turns a slashable vote into evidence
// it applies and gossips. It reports whether a vote counted.
func (s *finSim) countVotes(nd *finNode) bool {
	var ready []chain.Vote
	keep := nd.pending[:0]
	for _, p := range nd.pending {
		v := &p.vote
		src, okS := s.byHash[v.Source.Hash]
		tgt, okT := s.byHash[v.Target.Hash]
		switch {
		case nd.fin.Slashed(v.Validator):
		case !okS || !okT || !nd.known[src] || !nd.known[tgt] || (p.tried && !nd.fin.IsJustified(v.Source)):
			keep = append(keep, p)
		case s.ancestor(src, tgt):
			ready = append(ready, *v)
		}
	}
	nd.pending = keep
	if len(ready) == 0 {
		return false
	}
	counted := false
	for i, err := range nd.fin.AddVotes(ready) {
		var re pos.RuleError
		switch {
		case err == nil:
			counted = true
		case errors.As(err, &re) && re.Code == pos.ErrSlashableVote:
			if nd.fin.AddEvidence(*re.Evidence) == nil {
				nd.out = append(nd.out, message{kind: msgEvidence, ev: re.Evidence})
			}
		case errors.As(err, &re) && re.Code == pos.ErrSourceNotJustified:
			nd.pending = append(nd.pending, pendingVote{vote: ready[i], tried: true})
		}
	}
	return counted
}

// checkSeal remembers the seal of PoS block id, the first of its slot the
// node sees, and when it already holds another block's seal of that slot
// by the same proposer, not yet slashed, makes the chain.ProposerEvidence
// of the two, applies it (Finality.AddProposerEvidence, which verifies
// both signatures) and gossips it, as countVotes does with a slashable
// vote. One proposer is elected per slot, so one seal a slot is enough.
func (s *finSim) checkSeal(nd *finNode, id int32) {
	b := &s.blocks[id]
	if s.cfg.Mode != PoS || b.proposer < 0 {
		return
	}
	first, seen := nd.seals[b.slot]
	switch {
	case !seen:
		nd.seals[b.slot] = b.seal
	case first.HeaderHash != b.seal.HeaderHash && first.Proposer == b.seal.Proposer && !nd.fin.Slashed(first.Proposer):
		ev := chain.NewProposerEvidence(first, b.seal)
		if nd.fin.AddProposerEvidence(ev) == nil {
			nd.out = append(nd.out, message{kind: msgProposerEvidence, pev: &ev})
		}
	}
}

// learn adds block id to the node's tree, with any orphans waiting on it.
func (s *finSim) learn(nd *finNode, id int32) {
	if nd.known[id] {
		return
	}
	if p := s.blocks[id].parent; !nd.known[p] {
		nd.orphans[p] = append(nd.orphans[p], id)
		return
	}
	queue := []int32{id}
	for len(queue) > 0 {
		b := queue[0]
		queue = queue[1:]
		nd.known[b] = true
		if s.ancestor(nd.justBlk, b) && (!s.ancestor(nd.justBlk, nd.tip) || s.blocks[b].height > s.blocks[nd.tip].height) {
			nd.tip = b
		}
		queue = append(queue, nd.orphans[b]...)
		delete(nd.orphans, b)
	}
}

// chooseTip is the fork choice after the justified checkpoint moved: the
// highest known block on a branch holding it (the first made at equal
// height).
func (s *finSim) chooseTip(nd *finNode) {
	best := nd.justBlk
	for id := range nd.known {
		b := int32(id)
		if nd.known[b] && s.blocks[b].height > s.blocks[best].height && s.ancestor(nd.justBlk, b) {
			best = b
		}
	}
	if !s.ancestor(nd.justBlk, nd.tip) || s.blocks[best].height > s.blocks[nd.tip].height {
		nd.tip = best
	}
}

// beacon returns the election seed of epoch e: for e ≥ 2, the chain/pos
// Mix of the reveals of the proposers of the blocks up to the end of
// epoch e−2 on the first honest node's chain; before that a fixed value.
func (s *finSim) beacon(e uint64) chain.Hash {
	if seed, ok := s.seeds[e]; ok {
		return seed
	}
	seed := chain.Hash(sha256.Sum256(append([]byte("sim finality beacon"), s.network[:]...)))
	if e >= 2 {
		var path []int32
		for id := s.nodes[s.rep[0]].tip; id > 0; id = s.blocks[id].parent {
			if s.blocks[id].slot <= (e-1)*s.l {
				path = append(path, id)
			}
		}
		for k := len(path) - 1; k >= 0; k-- {
			b := &s.blocks[path[k]]
			seed = pos.Mix(seed, s.reveal(int(b.proposer), (b.slot-1)/s.l))
		}
	}
	s.seeds[e] = seed
	return seed
}

// reveal returns the verified reveal output of validator v for epoch e.
func (s *finSim) reveal(v int, e uint64) pos.RevealOutput {
	k := [2]uint64{uint64(v), e}
	if out, ok := s.reveals[k]; ok {
		return out
	}
	r, err := pos.NewReveal(s.keys[v], s.network, e)
	if err != nil {
		panic(err)
	}
	out, ok := r.Verify(chain.PublicKey(s.keys[v].Public().(ed25519.PublicKey)), s.network, e)
	if !ok {
		panic("sim: reveal does not verify")
	}
	s.reveals[k] = out
	return out
}

// propose makes the block of a PoS slot: none when the elected validator
// is offline, two on the two partition halves' tips (or the same tip)
// when it is byzantine, a slashable offence. With AttackDouble a
// byzantine proposer equivocates only during a partition, sending each
// half its own block (the other when the partition heals), and otherwise
// proposes one block like an honest one.
func (s *finSim) propose(slot uint64) {
	e := (slot - 1) / s.l
	p := s.election.Proposer(s.beacon(e), slot)
	s.elected[p]++
	split := s.partitioned(s.now) && s.rep[0] != s.rep[1]
	switch {
	case s.byzantine[p] && s.cfg.Attack == AttackDouble && !split:
		s.newBlock(int32(p), s.nodes[s.rep[0]].tip, slot, int32(p), -1)
	case s.byzantine[p]:
		s.report.Equivocations++
		s.offender[p] = true
		sides := [2]int8{-1, -1}
		if s.cfg.Attack == AttackDouble {
			sides = [2]int8{0, 1}
		}
		s.newBlock(int32(p), s.nodes[s.rep[0]].tip, slot, int32(p), sides[0])
		s.newBlock(int32(p), s.nodes[s.rep[1]].tip, slot, int32(p), sides[1])
	case s.online(p, e):
		s.newBlock(int32(p), s.nodes[p].tip, slot, int32(p), -1)
	}
}

// byzantineVotes sends the votes of the byzantine validators that are due,
// seen from the first honest node of each partition half.
func (s *finSim) byzantineVotes() {
	for v := range s.byzantine {
		if !s.byzantine[v] || s.role[v] == roleWithhold {
			continue
		}
		if s.role[v] == roleBothSides && s.partitioned(s.now) && s.rep[0] != s.rep[1] {
			for side := range int8(2) {
				nd := s.nodes[s.rep[side]]
				e := s.dueEpoch(nd.tip)
				if e <= s.byzVoted[v][side] {
					continue
				}
				s.byzVoted[v][side] = e
				if a, ok := s.honestVote(nd, e); ok {
					s.byzantineSend(v, a, side) // the other half gets it when the partition heals
				}
			}
			continue
		}
		nd0, nd1 := s.nodes[s.rep[0]], s.nodes[s.rep[1]]
		e := s.dueEpoch(nd0.tip)
		if e <= min(s.byzVoted[v][0], s.byzVoted[v][1]) {
			continue
		}
		s.byzVoted[v] = [2]uint64{e, e}
		a, ok := s.honestVote(nd0, e)
		if !ok {
			continue
		}
		switch s.role[v] {
		case roleDouble: // the other half's vote, another checkpoint, or another source
			b, ok := s.honestVote(nd1, e)
			if !ok || b == a {
				b, ok = s.otherVote(a)
			}
			s.byzantineSend(v, a, -1)
			if ok {
				s.byzantineSend(v, b, -1)
			}
			continue
		case roleSurround: // every third epoch, a vote from the root
			if e%3 == 0 && a.Source.Epoch > 0 {
				a.Source = chain.Checkpoint{Hash: s.blocks[0].hash}
			}
		}
		s.byzantineSend(v, a, -1)
	}
}

// byzantineSend signs vote as byzantine validator v, records whether it
// makes an offence with v's earlier votes, and sends it (see sendTo).
func (s *finSim) byzantineSend(v int, vote chain.Vote, side int8) {
	if err := vote.Sign(s.keys[v], s.network); err != nil {
		panic(err)
	}
	for _, prev := range s.byzSent[v] {
		if chain.Slashable(&prev, &vote) != chain.NoOffence {
			s.offender[v] = true
		}
	}
	s.byzSent[v] = append(s.byzSent[v], vote)
	s.report.Votes++
	s.sendTo(int32(v), message{kind: msgVote, vote: &vote}, side)
}

// otherVote returns a vote conflicting with a for the same target epoch:
// to another checkpoint of that epoch descending from a's source, or else
// from the root instead of a's source.
func (s *finSim) otherVote(a chain.Vote) (chain.Vote, bool) {
	src := s.byHash[a.Source.Hash]
	for id := range s.blocks {
		b := int32(id)
		if s.blocks[b].hash != a.Target.Hash && s.isCheckpoint(b, a.Target.Epoch) && s.ancestor(src, b) {
			return chain.Vote{Source: a.Source, Target: chain.Checkpoint{Epoch: a.Target.Epoch, Hash: s.blocks[b].hash}}, true
		}
	}
	if a.Source.Epoch == 0 {
		return chain.Vote{}, false
	}
	return chain.Vote{Source: chain.Checkpoint{Hash: s.blocks[0].hash}, Target: a.Target}, true
}

// result compiles the report from the honest nodes' Finality states.
func (s *finSim) result() FinalityReport {
	rep := s.report
	rep.FinalizedEpochs = math.MaxUint64
	finalized := make(map[int32]bool)
	stalled := make(map[uint64]bool)
	for _, i := range s.honest {
		nd := s.nodes[i]
		rep.FinalizedEpochs = min(rep.FinalizedEpochs, nd.fin.Finalized().Epoch)
		got := make(map[uint64]bool)
		for id := range nd.known {
			b := int32(id)
			if !nd.known[b] || b == 0 {
				continue
			}
			e := (s.blocks[b].slot + s.l - 1) / s.l
			if s.finalizedAt(nd, b, e) {
				finalized[b] = true
				got[e] = true
			}
		}
		for e := uint64(1); e <= uint64(s.cfg.Epochs); e++ {
			if !got[e] {
				stalled[e] = true
			}
		}
	}
	rep.StalledEpochs = len(stalled)
	for a := range finalized {
		for b := range finalized {
			if !s.ancestor(a, b) && !s.ancestor(b, a) {
				rep.ConflictingFinalized++
				break
			}
		}
	}
	var slashedStake uint64
	for v := range s.stakes {
		all := true
		for _, i := range s.honest {
			all = all && s.nodes[i].fin.Slashed(chain.PublicKey(s.keys[v].Public().(ed25519.PublicKey)))
		}
		if all {
			slashedStake += s.stakes[v]
		}
		if s.offender[v] {
			rep.SlashableOffences++
			if all {
				rep.Slashed++
			}
		}
	}
	rep.SlashedStake = float64(slashedStake) / float64(s.total)
	if s.cfg.Mode == PoS {
		var slots uint64
		for _, c := range s.elected {
			slots += c
		}
		var worst float64
		for v, c := range s.elected {
			worst = max(worst, math.Abs(float64(c)/float64(slots)-float64(s.stakes[v])/float64(s.total)))
		}
		rep.ProposerShareError = &worst
	}
	return rep
}

// finalizedAt reports whether, at node nd, block b is a finalized
// checkpoint of epoch e: justified, with a supermajority link to a
// checkpoint of epoch e+1 that descends from it (the paper's k=1 rule,
// read from Finality.IsJustified and Finality.Support).
func (s *finSim) finalizedAt(nd *finNode, b int32, e uint64) bool {
	if !s.isCheckpoint(b, e) {
		return false
	}
	c := chain.Checkpoint{Epoch: e, Hash: s.blocks[b].hash}
	if !nd.fin.IsJustified(c) {
		return false
	}
	for id := range nd.known {
		child := int32(id)
		if nd.known[child] && s.isCheckpoint(child, e+1) && s.ancestor(b, child) {
			if 3*nd.fin.Support(c, chain.Checkpoint{Epoch: e + 1, Hash: s.blocks[child].hash}) >= 2*nd.fin.TotalStake() {
				return true
			}
		}
	}
	return false
}
