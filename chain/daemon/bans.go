package daemon

import (
	"context"
	"encoding/json"
	"time"

	"github.com/powmine/powmine/internal/jsonrpc"
)

// defaultBanTime is setban's ban time when none, or 0 or less, is given:
// Core's -bantime default.
const defaultBanTime = 24 * time.Hour

// setBan PEERID|ADDR add|remove [bantime [absolute]]: Core's setban for
// a libp2p peer, named by its peer id or a multiaddr ending with
// /p2p/ID. add bans the peer (and disconnects it) for bantime seconds,
// or until the Unix time bantime with absolute; remove lifts a ban, the
// operator's or the node's own.
func (d *Daemon) setBan(_ context.Context, params json.RawMessage) (any, error) {
	var addr, command string
	var banTime int64
	var absolute bool
	if err := jsonrpc.RequiredParams(params, 2, &addr, &command, &banTime, &absolute); err != nil {
		return nil, err
	}
	if d.net == nil {
		return nil, errP2PDisabled()
	}
	if command != "add" && command != "remove" {
		return nil, jsonrpc.Errorf(jsonrpc.CodeInvalidParameter, "command must be add or remove (not '%s')", command)
	}
	id, err := peerID(addr)
	if err != nil {
		return nil, jsonrpc.Errorf(codeInvalidIPOrSubnet, "Error: Invalid peer id or /p2p/ address '%s'", addr)
	}
	if command == "remove" {
		ok, err := d.net.Unban(id)
		if !ok {
			return nil, jsonrpc.Errorf(codeInvalidIPOrSubnet, "Error: Unban failed. Requested peer was not previously banned.")
		}
		return nil, err // the ban list not saved
	}
	if id == d.net.ID() {
		return nil, jsonrpc.Errorf(jsonrpc.CodeInvalidParameter, "Error: a node cannot ban itself")
	}
	if d.net.Banned(id) {
		return nil, jsonrpc.Errorf(codeNodeAlreadyAdded, "Error: Peer already banned")
	}
	now := time.Now()
	until := now.Add(defaultBanTime)
	switch {
	case banTime > 0 && absolute:
		until = time.Unix(banTime, 0)
		if !until.After(now) {
			return nil, jsonrpc.Errorf(jsonrpc.CodeInvalidParameter, "Error: Absolute timestamp is in the past")
		}
	case banTime > 0:
		until = now.Add(time.Duration(min(banTime, maxBanSeconds)) * time.Second)
	}
	return nil, d.net.Ban(id, until) // a save error: the ban holds in memory
}

// maxBanSeconds caps a relative ban time (about 100 years) so that it
// does not overflow a time.Duration.
const maxBanSeconds = 100 * 365 * 24 * 3600

// bannedJSON is one entry of listbanned: Core's fields, with the peer id
// as the address, and the cause (operator, or invalid for the node's own
// bans after invalid messages).
type bannedJSON struct {
	Address       string `json:"address"`
	BanCreated    int64  `json:"ban_created"`
	BannedUntil   int64  `json:"banned_until"`
	BanDuration   int64  `json:"ban_duration"`
	TimeRemaining int64  `json:"time_remaining"`
	Cause         string `json:"cause"`
}

func (d *Daemon) listBanned(context.Context, json.RawMessage) (any, error) {
	if d.net == nil {
		return nil, errP2PDisabled()
	}
	now := time.Now().Unix()
	out := []bannedJSON{}
	for _, b := range d.net.Bans() {
		created, until := b.Created.Unix(), b.Until.Unix()
		out = append(out, bannedJSON{
			Address:       b.Peer.String(),
			BanCreated:    created,
			BannedUntil:   until,
			BanDuration:   until - created,
			TimeRemaining: max(until-now, 0),
			Cause:         b.Cause.String(),
		})
	}
	return out, nil
}

func (d *Daemon) clearBanned(context.Context, json.RawMessage) (any, error) {
	if d.net == nil {
		return nil, errP2PDisabled()
	}
	return nil, d.net.ClearBans()
}
