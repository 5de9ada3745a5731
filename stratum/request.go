package stratum

import (
	"encoding/hex"
	"encoding/json"
	"strconv"
	"strings"
)

// This file holds the params of the methods a client sends to a server.
// Each type has Method and AppendParams (the Params interface, for
// AppendRequest) and Decode, which checks every count, type and length and
// returns an *Error wrapping ErrInvalidParams. Decode leaves the receiver
// unchanged on error.

// SubscribeParams are the params of mining.subscribe:
// [user_agent[, session_id]].
type SubscribeParams struct {
	// UserAgent is the client's name and version, e.g. "cpuminer/2.5.1".
	// Empty when the client sent no params.
	UserAgent string
	// SessionID is the subscription id of an earlier session the client
	// asks to resume (cpuminer sends its old mining.notify subscription
	// id); empty when absent or null.
	SessionID string
}

// Method implements Params.
func (*SubscribeParams) Method() string { return MethodSubscribe }

// AppendParams implements Params; SessionID is written only when set.
func (p *SubscribeParams) AppendParams(dst []byte) []byte {
	dst = append(dst, '[')
	dst = appendString(dst, p.UserAgent)
	if p.SessionID != "" {
		dst = append(dst, ',')
		dst = appendString(dst, p.SessionID)
	}
	return append(dst, ']')
}

// Decode decodes mining.subscribe params: zero to two strings (or nulls).
func (p *SubscribeParams) Decode(raw []byte) error {
	var el [2][]byte
	n, err := splitParams(MethodSubscribe, raw, el[:], 0)
	if err != nil {
		return err
	}
	var q SubscribeParams
	if n > 0 {
		if q.UserAgent, err = stringField(MethodSubscribe, "user agent", el[0]); err != nil {
			return err
		}
	}
	if n > 1 {
		if q.SessionID, err = stringField(MethodSubscribe, "session id", el[1]); err != nil {
			return err
		}
	}
	*p = q
	return nil
}

// AuthorizeParams are the params of mining.authorize: [user, password].
type AuthorizeParams struct {
	// User is the login, usually "payout_address[.worker]"; see Address
	// and Worker.
	User string
	// Password is often "x"; pools put options in it (miningcore's
	// static difficulty "d=<number>").
	Password string
}

// Method implements Params.
func (*AuthorizeParams) Method() string { return MethodAuthorize }

// AppendParams implements Params.
func (p *AuthorizeParams) AppendParams(dst []byte) []byte {
	dst = append(dst, '[')
	dst = appendString(dst, p.User)
	dst = append(dst, ',')
	dst = appendString(dst, p.Password)
	return append(dst, ']')
}

// Decode decodes mining.authorize params: the user and an optional
// password (a missing or null password is ""). An empty user is an error.
func (p *AuthorizeParams) Decode(raw []byte) error {
	var el [2][]byte
	n, err := splitParams(MethodAuthorize, raw, el[:], 1)
	if err != nil {
		return err
	}
	var q AuthorizeParams
	if q.User, err = stringField(MethodAuthorize, "user", el[0]); err != nil {
		return err
	}
	if q.User == "" {
		return paramsError(MethodAuthorize, "empty user")
	}
	if n > 1 {
		if q.Password, err = stringField(MethodAuthorize, "password", el[1]); err != nil {
			return err
		}
	}
	*p = q
	return nil
}

// Address returns the payout address part of User: everything before the
// first '.'.
func (p *AuthorizeParams) Address() string {
	addr, _ := SplitUser(p.User)
	return addr
}

// Worker returns the worker name part of User: everything after the first
// '.', or "" when there is none.
func (p *AuthorizeParams) Worker() string {
	_, worker := SplitUser(p.User)
	return worker
}

// SplitUser splits a Stratum user "address.worker" at its first '.' into
// the payout address and the worker name ("" when there is no '.').
// Payout addresses contain no '.', worker names may.
func SplitUser(user string) (address, worker string) {
	address, worker, _ = strings.Cut(user, ".")
	return address, worker
}

// Version-rolling (BIP310) names and the server mask.
const (
	// ExtensionVersionRolling is BIP310's version-rolling extension.
	ExtensionVersionRolling = "version-rolling"
	// DefaultVersionRollingMask is the mask of the BIP320 general-purpose
	// version bits 13-28, which ckpool, public-pool, miningcore and btcpool
	// offer. Negotiate with server_mask & miner_mask.
	DefaultVersionRollingMask uint32 = 0x1fffe000
)

// ConfigureParams are the params of mining.configure (BIP310):
// [[extensions...], {"version-rolling.mask": "1fffe000",
// "version-rolling.min-bit-count": 2, ...}]. Parameters of other
// extensions are ignored.
type ConfigureParams struct {
	// Extensions lists the requested extensions, e.g. "version-rolling".
	Extensions []string
	// VersionRollingMask is the miner's "version-rolling.mask" (0 when
	// absent).
	VersionRollingMask uint32
	// VersionRollingMinBitCount is "version-rolling.min-bit-count" (0
	// when absent).
	VersionRollingMinBitCount int
}

// Method implements Params.
func (*ConfigureParams) Method() string { return MethodConfigure }

// Has reports whether the miner requested the extension.
func (p *ConfigureParams) Has(extension string) bool {
	for _, e := range p.Extensions {
		if e == extension {
			return true
		}
	}
	return false
}

// AppendParams implements Params. The version-rolling parameters are
// written when the extension is requested.
func (p *ConfigureParams) AppendParams(dst []byte) []byte {
	dst = append(dst, "[["...)
	for i, e := range p.Extensions {
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = appendString(dst, e)
	}
	dst = append(dst, "],{"...)
	if p.Has(ExtensionVersionRolling) {
		dst = append(dst, `"version-rolling.mask":`...)
		dst = appendU32(dst, p.VersionRollingMask)
		dst = append(dst, `,"version-rolling.min-bit-count":`...)
		dst = strconv.AppendInt(dst, int64(p.VersionRollingMinBitCount), 10)
	}
	return append(dst, "}]"...)
}

// Decode decodes mining.configure params: an array of at most
// MaxConfigureExtensions extension names and an optional parameter
// object. The mask is 1 to 8 hex characters, the minimum bit count an
// integer from 0 to 32.
func (p *ConfigureParams) Decode(raw []byte) error {
	const m = MethodConfigure
	var el [2][]byte
	n, err := splitParams(m, raw, el[:], 1)
	if err != nil {
		return err
	}
	var q ConfigureParams
	it, ok := newIter(el[0], '[')
	if !ok {
		return paramsError(m, "extensions must be an array, got %s", kindName(el[0]))
	}
	for {
		v, ok := it.next()
		if !ok {
			break
		}
		if len(q.Extensions) == MaxConfigureExtensions {
			return paramsError(m, "more than %d extensions", MaxConfigureExtensions)
		}
		s, ok := decodeString(v)
		if !ok {
			return paramsError(m, "extension must be a string, got %s", kindName(v))
		}
		q.Extensions = append(q.Extensions, s)
	}
	if n > 1 && !isNull(el[1]) {
		it, ok := newIter(el[1], '{')
		if !ok {
			return paramsError(m, "extension params must be an object, got %s", kindName(el[1]))
		}
		for {
			k, v, ok := it.nextMember()
			if !ok {
				break
			}
			switch string(k) {
			case `"version-rolling.mask"`:
				if q.VersionRollingMask, err = u32Field(m, "version-rolling.mask", v, false); err != nil {
					return err
				}
			case `"version-rolling.min-bit-count"`:
				if q.VersionRollingMinBitCount, err = intField(m, "version-rolling.min-bit-count", v, 32); err != nil {
					return err
				}
			}
		}
	}
	*p = q
	return nil
}

// ConfigureResult is the result of mining.configure:
// {"version-rolling": true, "version-rolling.mask": "1fffe000", ...}, with
// false for each extension the server does not support (BIP310 wants
// false there, not an error).
type ConfigureResult struct {
	// VersionRolling reports whether version rolling was granted.
	VersionRolling bool
	// VersionRollingMask is the granted mask (sent when VersionRolling).
	VersionRollingMask uint32
	// Unsupported lists the requested extensions answered with false
	// (other than version-rolling).
	Unsupported []string
}

// AppendResult implements Result.
func (r *ConfigureResult) AppendResult(dst []byte) []byte {
	dst = append(dst, `{"version-rolling":`...)
	dst = strconv.AppendBool(dst, r.VersionRolling)
	if r.VersionRolling {
		dst = append(dst, `,"version-rolling.mask":`...)
		dst = appendU32(dst, r.VersionRollingMask)
	}
	for _, e := range r.Unsupported {
		dst = append(dst, ',')
		dst = appendString(dst, e)
		dst = append(dst, ":false"...)
	}
	return append(dst, '}')
}

// Decode decodes a mining.configure result. Members other than the
// version-rolling ones are recorded in Unsupported when false and ignored
// otherwise.
func (r *ConfigureResult) Decode(raw []byte) error {
	const m = MethodConfigure + " result"
	if !json.Valid(raw) {
		return paramsError(m, "not valid JSON")
	}
	it, ok := newIter(raw, '{')
	if !ok {
		return paramsError(m, "want an object, got %s", kindName(raw[skipWS(raw, 0):]))
	}
	var q ConfigureResult
	for {
		k, v, ok := it.nextMember()
		if !ok {
			break
		}
		var err error
		switch string(k) {
		case `"version-rolling"`:
			if q.VersionRolling, err = DecodeBoolResult(v); err != nil {
				return paramsError(m, "version-rolling must be a boolean, got %s", kindName(v))
			}
		case `"version-rolling.mask"`:
			if q.VersionRollingMask, err = u32Field(m, "version-rolling.mask", v, false); err != nil {
				return err
			}
		default:
			if string(v) == "false" && len(q.Unsupported) < MaxConfigureExtensions {
				name, _ := decodeString(k)
				q.Unsupported = append(q.Unsupported, name)
			}
		}
	}
	*r = q
	return nil
}

// SubmitParams are the params of mining.submit: [worker, job_id,
// extranonce2, ntime, nonce[, version_bits]], every value but the first
// two as hex. The integers hold the values the hex spells big-endian
// (nonce "33087548" is 0x33087548), which go into the header
// little-endian.
type SubmitParams struct {
	// Worker is the user the client authorized as.
	Worker string
	// JobID is the job id from mining.notify.
	JobID string
	// Extranonce2 is the client's extranonce2, raw bytes. The caller checks
	// its length against the session's extranonce2_size.
	Extranonce2 []byte
	// NTime is the header timestamp.
	NTime uint32
	// Nonce is the header nonce.
	Nonce uint32
	// VersionBits are the rolled version bits (BIP310), valid when
	// HasVersionBits.
	VersionBits uint32
	// HasVersionBits reports whether the sixth param was sent.
	HasVersionBits bool
}

// Method implements Params.
func (*SubmitParams) Method() string { return MethodSubmit }

// AppendParams implements Params.
func (p *SubmitParams) AppendParams(dst []byte) []byte {
	dst = append(dst, '[')
	dst = appendString(dst, p.Worker)
	dst = append(dst, ',')
	dst = appendString(dst, p.JobID)
	dst = append(dst, ',')
	dst = appendHex(dst, p.Extranonce2)
	dst = append(dst, ',')
	dst = appendU32(dst, p.NTime)
	dst = append(dst, ',')
	dst = appendU32(dst, p.Nonce)
	if p.HasVersionBits {
		dst = append(dst, ',')
		dst = appendU32(dst, p.VersionBits)
	}
	return append(dst, ']')
}

// Decode decodes mining.submit params: five or six strings; extranonce2 is
// 1 to MaxExtranonce2Size bytes of hex, ntime, nonce and version_bits
// exactly 8 hex characters. It is the hot path of a server and does not
// allocate once p has been used for a submit with the same worker, job id
// and extranonce2 size: it reuses p's Extranonce2 storage and keeps p's
// strings when they are unchanged.
func (p *SubmitParams) Decode(raw []byte) error {
	const m = MethodSubmit
	var el [6][]byte
	n, err := splitParams(m, raw, el[:], 5)
	if err != nil {
		return err
	}
	worker, ok, wEsc := rawString(el[0])
	if !ok {
		return paramsError(m, "worker must be a string, got %s", kindName(el[0]))
	}
	job, ok, jEsc := rawString(el[1])
	if !ok {
		return paramsError(m, "job id must be a string, got %s", kindName(el[1]))
	}
	e2, err := hexField(m, "extranonce2", el[2], MaxExtranonce2Size)
	if err != nil {
		return err
	}
	if len(e2) == 0 {
		return paramsError(m, "empty extranonce2")
	}
	ntime, err := u32Field(m, "ntime", el[3], true)
	if err != nil {
		return err
	}
	nonce, err := u32Field(m, "nonce", el[4], true)
	if err != nil {
		return err
	}
	var vbits uint32
	if n == 6 {
		if vbits, err = u32Field(m, "version_bits", el[5], true); err != nil {
			return err
		}
	}
	// Escaped strings are legal JSON but no client sends them: decode
	// them the slow way.
	ws, js := "", ""
	if wEsc {
		ws, _ = decodeString(el[0])
	}
	if jEsc {
		js, _ = decodeString(el[1])
	}
	switch {
	case wEsc:
		p.Worker = ws
	case p.Worker != string(worker):
		p.Worker = string(worker)
	}
	switch {
	case jEsc:
		p.JobID = js
	case p.JobID != string(job):
		p.JobID = string(job)
	}
	p.Extranonce2, _ = hex.AppendDecode(p.Extranonce2[:0], e2) // checked by hexField
	p.NTime, p.Nonce = ntime, nonce
	p.VersionBits, p.HasVersionBits = vbits, n == 6
	return nil
}

// SuggestDifficultyParams are the params of mining.suggest_difficulty:
// [difficulty].
type SuggestDifficultyParams struct {
	// Difficulty is the suggested share difficulty, finite and positive.
	Difficulty float64
}

// Method implements Params.
func (*SuggestDifficultyParams) Method() string { return MethodSuggestDifficulty }

// AppendParams implements Params; the difficulty is written as a number.
func (p *SuggestDifficultyParams) AppendParams(dst []byte) []byte {
	dst = append(dst, '[')
	dst = appendDifficulty(dst, p.Difficulty)
	return append(dst, ']')
}

// Decode decodes mining.suggest_difficulty params: one positive number,
// given as a JSON number (ESP-Miner, NerdMiner) or as a decimal string
// (cpuminer-opt sends "%f").
func (p *SuggestDifficultyParams) Decode(raw []byte) error {
	var el [1][]byte
	if _, err := splitParams(MethodSuggestDifficulty, raw, el[:], 1); err != nil {
		return err
	}
	d, err := difficultyField(MethodSuggestDifficulty, el[0])
	if err != nil {
		return err
	}
	p.Difficulty = d
	return nil
}

// ExtranonceSubscribeParams are the (empty) params of
// mining.extranonce.subscribe, NiceHash's request for
// mining.set_extranonce; answer true.
type ExtranonceSubscribeParams struct{}

// Method implements Params.
func (*ExtranonceSubscribeParams) Method() string { return MethodExtranonceSubscribe }

// AppendParams implements Params.
func (*ExtranonceSubscribeParams) AppendParams(dst []byte) []byte { return append(dst, "[]"...) }

// Decode checks that the params are empty: [], null or missing.
func (*ExtranonceSubscribeParams) Decode(raw []byte) error {
	var el [0][]byte
	_, err := splitParams(MethodExtranonceSubscribe, raw, el[:], 0)
	return err
}

// GetTransactionsParams are the params of mining.get_transactions:
// [job_id]. BFGMiner asks after every notify; answered true, it logs that
// the pool hides the block contents and mines on.
type GetTransactionsParams struct {
	// JobID is the job asked about; empty when absent.
	JobID string
}

// Method implements Params.
func (*GetTransactionsParams) Method() string { return MethodGetTransactions }

// AppendParams implements Params.
func (p *GetTransactionsParams) AppendParams(dst []byte) []byte {
	dst = append(dst, '[')
	dst = appendString(dst, p.JobID)
	return append(dst, ']')
}

// Decode decodes mining.get_transactions params: an optional job id.
func (p *GetTransactionsParams) Decode(raw []byte) error {
	var el [1][]byte
	n, err := splitParams(MethodGetTransactions, raw, el[:], 0)
	if err != nil {
		return err
	}
	var q GetTransactionsParams
	if n > 0 {
		if q.JobID, err = stringField(MethodGetTransactions, "job id", el[0]); err != nil {
			return err
		}
	}
	*p = q
	return nil
}
