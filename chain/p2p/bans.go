package p2p

import (
	"cmp"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/libp2p/go-libp2p/core/control"
	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
	ma "github.com/multiformats/go-multiaddr"
	"github.com/powmine/powmine/internal/atomicfile"
)

// DefaultMaxBans is Config.MaxBans's default.
const DefaultMaxBans = 10_000

// banFileVersion is the version of the ban list file's format.
const banFileVersion = 1

// ErrBanFile is wrapped by New's error for a ban list file it cannot
// read: the node does not start, as starting without the bans would let
// the banned peers in again.
var ErrBanFile = errors.New("p2p: bad ban list file")

// BanCause says who banned a peer.
type BanCause uint8

const (
	// BanInvalid: the node itself, after Config.MaxInvalid rejected
	// messages or malformed sync messages.
	BanInvalid BanCause = iota
	// BanOperator: the operator, through Node.Ban (setban).
	BanOperator
)

// String returns the cause's name in the ban list file and the RPC.
func (c BanCause) String() string {
	if c == BanOperator {
		return "operator"
	}
	return "invalid"
}

// Ban is one entry of the ban list.
type Ban struct {
	Peer    peer.ID
	Created time.Time
	Until   time.Time
	Cause   BanCause
}

// banJSON is a Ban in the ban list file; times are Unix seconds.
type banJSON struct {
	Peer    string `json:"peer"`
	Created int64  `json:"created"`
	Until   int64  `json:"until"`
	Cause   string `json:"cause"`
}

type banFileJSON struct {
	Version int       `json:"version"`
	Bans    []banJSON `json:"bans"`
}

// gater refuses the connections of banned peers, keeps the ban list
// bounded and, with a file, persists it after each change.
type gater struct {
	file string // "" keeps the list in memory only
	max  int
	// banEvents counts bans added or extended, by cause.
	banEvents [BanOperator + 1]atomic.Int64

	// saveMu serializes the writes of the file, so that the last write
	// holds the last snapshot; it is taken before mu, never inside it.
	saveMu sync.Mutex

	mu     sync.Mutex
	banned map[peer.ID]Ban
}

// newGater returns a gater keeping at most max bans, loading file when
// it exists. Expired entries of the file are dropped; a file that does
// not decode is an error wrapping ErrBanFile.
func newGater(file string, max int) (*gater, error) {
	g := &gater{file: file, max: max, banned: make(map[peer.ID]Ban)}
	if file == "" {
		return g, nil
	}
	raw, err := os.ReadFile(file)
	if errors.Is(err, fs.ErrNotExist) {
		return g, nil
	}
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrBanFile, err)
	}
	bans, err := decodeBans(raw)
	if err != nil {
		return nil, fmt.Errorf("%w %s (fix or remove it; removing it lifts every ban): %w", ErrBanFile, file, err)
	}
	now := time.Now()
	for _, b := range bans {
		if now.Before(b.Until) {
			g.add(b)
		}
	}
	return g, nil
}

// decodeBans decodes the ban list file.
func decodeBans(raw []byte) ([]Ban, error) {
	var f banFileJSON
	if err := json.Unmarshal(raw, &f); err != nil {
		return nil, err
	}
	if f.Version != banFileVersion {
		return nil, fmt.Errorf("version %d, want %d", f.Version, banFileVersion)
	}
	out := make([]Ban, 0, len(f.Bans))
	for i, j := range f.Bans {
		id, err := peer.Decode(j.Peer)
		if err != nil {
			return nil, fmt.Errorf("entry %d: %w", i, err)
		}
		var cause BanCause
		switch j.Cause {
		case "invalid":
		case "operator":
			cause = BanOperator
		default:
			return nil, fmt.Errorf("entry %d: unknown cause %q", i, j.Cause)
		}
		if j.Until < j.Created {
			return nil, fmt.Errorf("entry %d: ends before it begins", i)
		}
		out = append(out, Ban{Peer: id, Created: time.Unix(j.Created, 0), Until: time.Unix(j.Until, 0), Cause: cause})
	}
	return out, nil
}

// add records b; when the list is full it drops the expired bans and,
// if that is not enough, the one that expires first. It keeps an existing
// ban of the same peer that ends later. It reports whether the list
// changed. g.mu is held.
func (g *gater) add(b Ban) bool {
	if old, ok := g.banned[b.Peer]; ok && !old.Until.Before(b.Until) {
		return false
	}
	if _, ok := g.banned[b.Peer]; !ok && len(g.banned) >= g.max {
		g.dropExpired(time.Now())
	}
	if _, ok := g.banned[b.Peer]; !ok && len(g.banned) >= g.max {
		var first *Ban
		for _, o := range g.banned {
			if first == nil || o.Until.Before(first.Until) {
				first = &o
			}
		}
		delete(g.banned, first.Peer)
	}
	g.banned[b.Peer] = b
	return true
}

func (g *gater) dropExpired(now time.Time) {
	for p, b := range g.banned {
		if !now.Before(b.Until) {
			delete(g.banned, p)
		}
	}
}

// ban adds b and saves the list if it changed.
func (g *gater) ban(b Ban) error {
	g.mu.Lock()
	changed := g.add(b)
	g.mu.Unlock()
	if !changed {
		return nil
	}
	g.banEvents[b.Cause].Add(1)
	return g.save()
}

// unban lifts p's ban; it reports whether p was banned.
func (g *gater) unban(p peer.ID) (bool, error) {
	g.mu.Lock()
	b, ok := g.banned[p]
	delete(g.banned, p)
	g.mu.Unlock()
	if !ok || !time.Now().Before(b.Until) {
		return false, nil
	}
	return true, g.save()
}

// clear lifts every ban.
func (g *gater) clear() error {
	g.mu.Lock()
	clear(g.banned)
	g.mu.Unlock()
	return g.save()
}

// list returns the bans in force, oldest first.
func (g *gater) list() []Ban {
	g.mu.Lock()
	g.dropExpired(time.Now())
	out := make([]Ban, 0, len(g.banned))
	for _, b := range g.banned {
		out = append(out, b)
	}
	g.mu.Unlock()
	slices.SortFunc(out, func(a, b Ban) int {
		return cmp.Or(a.Created.Compare(b.Created), cmp.Compare(a.Peer, b.Peer))
	})
	return out
}

// save writes the bans in force to g.file (0600, atomically).
func (g *gater) save() error {
	if g.file == "" {
		return nil
	}
	g.saveMu.Lock()
	defer g.saveMu.Unlock()
	f := banFileJSON{Version: banFileVersion, Bans: []banJSON{}}
	for _, b := range g.list() {
		f.Bans = append(f.Bans, banJSON{Peer: b.Peer.String(), Created: b.Created.Unix(), Until: b.Until.Unix(), Cause: b.Cause.String()})
	}
	raw, err := json.MarshalIndent(f, "", "\t")
	if err != nil {
		return fmt.Errorf("p2p: encode ban list: %w", err)
	}
	if err := atomicfile.Write(g.file, append(raw, '\n'), 0o600); err != nil {
		return fmt.Errorf("p2p: save ban list: %w", err)
	}
	return nil
}

func (g *gater) allowed(p peer.ID) bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	b, ok := g.banned[p]
	return !ok || !time.Now().Before(b.Until)
}

func (g *gater) InterceptPeerDial(p peer.ID) bool                 { return g.allowed(p) }
func (g *gater) InterceptAddrDial(p peer.ID, _ ma.Multiaddr) bool { return g.allowed(p) }
func (g *gater) InterceptAccept(network.ConnMultiaddrs) bool      { return true }
func (g *gater) InterceptSecured(_ network.Direction, p peer.ID, _ network.ConnMultiaddrs) bool {
	return g.allowed(p)
}
func (g *gater) InterceptUpgraded(network.Conn) (bool, control.DisconnectReason) { return true, 0 }

// ban disconnects p and refuses its connections until until. A failure
// to save the ban list is logged: the ban holds in memory.
func (n *Node) ban(p peer.ID, until time.Time, cause BanCause) error {
	n.log.Warn("peer banned", "peer", p, "until", until.Format(time.RFC3339), "cause", cause)
	err := n.gater.ban(Ban{Peer: p, Created: time.Now(), Until: until, Cause: cause})
	if err != nil {
		n.log.Error("ban list not saved", "err", err)
	}
	n.host.Network().ClosePeer(p)
	return err
}

// Ban disconnects p and refuses its connections until the given time, as
// the operator's ban (setban). A ban of p that ends later is kept. The
// error is the saving of the ban list's: the ban holds anyway.
func (n *Node) Ban(p peer.ID, until time.Time) error { return n.ban(p, until, BanOperator) }

// Unban lifts p's ban. It reports whether p was banned; the error is
// the saving of the ban list's.
func (n *Node) Unban(p peer.ID) (bool, error) { return n.gater.unban(p) }

// ClearBans lifts every ban; the error is the saving of the ban list's.
func (n *Node) ClearBans() error { return n.gater.clear() }

// Bans returns the bans in force, oldest first: the operator's and the
// node's own.
func (n *Node) Bans() []Ban { return n.gater.list() }

// Banned reports whether p is banned now.
func (n *Node) Banned(p peer.ID) bool { return !n.gater.allowed(p) }
