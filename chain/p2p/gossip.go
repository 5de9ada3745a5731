package p2p

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"math"
	"sync/atomic"
	"time"

	pubsub "github.com/libp2p/go-libp2p-pubsub"
	pb "github.com/libp2p/go-libp2p-pubsub/pb"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/powmine/powmine/chain"
)

// Gossip limits.
const (
	// MaxMessageSize is the pubsub RPC size limit: the largest block plus
	// room for the envelope.
	MaxMessageSize = chain.MaxBlockSize + 64<<10
	// validateQueue is pubsub's validation queue, shared by both topics.
	validateQueue = 256
	// publishQueue bounds the messages waiting to be published.
	publishQueue = 256
	// validatorTimeout bounds one validation (a block's includes the
	// node's ProcessBlock).
	validatorTimeout = 30 * time.Second
)

// Peer score thresholds and weights: the invalid-message penalty is the
// square of the count of rejected messages times invalidWeight, so a peer
// drops below gossipThreshold (no gossip to or from it) after 3 of them,
// below publishThreshold (its publishes ignored) after 4 and below
// graylistThreshold (all its RPCs ignored) after 6. The counter decays to
// a tenth in an hour. A node bans after Config.MaxInvalid rejected
// messages, at most maxInvalidLimit, before graylisting stops the count.
const (
	gossipThreshold   = -500
	publishThreshold  = -1000
	graylistThreshold = -2500
	invalidWeight     = -100
	maxInvalidLimit   = 5
)

// BlocksTopic and TransfersTopic name the gossip topics of the chain
// whose genesis block has the given hash (in display order).
func BlocksTopic(genesis chain.Hash) string { return "/powmine/" + genesis.String() + "/blocks/1" }

// TransfersTopic: see BlocksTopic.
func TransfersTopic(genesis chain.Hash) string {
	return "/powmine/" + genesis.String() + "/transfers/1"
}

// topic is one joined gossip topic.
type topic struct {
	name  string
	t     *pubsub.Topic
	sub   *pubsub.Subscription
	queue chan []byte // to publish
	// The counters of TopicStats.
	accepted, rejected, ignored, published, dropped atomic.Int64
}

// startGossip joins both topics with their validators and starts the
// publishing and reading goroutines.
func (n *Node) startGossip(ctx context.Context) error {
	g := n.params.GenesisHash
	bname, tname := BlocksTopic(g), TransfersTopic(g)
	n.mesh.blocksTopic, n.mesh.onBlock = bname, n.learnBlock
	ps, err := pubsub.NewGossipSub(ctx, n.host,
		pubsub.WithFloodPublish(true),
		pubsub.WithMessageIdFn(messageID(bname)),
		pubsub.WithMaxMessageSize(MaxMessageSize),
		pubsub.WithValidateQueueSize(validateQueue),
		pubsub.WithRawTracer(n.mesh),
		pubsub.WithPeerScore(scoreParams(bname, tname), &pubsub.PeerScoreThresholds{
			GossipThreshold:             gossipThreshold,
			PublishThreshold:            publishThreshold,
			GraylistThreshold:           graylistThreshold,
			AcceptPXThreshold:           1, // no peer exchange
			OpportunisticGraftThreshold: 1,
		}),
		// After WithPeerScore, which it needs.
		pubsub.WithPeerScoreInspect(pubsub.PeerScoreInspectFn(n.inspectScores), ScoreInspectPeriod),
	)
	if err != nil {
		return fmt.Errorf("p2p: gossipsub: %w", err)
	}
	n.ps = ps
	if n.blocks, err = n.join(bname, n.validateBlock); err != nil {
		return err
	}
	if n.transfers, err = n.join(tname, n.validateTransfer); err != nil {
		return err
	}
	for _, t := range []*topic{n.blocks, n.transfers} {
		n.wg.Add(2)
		go n.publishLoop(ctx, t)
		go n.drain(ctx, t)
	}
	return nil
}

// join joins a topic with its validator and subscribes to it.
func (n *Node) join(name string, validate pubsub.ValidatorEx) (*topic, error) {
	t := &topic{name: name, queue: make(chan []byte, publishQueue)}
	if err := n.ps.RegisterTopicValidator(name, n.guard(t, validate), pubsub.WithValidatorTimeout(validatorTimeout)); err != nil {
		return nil, fmt.Errorf("p2p: validator of %s: %w", name, err)
	}
	var err error
	if t.t, err = n.ps.Join(name); err != nil {
		return nil, fmt.Errorf("p2p: join %s: %w", name, err)
	}
	if t.sub, err = t.t.Subscribe(); err != nil {
		return nil, fmt.Errorf("p2p: subscribe %s: %w", name, err)
	}
	return t, nil
}

// messageID returns the function of message ids: the txid of a transfer,
// and for a block its hash followed by 16 bytes of the SHA-256 of the
// whole message, so the same block relayed by several peers is one
// message, while a copy with a mutated body (same header, so same block
// hash) is another one and, once rejected, does not shadow the honest
// block in pubsub's seen cache. The same holds for a proof-of-stake
// block's seal, which the block hash does not cover: a copy with a
// forged seal is another message than the honest copy, so a peer that
// gossips the forged one first (and is penalised for it: chain.ErrBadSeal
// is a rule error) does not get the honest one dropped as seen. Data
// that does not decode gets its SHA-256; the validator rejects it.
func messageID(blocksTopic string) pubsub.MsgIdFunction {
	return func(m *pb.Message) string {
		data := m.GetData()
		sum := sha256.Sum256(data)
		if m.GetTopic() == blocksTopic {
			var h chain.Header
			if len(data) < chain.HeaderSize || h.UnmarshalBinary(data[:chain.HeaderSize]) != nil {
				return string(sum[:])
			}
			hash := h.Hash()
			return string(hash[:]) + string(sum[:16])
		}
		var tx chain.Transaction
		if err := tx.UnmarshalBinary(data); err != nil {
			return string(sum[:])
		}
		id := tx.TxID()
		return string(id[:])
	}
}

// scoreParams scores peers on invalid messages only (P4) and on
// behaviour (P7); mesh delivery rates (P3) stay off until the block
// rate of a real network is known.
func scoreParams(topics ...string) *pubsub.PeerScoreParams {
	decay := pubsub.ScoreParameterDecay(time.Hour)
	p := &pubsub.PeerScoreParams{
		Topics:                      make(map[string]*pubsub.TopicScoreParams),
		AppSpecificScore:            func(peer.ID) float64 { return 0 },
		BehaviourPenaltyWeight:      -10,
		BehaviourPenaltyThreshold:   6,
		BehaviourPenaltyDecay:       pubsub.ScoreParameterDecay(10 * time.Minute),
		DecayInterval:               time.Second,
		DecayToZero:                 0.01,
		RetainScore:                 time.Hour,
		IPColocationFactorThreshold: math.MaxInt32, // several nodes per host are normal (tests, operators)
	}
	for _, name := range topics {
		p.Topics[name] = &pubsub.TopicScoreParams{
			TopicWeight:                    1,
			TimeInMeshQuantum:              time.Second,
			InvalidMessageDeliveriesWeight: invalidWeight,
			InvalidMessageDeliveriesDecay:  decay,
		}
	}
	return p
}

// guard runs a validator, trusting local publishes (they come from the
// node itself, already accepted), turning a panic into Ignore, counting
// the verdicts in t and rejections against the sender.
func (n *Node) guard(t *topic, validate pubsub.ValidatorEx) pubsub.ValidatorEx {
	return func(ctx context.Context, from peer.ID, m *pubsub.Message) (res pubsub.ValidationResult) {
		if m.Local || from == n.host.ID() {
			return pubsub.ValidationAccept
		}
		defer func() {
			if r := recover(); r != nil {
				n.log.Error("validator panic", "peer", from, "panic", r)
				res = pubsub.ValidationIgnore
				t.count(res)
			}
		}()
		res = validate(ctx, from, m)
		// Counted before the penalty, which may ban the sender: whoever
		// sees the ban sees the rejection that caused it.
		t.count(res)
		switch res {
		case pubsub.ValidationAccept:
			n.relayed(t, from)
		case pubsub.ValidationReject:
			n.rejected(from)
		}
		return res
	}
}

// count adds a verdict to the topic's counters.
func (t *topic) count(res pubsub.ValidationResult) {
	switch res {
	case pubsub.ValidationAccept:
		t.accepted.Add(1)
	case pubsub.ValidationReject:
		t.rejected.Add(1)
	default:
		t.ignored.Add(1)
	}
}

// validateBlock decodes a block, checks its proof of work and hands it
// to the chain, which runs the other checks.
func (n *Node) validateBlock(_ context.Context, from peer.ID, m *pubsub.Message) pubsub.ValidationResult {
	var b chain.Block
	if err := b.UnmarshalBinary(m.GetData()); err != nil {
		n.log.Info("undecodable block rejected", "peer", from, "err", err)
		return pubsub.ValidationReject
	}
	hash := b.Hash()
	if err := chain.CheckHeaderSanity(&b.Header, n.params); err != nil {
		n.log.Info("block rejected", "peer", from, "hash", hash, "err", err)
		return pubsub.ValidationReject
	}
	if n.chain.HaveBlock(hash) {
		return pubsub.ValidationIgnore
	}
	n.sources.record(hash, from)
	err := n.chain.ProcessBlock(&b)
	var rerr chain.RuleError
	switch {
	case err == nil:
		return pubsub.ValidationAccept
	case errors.As(err, &rerr) && rerr.Code == chain.ErrTimeTooNew:
		n.log.Debug("block ignored", "peer", from, "hash", hash, "err", err)
		return pubsub.ValidationIgnore
	case errors.As(err, &rerr), errors.Is(err, ErrInvalid):
		n.log.Info("block rejected", "peer", from, "hash", hash, "err", err)
		return pubsub.ValidationReject
	}
	if errors.Is(err, ErrOrphan) {
		// The sender has the missing ancestors: fetch them by locator.
		n.orphanSyncs.Add(1)
		n.requestSync(from)
	}
	n.log.Debug("block ignored", "peer", from, "hash", hash, "err", err)
	return pubsub.ValidationIgnore
}

// validateTransfer decodes a transfer, deposit, withdraw, vote, slash or
// proposer slash (every transaction but a coinbase shares the topic) and
// hands it to the mempool.
func (n *Node) validateTransfer(_ context.Context, from peer.ID, m *pubsub.Message) pubsub.ValidationResult {
	var tx chain.Transaction
	if err := tx.UnmarshalBinary(m.GetData()); err != nil || (tx.Type() != chain.TxTypeTransfer && !tx.IsStake() && !tx.IsFinality()) {
		n.log.Info("undecodable transfer rejected", "peer", from, "err", err)
		return pubsub.ValidationReject
	}
	err := n.mempool.AcceptTransfer(&tx)
	switch {
	case err == nil:
		return pubsub.ValidationAccept
	case errors.Is(err, ErrInvalid):
		n.log.Info("transfer rejected", "peer", from, "txid", tx.TxID(), "err", err)
		return pubsub.ValidationReject
	}
	n.log.Debug("transfer ignored", "peer", from, "txid", tx.TxID(), "err", err)
	return pubsub.ValidationIgnore
}

// PublishBlock queues a block the node accepted for gossip, unless sync
// is handing it to the chain (syncWith announces the tip it ends on). It
// never blocks: when the queue is full the block is dropped (and logged).
func (n *Node) PublishBlock(b *chain.Block) {
	if _, syncing := n.quiet.Load(b.Hash()); syncing {
		n.syncQuieted.Add(1)
		return // brought by sync: see syncWith
	}
	n.wakeAnnouncer() // a new tip: peers the gossip misses get a status
	raw, err := b.MarshalBinary()
	if err != nil {
		n.log.Error("publish block: encode", "hash", b.Hash(), "err", err)
		return
	}
	n.enqueue(n.blocks, raw)
}

// PublishTransfer queues a transfer the mempool accepted for gossip,
// like PublishBlock.
func (n *Node) PublishTransfer(tx *chain.Transaction) {
	raw, err := tx.MarshalBinary()
	if err != nil {
		n.log.Error("publish transfer: encode", "txid", tx.TxID(), "err", err)
		return
	}
	n.enqueue(n.transfers, raw)
}

func (n *Node) enqueue(t *topic, raw []byte) {
	select {
	case t.queue <- raw:
	default:
		t.dropped.Add(1)
		n.log.Warn("publish queue full, message dropped", "topic", t.name)
	}
}

// publishLoop publishes the queued messages of t until ctx is done.
func (n *Node) publishLoop(ctx context.Context, t *topic) {
	defer n.wg.Done()
	for {
		select {
		case <-ctx.Done():
			return
		case raw := <-t.queue:
			err := t.t.Publish(ctx, raw)
			switch {
			case err == nil:
				t.published.Add(1)
			case ctx.Err() == nil:
				n.log.Warn("publish", "topic", t.name, "err", err)
			}
		}
	}
}

// drain reads t's subscription, which must be read for gossipsub to
// keep delivering; the validators have done the work already.
func (n *Node) drain(ctx context.Context, t *topic) {
	defer n.wg.Done()
	for {
		if _, err := t.sub.Next(ctx); err != nil {
			return
		}
	}
}
