// Package pos holds the pure rules of proof of stake for the chain: Casper
// FFG votes, justification, finalization and slashing evidence over a
// chain's checkpoints (Buterin and Griffith, "Casper the Friendly Finality
// Gadget", and EIP-1011's hybrid).
//
// What it provides:
//
//   - Checkpoint (an epoch and its block hash) and Vote (a validator key,
//     a source and a target checkpoint, an ed25519 signature), with a
//     canonical 177-byte encoding decoded strictly (Vote.UnmarshalBinary),
//     a domain-separated signing message that holds the chain's genesis
//     hash (so a vote cannot be replayed on another chain), Vote.Sign,
//     Vote.Verify and VerifyVotes, which checks many signatures in one
//     batch.
//   - Finality: the FFG state of one chain. AddVote and AddVotes count
//     votes; a checkpoint is justified when votes holding two thirds or
//     more of the total stake (3·support ≥ 2·total, in integers) link it
//     from a justified source, and a justified checkpoint is finalized when
//     such a link joins it to the checkpoint of the next epoch: the paper's
//     k=1 rule. (Ethereum's k=2 rule, finalizing c when c and c+1 are
//     justified and a link c→c+2 exists, is not implemented: with votes on
//     one chain and one epoch per vote target it adds latency for little.)
//     Justified, Finalized, FinalizedHeight and AllowReorg answer what the
//     node needs; AllowReorg is chain/node's Finalizer check.
//   - Slashing: Slashable (double vote: same target epoch; surround vote:
//     s1 < s2 < t2 < t1), Evidence (two signed votes in canonical order,
//     with its own 354-byte encoding), Evidence.Verify, and
//     Finality.AddEvidence, which accepts evidence against a validator
//     once. AddVote returns the evidence itself when a vote conflicts with
//     one it counted.
//
// What it does not do: it touches no storage or network and does not log.
// Stake deposits and withdrawals, the transactions that carry votes and
// evidence, rewards, burning a slashed stake, the fork choice by highest
// justified checkpoint and the validator set's changes across dynasties
// belong to chain and chain/node, which call this package. Its Config.Lookup
// callback is how it learns which checkpoints a chain has.
//
// # Signature scheme, by measurement
//
// Votes are ed25519 (RFC 8032) signatures, verified with
// github.com/oasisprotocol/curve25519-voi under ZIP-215 rules. Measured
// by BenchmarkVerify and BenchmarkEpoch on an AMD Zen 5 (2 shared vCPU,
// Go 1.26, one core, 177-byte votes whose signing messages are 197 bytes):
//
//	crypto/ed25519 Verify                 43 µs   23,100 votes/s
//	curve25519-voi Verify (ZIP-215)       30 µs   33,700 votes/s
//	curve25519-voi BatchVerifier, 64      20 µs   50,900 votes/s
//	curve25519-voi BatchVerifier, 1,000   15 µs   65,900 votes/s
//	Finality.AddVotes, 10,000-vote epoch  0.149 s (67,200 votes/s)
//
// The targets are 20,000 votes/s per core and a 10,000-vote epoch
// under one second: the standard library alone meets the first with little
// margin, voi's batch verifier meets both three times over. BLS
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
package pos
