//go:build !linux

package miner

import "errors"

func pinThread(int) error { return errors.New("miner: CPU affinity is supported on Linux only") }

const affinitySupported = false
