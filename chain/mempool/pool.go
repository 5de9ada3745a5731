package mempool

import (
	"container/heap"
	"errors"
	"log/slog"
	"math/bits"
	"slices"
	"sync"
	"time"

	"github.com/powmine/powmine/chain"
	"github.com/powmine/powmine/chain/node"
)

// Pool limits and policy defaults.
const (
	// DefaultMaxPoolBytes is the pool bound when Config.MaxPoolBytes is
	// 0: 64 MiB of serialized transfers (about 470,000 of them). The
	// memory the pool takes is a few times that.
	DefaultMaxPoolBytes = 64 << 20

	// DefaultMinFeeRate is the minimum fee rate when Config.MinFeeRate is
	// 0: one base unit per byte, 142 base units for a transfer.
	DefaultMinFeeRate FeeRate = 1000
)

// Chain is the chain state the pool validates transfers against.
// *node.Node satisfies it.
type Chain interface {
	// Account returns the state of an address at the tip.
	Account(chain.Address) chain.Account

	// Tip returns the tip of the best chain.
	Tip() node.BlockInfo
}

// Config configures a Pool. New validates it.
type Config struct {
	// Params are the consensus rules: transfers must be signed for their
	// network. This field is required.
	Params *chain.Params

	// Chain is the chain state at the tip. This field is required.
	Chain Chain

	// MaxPoolBytes bounds the serialized size of the pending transfers.
	// 0 selects DefaultMaxPoolBytes; it must not be negative.
	MaxPoolBytes int

	// MinFeeRate is the lowest fee rate the pool accepts. 0 selects
	// DefaultMinFeeRate, so free transfers are never accepted.
	MinFeeRate FeeRate

	// Now is the clock for Entry.Added. Can be nil: time.Now.
	Now func() time.Time

	// Logger receives debug records. Can be nil: discard.
	Logger *slog.Logger
}

// Entry is a pending transfer and what the pool knows about it.
type Entry struct {
	// Tx is the transfer. Its Transfer is the pool's copy: do not modify
	// it.
	Tx chain.Transaction

	// ID is the transaction id.
	ID chain.Hash

	// Size is the serialized size in bytes.
	Size int

	// Added is when the pool accepted the transfer and Height the tip
	// height then.
	Added  time.Time
	Height int64
}

// Fee returns the transaction's fee.
func (e *Entry) Fee() uint64 { d, _ := e.Tx.Debit(); return d.Fee }

// FeeRate returns the transfer's fee rate.
func (e *Entry) FeeRate() FeeRate { return FeeRateOf(e.Fee(), e.Size) }

// entry is an Entry with the pool's bookkeeping.
type entry struct {
	Entry
	from    chain.Address
	cost    uint64 // amount plus fee
	arrival uint64 // order of acceptance, for ties
	evictAt int    // index in Pool.evict
}

// seq returns the transaction's sequence.
func (e *entry) seq() uint64 { d, _ := e.Tx.Debit(); return d.Sequence }

// lessRate orders entries by fee rate, then by arrival (earlier first).
func lessRate(a, b *entry) bool {
	if c := cmpFeeRate(a.Fee(), a.Size, b.Fee(), b.Size); c != 0 {
		return c < 0
	}
	return a.arrival > b.arrival
}

// Pool is the pool of unconfirmed transfers. All methods are safe for
// concurrent use; see the package comment for the locking.
type Pool struct {
	// Immutable after New.
	params     *chain.Params
	chain      Chain
	maxBytes   int
	minFeeRate FeeRate
	now        func() time.Time
	log        *slog.Logger

	// mu guards everything below.
	mu          sync.Mutex
	byID        map[chain.Hash]*entry
	bySender    map[chain.Address][]*entry // each sorted by sequence
	byStakeKey  map[chain.PublicKey]*entry // the pending stake transaction of each validator key
	evict       evictHeap                  // lowest fee rate on top
	bytes       int
	nextArrival uint64

	// deferred holds transfers of disconnected blocks that wait for an
	// earlier transfer of their sender from a lower disconnected block;
	// see BlockDisconnected.
	deferred      []pendingTx
	deferredBytes int

	// The finality transactions (votes and slashes), apart: they pay no
	// fee. See finality.go.
	fin        map[chain.Hash]*finEntry
	votesBy    map[voteSlot]*finEntry
	slashesBy  map[chain.PublicKey]*finEntry
	finArrival uint64
}

// New returns an empty pool.
func New(cfg Config) (*Pool, error) {
	if cfg.Chain == nil || cfg.Params == nil {
		return nil, errors.New("mempool: Config.Chain and Config.Params are required")
	}
	if cfg.MaxPoolBytes < 0 {
		return nil, errors.New("mempool: Config.MaxPoolBytes is negative")
	}
	if cfg.MaxPoolBytes == 0 {
		cfg.MaxPoolBytes = DefaultMaxPoolBytes
	}
	if cfg.MinFeeRate == 0 {
		cfg.MinFeeRate = DefaultMinFeeRate
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	return &Pool{
		params:     cfg.Params,
		chain:      cfg.Chain,
		maxBytes:   cfg.MaxPoolBytes,
		minFeeRate: cfg.MinFeeRate,
		now:        cfg.Now,
		log:        cfg.Logger.With("component", "mempool"),
		byID:       make(map[chain.Hash]*entry),
		bySender:   make(map[chain.Address][]*entry),
		byStakeKey: make(map[chain.PublicKey]*entry),
		fin:        make(map[chain.Hash]*finEntry),
		votesBy:    make(map[voteSlot]*finEntry),
		slashesBy:  make(map[chain.PublicKey]*finEntry),
	}, nil
}

// Accept validates tx against the policy and the chain state at the tip
// and adds it to the pool, evicting cheaper transfers when the pool is
// full. It returns a *RejectError when tx is kept out (see the package
// comment); the pool is then unchanged. tx is copied. It is safe for
// concurrent use; the signature is verified before the pool is locked.
func (p *Pool) Accept(tx *chain.Transaction) error {
	if tx == nil || (tx.Type() != chain.TxTypeTransfer && !tx.IsStake() && !tx.IsFinality()) {
		return reject(RejectMalformed, chain.Hash{}, nil, "not a well-formed transfer, deposit, withdraw, vote or slash")
	}
	id := tx.TxID()
	if p.Has(id) {
		return reject(RejectDuplicate, id, nil, "already in the pool")
	}
	if err := checkSanity(tx, id, p.params); err != nil {
		return err
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if tx.IsFinality() {
		return p.addFinality(tx, id)
	}
	return p.add(tx, id)
}

// checkSanity runs chain.CheckTransactionSanity and maps its error to a
// RejectError.
func checkSanity(tx *chain.Transaction, id chain.Hash, params *chain.Params) error {
	err := chain.CheckTransactionSanity(tx, params)
	if err == nil {
		return nil
	}
	var rerr chain.RuleError
	switch {
	case errors.As(err, &rerr) && rerr.Code == chain.ErrBadSignature:
		return reject(RejectBadSignature, id, err, "signature does not verify")
	case errors.As(err, &rerr) && rerr.Code == chain.ErrBadTxSize:
		return reject(RejectTooLarge, id, err, "transaction size")
	}
	return reject(RejectMalformed, id, err, "fails the transaction rules: %v", err)
}

// add runs the policy and state checks on a transfer that passed
// checkSanity and adds it, evicting what must go. p.mu must be held.
func (p *Pool) add(tx *chain.Transaction, id chain.Hash) error {
	t, _ := tx.Debit()
	size := tx.SerializeSize()
	switch {
	case p.byID[id] != nil:
		return reject(RejectDuplicate, id, nil, "already in the pool")
	case size > chain.MaxTxSize || size > p.maxBytes:
		return reject(RejectTooLarge, id, nil, "%d bytes, the pool holds at most %d", size, p.maxBytes)
	case !p.minFeeRate.Covers(t.Fee, size):
		return reject(RejectFeeTooLow, id, nil, "fee %d for %d bytes is below the minimum fee rate %d per 1000 bytes",
			t.Fee, size, p.minFeeRate)
	}
	if err := p.checkStake(tx, id); err != nil {
		return err
	}

	from := t.From.Address()
	acc := p.chain.Account(from)
	pending := p.bySender[from]
	live := pending[firstLive(pending, acc.Sequence):]
	next := acc.Sequence
	if len(live) > 0 {
		next = live[len(live)-1].seq() + 1
	}
	switch {
	case t.Sequence < acc.Sequence:
		return reject(RejectStaleSequence, id, nil, "sequence %d, the sender's next at the tip is %d", t.Sequence, acc.Sequence)
	case t.Sequence < next:
		return reject(RejectSequenceConflict, id, nil, "sequence %d is already pending", t.Sequence)
	case t.Sequence > next:
		return reject(RejectSequenceGap, id, nil, "sequence %d, the sender's next after %d pending is %d",
			t.Sequence, len(live), next)
	}
	cost := t.Cost // checkSanity refused an overflow
	var carry uint64
	total := cost
	for _, e := range live {
		if total, carry = bits.Add64(total, e.cost, 0); carry != 0 {
			break
		}
	}
	if carry != 0 || total > acc.Balance {
		return reject(RejectInsufficientFunds, id, nil, "balance %d does not cover %d pending transfers and this one",
			acc.Balance, len(live))
	}

	e := &entry{
		Entry: Entry{Tx: copyTx(tx), ID: id, Size: size, Added: p.now(), Height: p.chain.Tip().Height},
		from:  from,
		cost:  cost,
	}
	victims, err := p.planEviction(e)
	if err != nil {
		return err
	}
	for _, v := range victims {
		p.log.Debug("evict", "id", v.ID, "fee_rate", v.FeeRate(), "for", id)
		p.removeFrom(v)
	}
	e.arrival = p.nextArrival
	p.nextArrival++
	p.byID[id] = e
	p.bySender[from] = append(p.bySender[from], e)
	if k, ok := stakeKey(&e.Tx); ok {
		p.byStakeKey[k] = e
	}
	heap.Push(&p.evict, e)
	p.bytes += size
	return nil
}

// firstLive returns the index of the first pending transfer (sorted by
// sequence) whose sequence is at least next: the ones before it were
// mined or replaced at the tip and wait for BlockConnected to go.
func firstLive(pending []*entry, next uint64) int {
	i, _ := slices.BinarySearchFunc(pending, next, func(e *entry, s uint64) int {
		switch {
		case e.seq() < s:
			return -1
		case e.seq() > s:
			return 1
		}
		return 0
	})
	return i
}

// planEviction chooses the transfers to evict so that e fits, without
// changing the pool: the lowest fee-rate entries first, each with the
// later transfers of its sender. It fails with RejectPoolFull when one of
// them pays at least e's fee rate or is an earlier transfer of e's
// sender, which e depends on. p.mu must be held.
func (p *Pool) planEviction(e *entry) ([]*entry, error) {
	need := p.bytes + e.Size - p.maxBytes
	if need <= 0 {
		return nil, nil
	}
	chosen := make(map[*entry]bool)
	var victims []*entry
	// Walk the heap in order without modifying it: a second heap of
	// indices into p.evict.
	frontier := indexHeap{h: p.evict, idx: []int{0}}
	for need > 0 && frontier.Len() > 0 {
		c := p.evict[heap.Pop(&frontier).(int)]
		for _, child := range []int{2*c.evictAt + 1, 2*c.evictAt + 2} {
			if child < len(p.evict) {
				heap.Push(&frontier, child)
			}
		}
		if chosen[c] {
			continue
		}
		if cmpFeeRate(c.Fee(), c.Size, e.Fee(), e.Size) >= 0 {
			return nil, reject(RejectPoolFull, e.ID, nil, "pool full (%d of %d bytes) and fee rate %d is not above the lowest, %d",
				p.bytes, p.maxBytes, e.FeeRate(), c.FeeRate())
		}
		if c.from == e.from {
			return nil, reject(RejectPoolFull, e.ID, nil, "pool full and the cheapest transfer is an earlier one of the same sender")
		}
		pending := p.bySender[c.from]
		for _, d := range pending[slices.Index(pending, c):] {
			if !chosen[d] {
				chosen[d] = true
				victims = append(victims, d)
				need -= d.Size
			}
		}
	}
	if need > 0 { // cannot happen: e.Size <= maxBytes
		return nil, reject(RejectPoolFull, e.ID, nil, "pool full")
	}
	return victims, nil
}
