// Package pos holds the pure rules of proof of stake for the chain: Casper
// FFG votes, justification, finalization and slashing evidence over a
// chain's checkpoints (Buterin and Griffith, "Casper the Friendly Finality
// Gadget", and EIP-1011's hybrid), and the stake-weighted election of
// block proposers with its randomness beacon.
//
// What it provides:
//
//   - The consensus types live at the root of chain, so that blocks can
//     carry them as transactions (TxTypeVote, TxTypeSlash): chain.Checkpoint
//     (an epoch and its block hash) and chain.Vote (a validator key, a
//     source and a target checkpoint, an ed25519 signature), with a
//     canonical 177-byte encoding decoded strictly, a domain-separated
//     signing message that holds the chain's genesis hash (so a vote
//     cannot be replayed on another chain), Vote.Sign, Vote.Verify and
//     chain.VerifyVotes, which checks many signatures in one batch;
//     chain.Slashable, chain.Evidence (two signed votes in canonical
//     order, 354 bytes) and Evidence.Verify; and, for proposers, the seal
//     signing message (chain.SealMessage), chain.SignedHeader and
//     chain.ProposerEvidence (carried by chain.TxTypeProposerSlash). They
//     moved there from this package; this package keeps the rules that
//     use them.
//
//   - Finality: the FFG state of one chain. AddVote and AddVotes count
//     votes; a checkpoint is justified when votes holding two thirds or
//     more of the total stake (3·support ≥ 2·total, in integers) link it
//     from a justified source, and a justified checkpoint is finalized when
//     such a link joins it to the checkpoint of the next epoch: the paper's
//     k=1 rule. Ethereum's k=2 rule (finalize c when c and c+1 are
//     justified and a supermajority link c→c+2 exists) is not implemented:
//     it only finalizes earlier after a link to c+1 came too late, and it
//     can be added later without changing votes or evidence.
//     Justified, Finalized, FinalizedHeight and AllowReorg answer what the
//     node needs; AllowReorg is chain/node's Finalizer check.
//
//   - Slashing: Finality.AddEvidence accepts evidence (chain.Evidence)
//     against a validator once, Finality.AddProposerEvidence a proposer's
//     equivocation (chain.ProposerEvidence), with the same rule: one
//     slashing per validator. AddVote returns the evidence itself when a
//     vote conflicts with one it counted.
//
//   - Proposer election for pure PoS: Election draws each slot's proposer
//     from a beacon seed with probability exactly proportional to stake
//     (SHA-256 of the seed and slot, Lemire's unbiased reduction to
//     [0, total stake), binary search over cumulative stakes: O(log n),
//     no float). Reveal (an RFC 9381 ECVRF proof over the epoch under the
//     validator's ed25519 key) and Mix make the RANDAO-style beacon.
//
// What it does not do: it touches no storage or network and does not log.
// Stake deposits and withdrawals, the transactions that carry votes and
// evidence (chain.TxTypeVote, chain.TxTypeSlash, chain.TxTypeProposerSlash),
// rewards, burning a slashed stake, the fork choice (highest justified
// checkpoint, then, in pure proof of stake, the most attesting stake, then
// the most blocks) and the validator set's changes across epochs belong to
// chain and chain/node.
// The node keeps the finality state of each branch as chain state,
// connected and undone per block (chain/node's finality.go), with the
// same rules as Finality (justification at 3·support ≥ 2·total, the k=1
// finalization, one vote per validator and target epoch); a Finality
// holds one view of one chain in memory and serves the simulator
// (chain/sim) and callers that follow a chain of their own. Its
// Config.Lookup callback is how it learns which checkpoints a chain has.
//
// # Signature scheme, by measurement
//
// Votes are ed25519 (RFC 8032) signatures, verified with
// github.com/oasisprotocol/curve25519-voi under ZIP-215 rules: the chain's
// one signature rule (chain.VerifySignature and chain.VerifySignatures),
// which transfers follow too. Measured by BenchmarkVerify and
// BenchmarkEpoch on an AMD Zen 5 (2 vCPU shared with other work, Go 1.26,
// -cpu 1, votes of 177 bytes whose signing messages are 197 bytes); per
// vote, the range of two sessions of three runs each, the busier session
// giving the higher figure:
//
//	crypto/ed25519 Verify                 43-58 µs  17,000-23,100 votes/s
//	curve25519-voi Verify (ZIP-215)       30-36 µs  27,400-33,700 votes/s
//	curve25519-voi BatchVerifier, 64      20-23 µs  42,000-50,900 votes/s
//	curve25519-voi BatchVerifier, 1,000   15-16 µs  62,000-66,400 votes/s
//	chain.VerifyVotes, 1,000, one bad     31-37 µs  27,000-32,500 votes/s
//	Finality.AddVotes, 10,000-vote epoch  0.15-0.17 s (59,000-67,000 votes/s)
//	the same epoch replayed               0.024 s (refused before any signature check)
//
// The targets are 20,000 votes/s per core and a 10,000-vote epoch
// under one second: the standard library alone misses the first on a busy
// core and meets it with little margin on a quiet one; voi's batch
// verifier meets both about three times over, and still the first when a
// bad vote forces a batch to be checked one by one. BLS
// aggregation (1.3 ms a signature with blst, per the project's notes) only
// pays when votes arrive aggregated, which this scale does not need, and
// would add cgo. ZIP-215 matters for consensus: under it single and batch
// verification accept exactly the same signatures, where the standard
// library's cofactorless check and any cofactored batch check disagree on
// crafted signatures with small-order components, and nodes that disagree
// on a vote's validity disagree on finality. ZIP-215 accepts some
// encodings the standard library refuses (non-canonical points); a vote's
// identity is its unsigned fields, never its signature bytes, so that
// malleability changes nothing here.
//
// # Proposer election and its randomness
//
// The beacon is a chain of hashes: each block's proposer publishes its
// Reveal for the epoch, and the node folds the proven output into the
// previous value with Mix. The value at the end of epoch e−2 seeds every
// slot of epoch e (Election.Proposer), so a schedule is known one epoch
// ahead and cannot change while it runs. BenchmarkProposer draws a slot
// among 10,000 validators in 0.22-0.24 µs without allocating (target:
// under 10 µs); a reveal takes about 0.1 ms to make and as much to check,
// once per block.
//
// The reveal is a VRF proof, not an ed25519 signature over the epoch as in
// a plain RANDAO: an ed25519 signer chooses its nonce, so it can make as
// many valid signatures of one epoch as it likes and keep the one whose
// hash suits it, which is unlimited grinding. A VRF has exactly one
// output per key and input (Ethereum gets the same from BLS signatures,
// which are unique), and that output is pseudorandom to anyone without
// the key. So:
//
//   - No proposer can choose its output, nor predict another's before it
//     is published; re-signing changes the proof bytes, never the output
//     (TestReveal checks this), and block contents do not enter the mix.
//   - A proposer's only lever is to withhold: not propose in its slot,
//     losing the block's reward, which leaves the mix without its output.
//     Only the proposers after the last honest reveal before the cut-off
//     (the end of epoch e−2) can see both outcomes before choosing. The
//     last one holds one bit: it picks the better of two random schedules
//     for epoch e. A coalition holding the last k slots chooses among 2^k,
//     and with a share α of the stake that happens with probability about
//     α^k per epoch.
//   - What one bit buys: with N slots an epoch, the coalition's proposals
//     X are binomial(N, α); the better of two schedules gives on average
//     αN + σ/√π with σ = √(Nα(1−α)), and it pays a lost block whenever it
//     withholds (half the time). With N = 50 and α = 0.1 that is 5 + 1.2
//     slots in an epoch it controls the end of, one epoch in ten: about
//     +0.12 proposals per epoch against −0.05 for the blocks withheld.
//     It cannot pick a schedule, only the better of random ones, and it
//     cannot reach epochs beyond e.
//   - The validator set and stakes of epoch e must be fixed before the
//     seed is, or a depositor could grind keys against a known seed: its
//     key (its place in the key order, hence which stretch of [0, total
//     stake) it covers) and its amount. chain/node keeps that rule. A
//     deposit is active (its votes count) from the stake epoch after its
//     block's, but the election draws it only chain.ElectionDelayEpochs (3)
//     stake epochs later, in slot epochs at least 3 after the deposit's,
//     whose seed is the mix at the end of an epoch that began after the
//     deposit. Without the delay (as first built) a deposit made in epoch
//     E counted in the schedule of epoch E+1, whose seed was known: with
//     100 validators of equal stake and one more depositing as much (half
//     a slot of 50 expected), the best of the 101 key places gave it 2 or
//     3 slots of epoch E+1 for seeds 0 to 4. A partial withdraw lowers
//     a validator's weight in the election only ElectionDelayEpochs
//     after its epoch too (chain.Validator.ElectionStakeAt), and is paid
//     back no earlier: its amount moves where the stretches of the
//     validators after it fall, which a withdrawer could otherwise choose
//     against a known seed for a colluder. An exit still takes effect
//     in the next stake epoch: one bit, chosen by a validator that is
//     leaving, worth no more than withholding a block.
//
// Proposal shares match stake shares exactly in expectation;
// TestElectionShares checks it over 100,000 slots with a chi-square test
// (false-failure rate 0.1% per seed), and `go run ./cmd/sim election`
// reports the same statistics for any number of validators and seeds.
//
// # Errors
//
// Every refusal is a RuleError whose Code (an ErrorCode such as
// ErrBadSignature, ErrUnknownValidator, ErrUnknownCheckpoint,
// ErrSourceNotJustified, ErrDuplicateVote, ErrSlashableVote,
// ErrSlashedValidator, ErrInvalidEvidence or ErrMalformed) names the rule;
// test with errors.As, never the message. A refused vote or evidence
// changes nothing. With ErrSlashableVote the RuleError also carries the
// Evidence.
//
// # Concurrency
//
// Finality's methods are safe for concurrent use; AddVotes verifies
// signatures before it takes the lock, so readers such as AllowReorg wait
// only for the counting. Votes, Evidence and the package functions are
// values and are safe to share when not modified.
//
// # Pure proof of stake
//
// In pure-PoS mode blocks are not mined: time is cut into slots
// (DevSlotDuration, 2 s, on the dev chain; Slot and SlotStart convert
// between times and slots from the genesis time), epochs are
// SlotsPerEpoch slots (DevSlotsPerEpoch, 50), and each slot's proposer is
// drawn by a Schedule: the epoch's validators and stakes and the beacon
// seed, the beacon value at the end of epoch e−2. The proposer signs its
// block with a Seal (185 bytes: version, slot, proposer key, its Reveal
// for the slot's epoch, an ed25519 signature over a domain string, the
// genesis hash, the slot and the header hash). VerifySeal checks, from
// cheap to dear: the slot follows the parent's slot, the slot has started
// on the verifier's clock plus MaxClockSkew (500 ms, Ethereum's gossip
// clock disparity, a quarter of a dev slot), the key is the slot's elected
// proposer, the signature (chain.VerifySignature, ZIP-215), and the
// reveal (RFC 9381 ECVRF); it returns the reveal's output, which the node
// folds into the beacon with Mix. Missed slots are allowed: a block may
// follow a parent many slots back. A block refused as future is not
// invalid, only early. A block carries its seal after its transactions
// (chain.Block.Seal, a trailing optional field; chain/node checks it and
// keeps the beacon as chain state); the header hash cannot commit to a seal that signs it,
// and need not (see Seal). BenchmarkVerifySeal: 0.21-0.31 ms a block on an
// AMD Zen 5 (2 shared vCPUs, -cpu 1), nearly all of it the ECVRF check;
// BenchmarkScheduleProposer: 0.44-0.59 µs a slot among 10,000 validators,
// without allocating (target: under 10 µs).
//
// Why the beacon is unbiased enough. Each epoch's seed is a hash chain
// over the VRF outputs of the blocks proposed up to the end of epoch e−2.
// A VRF output is unique for a key and an epoch and pseudorandom to anyone
// without the key, so no proposer can choose its contribution, nor see
// another's before it is published; block contents (transactions,
// timestamps, the header hash) never enter the mix, so they cannot be
// ground either; and a validator is drawn only in epochs whose seed was
// unknown when it deposited, so no one can grind keys against it (see
// the list above).
//
// What a proposer can grind: it can withhold its block, and so its
// reveal. That is one bit of influence per withheld slot, and it costs the
// block's reward and fees each time it is used. Only withholding at the
// end of epoch e−2, after the last honest reveal, lets the withholder see
// both seeds before choosing: the last proposer picks the better of two
// random schedules for epoch e, a coalition holding the last k slots the
// best of 2^k, which with a share α of the stake happens with probability
// about α^k per epoch. With 50 slots an epoch and α = 0.1, the better of
// two schedules gives the coalition on average σ/√π ≈ 1.2 more slots
// than its 5 (σ = √(50·α(1−α)) ≈ 2.1), in one epoch out of ten, at the
// cost of a withheld block half of the time: about +0.12 proposals per
// epoch bought for −0.05 blocks, about 2.4% more proposals than its stake
// gives; k = 2 consecutive last slots (probability α² = 1%) give the best
// of four, about +1.03σ ≈ 2.2 slots. It cannot
// choose a schedule, only the best of a few random ones, cannot reach an
// epoch beyond e, and cannot make itself the proposer of any particular
// slot. TestProposerSharesWithMissedSlots runs the beacon over 100,000
// slots with 20% of them missed and checks by chi-square that each
// validator's share of elected slots and of blocks matches its stake.
//
// What it cannot do: forge a reveal (ErrBadReveal) or another proposer's
// seal (ErrWrongProposer, ErrBadSealSignature), replay its seal on another
// chain or in another slot (the signature covers both), or seal a slot
// that has not begun (ErrFutureSlot).
//
// Equivocation: a proposer that seals two different headers for one slot
// has forked the chain on purpose. chain.ProposerEvidence (273 bytes: two
// chain.SignedHeaders, as Seal.Header makes them, canonical order by
// header hash) proves it with the two signatures alone and no chain
// state; its Verify refuses, with chain.ErrInvalidEvidence, evidence that
// proves nothing: the same header twice (sealing one block twice is not
// an offence), different slots, different proposers, or a bad signature.
// It proves that the key signed both; whether the key was elected, and
// what to burn, is the node's decision: a chain.ProposerSlash transaction
// slashes a registered validator like a double vote (chain/node), and
// chain/node's SealWatch finds the two blocks. The evidence lives in
// chain, which cannot import this package, so that the chain checks it;
// seals here are signed over chain.SealMessage, byte for byte the message
// they always signed.
package pos
