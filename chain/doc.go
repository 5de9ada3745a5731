// Package chain holds the consensus leaf types and pure functions of a
// Bitcoin-compatible header chain: the 80-byte block header and its hash,
// compact targets ("nBits") and work, the difficulty retarget, median time
// past, and the header checks built on them. It follows Bitcoin Core's
// rules (src/pow.cpp, arith_uint256, src/chain.cpp, validation.cpp) bit for
// bit, including their traps: the compact sign bit, the off-by-one retarget
// window and non-monotonic timestamps.
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
//   - Difficulty: RetargetBits, and HeaderContext.NextBits for the bits a
//     child must carry.
//   - Parameters: Params and MainNetParams.
//   - Checks in two layers: CheckProofOfWork and CheckHeaderSanity need only
//     the header; CheckHeaderContext needs facts about the parent
//     (HeaderContext) and the local clock. MedianTimePast computes the
//     median a HeaderContext carries.
//
// What it does not do: it keeps no block index or chain state, chooses no
// fork, touches no storage or network and does not validate transactions
// or merkle roots. Those layers live in sub-packages and in the node, which
// gather a HeaderContext from their index and call these functions. The
// package does not log. Every function is safe for concurrent use;
// MainNetParams must not be modified.
//
// # Errors
//
// A header that breaks a consensus rule yields a RuleError whose Code
// (an ErrorCode such as ErrHighHash, ErrBadTarget, ErrTargetAbovePowLimit,
// ErrUnexpectedDifficulty, ErrTimeTooOld, ErrTimeTooNew or ErrBadPrevBlock)
// names the rule. Test for it with errors.As and compare the code, never
// the message:
//
//	var rerr chain.RuleError
//	if errors.As(err, &rerr) && rerr.Code == chain.ErrHighHash { ... }
//
// ErrTimeTooNew is temporary: the same header may pass later, so it must not
// be recorded as permanently invalid. An AssertError reports a caller bug
// (an impossible HeaderContext), not an invalid header. Malformed input
// outside consensus, such as a header of the wrong length or a bad hash
// string, yields errors wrapping the sentinels ErrHeaderSize,
// ErrHashStrSize and ErrHashRange (use errors.Is).
package chain
