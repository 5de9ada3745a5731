// Package chain holds the consensus leaf types and pure functions of a
// Bitcoin-style proof-of-work chain with account-model transfers: the
// 80-byte block header and its hash, compact targets ("nBits") and work,
// the difficulty retarget, median time past, blocks, transactions, the
// merkle tree, addresses and signatures, and the checks built on them. The
// header rules follow Bitcoin Core's (src/pow.cpp, arith_uint256,
// src/chain.cpp, validation.cpp) bit for bit, including their traps: the
// compact sign bit, the off-by-one retarget window and non-monotonic
// timestamps.
//
// What it provides:
//
//   - Hash: a double SHA-256 digest in internal byte order, printed
//     byte-reversed as explorers show it (String, NewHashFromStr), and read
//     as a little-endian number for target comparisons (HashToBig,
//     BigToHash).
//   - Header: the 80-byte encoding (Serialize, AppendBinary, MarshalBinary,
//     UnmarshalBinary) and the block hash (Hash).
//   - Targets and work: DecodeCompact (Core's flags), CompactToBig and
//     BigToCompact (btcd's shapes), CalcWork. Chainwork is the sum of
//     CalcWork over a chain, genesis included.
//   - Difficulty: RetargetBits (Bitcoin's periodic retarget) and ASERTBits
//     (Bitcoin Cash's per-block aserti3-2d), chosen per network by
//     Params.DifficultyAlgorithm, and HeaderContext.NextBits for the bits
//     a child must carry.
//   - Parameters: Params, MainNetParams (Bitcoin's header rules) and
//     DevParams (a local chain with 5-second blocks and ASERT, with a full
//     GenesisBlock); DevGenesisTemplate and DevParamsFor for a dev chain
//     with a genesis of its own (mined by chain/daemon, not here);
//     CalcBlockSubsidy for the new coins a block may create.
//   - Blocks and transactions: Block (a Header and its Transactions, the
//     coinbase first); Transaction, which holds either a Coinbase (height,
//     extranonce, payouts) or a Transfer (ed25519 sender key, recipient
//     Address, amount, fee, sequence number, signature). Amounts are uint64
//     base units (BaseUnitsPerCoin to a coin). Both have a canonical,
//     deterministic binary encoding (MarshalBinary, UnmarshalBinary) with
//     the size limits MaxBlockSize, MaxTxPerBlock, MaxTxSize,
//     MaxCoinbaseOutputs and MaxExtranonceSize; Transaction documents the
//     layout. The transaction id (TxID) is the double SHA-256 of the
//     encoding.
//   - Stake (stake.go): Deposit (locks coins of an owner account for a
//     validator key; signed by the owner and, as a proof of possession,
//     by the validator key) and Withdraw (signed by the owner; with
//     Amount 0 the validator leaves at the next epoch boundary, with a
//     partial Amount its weight drops by Amount there and it stays; the
//     coins are paid back automatically WithdrawDelayEpochs later, and
//     are slashable until then), transaction types 3
//     and 4 of the same versioned encoding; Debit, what a transfer,
//     deposit or withdraw takes from its sender; Validator, the state of
//     a registered key; Params.EpochLength, MinDeposit, MaxValidators and
//     WithdrawDelayEpochs, with Params.Epoch and IsEpochBoundary. A
//     deposit made in epoch e is active from epoch e+1 (one boundary, not
//     Ethereum's two: the set of epoch e+1 is fixed once its first block
//     is connected). The validator set lives in chain/node.
//   - Merkle tree: MerkleRoot (Bitcoin's tree, with Core's mutation flag),
//     CoinbaseMerkleBranch and MerkleRootFromBranch for Stratum.
//   - Accounts: Address (20 bytes of the double SHA-256 of a public key,
//     written "pm" + hex + checksum; ParseAddress), PublicKey, GenerateKey,
//     Transfer.Sign and Transfer.Verify over a domain-separated signing
//     message, VerifySignature and VerifySignatures (a batch) for other
//     signed messages, all under one rule (see Signatures below);
//     Account, the state of an address (balance and next sequence
//     number) as the node, its store and the mempool share it.
//   - Checks in layers: CheckProofOfWork and CheckHeaderSanity need only
//     the header; CheckHeaderContext needs facts about the parent
//     (HeaderContext) and the local clock. MedianTimePast computes the
//     median a HeaderContext carries. CheckTransactionSanity and
//     CheckBlockSanity need only the transaction or block (a block's
//     signatures are verified in one batch, one per CPU for a large block);
//     CheckCoinbaseHeight needs the block's height.
//
// What it does not do: it keeps no block index, account state or mempool,
// chooses no fork, mines nothing (it hashes, never searches nonces),
// touches no storage or network. So it checks no
// balances, sequence numbers or coinbase value (at most CalcBlockSubsidy
// plus the block's fees): those need the account state and belong to the
// layer that connects blocks. Those layers live in sub-packages and in the
// node, which gather a HeaderContext from their index and call these
// functions. The package does not log. Every function is safe for
// concurrent use; MainNetParams and DevParams must not be modified.
//
// # Signatures
//
// A transfer is signed with ed25519 (RFC 8032; Transfer.Sign uses
// crypto/ed25519, whose deterministic signing every library shares) over
// a domain-separated message that holds the network's genesis hash. It is
// verified under ZIP-215's rules (Zcash's "Explicitly Defining and
// Modifying Ed25519 Validation Rules"), with
// github.com/oasisprotocol/curve25519-voi, everywhere: Transfer.Verify,
// CheckTransactionSanity (the mempool's check), CheckBlockSanity's batch,
// and VerifySignature and VerifySignatures, which chain/pos uses for its
// votes. The rule: S must be below the group order ℓ; A and R may be any
// encoding of a curve point, non-canonical or of small order; and the
// cofactored equation [8][S]B = [8]R + [8][k]A must hold, with k the
// SHA-512 of R's and A's bytes as given and the message, reduced modulo
// ℓ. Under it a batch (one multiscalar multiplication with random
// coefficients, about 15 µs a signature for 1,000 on one core against
// 40 µs alone) accepts exactly the signatures single verification
// accepts, so which path checked a transfer never changes the verdict. crypto/ed25519's cofactorless check
// is not that rule: it refuses some crafted signatures that ZIP-215
// accepts (a non-canonical or small-order R with a small-order key;
// TestZIP215Divergence has them), and no cofactored batch can match it.
// Every signature an RFC 8032 signer makes is valid under both.
//
// What the rule means for users: a key of small order (the identity, for
// one) has no secret, so anyone can sign for it, under either rule; coins
// sent to its address can be taken by anyone. Malleability: S at or above
// ℓ is refused, and a new encoding of R changes k, so no third party can
// turn a valid signature of an honest key into another valid one, and so
// change a transfer's txid. The signer can make other valid signatures of
// the same transfer (another nonce), as with any ed25519; the sequence
// number still lets only one of them into the chain.
//
// # Errors
//
// A header, block or transaction that breaks a consensus rule yields a
// RuleError whose Code (an ErrorCode such as ErrHighHash,
// ErrUnexpectedDifficulty, ErrTimeTooOld, ErrBadMerkleRoot or
// ErrBadSignature) names the rule. Test for it with errors.As and compare
// the code, never the message:
//
//	var rerr chain.RuleError
//	if errors.As(err, &rerr) && rerr.Code == chain.ErrHighHash { ... }
//
// Not every rejection condemns the block hash. ErrTimeTooNew is temporary:
// the same header may pass later. ErrBadMerkleRoot and ErrMutatedBlock say
// that a body is not the one the header commits to (CVE-2012-2459 for the
// latter); the honest body may still arrive, so the block hash must not be
// recorded as invalid for them. CheckBlockSanity checks that commitment
// before any other body rule, so every other code it returns does condemn
// the block. An AssertError reports a caller bug (an impossible
// HeaderContext, a Transaction with no body), not an invalid block.
// Malformed input outside consensus, such as a header of the wrong length,
// a bad hash or address string, or a block or transaction encoding that
// does not decode, yields errors wrapping sentinels (use errors.Is):
// ErrHeaderSize, ErrHashStrSize, ErrHashRange, ErrAddressFormat,
// ErrAddressChecksum, and ErrMalformed together with one of ErrTruncated,
// ErrNonCanonical, ErrUnknownType or ErrTooLarge. A body that does not
// decode says nothing about its header either.
package chain
