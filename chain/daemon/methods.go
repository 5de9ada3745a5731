package daemon

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/powmine/powmine/chain"
	"github.com/powmine/powmine/chain/node"
	"github.com/powmine/powmine/chain/pos"
	"github.com/powmine/powmine/chain/storage"
	"github.com/powmine/powmine/internal/jsonrpc"
)

// registerMethods adds the JSON-RPC methods, named and shaped as Bitcoin
// Core's where they exist there.
func (d *Daemon) registerMethods() {
	d.rpc.Register("getblockcount", d.getBlockCount)
	d.rpc.Register("getbestblockhash", d.getBestBlockHash)
	d.rpc.Register("getblockhash", d.getBlockHash)
	d.rpc.Register("getblockheader", d.getBlockHeader)
	d.rpc.Register("getblock", d.getBlock)
	d.rpc.Register("getchaintips", d.getChainTips)
	d.rpc.Register("getbalance", d.getBalance)
	d.rpc.Register("submitblock", d.submitBlock)
	d.rpc.Register("getblocktemplate", d.getBlockTemplate)
	d.rpc.Register("sendrawtransaction", d.sendRawTransaction)
	d.rpc.Register("getmempoolinfo", d.getMempoolInfo)
	d.rpc.Register("getaccount", d.getAccount)
	d.rpc.Register("getvalidators", d.getValidators)
	d.rpc.Register("getvalidator", d.getValidator)
	d.rpc.Register("getfinality", d.getFinality)
	d.registerNetworkMethods()
}

func (d *Daemon) getBlockCount(context.Context, json.RawMessage) (any, error) {
	return d.node.Tip().Height, nil
}

func (d *Daemon) getBestBlockHash(context.Context, json.RawMessage) (any, error) {
	return d.node.Tip().Hash.String(), nil
}

func (d *Daemon) getBlockHash(_ context.Context, params json.RawMessage) (any, error) {
	height := int64(-1)
	if err := jsonrpc.RequiredParams(params, 1, &height); err != nil {
		return nil, err
	}
	info, ok := d.node.BlockByHeight(height)
	if !ok {
		return nil, jsonrpc.Errorf(jsonrpc.CodeInvalidParameter, "Block height out of range")
	}
	return info.Hash.String(), nil
}

// lookup parses a displayed block hash and finds the block's index entry.
func (d *Daemon) lookup(s string) (node.BlockInfo, error) {
	if len(s) != 2*chain.HashSize {
		return node.BlockInfo{}, jsonrpc.Errorf(jsonrpc.CodeInvalidParameter, "blockhash must be of length 64 (not %d, for '%s')", len(s), s)
	}
	hash, err := chain.NewHashFromStr(s)
	if err != nil {
		return node.BlockInfo{}, jsonrpc.Errorf(jsonrpc.CodeInvalidParameter, "blockhash must be hexadecimal string (not '%s')", s)
	}
	info, ok := d.node.BlockInfo(hash)
	if !ok {
		return node.BlockInfo{}, jsonrpc.Errorf(jsonrpc.CodeInvalidAddressOrKey, "Block not found")
	}
	return info, nil
}

// headerJSON is getblockheader's verbose reply.
type headerJSON struct {
	Hash          string  `json:"hash"`
	Confirmations int64   `json:"confirmations"`
	Height        int64   `json:"height"`
	Version       int32   `json:"version"`
	VersionHex    string  `json:"versionHex"`
	MerkleRoot    string  `json:"merkleroot"`
	Time          uint32  `json:"time"`
	Nonce         uint32  `json:"nonce"`
	Bits          string  `json:"bits"`
	Difficulty    float64 `json:"difficulty"`
	ChainWork     string  `json:"chainwork"`
	NTx           int     `json:"nTx,omitempty"`
	Previous      string  `json:"previousblockhash,omitempty"`
	Next          string  `json:"nextblockhash,omitempty"`
}

func (d *Daemon) headerJSON(info node.BlockInfo, nTx int) headerJSON {
	h := info.Header
	j := headerJSON{
		Hash:          info.Hash.String(),
		Confirmations: -1,
		Height:        info.Height,
		Version:       h.Version,
		VersionHex:    fmt.Sprintf("%08x", uint32(h.Version)),
		MerkleRoot:    h.MerkleRoot.String(),
		Time:          h.Timestamp,
		Nonce:         h.Nonce,
		Bits:          fmt.Sprintf("%08x", h.Bits),
		Difficulty:    difficulty(h.Bits),
		ChainWork:     workHex(info.Work),
		NTx:           nTx,
	}
	if info.Height > 0 {
		j.Previous = h.PrevBlock.String()
	}
	if d.node.MainChainHas(info.Hash) {
		j.Confirmations = d.node.Tip().Height - info.Height + 1
		if next, ok := d.node.BlockByHeight(info.Height + 1); ok {
			j.Next = next.Hash.String()
		}
	}
	return j
}

func (d *Daemon) getBlockHeader(_ context.Context, params json.RawMessage) (any, error) {
	var hash string
	verbose := true
	if err := jsonrpc.RequiredParams(params, 1, &hash, &verbose); err != nil {
		return nil, err
	}
	info, err := d.lookup(hash)
	if err != nil {
		return nil, err
	}
	if !verbose {
		raw := info.Header.Serialize()
		return hex.EncodeToString(raw[:]), nil
	}
	return d.headerJSON(info, 0), nil
}

// blockJSON is getblock's reply at verbosity 1 (Tx holds txids) and 2
// (Tx holds decoded transactions). Seal is a proof-of-stake block's
// proposer seal.
type blockJSON struct {
	headerJSON
	Size int       `json:"size"`
	Seal *sealJSON `json:"seal,omitempty"`
	Tx   any       `json:"tx"`
}

// sealJSON is the part of a proof-of-stake block's seal that says who
// proposed it, and in which slot.
type sealJSON struct {
	Slot     uint64 `json:"slot"`
	Proposer string `json:"proposer"`
}

// txJSON is a decoded transaction: txid, type ("coinbase", "transfer",
// "deposit", "withdraw", "vote", "slash" or "proposer_slash"), size, and
// the field named after the type (a coinbase's are inline, as Core's).
type txJSON struct {
	TxID     string        `json:"txid"`
	Type     string        `json:"type"`
	Size     int           `json:"size"`
	Height   *uint32       `json:"height,omitempty"`
	Extra    string        `json:"extranonce,omitempty"`
	Outputs  []outputJSON  `json:"outputs,omitempty"`
	Transfer *transferJSON `json:"transfer,omitempty"`
	Deposit  *stakeJSON    `json:"deposit,omitempty"`
	Withdraw *stakeJSON    `json:"withdraw,omitempty"`
	Vote     *voteJSON     `json:"vote,omitempty"`
	Slash    *slashJSON    `json:"slash,omitempty"`

	ProposerSlash *proposerSlashJSON `json:"proposer_slash,omitempty"`
}

// stakeJSON is a deposit (with the amount it locks) or a withdraw (with
// the amount it takes back; none for an exit, whose whole stake returns
// to the owner Params.WithdrawDelayEpochs after the validator leaves).
// Owner is the address of the account that pays and gets the stake back.
type stakeJSON struct {
	Validator string      `json:"validator"`
	Owner     string      `json:"owner"`
	Amount    json.Number `json:"amount,omitempty"`
	Fee       json.Number `json:"fee"`
	Sequence  uint64      `json:"sequence"`
}

// voteJSON is a Casper FFG vote: the validator's key, its source and
// target checkpoints, and its signature.
type voteJSON struct {
	Validator string        `json:"validator"`
	Source    checkpointRef `json:"source"`
	Target    checkpointRef `json:"target"`
	Signature string        `json:"signature"`
}

// checkpointRef is a checkpoint in a vote.
type checkpointRef struct {
	Epoch uint64 `json:"epoch"`
	Hash  string `json:"hash"`
}

// slashJSON is a slash: the offender (the validator key both votes are
// signed by), the offence they prove (chain.Offence's name), the
// reporter paid a share of the stake, and the two votes.
type slashJSON struct {
	Offender string     `json:"offender"`
	Offence  string     `json:"offence"`
	Reporter string     `json:"reporter"`
	Votes    []voteJSON `json:"votes"`
}

// proposerSlashJSON is a proposer slash: the offender (the key that
// sealed two blocks for one slot), the slot, the reporter paid a share of
// the stake, and the two header hashes it sealed.
type proposerSlashJSON struct {
	Offender string    `json:"offender"`
	Slot     uint64    `json:"slot"`
	Reporter string    `json:"reporter"`
	Headers  [2]string `json:"headers"`
}

type outputJSON struct {
	Address string      `json:"address"`
	Amount  json.Number `json:"amount"`
}

type transferJSON struct {
	From     string      `json:"from"`
	To       string      `json:"to"`
	Amount   json.Number `json:"amount"`
	Fee      json.Number `json:"fee"`
	Sequence uint64      `json:"sequence"`
}

// decodeVote returns v as getblock shows it, alone or in a slash.
func decodeVote(v *chain.Vote) voteJSON {
	return voteJSON{
		Validator: v.Validator.String(),
		Source:    checkpointRef{Epoch: v.Source.Epoch, Hash: v.Source.Hash.String()},
		Target:    checkpointRef{Epoch: v.Target.Epoch, Hash: v.Target.Hash.String()},
		Signature: hex.EncodeToString(v.Signature[:]),
	}
}

// decodeTx returns tx as getblock shows it at verbosity 2.
func decodeTx(tx *chain.Transaction) txJSON {
	j := txJSON{TxID: tx.TxID().String(), Size: tx.SerializeSize()}
	switch {
	case tx.Coinbase != nil:
		c := tx.Coinbase
		j.Type, j.Height, j.Extra = "coinbase", &c.Height, hex.EncodeToString(c.Extranonce)
		for _, o := range c.Outputs {
			j.Outputs = append(j.Outputs, outputJSON{Address: o.Address.String(), Amount: coins(o.Amount)})
		}
	case tx.Transfer != nil:
		t := tx.Transfer
		j.Type = "transfer"
		j.Transfer = &transferJSON{From: t.From.Address().String(), To: t.To.String(), Amount: coins(t.Amount), Fee: coins(t.Fee), Sequence: t.Sequence}
	case tx.Deposit != nil:
		dep := tx.Deposit
		j.Type = "deposit"
		j.Deposit = &stakeJSON{Validator: dep.Validator.String(), Owner: dep.From.Address().String(), Amount: coins(dep.Amount), Fee: coins(dep.Fee), Sequence: dep.Sequence}
	case tx.Withdraw != nil:
		w := tx.Withdraw
		j.Type = "withdraw"
		j.Withdraw = &stakeJSON{Validator: w.Validator.String(), Owner: w.From.Address().String(), Fee: coins(w.Fee), Sequence: w.Sequence}
		if w.Amount != 0 {
			j.Withdraw.Amount = coins(w.Amount)
		}
	case tx.Vote != nil:
		v := decodeVote(tx.Vote)
		j.Type, j.Vote = "vote", &v
	case tx.Slash != nil:
		e := &tx.Slash.Evidence
		j.Type = "slash"
		j.Slash = &slashJSON{Offender: e.Validator().String(), Offence: e.Offence().String(), Reporter: tx.Slash.Reporter.String(),
			Votes: []voteJSON{decodeVote(&e.A), decodeVote(&e.B)}}
	case tx.ProposerSlash != nil:
		e := &tx.ProposerSlash.Evidence
		j.Type = "proposer_slash"
		j.ProposerSlash = &proposerSlashJSON{Offender: e.A.Proposer.String(), Slot: e.A.Slot, Reporter: tx.ProposerSlash.Reporter.String(),
			Headers: [2]string{e.A.HeaderHash.String(), e.B.HeaderHash.String()}}
	}
	return j
}

func (d *Daemon) getBlock(_ context.Context, params json.RawMessage) (any, error) {
	var hash string
	verbosity := 1
	if err := jsonrpc.RequiredParams(params, 1, &hash, &verbosity); err != nil {
		return nil, err
	}
	info, err := d.lookup(hash)
	if err != nil {
		return nil, err
	}
	b, err := d.node.Block(info.Hash)
	if errors.Is(err, storage.ErrNotFound) {
		return nil, jsonrpc.Errorf(jsonrpc.CodeMiscError, "Block not available")
	}
	if err != nil {
		return nil, err
	}
	raw, err := b.MarshalBinary()
	if err != nil {
		return nil, err
	}
	switch verbosity {
	case 0:
		return hex.EncodeToString(raw), nil
	case 1, 2:
	default:
		return nil, jsonrpc.Errorf(jsonrpc.CodeInvalidParameter, "verbosity must be 0, 1 or 2")
	}
	j := blockJSON{headerJSON: d.headerJSON(info, len(b.Transactions)), Size: len(raw)}
	var seal pos.Seal
	if b.Seal != nil && seal.UnmarshalBinary(b.Seal[:]) == nil {
		j.Seal = &sealJSON{Slot: seal.Slot, Proposer: seal.Proposer.String()}
	}
	if verbosity == 1 {
		ids := make([]string, len(b.Transactions))
		for i := range b.Transactions {
			ids[i] = b.Transactions[i].TxID().String()
		}
		j.Tx = ids
	} else {
		txs := make([]txJSON, len(b.Transactions))
		for i := range b.Transactions {
			txs[i] = decodeTx(&b.Transactions[i])
		}
		j.Tx = txs
	}
	return j, nil
}

// chainTipJSON is one entry of getchaintips.
type chainTipJSON struct {
	Height    int64  `json:"height"`
	Hash      string `json:"hash"`
	BranchLen int64  `json:"branchlen"`
	Status    string `json:"status"`
}

func (d *Daemon) getChainTips(context.Context, json.RawMessage) (any, error) {
	var out []chainTipJSON
	for _, t := range d.node.ChainTips() {
		status := "valid-headers" // stored, never validated as part of the best chain
		switch {
		case t.Active:
			status = "active"
		case t.Status.KnownInvalid():
			status = "invalid"
		case t.RevertsFinalized:
			status = "invalid-finality" // forks below the finalized checkpoint
		case t.Status&storage.StatusDataStored == 0:
			status = "headers-only" // some blocks of the branch are missing
		case t.Status&storage.StatusValid != 0:
			status = "valid-fork"
		}
		out = append(out, chainTipJSON{Height: t.Height, Hash: t.Hash.String(), BranchLen: t.BranchLen, Status: status})
	}
	return out, nil
}

// getbalance ADDR returns the address's balance at the tip in coins. Core's
// getbalance reports a wallet's balance; this node keeps no wallet, so it
// takes the address.
func (d *Daemon) getBalance(_ context.Context, params json.RawMessage) (any, error) {
	addr, err := addressParam(params)
	if err != nil {
		return nil, err
	}
	return coins(d.node.Account(addr).Balance), nil
}

// submitBlock takes a hex block and answers as Core does: null when
// accepted, else a short reason string ("duplicate", "inconclusive" for
// an orphan or side block, the rule that failed).
func (d *Daemon) submitBlock(_ context.Context, params json.RawMessage) (any, error) {
	var s string
	if err := jsonrpc.RequiredParams(params, 1, &s); err != nil {
		return nil, err
	}
	raw, err := hex.DecodeString(s)
	if err != nil {
		return nil, jsonrpc.Errorf(jsonrpc.CodeDeserializationError, "Block decode failed")
	}
	var b chain.Block
	if err := b.UnmarshalBinary(raw); err != nil {
		return nil, jsonrpc.Errorf(jsonrpc.CodeDeserializationError, "Block decode failed: %v", err)
	}
	mainChain, err := d.SubmitBlock(&b)
	var rerr chain.RuleError
	switch {
	case errors.Is(err, node.ErrKnownInvalid):
		return "duplicate-invalid", nil
	case errors.Is(err, node.ErrDuplicate):
		return "duplicate", nil
	case errors.As(err, &rerr):
		return rerr.Code.RejectReason(), nil
	case err != nil:
		return nil, err
	case !mainChain: // an orphan, or a side branch
		return "inconclusive", nil
	}
	return nil, nil
}

// addressParam decodes a method's single address parameter.
func addressParam(params json.RawMessage) (chain.Address, error) {
	var s string
	if err := jsonrpc.RequiredParams(params, 1, &s); err != nil {
		return chain.Address{}, err
	}
	addr, err := chain.ParseAddress(s)
	if err != nil {
		return addr, jsonrpc.Errorf(jsonrpc.CodeInvalidAddressOrKey, "Invalid address: %v", err)
	}
	return addr, nil
}
