// Package stratum implements the protocol layer of Stratum V1, the
// line-delimited JSON-RPC protocol of sha256d mining pools, as real pools
// and miners (cpuminer, cpuminer-opt, BFGMiner, cgminer, ESP-Miner, ckpool,
// miningcore, public-pool) speak it. It holds no connections and no
// state: the server (stratum/pool) and the client (stratum/client) build
// on it.
//
// # Framing
//
// Reader returns one "\n"-terminated line at a time ("\r\n" tolerated,
// blank lines skipped) from a buffer allocated once, with a maximum line
// length (MaxLineSize by default). It fails at once on a line that cannot
// be JSON, such as BFGMiner's TLS probe (ErrTLSHandshake, ErrNotJSON), and
// on an overlong line (ErrLineTooLong): close the connection then.
// CheckLineStart does the first check on any prefix of received bytes.
//
// # Messages
//
// ParseMessage splits a line into a Message: the raw id (echo it verbatim:
// clients send integers and strings), the method, and the raw params,
// result, error and reject-reason. Each method's params have a type with
// Decode (strict: counts, JSON types, hex lengths and ranges) and
// AppendParams; results have types with Decode and AppendResult.
// AppendRequest, AppendNotification, AppendResponse and
// AppendErrorResponse write exactly one line each, "\n" included.
//
// Client to server: SubscribeParams, AuthorizeParams (SplitUser splits
// "address.worker"), ConfigureParams (BIP310), SubmitParams,
// SuggestDifficultyParams (number or string), ExtranonceSubscribeParams,
// GetTransactionsParams. Server to client: SubscribeResult,
// ConfigureResult, NotifyParams, SetDifficultyParams,
// SetExtranonceParams, SetVersionMaskParams.
//
// The hot path, a mining.submit line through ParseMessage and
// SubmitParams.Decode, does not allocate: a small JSON walker over input
// checked with json.Valid replaces encoding/json's reflection.
//
// # Share math
//
// EncodePrevHash and DecodePrevHash convert prevhash to and from
// Stratum's word-swapped hex. CoinbaseMerkleRoot hashes
// coinb1 || extranonce1 || extranonce2 || coinb2 and folds the merkle
// branch; RollVersion applies BIP310 version rolling;
// NotifyParams.ShareHeader rebuilds the 80-byte header of a share. A
// server hashes coinb1's whole 64-byte blocks once per job
// (NewCoinbasePrefix) and rebuilds each share with a ShareHasher, which
// hashes only the rest of the coinbase and allocates nothing.
// TargetFromDifficulty and DifficultyFromTarget convert difficulties (1 =
// target 0xffff*2^208, bits 0x1d00ffff) with exact rational arithmetic, to
// be done once per difficulty change; HashMeetsTarget and HashDifficulty
// are cheap per share.
//
// # Errors
//
// Framing and envelope errors are sentinels (ErrLineTooLong, ErrNotJSON,
// ErrTLSHandshake, ErrInvalidMessage): the stream is out of step, close
// it. Params errors are *Error values with a Stratum ErrorCode (CodeOther)
// wrapping ErrInvalidParams; a server sends them back with
// AppendErrorResponse as [code, message, null] plus reject-reason, and
// keeps the connection. The codes are those pools send: 20 other, 21 job
// not found (stale), 22 duplicate, 23 low difficulty, 24 unauthorized, 25
// not subscribed, and btcpool's 26, 27 and 31-33 (time too old/new,
// invalid version mask). Message.ResponseError reads every error shape
// pools send (array, JSON-RPC object, string, reject-reason).
//
// The package does not do networking, vardiff, job bookkeeping, duplicate
// detection or ntime windows: those belong to the server.
package stratum
