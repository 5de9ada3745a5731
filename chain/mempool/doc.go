// Package mempool keeps the pool of unconfirmed transfers a node relays
// and mines: it validates each transfer against the chain state at the
// tip, orders the pool by fee rate for block templates, bounds it in bytes
// and follows the chain through block connections and reorganizations.
//
// What it provides:
//
//   - Pool.Accept: a transfer enters the pool when it is well formed (no
//     coinbase), passes chain.CheckTransactionSanity (signature), pays at
//     least Config.MinFeeRate, and fits the sender's account at the tip:
//     its sequence extends the sender's pending transfers without a gap
//     (the account's next sequence plus the number pending), and the
//     balance covers amount plus fee of all of them.
//   - Stake transactions (stake.go): deposits and withdraws are pending
//     transactions of their sender like transfers (same sequence, balance,
//     fee-rate, ordering, eviction and update rules; a withdraw debits its
//     fee only). With a Chain that is a StakeChain (chain/node's Node),
//     they must also suit the validator set at the tip, with at most one
//     pending per validator key and the pending deposits counted against
//     MaxValidators (RejectStake), and are re-checked whenever the tip
//     moves, so a template never holds one the next block refuses.
//   - Ordering: the fee rate of a transfer is its fee per serialized
//     byte (FeeRate counts base units per 1,000 bytes). Snapshot and
//     Transactions list the pool in mining order: the highest fee rate
//     first among the senders' next transfers, so one sender's transfers
//     always come in sequence order. A transfer waiting behind a cheaper
//     one of its sender does not pull it forward (no child-pays-for-parent).
//   - A byte bound (Config.MaxPoolBytes, serialized bytes): when a new
//     transfer does not fit, the lowest fee-rate transfers are evicted,
//     each with the later transfers of its sender that depend on it, as
//     long as every one chosen pays a lower fee rate than the newcomer and
//     is not one the newcomer depends on; otherwise the newcomer is
//     rejected and nothing changes.
//   - Chain updates: BlockConnected removes the block's transfers and
//     re-checks the pending transfers of their senders (a conflicting
//     transfer was mined, or the balance no longer covers them);
//     BlockDisconnected puts a disconnected block's transfers back when
//     they are still valid, so a reorganization loses nothing. HandleEvent
//     takes a node.Event, for node.Config.Notify.
//   - Votes and slashes, of votes and of proposers (finality.go,
//     chain.TxTypeProposerSlash, one accused key each): they pay no fee
//     and have no sequence, so they live apart from the transfers, bounded by
//     MaxMempoolVotes (4,096). Admitted after chain.CheckTransactionSanity
//     (signatures included) when the Chain is a FinalityChain (a
//     node.Node), the validator is registered, a vote's target epoch is
//     at least the tip's previous epoch, no vote of the validator for that
//     target epoch (no slash of the accused) is pending, and the tip's
//     state does not refuse it for good (RejectFinality). Transactions
//     returns them first, votes by target epoch, then slashes of both
//     kinds in arrival order, within the block limits. BlockConnected drops those mined, the votes whose
//     target epoch fell behind the previous epoch, and those the new state
//     refuses for good; BlockDisconnected puts a block's back.
//   - Queries: Info (count, bytes, the fee rate a newcomer needs, for
//     getmempoolinfo; transfers and stake transactions only), Get (the
//     same) and Has (every kind) by transaction id, FinalityCount.
//
// What it does not do: no relay or networking, no replacement of a pending
// transfer by one with the same sequence (the second is rejected), no
// expiry by age, no persistence across restarts.
//
// # Concurrency
//
// Every exported method of Pool is safe for concurrent use: one mutex
// guards the pool, and each method holds it for its whole run, including
// its calls to the Chain. So the lock order is Pool, then the Chain's
// locks; the Chain must never call into the Pool while holding its own
// (chain/node delivers Notify events holding no lock, so HandleEvent may
// run in Notify).
//
// # Errors
//
// Accept and the chain updates' re-adds reject a transfer with a
// *RejectError whose Reason (RejectDuplicate, RejectBadSignature,
// RejectStaleSequence, RejectSequenceGap, RejectSequenceConflict,
// RejectInsufficientFunds, RejectFeeTooLow, RejectPoolFull,
// RejectTooLarge, RejectMalformed) says why. Test it with errors.As and
// compare the Reason, never the message. A rejection never changes the
// pool.
package mempool
