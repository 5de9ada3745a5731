package daemon

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/powmine/powmine/chain"
	"github.com/powmine/powmine/chain/mempool"
	"github.com/powmine/powmine/chain/template"
	"github.com/powmine/powmine/internal/jsonrpc"
)

// longPollWait is how long getblocktemplate with a current longpollid
// waits for a new tip before answering with a fresh template anyway; it
// stays below the RPC server's handler timeout.
const longPollWait = 20 * time.Second

// Template builds a block template on the tip paying payouts.
func (d *Daemon) Template(payouts []template.Payout) (*template.Template, error) {
	return d.builder.NewTemplate(payouts, d.now())
}

// TemplateExtranonce builds a block template on the tip paying payouts
// whose coinbase extranonce field has extranonceSize bytes (1 to
// chain.MaxExtranonceSize), for a Stratum pool that splits it into its
// extranonce1 and the miners' extranonce2.
func (d *Daemon) TemplateExtranonce(payouts []template.Payout, extranonceSize int) (*template.Template, error) {
	b := *d.builder
	b.ExtranonceSize = extranonceSize
	return b.NewTemplate(payouts, d.now())
}

// SendTransaction adds a transfer to the mempool and gossips it to the
// peers.
func (d *Daemon) SendTransaction(tx *chain.Transaction) error {
	if err := d.acceptTransfer(tx); err != nil {
		return err
	}
	if d.net != nil {
		d.net.PublishTransfer(tx)
	}
	return nil
}

// acceptTransfer adds a transfer to the mempool. A vote is shown to the
// vote watch first, since the mempool refuses the second of a double
// vote.
func (d *Daemon) acceptTransfer(tx *chain.Transaction) error {
	if tx.Vote != nil {
		d.observeVotes([]chain.Vote{*tx.Vote})
	}
	if err := d.pool.Accept(tx); err != nil {
		return err
	}
	d.mu.Lock()
	d.metrics.setMempool(d.pool.Info())
	d.mu.Unlock()
	return nil
}

// templateRequest is getblocktemplate's optional argument: Core's
// template_request object with this chain's "payout" address (the
// coinbase is built by the node, since its format is not Bitcoin's).
type templateRequest struct {
	Payout     string `json:"payout"`
	LongPollID string `json:"longpollid"`
}

func (d *Daemon) getBlockTemplate(ctx context.Context, params json.RawMessage) (any, error) {
	var req templateRequest
	if err := jsonrpc.Params(params, &req); err != nil {
		return nil, err
	}
	payout, err := chain.ParseAddress(req.Payout)
	if err != nil {
		return nil, jsonrpc.Errorf(jsonrpc.CodeInvalidAddressOrKey, "template_request needs a valid \"payout\" address: %v", err)
	}
	if req.LongPollID != "" && req.LongPollID == d.node.Tip().Hash.String() {
		wait, cancel := context.WithTimeout(ctx, longPollWait)
		select {
		case <-d.TipChanged():
		case <-wait.Done():
		}
		cancel()
	}
	t, err := d.Template([]template.Payout{{Address: payout, Weight: 1}})
	if err != nil {
		return nil, jsonrpc.Errorf(jsonrpc.CodeMiscError, "template: %v", err)
	}
	target, err := chain.BigToHash(chain.CompactToBig(t.Header.Bits))
	if err != nil {
		return nil, err
	}
	prefix, suffix := t.CoinbaseParts()
	j := template.Reply{
		Version:           t.Header.Version,
		PreviousBlockHash: t.Header.PrevBlock.String(),
		Height:            t.Height,
		Bits:              fmt.Sprintf("%08x", t.Header.Bits),
		Target:            target.String(),
		CurTime:           t.Header.Timestamp,
		MinTime:           t.MinTimestamp,
		CoinbaseValue:     t.Subsidy + t.Fees,
		CoinbasePrefix:    hex.EncodeToString(prefix),
		CoinbaseSuffix:    hex.EncodeToString(suffix),
		ExtranonceSize:    t.ExtranonceSize,
		MerkleBranch:      []string{},
		Transactions:      []template.ReplyTx{},
		LongPollID:        t.Header.PrevBlock.String(),
	}
	for _, h := range t.MerkleBranch() {
		j.MerkleBranch = append(j.MerkleBranch, hex.EncodeToString(h[:]))
	}
	for _, tx := range t.Transactions[1:] {
		raw, err := tx.MarshalBinary()
		if err != nil {
			return nil, err
		}
		debit, _ := tx.Debit()
		j.Transactions = append(j.Transactions, template.ReplyTx{Data: hex.EncodeToString(raw), TxID: tx.TxID().String(), Fee: debit.Fee})
	}
	return j, nil
}

func (d *Daemon) sendRawTransaction(_ context.Context, params json.RawMessage) (any, error) {
	var s string
	if err := jsonrpc.RequiredParams(params, 1, &s); err != nil {
		return nil, err
	}
	raw, err := hex.DecodeString(s)
	if err != nil {
		return nil, jsonrpc.Errorf(jsonrpc.CodeDeserializationError, "TX decode failed")
	}
	var tx chain.Transaction
	if err := tx.UnmarshalBinary(raw); err != nil {
		return nil, jsonrpc.Errorf(jsonrpc.CodeDeserializationError, "TX decode failed: %v", err)
	}
	if err := d.SendTransaction(&tx); err != nil {
		var rej *mempool.RejectError
		if errors.As(err, &rej) {
			return nil, jsonrpc.Errorf(jsonrpc.CodeVerifyRejected, "%s: %s", rej.Reason, rej.Description)
		}
		return nil, err
	}
	return tx.TxID().String(), nil
}

func (d *Daemon) getMempoolInfo(context.Context, json.RawMessage) (any, error) {
	info := d.pool.Info()
	return map[string]any{
		"loaded":        true,
		"size":          info.Count,
		"bytes":         info.Bytes,
		"maxmempool":    info.MaxBytes,
		"mempoolminfee": info.MinFeeRate,
	}, nil
}

// getaccount ADDR returns an address's balance and the sequence number
// its next transfer must carry, counting its transfers in the mempool.
func (d *Daemon) getAccount(_ context.Context, params json.RawMessage) (any, error) {
	addr, err := addressParam(params)
	if err != nil {
		return nil, err
	}
	acct := d.node.Account(addr)
	next := acct.Sequence
	for _, e := range d.pool.Snapshot() {
		if t, _ := e.Tx.Debit(); t.From.Address() == addr && t.Sequence >= next {
			next = t.Sequence + 1
		}
	}
	return map[string]any{
		"address":      addr.String(),
		"balance":      coins(acct.Balance),
		"sequence":     acct.Sequence,
		"nextsequence": next,
	}, nil
}
