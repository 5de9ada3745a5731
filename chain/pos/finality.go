package pos

import (
	"math"
	"strings"
	"sync"

	"github.com/powmine/powmine/chain"
)

// Validator is a member of the validator set: its ed25519 key and the
// stake it votes with.
type Validator struct {
	Key   chain.PublicKey
	Stake uint64
}

// MaxTotalStake is the largest total stake of a validator set: three
// times it still fits a uint64, so the two-thirds test is exact integer
// arithmetic.
const MaxTotalStake = math.MaxUint64 / 3

// Config is what New needs.
type Config struct {
	// Network is the genesis hash of the chain; votes are signed for it.
	// This field is required.
	Network chain.Hash

	// EpochLength is the number of blocks of an epoch: the checkpoint of
	// epoch e is the block at height e·EpochLength. This field is required.
	EpochLength uint64

	// Validators is the validator set with its stakes, for every epoch
	// this Finality counts (v1: a static set; the node starts a new
	// Finality, or a later version changes the set, at dynasty changes).
	// Every stake must be positive, the keys distinct and the total at
	// most MaxTotalStake. This field is required.
	Validators []Validator

	// Root is the checkpoint counting starts from, justified and finalized
	// by definition: epoch 0 and the genesis hash on a new chain.
	Root chain.Checkpoint

	// Lookup reports whether c is the checkpoint of epoch c.Epoch (the
	// block at height c.Epoch·EpochLength) on the chain whose votes are
	// counted. Since both ends of a vote must pass it, a vote's source is
	// an ancestor of its target. It is called with the Finality's lock
	// held (the read lock, by several goroutines at once, or the write
	// lock), so it must be safe for concurrent use and must not call back
	// into the Finality. This field is required.
	Lookup func(c chain.Checkpoint) bool
}

// link is a source→target pair of checkpoints.
type link struct{ source, target chain.Checkpoint }

// Finality is the Casper FFG state of one chain: the validator set, the
// votes counted, the stake behind each link, the justified checkpoints,
// the finalized checkpoint and the validators slashed. It follows the
// paper's k=1 rule: a justified checkpoint is finalized when a
// supermajority link joins it to the checkpoint of the next epoch.
//
// It keeps every vote it counted (a 177-byte Vote each, in a list per
// validator that the replay and slashing checks scan: O(votes of that
// validator)), since a surround vote may reach back to any epoch. Bounding
// that memory (Prysm's min/max span arrays, or forgetting votes older than
// the withdrawal delay) is left to the node's integration.
//
// Make one with New (the zero value is not usable). Every method is safe
// for concurrent use; AddVote and AddVotes verify signatures outside the
// lock, so readers wait only for the counting.
type Finality struct {
	// Immutable after New.
	network     chain.Hash
	epochLength uint64
	validators  []Validator
	index       map[chain.PublicKey]int
	total       uint64
	lookup      func(chain.Checkpoint) bool

	// Protected by mu.
	mu        sync.RWMutex
	justified map[chain.Checkpoint]bool
	highest   chain.Checkpoint // the justified checkpoint of the highest epoch
	finalized chain.Checkpoint
	support   map[link]uint64
	history   [][]chain.Vote // counted votes per validator, in order
	slashed   []bool
}

// New returns the finality state of a chain whose only justified and
// finalized checkpoint is cfg.Root. A missing field or a bad validator set
// yields an ErrBadValidatorSet RuleError.
func New(cfg Config) (*Finality, error) {
	if cfg.EpochLength == 0 || cfg.Lookup == nil {
		return nil, ruleError(ErrBadValidatorSet, "config needs EpochLength and Lookup")
	}
	if len(cfg.Validators) == 0 {
		return nil, ruleError(ErrBadValidatorSet, "no validators")
	}
	f := &Finality{
		network:     cfg.Network,
		epochLength: cfg.EpochLength,
		validators:  append([]Validator(nil), cfg.Validators...),
		index:       make(map[chain.PublicKey]int, len(cfg.Validators)),
		lookup:      cfg.Lookup,
		justified:   map[chain.Checkpoint]bool{cfg.Root: true},
		highest:     cfg.Root,
		finalized:   cfg.Root,
		support:     make(map[link]uint64),
		history:     make([][]chain.Vote, len(cfg.Validators)),
		slashed:     make([]bool, len(cfg.Validators)),
	}
	for i, v := range f.validators {
		if v.Stake == 0 {
			return nil, ruleError(ErrBadValidatorSet, "validator %v has no stake", v.Key)
		}
		if _, dup := f.index[v.Key]; dup {
			return nil, ruleError(ErrBadValidatorSet, "validator %v appears twice", v.Key)
		}
		if v.Stake > MaxTotalStake-f.total {
			return nil, ruleError(ErrBadValidatorSet, "total stake exceeds %d", uint64(MaxTotalStake))
		}
		f.index[v.Key] = i
		f.total += v.Stake
	}
	return f, nil
}

// TotalStake returns the stake of the whole validator set.
func (f *Finality) TotalStake() uint64 { return f.total }

// Justified returns the justified checkpoint of the highest epoch.
func (f *Finality) Justified() chain.Checkpoint {
	f.mu.RLock()
	defer f.mu.RUnlock()
	return f.highest
}

// IsJustified reports whether c is justified.
func (f *Finality) IsJustified(c chain.Checkpoint) bool {
	f.mu.RLock()
	defer f.mu.RUnlock()
	return f.justified[c]
}

// Finalized returns the finalized checkpoint of the highest epoch.
func (f *Finality) Finalized() chain.Checkpoint {
	f.mu.RLock()
	defer f.mu.RUnlock()
	return f.finalized
}

// FinalizedHeight returns the height of the finalized checkpoint's block,
// Finalized().Epoch·EpochLength (math.MaxInt64 if that overflows).
func (f *Finality) FinalizedHeight() int64 {
	e := f.Finalized().Epoch
	if e > math.MaxInt64/f.epochLength {
		return math.MaxInt64
	}
	return int64(e * f.epochLength)
}

// AllowReorg reports whether the node may disconnect the blocks above
// forkHeight, the height of the last block the old and the new branch
// share: only when that keeps the finalized checkpoint, forkHeight ≥
// FinalizedHeight(). It is the check chain/node's Finalizer needs:
//
//	node.FinalizerFunc(func(fork, _, _ node.BlockInfo) bool { return f.AllowReorg(fork.Height) })
func (f *Finality) AllowReorg(forkHeight int64) bool {
	return forkHeight >= f.FinalizedHeight()
}

// Support returns the stake of the votes counted for the link from source
// to target.
func (f *Finality) Support(source, target chain.Checkpoint) uint64 {
	f.mu.RLock()
	defer f.mu.RUnlock()
	return f.support[link{source, target}]
}

// Slashed reports whether the validator with key was slashed.
func (f *Finality) Slashed(key chain.PublicKey) bool {
	i, ok := f.index[key]
	if !ok {
		return false
	}
	f.mu.RLock()
	defer f.mu.RUnlock()
	return f.slashed[i]
}

// supermajority reports whether stake is at least two thirds of the total:
// 3·stake ≥ 2·total, exact because total ≤ MaxTotalStake.
func (f *Finality) supermajority(stake uint64) bool { return 3*stake >= 2*f.total }

// AddVote checks v and counts it. The checks, in order, each with its
// RuleError code:
//
//   - the source epoch is below the target epoch (ErrMalformed);
//   - the validator is in the set (ErrUnknownValidator) and not slashed
//     (ErrSlashedValidator);
//   - the same validator, source and target were not counted already
//     (ErrDuplicateVote: a replay, refused before any signature check);
//   - source and target are checkpoints of the chain, per Config.Lookup
//     (ErrUnknownCheckpoint);
//   - the signature verifies for the network (ErrBadSignature);
//   - no vote of the validator already counted makes a double or surround
//     vote with it (ErrSlashableVote; the RuleError's Evidence holds the
//     pair, ready for AddEvidence);
//   - the source is justified (ErrSourceNotJustified).
//
// On any error nothing changes. A counted vote adds its validator's stake
// to the link source→target; when that reaches two thirds of the total
// stake the target becomes justified, and when the target is the source's
// direct child (target epoch = source epoch + 1) the source becomes
// finalized, unless a later checkpoint is finalized already.
func (f *Finality) AddVote(v chain.Vote) error {
	return f.AddVotes([]chain.Vote{v})[0]
}

// AddVotes adds votes as AddVote would, in order, and returns errs with
// errs[i] AddVote's result for votes[i]. It first sorts out, under a read
// lock, the votes the checks before the signature refuse (malformed,
// unknown or slashed validator, replay, unknown checkpoint), so that junk
// and replays cost no signature check; then it checks the signatures of
// the rest with one batch verification (chain.VerifyVotes) outside the lock,
// and counts them in order under the write lock.
func (f *Finality) AddVotes(votes []chain.Vote) (errs []error) {
	errs = make([]error, len(votes))
	var candidates []chain.Vote
	var at []int
	f.mu.RLock()
	for i := range votes {
		if err := f.precheck(&votes[i]); err != nil {
			errs[i] = err
			continue
		}
		candidates = append(candidates, votes[i])
		at = append(at, i)
	}
	f.mu.RUnlock()
	ok := chain.VerifyVotes(f.network, candidates)
	f.mu.Lock()
	defer f.mu.Unlock()
	for k, i := range at {
		errs[i] = f.addVoteLocked(&votes[i], ok[k])
	}
	return errs
}

// precheck runs AddVote's checks that come before the signature. The
// caller holds f.mu, for reading at least.
func (f *Finality) precheck(v *chain.Vote) error {
	if v.CheckSanity() != nil {
		return ruleError(ErrMalformed, "vote source epoch %d is not below its target epoch %d", v.Source.Epoch, v.Target.Epoch)
	}
	i, known := f.index[v.Validator]
	if !known {
		return ruleError(ErrUnknownValidator, "vote from unknown validator %v", v.Validator)
	}
	if f.slashed[i] {
		return ruleError(ErrSlashedValidator, "vote from slashed validator %v", v.Validator)
	}
	for _, prev := range f.history[i] {
		if prev.Source == v.Source && prev.Target == v.Target {
			return ruleError(ErrDuplicateVote, "validator %v already voted %v→%v", v.Validator, v.Source, v.Target)
		}
	}
	if !f.lookup(v.Source) || !f.lookup(v.Target) {
		return ruleError(ErrUnknownCheckpoint, "vote %v→%v names a checkpoint not on this chain", v.Source, v.Target)
	}
	return nil
}

// addVoteLocked is AddVote with f.mu held for writing, sigOK the result
// of the signature check. It repeats precheck, as the state may have
// changed since.
func (f *Finality) addVoteLocked(v *chain.Vote, sigOK bool) error {
	if err := f.precheck(v); err != nil {
		return err
	}
	i := f.index[v.Validator]
	if !sigOK {
		return ruleError(ErrBadSignature, "bad signature on vote %v→%v of %v", v.Source, v.Target, v.Validator)
	}
	for _, prev := range f.history[i] {
		if off := chain.Slashable(&prev, v); off != chain.NoOffence {
			e := chain.NewEvidence(prev, *v)
			return RuleError{Code: ErrSlashableVote, Evidence: &e,
				Description: "vote " + v.Source.String() + "→" + v.Target.String() + " is a " + off.String() +
					" against " + prev.Source.String() + "→" + prev.Target.String()}
		}
	}
	if !f.justified[v.Source] {
		return ruleError(ErrSourceNotJustified, "vote source %v is not justified", v.Source)
	}

	f.history[i] = append(f.history[i], *v)
	l := link{v.Source, v.Target}
	f.support[l] += f.validators[i].Stake
	if !f.supermajority(f.support[l]) {
		return nil
	}
	f.justified[v.Target] = true
	if v.Target.Epoch > f.highest.Epoch {
		f.highest = v.Target
	}
	if v.Target.Epoch == v.Source.Epoch+1 && v.Source.Epoch > f.finalized.Epoch {
		f.finalized = v.Source
	}
	return nil
}

// AddEvidence slashes the validator e accuses, once. It returns an
// ErrInvalidEvidence RuleError when e proves no offence (see
// Evidence.Verify), ErrUnknownValidator when the accused is not in the
// set, and ErrSlashedValidator when it was slashed already; then nothing
// changes. A slashed validator's later votes are refused; the votes it
// had counted stay counted, and its stake stays in the total of this set
// (burning it and paying the reporter is the node's work, as is removing
// the validator at the next dynasty).
func (f *Finality) AddEvidence(e chain.Evidence) error {
	if err := e.Verify(f.network); err != nil {
		return ruleError(ErrInvalidEvidence, "%s", strings.TrimPrefix(err.Error(), "chain: "))
	}
	return f.slash(e.Validator())
}

// AddProposerEvidence slashes the proposer e accuses of sealing two
// blocks for one slot, once, with AddEvidence's rules and codes: an
// ErrInvalidEvidence RuleError when e proves no equivocation (see
// chain.ProposerEvidence.Verify), ErrUnknownValidator, ErrSlashedValidator
// (whatever the offence it was slashed for); then nothing changes.
func (f *Finality) AddProposerEvidence(e chain.ProposerEvidence) error {
	if err := e.Verify(f.network); err != nil {
		return ruleError(ErrInvalidEvidence, "%s", strings.TrimPrefix(err.Error(), "chain: "))
	}
	return f.slash(e.Proposer())
}

// slash marks key slashed: ErrUnknownValidator when it is not in the set,
// ErrSlashedValidator when it is slashed already.
func (f *Finality) slash(key chain.PublicKey) error {
	i, known := f.index[key]
	if !known {
		return ruleError(ErrUnknownValidator, "evidence against unknown validator %v", key)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.slashed[i] {
		return ruleError(ErrSlashedValidator, "validator %v is slashed already", key)
	}
	f.slashed[i] = true
	return nil
}
