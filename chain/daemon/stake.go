package daemon

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"

	"github.com/powmine/powmine/chain"
	"github.com/powmine/powmine/chain/node"
	"github.com/powmine/powmine/internal/jsonrpc"
)

// validatorJSON is one validator of getvalidators: its weight in the
// epoch and, while one is locked, its pending partial withdraw and the
// epoch that pays it back.
type validatorJSON struct {
	Key         string      `json:"key"`
	Owner       string      `json:"owner"`
	Stake       json.Number `json:"stake"`
	Withdrawing json.Number `json:"withdrawing,omitempty"`
	UnlockEpoch uint64      `json:"unlockepoch,omitempty"`
}

// getvalidators [EPOCH] returns the validator set of an epoch (the tip's
// by default): each validator's key, owner and stake (its weight in the
// epoch), with its pending partial withdraw ("withdrawing", locked until
// the first block of "unlockepoch") if it has one, ordered by key; the
// total; and the network's minimum deposit, below which no withdraw may
// leave a stake. Only the epochs node.ValidatorSet answers for are
// available.
func (d *Daemon) getValidators(_ context.Context, params json.RawMessage) (any, error) {
	epoch := d.params.Epoch(d.node.Tip().Height)
	if err := jsonrpc.Params(params, &epoch); err != nil {
		return nil, err
	}
	set, err := d.node.ValidatorSet(epoch)
	if errors.Is(err, node.ErrEpochUnavailable) {
		return nil, jsonrpc.Errorf(jsonrpc.CodeInvalidParameter, "%v", err)
	}
	if err != nil {
		return nil, err
	}
	out := make([]validatorJSON, len(set))
	var total uint64
	for i, v := range set {
		out[i] = validatorJSON{Key: v.Key.String(), Owner: v.Owner.String(), Stake: coins(v.Stake), UnlockEpoch: v.UnlockEpoch}
		if v.Withdrawing != 0 {
			out[i].Withdrawing = coins(v.Withdrawing)
		}
		total += v.Stake
	}
	return map[string]any{"epoch": epoch, "validators": out, "totalstake": coins(total), "mindeposit": coins(d.params.MinDeposit)}, nil
}

// getvalidator KEY returns the state of one validator key at the tip:
// owner, stake (all of it, a pending partial withdraw included),
// activation and exit epochs (0: none asked), the pending partial
// withdraw and its unlock epoch (0 when none), and the network's minimum
// deposit. An unregistered key is a CodeInvalidAddressOrKey error.
func (d *Daemon) getValidator(_ context.Context, params json.RawMessage) (any, error) {
	var s string
	if err := jsonrpc.RequiredParams(params, 1, &s); err != nil {
		return nil, err
	}
	raw, err := hex.DecodeString(s)
	if err != nil || len(raw) != chain.PublicKeySize {
		return nil, jsonrpc.Errorf(jsonrpc.CodeInvalidParameter, "validator key must be %d hex bytes", chain.PublicKeySize)
	}
	k := chain.PublicKey(raw)
	v := d.node.Validator(k)
	if v == (chain.Validator{}) {
		return nil, jsonrpc.Errorf(jsonrpc.CodeInvalidAddressOrKey, "validator %v is not registered", k)
	}
	var unlock uint64
	if v.Withdrawing != 0 {
		unlock = v.UnlockEpoch(d.params)
	}
	return map[string]any{
		"key":             k.String(),
		"owner":           v.Owner.String(),
		"stake":           coins(v.Stake),
		"activationepoch": v.ActivationEpoch,
		"exitepoch":       v.ExitEpoch,
		"withdrawing":     coins(v.Withdrawing),
		"unlockepoch":     unlock,
		"mindeposit":      coins(d.params.MinDeposit),
	}, nil
}
