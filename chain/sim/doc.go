// Package sim is a discrete-event simulator of block propagation: many
// proof-of-work nodes on a random network, each following a fork-choice
// rule, and whether they end up agreeing on one history.
//
// One run, given a Config and a seed:
//
//   - Topology: a random spanning tree (node i links to a uniform random
//     node below i) plus Nodes draws of an extra random link (a draw
//     that repeats a link or loops is skipped), so the graph is connected
//     with a mean degree of about four. Each link has a
//     one-way latency drawn uniformly from [Latency/2, 3*Latency/2), and
//     each message over it takes that latency times a factor in
//     [0.5, 1.5), a hash of the block and the link (the same under every
//     rule). With fixed link delays a block could never overtake its
//     parent; with varying ones it can.
//   - Discovery: blocks are found by a Poisson process of rate
//     1/BlockInterval, each by a node chosen in proportion to its share
//     of the hash power. This is the same as one exponential clock per
//     node of rate share/BlockInterval: mining is memoryless, so
//     restarting on a new tip changes nothing. After the topology, the
//     run's random stream serves the discoveries only, so with the same
//     seed every rule sees the same network and the same finders at the
//     same times and differs only in its choices. A node builds its block
//     on its own current tip.
//   - Gossip: a node forwards every block it learns, whether it adopts it
//     or not, once, to every neighbour but the one it came from, arriving
//     after the message's delay. A block whose parent the node does not
//     know yet is held, and learned as soon as the parent is: no request
//     is sent, because the sender learned the parent before the block and
//     forwarded it too, so by induction over heights every block reaches
//     every node by flooding alone.
//   - End: at Duration mining stops, unless the nodes disagree. Under
//     the heaviest-work rule two branches of equal work stay apart until
//     the next block breaks the tie, so a network that stopped mining on
//     a tie would never agree; a real one does not stop. So after
//     Duration blocks are still found, on the same schedule, while the
//     tips differ or messages are in flight (the tail), for at most 100
//     block intervals; then the messages left are delivered. The run
//     reports whether all nodes ended on the same tip, and how long after
//     the last block found before Duration they got there for good,
//     waiting for tie-breaking blocks included.
//
// The rules (see Rule): Heaviest runs one real chain/node.Node per
// simulated node, on a MemStore, with real blocks mined at the easiest
// target (about two hashes each), so the fork choice is the production
// code: most cumulative work, first seen at equal work. KeepFirst and
// TakeLatest are the two naive rules it is compared with; they decide on
// the simulator's own block tree.
//
// # Finality
//
// SimulateFinality runs Casper FFG over a simulated network of validators
// with the real chain/pos code: every honest validator's node keeps its own
// block tree and its own pos.Finality, counts the votes it receives with
// Finality.AddVotes (real ed25519 signatures, keys derived from the seed),
// turns a slashable vote (ErrSlashableVote) into Evidence it applies with
// AddEvidence and gossips, does the same with a proposer that sealed two
// blocks for one slot (chain.ProposerEvidence of the two seals, applied
// with AddProposerEvidence), and votes, from its highest justified
// checkpoint, for the checkpoint of the current epoch on its tip. Its
// fork choice is the issue's: the highest block on a branch holding its
// highest justified checkpoint, the first seen at equal height. It does
// not model chain/node's pure proof-of-stake step between those two (the
// most attesting stake, which counts votes included in the branch's
// blocks): here votes travel off chain.
//
//   - Time is in ticks of 50 ms. Messages go straight from the sender to
//     every honest node (no relaying), each after its link's latency
//     (drawn from the seed, 100 to 300 ms) plus a random 0 to 100 ms, so
//     honest nodes see votes and blocks in different orders. A vote whose
//     checkpoints a node does not know yet, or whose source it has not
//     justified yet, waits at that node until it can count.
//   - Hybrid mode: blocks are found as in the convergence simulation (a
//     Poisson process, one block a second on average) by a random honest
//     node, on its own tip; the checkpoint of epoch e is the block at
//     height e·EpochLength. A validator votes for epoch e once its tip is
//     half an epoch past that height.
//   - PoS mode: one-second slots; each slot's proposer is drawn with
//     pos.Election from a beacon seed: for epoch e ≥ 2, pos.Mix over the
//     (verified) pos.Reveal outputs of the proposers of the blocks up to
//     the end of epoch e−2 on the first honest node's chain. An offline
//     proposer misses its slot. The checkpoint of epoch e is the last block
//     of a branch with a slot at most e·EpochLength, if it is in epoch e.
//     Validators vote in the middle of the epoch.
//   - Byzantine validators (a share of the stake, chosen at random) watch
//     the first honest node of each partition half and, with AttackMixed,
//     take in turn the roles of double voter (a second vote for each
//     target: another checkpoint, or the same one from the root),
//     surround voter (every third epoch a vote from the root) and vote
//     withholder; in PoS mode every byzantine proposer equivocates (two
//     blocks for its slot, each sealed with pos.NewSeal). With
//     AttackDouble they vote and propose like honest validators, except
//     during a partition, where each half gets a vote for its own
//     checkpoint and a block of its own for a byzantine proposer's slot,
//     and the other's only after the partition heals. An equivocation is
//     a slashable offence: an honest node remembers the first seal it
//     sees of each slot, and a second block of that slot by the same
//     proposer gives it the evidence (FinalityReport.Equivocations counts
//     the slots).
//   - Offline validators (another share of the stake) neither vote nor
//     propose during epochs [OfflineFrom, OfflineTo); their nodes keep
//     following the chain.
//   - The report reads the honest nodes' Finality states at the end:
//     FinalizedEpochs is the lowest Finalized epoch; a checkpoint counts
//     as finalized at a node when Finality.IsJustified says it is
//     justified and Finality.Support shows a supermajority link to a
//     checkpoint of the next epoch descending from it, and two such
//     checkpoints (at any honest nodes) that are not on one chain are
//     conflicting. An offence is counted per byzantine validator (one
//     slashing each), from the votes it sent (chain.Slashable) and the
//     slots it equivocated in.
//
// With 100 validators and 20 epochs a run takes about 3 s of CPU on the
// project's machine, almost all of it in signature checks: each of the
// honest nodes verifies every vote, about 200,000 for the run, in batches.
//
// Runs are deterministic: a run depends only on the Config and its seed
// (Config.Seed and the run number), since everything happens on one
// goroutine in virtual time. A finality run handles each tick's nodes on
// several goroutines, but each touches only its own node, and what they
// send is scheduled afterwards in node order, so it depends only on its
// FinalityConfig.
package sim
