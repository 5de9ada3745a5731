package main

import (
	"strings"

	"github.com/libp2p/go-libp2p/core/peer"
	ma "github.com/multiformats/go-multiaddr"
	"github.com/powmine/powmine/chain/daemon"
	"github.com/powmine/powmine/internal/cli"
)

// defaultListen is --listen's default: TCP on all interfaces.
const defaultListen = "/ip4/0.0.0.0/tcp/18444"

// multiFlag is a repeatable string flag.
type multiFlag struct {
	values []string
	set    bool
}

func (f *multiFlag) String() string { return strings.Join(f.values, ",") }

func (f *multiFlag) Set(s string) error {
	f.values = append(f.values, s)
	f.set = true
	return nil
}

// listenAddrs parses --listen: nil for a lone empty value (no
// networking), the default when the flag is absent.
func listenAddrs(f *multiFlag) ([]ma.Multiaddr, error) {
	values := f.values
	if !f.set {
		values = []string{defaultListen}
	}
	if len(values) == 1 && values[0] == "" {
		return nil, nil
	}
	var out []ma.Multiaddr
	for _, s := range values {
		a, err := ma.NewMultiaddr(s)
		if err != nil {
			return nil, cli.Usagef("bad --listen %q: %v", s, err)
		}
		out = append(out, a)
	}
	return out, nil
}

// peerAddrs parses --peer: multiaddrs ending with /p2p/ID.
func peerAddrs(f *multiFlag) ([]ma.Multiaddr, error) {
	var out []ma.Multiaddr
	for _, s := range f.values {
		a, err := ma.NewMultiaddr(s)
		if err == nil {
			_, err = peer.AddrInfoFromP2pAddr(a)
		}
		if err != nil {
			return nil, cli.Usagef("bad --peer %q (a multiaddr ending with /p2p/ID): %v", s, err)
		}
		out = append(out, a)
	}
	return out, nil
}

// networkConfig builds the daemon's networking from --listen, --peer and
// --mdns; nil when --listen "" turns networking off.
func networkConfig(listen, peers *multiFlag, mdns bool) (*daemon.Network, error) {
	listenMA, err := listenAddrs(listen)
	if err != nil {
		return nil, err
	}
	peerMA, err := peerAddrs(peers)
	if err != nil {
		return nil, err
	}
	if listenMA == nil {
		switch {
		case peerMA != nil:
			return nil, cli.Usagef(`--peer needs networking: --listen "" disables it`)
		case mdns:
			return nil, cli.Usagef(`--mdns needs networking: --listen "" disables it`)
		}
		return nil, nil
	}
	return &daemon.Network{Listen: listenMA, Peers: peerMA, MDNS: mdns}, nil
}
