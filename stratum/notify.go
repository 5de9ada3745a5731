package stratum

import (
	"encoding/hex"
	"strconv"

	"github.com/powmine/powmine/chain"
)

// This file holds what a server sends a client: the subscribe result and
// the params of mining.notify, set_difficulty, set_extranonce and
// set_version_mask. The client decodes what the server encodes; Decode
// leaves the receiver unchanged on error.

// SubscribeResult is the result of mining.subscribe:
// [[["mining.set_difficulty", id], ["mining.notify", id]], extranonce1,
// extranonce2_size].
type SubscribeResult struct {
	// SubscriptionID is the id of the subscriptions, which a client may
	// send back as SubscribeParams.SessionID to resume. Empty when the
	// server sent none.
	SubscriptionID string
	// Extranonce1 is the connection's unique coinbase prefix.
	Extranonce1 []byte
	// Extranonce2Size is the number of extranonce2 bytes the client
	// rolls, 1 to MaxExtranonce2Size (use 4 or 8: cpuminer-opt wants 2 to
	// 16).
	Extranonce2Size int
}

// AppendResult implements Result.
func (r *SubscribeResult) AppendResult(dst []byte) []byte {
	dst = append(dst, `[[["mining.set_difficulty",`...)
	dst = appendString(dst, r.SubscriptionID)
	dst = append(dst, `],["mining.notify",`...)
	dst = appendString(dst, r.SubscriptionID)
	dst = append(dst, "]],"...)
	dst = appendHex(dst, r.Extranonce1)
	dst = append(dst, ',')
	dst = strconv.AppendInt(dst, int64(r.Extranonce2Size), 10)
	return append(dst, ']')
}

// Decode decodes a subscribe result. Like real clients it relies on
// elements 1 and 2; element 0 may take any shape (ckpool and public-pool
// send only the mining.notify pair), and the id of a mining.notify pair in
// it, if any, becomes SubscriptionID.
func (r *SubscribeResult) Decode(raw []byte) error {
	const m = MethodSubscribe + " result"
	var el [3][]byte
	if _, err := splitParams(m, raw, el[:], 3); err != nil {
		return err
	}
	var q SubscribeResult
	q.SubscriptionID = notifySubscriptionID(el[0])
	var err error
	if q.Extranonce1, err = hexBytes(m, "extranonce1", el[1], MaxExtranonce1Size); err != nil {
		return err
	}
	if q.Extranonce2Size, err = intField(m, "extranonce2_size", el[2], MaxExtranonce2Size); err != nil {
		return err
	}
	if q.Extranonce2Size == 0 {
		return paramsError(m, "extranonce2_size is 0")
	}
	*r = q
	return nil
}

// notifySubscriptionID finds ["mining.notify", id] in the subscriptions
// element of a subscribe result, which may also be a single pair.
func notifySubscriptionID(subs []byte) string {
	it, ok := newIter(subs, '[')
	if !ok {
		return ""
	}
	var pair [2][]byte
	n := 0
	for v, ok := it.next(); ok; v, ok = it.next() {
		if v[0] == '[' {
			if id := notifySubscriptionID(v); id != "" {
				return id
			}
			continue
		}
		if n < len(pair) {
			pair[n] = v
		}
		n++
	}
	if name, _ := decodeString(pair[0]); n == 2 && name == MethodNotify {
		id, _ := decodeString(pair[1])
		return id
	}
	return ""
}

// NotifyParams are the params of mining.notify: [job_id, prevhash,
// coinb1, coinb2, [merkle_branch...], version, nbits, ntime, clean_jobs].
// On the wire prevhash is word-swapped hex (see EncodePrevHash), each
// branch hash plain hex in internal byte order, coinb1 and coinb2 hex of
// the non-witness coinbase split around the extranonces, and version,
// nbits and ntime 8 big-endian hex characters.
type NotifyParams struct {
	// JobID names the job; shares refer to it.
	JobID string
	// PrevHash is the previous block hash in internal byte order.
	PrevHash chain.Hash
	// Coinb1 is the coinbase up to the extranonce space.
	Coinb1 []byte
	// Coinb2 is the coinbase after the extranonce space.
	Coinb2 []byte
	// MerkleBranch is the coinbase's merkle branch, bottom up
	// (chain.CoinbaseMerkleBranch), at most MaxMerkleBranch entries.
	MerkleBranch []chain.Hash
	// Version is the block version. Keep it free of version-rolling mask
	// bits, so every client's way of rolling agrees.
	Version uint32
	// Bits is the compact network target.
	Bits uint32
	// Time is the job's header timestamp.
	Time uint32
	// CleanJobs tells the client to abandon earlier jobs.
	CleanJobs bool
}

// Method implements Params.
func (*NotifyParams) Method() string { return MethodNotify }

// AppendParams implements Params.
func (p *NotifyParams) AppendParams(dst []byte) []byte {
	dst = append(dst, '[')
	dst = appendString(dst, p.JobID)
	dst = append(dst, ',', '"')
	dst = AppendPrevHash(dst, p.PrevHash)
	dst = append(dst, '"', ',')
	dst = appendHex(dst, p.Coinb1)
	dst = append(dst, ',')
	dst = appendHex(dst, p.Coinb2)
	dst = append(dst, ",["...)
	for i := range p.MerkleBranch {
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = appendHex(dst, p.MerkleBranch[i][:])
	}
	dst = append(dst, "],"...)
	dst = appendU32(dst, p.Version)
	dst = append(dst, ',')
	dst = appendU32(dst, p.Bits)
	dst = append(dst, ',')
	dst = appendU32(dst, p.Time)
	dst = append(dst, ',')
	dst = strconv.AppendBool(dst, p.CleanJobs)
	return append(dst, ']')
}

// Decode decodes mining.notify params: exactly nine, with 64 hex
// characters for prevhash and every branch entry, 8 for version, nbits
// and ntime, even-length hex for coinb1 and coinb2 (each at most
// MaxLineSize/2 bytes) and a boolean clean_jobs.
func (p *NotifyParams) Decode(raw []byte) error {
	const m = MethodNotify
	var el [9][]byte
	if _, err := splitParams(m, raw, el[:], 9); err != nil {
		return err
	}
	var q NotifyParams
	var err error
	if q.JobID, err = stringField(m, "job id", el[0]); err != nil {
		return err
	}
	if q.PrevHash, err = prevHashField(m, el[1]); err != nil {
		return err
	}
	if q.Coinb1, err = hexBytes(m, "coinb1", el[2], MaxLineSize/2); err != nil {
		return err
	}
	if q.Coinb2, err = hexBytes(m, "coinb2", el[3], MaxLineSize/2); err != nil {
		return err
	}
	it, ok := newIter(el[4], '[')
	if !ok {
		return paramsError(m, "merkle branch must be an array, got %s", kindName(el[4]))
	}
	for {
		v, ok := it.next()
		if !ok {
			break
		}
		if len(q.MerkleBranch) == MaxMerkleBranch {
			return paramsError(m, "merkle branch longer than %d", MaxMerkleBranch)
		}
		s, err := hexField(m, "merkle branch entry", v, chain.HashSize)
		if err != nil {
			return err
		}
		if len(s) != 2*chain.HashSize {
			return paramsError(m, "merkle branch entry: want 64 hex characters, got %d", len(s))
		}
		var h chain.Hash
		hex.Decode(h[:], s) // checked by hexField
		q.MerkleBranch = append(q.MerkleBranch, h)
	}
	if q.Version, err = u32Field(m, "version", el[5], true); err != nil {
		return err
	}
	if q.Bits, err = u32Field(m, "nbits", el[6], true); err != nil {
		return err
	}
	if q.Time, err = u32Field(m, "ntime", el[7], true); err != nil {
		return err
	}
	switch string(el[8]) {
	case "true":
		q.CleanJobs = true
	case "false":
	default:
		return paramsError(m, "clean_jobs must be a boolean, got %s", kindName(el[8]))
	}
	*p = q
	return nil
}

// prevHashField decodes a word-swapped prevhash param.
func prevHashField(method string, raw []byte) (chain.Hash, error) {
	s, err := hexField(method, "prevhash", raw, chain.HashSize)
	if err != nil {
		return chain.Hash{}, err
	}
	if len(s) != 2*chain.HashSize {
		return chain.Hash{}, paramsError(method, "prevhash: want 64 hex characters, got %d", len(s))
	}
	var h chain.Hash
	hex.Decode(h[:], s) // checked by hexField
	return swapWords(h), nil
}

// SetDifficultyParams are the params of mining.set_difficulty:
// [difficulty]. The client applies the difficulty from the next notify.
type SetDifficultyParams struct {
	// Difficulty is the share difficulty, finite and positive.
	Difficulty float64
}

// Method implements Params.
func (*SetDifficultyParams) Method() string { return MethodSetDifficulty }

// AppendParams implements Params; the difficulty is written as a JSON
// number in shortest form (ESP-Miner rejects strings).
func (p *SetDifficultyParams) AppendParams(dst []byte) []byte {
	dst = append(dst, '[')
	dst = appendDifficulty(dst, p.Difficulty)
	return append(dst, ']')
}

// Decode decodes mining.set_difficulty params: one positive number (a
// decimal string is tolerated).
func (p *SetDifficultyParams) Decode(raw []byte) error {
	var el [1][]byte
	if _, err := splitParams(MethodSetDifficulty, raw, el[:], 1); err != nil {
		return err
	}
	d, err := difficultyField(MethodSetDifficulty, el[0])
	if err != nil {
		return err
	}
	p.Difficulty = d
	return nil
}

// SetExtranonceParams are the params of mining.set_extranonce (NiceHash):
// [extranonce1, extranonce2_size]. The client switches at the next
// notify; a server remembers which extranonce1 each job was sent with.
type SetExtranonceParams struct {
	// Extranonce1 is the new extranonce1, 1 to MaxExtranonce1Size bytes.
	Extranonce1 []byte
	// Extranonce2Size is the new extranonce2 size, 1 to
	// MaxExtranonce2Size.
	Extranonce2Size int
}

// Method implements Params.
func (*SetExtranonceParams) Method() string { return MethodSetExtranonce }

// AppendParams implements Params.
func (p *SetExtranonceParams) AppendParams(dst []byte) []byte {
	dst = append(dst, '[')
	dst = appendHex(dst, p.Extranonce1)
	dst = append(dst, ',')
	dst = strconv.AppendInt(dst, int64(p.Extranonce2Size), 10)
	return append(dst, ']')
}

// Decode decodes mining.set_extranonce params.
func (p *SetExtranonceParams) Decode(raw []byte) error {
	const m = MethodSetExtranonce
	var el [2][]byte
	if _, err := splitParams(m, raw, el[:], 2); err != nil {
		return err
	}
	var q SetExtranonceParams
	var err error
	if q.Extranonce1, err = hexBytes(m, "extranonce1", el[0], MaxExtranonce1Size); err != nil {
		return err
	}
	if len(q.Extranonce1) == 0 {
		return paramsError(m, "empty extranonce1")
	}
	if q.Extranonce2Size, err = intField(m, "extranonce2_size", el[1], MaxExtranonce2Size); err != nil {
		return err
	}
	if q.Extranonce2Size == 0 {
		return paramsError(m, "extranonce2_size is 0")
	}
	*p = q
	return nil
}

// SetVersionMaskParams are the params of mining.set_version_mask
// (BIP310): [mask], valid at once.
type SetVersionMaskParams struct {
	// Mask is the new version-rolling mask.
	Mask uint32
}

// Method implements Params.
func (*SetVersionMaskParams) Method() string { return MethodSetVersionMask }

// AppendParams implements Params.
func (p *SetVersionMaskParams) AppendParams(dst []byte) []byte {
	dst = append(dst, '[')
	dst = appendU32(dst, p.Mask)
	return append(dst, ']')
}

// Decode decodes mining.set_version_mask params: one hex string of 1 to 8
// characters.
func (p *SetVersionMaskParams) Decode(raw []byte) error {
	var el [1][]byte
	if _, err := splitParams(MethodSetVersionMask, raw, el[:], 1); err != nil {
		return err
	}
	mask, err := u32Field(MethodSetVersionMask, "mask", el[0], false)
	if err != nil {
		return err
	}
	p.Mask = mask
	return nil
}
