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
// Runs are deterministic: a run depends only on the Config and its seed
// (Config.Seed and the run number), since everything happens on one
// goroutine in virtual time.
package sim
