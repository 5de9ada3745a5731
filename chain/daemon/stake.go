package daemon

import (
	"context"
	"encoding/json"
	"errors"

	"github.com/powmine/powmine/chain/node"
	"github.com/powmine/powmine/internal/jsonrpc"
)

// getvalidators [EPOCH] returns the validator set of an epoch (the tip's
// by default): each validator's key, owner and stake, ordered by key, and
// the total. Only the epochs node.ValidatorSet answers for are
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
	type validatorJSON struct {
		Key   string      `json:"key"`
		Owner string      `json:"owner"`
		Stake json.Number `json:"stake"`
	}
	out := make([]validatorJSON, len(set))
	var total uint64
	for i, v := range set {
		out[i] = validatorJSON{Key: v.Key.String(), Owner: v.Owner.String(), Stake: coins(v.Stake)}
		total += v.Stake
	}
	return map[string]any{"epoch": epoch, "validators": out, "totalstake": coins(total)}, nil
}
