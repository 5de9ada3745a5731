// Package node keeps the chain of a proof-of-work node with account-model
// transfers: the index of every known block, the best chain, the account
// state at its tip, and the reorganizations between branches. It builds on
// the pure checks of package chain and persists through a Store.
//
// What it provides:
//
//   - Node.ProcessBlock, the one entry point for blocks (see Pipeline),
//     and Node.ProcessHeaders for headers-first sync (in proof of stake
//     Node.ProcessSealedHeaders, each header with its block's seal):
//     headers checked as a block's header is (proof of work,
//     bad-prevblk, header context; in proof of stake, instead of work,
//     the slot rules a header allows and its seal's checks that need no
//     state of its branch: a registered key's signature and reveal, its
//     slot the header's, after the parent's, not to come) become
//     header-only index nodes, kept in memory only and at most
//     MaxHeaderOnly (when full, those off the chains of BestHeader and
//     of the header being added are evicted); ProcessBlock attaches a
//     block to its header-only node. BestHeader and MissingBlocks say
//     which blocks to fetch, HeaderLocator and MainChainHeaders
//     (MainChainSealedHeaders, with the seals from Store.BlockSeals)
//     serve the header exchange, and ForgetHeaders drops a header-only
//     branch whose blocks no peer serves, so that BestHeader moves to
//     the next heaviest header chain (its root is refused as a header
//     for ForgetWindow, among the last MaxForgotten roots).
//   - The block index: a node per block with parent and skip pointers
//     (Bitcoin Core's GetAncestor, O(log n)), height, cumulative work, a
//     first-seen sequence number and storage.BlockStatus bits (data stored,
//     valid, validate failed, invalid ancestor). The best chain is also
//     kept as a flat slice, genesis to tip, for O(1) lookups by height,
//     fork points and block locators.
//   - Fork choice (forkchoice.go): among the stored, not-known-invalid
//     blocks (a header-only branch is never a candidate: every block of a
//     branch must be stored), the node follows the one with the highest
//     justified epoch; then, in pure proof of stake only, the most
//     attesting stake (below); then the most cumulative work, never the
//     longest chain (in pure proof of stake every header has the limit
//     bits, so the most work is the most blocks); at equal work the
//     block seen first stays (Core's nSequenceId rule). A branch that
//     forks from the best chain below its finalized checkpoint (the
//     block at height finalized epoch·EpochLength) is refused whatever
//     its work, logged once per
//     such tip, and ChainTip.RevertsFinalized marks it (getchaintips:
//     "invalid-finality"). A Finalizer can veto further reorganizations.
//     What is known when: the justified epoch of a chain is a function
//     of its state, so the node knows it only for blocks it has
//     connected: each index node records the justified epoch of the
//     state after connecting it, when it is connected (at least once:
//     it stays valid after a disconnect, since the state after a block
//     never changes), and after a restart only for the tip (the value is
//     kept in memory, not in the index). For a block never connected,
//     fork choice uses the higher of its nearest connected ancestor's
//     epoch (a lower bound: the justified epoch never decreases along a
//     chain) and the tip's, so that a heavier unknown branch is tried:
//     the node connects it, learns its epoch, and returns to its old
//     branch if that one justifies more (the old tip's epoch is known).
//     Only votes justify, so when the block or one of its ancestors not
//     yet connected holds a vote (seen when the node accepts the block),
//     fork choice assumes the highest epoch the branch could justify,
//     the epoch of its tip, and tries it whatever its work: a lighter
//     branch that justifies more (as a sync towards a peer's tip brings
//     it, see chain/p2p) is followed once connected. The limitations:
//     each side block with votes costs one reorganization to try it
//     (once: its epoch is then known); after a restart the blocks of
//     side branches have no recorded epoch nor known bodies, so a side
//     branch heavier than the tip is tried again once, and a lighter one
//     that would justify more is not tried until it is the heaviest of
//     its justified rank or a block with votes extends it.
//     The tip's epoch is always known: it is recorded when a block
//     becomes the tip by a connect, a disconnect or at load.
//     Attesting stake (pure proof of stake): the state after a block of
//     epoch E counts votes for targets E and E−1 only (the first block
//     of an epoch prunes older ones), and its attesting stake from epoch
//     w is the sum of its link stakes of target epochs at least w and
//     above its justified epoch. Fork choice compares it from w = M−1,
//     M the highest epoch of a candidate: one window for all, so the
//     order is transitive, and votes for epochs that the most advanced
//     branch no longer counts do not count for a branch that stopped
//     earlier either. Every vote is signed, and one validator voting for
//     two targets of one epoch is slashable (a double vote), so the
//     same stake cannot support two branches whose checkpoints of an
//     epoch differ without being slashed; branches that share their
//     checkpoints can include the same votes, and then the one that
//     included more of them is ahead until the other includes them too.
//     The stake is recorded with the justified epoch; it is not monotone
//     along a chain (votes of an epoch that closes unjustified stop
//     counting), so an ancestor's value bounds nothing. For a block
//     never connected, fork choice assumes the largest stake when the
//     block or one of its ancestors not yet connected holds a vote (the
//     node sees that when it accepts the block), so that a shorter
//     branch carrying votes is tried, and else the tip's, so that the
//     branch competes with the tip on the number of blocks; a branch
//     that turns out weaker once connected is left for the better one.
//     Since only votes justify, this also tries, whatever its length, a
//     branch that would justify a higher epoch than the tip's.
//     Limitations: each side block with votes costs one reorganization
//     to try it (once: its stake is then known); after a restart side
//     blocks' bodies are unknown, so a side branch longer than the tip
//     is tried once, as for the justified epoch;
//     and a long candidate that fork choice refuses (finality, a
//     Finalizer veto) still raises the window.
//   - Account state: a balance and a next sequence number per
//     chain.Address. Connecting a block checks, in block order, each
//     transfer's sequence (chain.ErrBadSequence) and balance
//     (chain.ErrInsufficientBalance), then the coinbase's value against
//     subsidy plus fees (chain.ErrBadCoinbaseValue, chain.ErrAmountOverflow),
//     and records an Undo with the previous state of every touched account,
//     so disconnecting restores the state exactly. Fees leave the sender
//     and come back through the coinbase, so the balances sum to the
//     coinbase outputs of the best chain minus the fees paid.
//   - Validator set (stake.go): every registered validator key with its
//     owner, stake, activation and exit epochs and pending partial
//     withdraw (chain.Validator), changed by deposits and withdraws
//     exactly like the accounts: checked in block order
//     (chain.ErrValidatorExists, ErrTooManyValidators,
//     ErrUnknownValidator, ErrNotValidatorOwner, ErrValidatorExiting, and
//     for a partial withdraw ErrWithdrawPending, one at a time, and
//     ErrStakeBelowMinimum, which keeps MinDeposit staked; a deposit
//     beyond MaxValidators is refused, not queued), and undone with the
//     same Undo. A withdraw of the whole stake (Amount 0 or Stake) is an
//     exit at the next boundary; a partial one lowers the validator's
//     weight (chain.Validator.StakeAt: votes, justification totals, the
//     proposer election) from the next boundary on. At each epoch's first
//     block, before its transactions, the coins whose unlock epoch has
//     come (an exit's or a partial withdraw's epoch plus
//     WithdrawDelayEpochs) return to their owners, or are burned for a
//     slashed validator: they stay slashable until then. Stakes count in
//     the balance sum above. ValidatorSet(epoch) answers for the epochs
//     the tip's state fixes (see there), for chain/pos.
//   - Finality (finality.go): the Casper FFG state of the best chain, kept
//     as chain state like the accounts and the validators (records
//     described by storage.FinalityEntry: the justified and finalized
//     checkpoints, the justified checkpoint of each epoch, the votes and
//     link stakes of the open epochs, the slashed keys), connected and
//     undone per block and committed in the block's own Store.Commit. A
//     vote (chain.TxTypeVote) counts in a block at height h of epoch E
//     when its validator is registered (ErrUnknownValidator), active in
//     the target epoch (ErrInactiveValidator) and not slashed
//     (ErrSlashedValidator); its target epoch is E or E−1 and its target
//     hash is this branch's checkpoint of that epoch, the block at height
//     epoch·EpochLength at or below h (ErrUnknownCheckpoint); its source
//     is justified on this branch (ErrSourceNotJustified); and the
//     validator has no vote counted for that target epoch here
//     (ErrDuplicateVote). Any bad vote makes the block invalid. A
//     checkpoint is justified when the stake of the votes of one link
//     reaches two thirds of its epoch's active stake (3·support ≥
//     2·total, exact in 128 bits), and its source is finalized when the
//     target is the source's direct child (k=1). The genesis checkpoint is
//     justified and finalized by definition. The epoch's validator set
//     and total are those of the state before the block (an epoch's set
//     never changes once it has begun). Votes counted on a justifying
//     link pay Params.VoteReward each to the validator's owner (in the
//     block that justifies, or at once for later votes on that link);
//     validators that do not vote earn nothing. A slash (chain.TxTypeSlash,
//     a double or surround vote) or, on a proof-of-stake chain, a
//     proposer slash (chain.TxTypeProposerSlash, two blocks sealed for
//     one slot; chain.ErrNotProofOfStake elsewhere), its evidence
//     verified by chain.CheckBlockSanity, of a registered, unslashed
//     validator (ErrUnknownValidator, ErrSlashedValidator: evidence of
//     either kind is accepted once per validator) marks it slashed, ends
//     it at the next epoch, credits Stake / Params.SlashReporterShareDenom
//     to the reporter and burns the rest at the unlock. SealWatch
//     (equivocation.go) finds equivocations in the blocks a caller shows
//     it, bounded to the last SealWatchSlots slots and MaxSealsPerSlot
//     proposers a slot; chain/daemon feeds it every block it hands the
//     node. VoteWatch (votewatch.go) finds double and surround votes
//     (chain.Slashable) among the votes a caller shows it, alone or from
//     blocks, and yields their chain.Evidence once per offender; it
//     remembers one vote with a valid signature per registered key and
//     target epoch of the last VoteWatchEpochs+1, for at most
//     Params.MaxValidators keys; chain/daemon feeds it every vote it sees.
//     Finality returns the state at the tip.
//   - Reorganization: disconnect to the fork point with the undo records,
//     connect the new branch; a block that fails a rule is marked
//     validate-failed and its descendants invalid-ancestor, and fork
//     choice runs again among the valid candidates, so the node ends on
//     the best valid chain (its old branch or a valid prefix of the new).
//     The exception is a proof-of-stake seal (chain.ErrBadSeal), which
//     the block hash does not cover: its failure is kept in memory only,
//     nothing is marked, and the block counts as header-only (its branch
//     is no candidate, sync fetches it again) until a copy with a good
//     seal replaces it (pos.go says how).
//     ProcessBlock returns the disconnected transfers for a mempool, and
//     Config.Notify receives one Event per connected and per disconnected
//     block, in order.
//   - Persistence: every connect, disconnect, accepted block or status
//     change is one Store.Commit of one storage.Batch, so a store can make
//     each atomic (one bbolt transaction); New reloads the index, accounts,
//     validators, finality records and tip with Store.Load, leaving out the
//     index entries without a body that older versions wrote for the children of invalid blocks
//     (Reindex removes them from the store). The stored records live in
//     chain/storage, which chain/store (the bbolt Store) imports instead
//     of this package. MemStore is the in-memory Store. Reindex rebuilds
//     the state of a Reindexer from its blocks, replaying them in
//     first-seen order.
//
// What it does not do: no networking (a p2p layer drives headers-first
// sync through ProcessHeaders or ProcessSealedHeaders, MissingBlocks,
// ForgetHeaders and ProcessBlock), no mempool, no block templates or
// mining, no persistence of header-only nodes (a restart drops them;
// sync fetches them again), no headers pre-sync (Core's low-work header
// defence: MaxHeaderOnly bounds the memory instead, with the eviction
// ProcessHeaders describes), and in proof of stake no check of a
// header's election before its block connects (the schedule needs its
// branch's state: a registered key sealing slots it was not elected for
// can still make a header chain that becomes BestHeader until its first
// block fails, or, its blocks never coming, sync has it forgotten, which
// costs a round of requests; a forged seal is refused at once, before
// any block is asked for); no logging unless Config.Logger is set. Like Core for a block it asked for, it
// stores a block that passes every check of the pipeline below on a side
// branch even with less work than the tip: what bounds those is the
// proof of work their bits require.
//
// # Pipeline
//
// ProcessBlock follows Bitcoin Core's and btcd's order, so that nothing is
// written for a block until its header is known to fit its parent:
//
//  1. The duplicate check: the index (a header-only node is no
//     duplicate: the block attaches to it; nor is a proof-of-stake block
//     whose seal failed: its new seal alone is checked, see pos.go), the
//     orphan pool and the remembered refusals (see below).
//  2. Context-free checks: the header's proof of work
//     (chain.CheckHeaderSanity).
//  3. The header against its parent, when the parent's block is stored
//     (Core's AcceptBlockHeader): a parent known invalid, in the index or
//     remembered, yields chain.ErrInvalidAncestorBlock ("bad-prevblk");
//     then chain.CheckHeaderContext: the bits the params' retarget or
//     ASERT rule requires after the parent, a time above the median of
//     the last 11 blocks and at most Params.MaxFutureBlockTime ahead of
//     the clock.
//  4. The body (chain.CheckBlockSanity: every transfer signature, in one
//     batch per CPU). This is the only signature check of its
//     transactions a block gets: steps 5 to 7 (orphans, connecting,
//     reorganizations) use the stored block and verify nothing again. In
//     proof of stake the seal follows: in full when the block extends the
//     tip, else all that needs no chain state (slot, signature and
//     reveal under the key it names); whether that key is the elected
//     proposer is checked when a side-branch block is connected.
//  5. Under the write lock, steps 1 and 3 again, which alone decide; the
//     orphan pool when the parent is unknown, header-only or a block
//     whose seal failed;
//     chain.CheckCoinbaseHeight; only then is the block written to the
//     index (a new node, or its header-only node) and the store.
//  6. The orphans that were waiting for the block, each through steps 3
//     and 5 against it before it is stored, recursively.
//  7. Fork choice, and connecting (account-state rules, see above) or
//     disconnecting blocks one at a time.
//
// A block refused in step 3 or 5 is never stored. When the rule condemns
// its header (chain.ErrInvalidAncestorBlock, the header-context rules but
// chain.ErrTimeTooNew, and the coinbase height, to which the header
// commits through the merkle root), its hash and the rule are remembered
// in memory, the MaxRejected (4096) most recent ones, the oldest
// forgotten first; the orphans waiting for it, and theirs, leave the pool
// and are remembered as chain.ErrInvalidAncestorBlock. Sent again, such a
// block is a duplicate, and its children are refused in step 3 instead of
// waiting as orphans. Nothing else is remembered and nothing survives a
// restart: a forgotten block is checked, and refused, again. The orphan
// pool is bounded by Config.MaxOrphans and Config.MaxOrphanBytes (100
// blocks and 32 MiB by default), each orphan for OrphanTTL. So a flood of
// cheap blocks on an invalid parent, or with the wrong bits, writes
// nothing and costs no more memory than the remembered refusals (about
// 400 KB at most) and the bounded orphan pool.
//
// A mutated body (chain.ErrMutatedBlock, chain.ErrBadMerkleRoot), a
// timestamp too far ahead (chain.ErrTimeTooNew) or a bad proof-of-stake
// seal (chain.ErrBadSeal, before or after the block is stored) never
// condemns the header, and is not remembered: the honest body or seal,
// or the same block later, is accepted. A block stored before an ancestor failed the
// account-state rules keeps its body and is marked StatusInvalidAncestor
// with the rest of the branch.
//
// # Concurrency
//
// Every exported method of Node is safe for concurrent use, and reads do
// not wait behind writes. Two locks split the work:
//
//   - The write lock serializes changes. ProcessBlock checks the header
//     and verifies signatures before taking it, then holds it through the
//     whole change: header checks again, fork choice, connecting and
//     disconnecting, and every Store call that change makes (Commit may
//     wait for an fsync), so the changes are made, and committed, one at
//     a time. A header that ProcessBlock refuses before taking it takes
//     it only briefly, to remember the refusal. ProcessHeaders hashes
//     the headers and checks their proofs of work before taking it, and
//     makes no Store call; ProcessSealedHeaders checks the seals'
//     signatures and reveals before taking it (and the read lock briefly
//     to see which headers need them).
//   - The read lock (a sync.RWMutex) guards what the read methods see: the
//     index, the best chain, the account state, the orphan pool, the
//     remembered refusals and the block statuses. A change takes it
//     exclusively only for a few memory writes: to apply what its
//     Store.Commit has just made durable (a new index node, a new tip
//     with its accounts, new statuses), or to add or take orphans and
//     remember refusals, which are not stored. It never holds it across
//     a Store call. Tip, BlockInfo, BlockByHeight, MainChainHas,
//     Account, Locator, NextHeaderContext, OrphanCount, ChainTips,
//     BestHeader, MissingBlocks, HeaderLocator and MainChainHeaders take
//     it shared (MainChainSealedHeaders too, then reads the seals from
//     the Store without a lock, as Block does), so they return while a
//     Commit is still syncing, showing
//     the state before that change. ProcessBlock's first duplicate and
//     header checks take it shared too.
//   - Block takes the read lock only to look the block up (a block whose
//     proof-of-stake seal failed is not served), and reads from the
//     Store without a lock, which must allow that concurrently with
//     Commit (see Store). Any block the index shows is committed before
//     it shows it.
//
// Lock order: write lock, then read lock; the notification turn is taken
// with neither. A change applies its effects in the order it commits
// them, so a reader never sees a tip whose accounts or index entries are
// not in memory yet; between the steps of a reorganization it may see an
// intermediate tip, as a restart after a crash there would. Events are
// delivered after the write lock is released, in the order of the changes
// (each call takes a turn), holding no lock, so Notify may call the read
// methods. Store calls are made one at a time, with the write lock held,
// except Block's and BlockSeals'.
//
// # Errors
//
// A block that breaks a consensus rule yields an error holding a
// chain.RuleError (test with errors.As and compare the Code); the node
// adds chain.ErrInvalidAncestorBlock (RejectReason "bad-prevblk") for a
// block on top of an invalid one: refused unstored when the parent is
// known invalid, or kept as StatusInvalidAncestor when it was stored
// before an ancestor failed. Which refusals condemn a block and which do
// not is said under Pipeline. A block already known, or remembered as
// refused, yields an error wrapping ErrDuplicate (a block whose header
// alone is known is welcome). ProcessHeaders adds ErrUnconnectedHeaders
// and ErrTooManyHeaders, which are no rule errors, and
// ProcessSealedHeaders ErrUnregisteredProposer, which is none either. Store failures are
// passed on wrapped, and leave the node consistent with the last
// successful Commit.
package node
