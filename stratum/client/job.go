package client

import (
	"bytes"
	"math/bits"
	"slices"

	"github.com/powmine/powmine/chain"
	"github.com/powmine/powmine/miner"
	"github.com/powmine/powmine/stratum"
)

// job is a pool job as this connection mines it: the notify, and the
// extranonce, difficulty and version mask in force when it arrived.
type job struct {
	notify      stratum.NotifyParams
	extranonce1 []byte
	e2size      int
	difficulty  float64
	target      chain.Hash
	mask        uint32 // version-rolling mask; 0 when not rolling
	// rollBase is the roll the work starts at: 0, or past the rolls
	// searched of the same job sent before (see session.firstRoll).
	rollBase uint64
	// hashes is the miner's hash count when the work was published.
	hashes uint64
}

// extranonce2 returns the extranonce2 of roll n: n >> (bits in mask),
// little-endian in e2size bytes (truncated).
func (j *job) extranonce2(n uint64) []byte {
	n >>= bits.OnesCount32(j.mask)
	e2 := make([]byte, j.e2size)
	for i := range e2 {
		if i < 8 {
			e2[i] = byte(n >> (8 * i))
		}
	}
	return e2
}

// version returns the header version of roll n: the low bits of n, as
// many as the mask has, scattered into the mask's positions and XORed
// into the job's version (roll 0 keeps it).
func (j *job) version(n uint64) uint32 {
	v := j.notify.Version
	m := j.mask
	for m != 0 && n != 0 {
		low := m & -m
		if n&1 != 0 {
			v ^= low
		}
		m &^= low
		n >>= 1
	}
	return v
}

// header returns the header of roll n (nonce 0).
func (j *job) header(n uint64) chain.Header {
	root := stratum.CoinbaseMerkleRoot(j.notify.Coinb1, j.extranonce1, j.extranonce2(n), j.notify.Coinb2, j.notify.MerkleBranch)
	return j.notify.BuildHeader(root, j.version(n), j.notify.Time, 0)
}

// work returns the miner.Work of the job: its roll n is the job's roll
// rollBase + n.
func (j *job) work() *miner.Work {
	return &miner.Work{
		ID:     j.notify.JobID,
		Header: j.header(j.rollBase),
		Target: j.target,
		Roll:   func(_ chain.Header, n uint64) chain.Header { return j.header(j.rollBase + n) },
	}
}

// sameWork reports whether o has the same headers to search as j: the
// same notify apart from clean_jobs, extranonce and version mask.
func (j *job) sameWork(o *job) bool {
	a, b := &j.notify, &o.notify
	return a.JobID == b.JobID && a.PrevHash == b.PrevHash && bytes.Equal(a.Coinb1, b.Coinb1) &&
		bytes.Equal(a.Coinb2, b.Coinb2) && slices.Equal(a.MerkleBranch, b.MerkleBranch) &&
		a.Version == b.Version && a.Bits == b.Bits && a.Time == b.Time &&
		bytes.Equal(j.extranonce1, o.extranonce1) && j.e2size == o.e2size && j.mask == o.mask
}

// submitParams returns the mining.submit params of a share found on this
// job.
func (j *job) submitParams(user string, s *miner.Share) stratum.SubmitParams {
	p := stratum.SubmitParams{
		Worker:      user,
		JobID:       j.notify.JobID,
		Extranonce2: j.extranonce2(j.rollBase + s.Roll),
		NTime:       s.Header.Timestamp,
		Nonce:       s.Header.Nonce,
	}
	if j.mask != 0 {
		p.VersionBits = uint32(s.Header.Version) & j.mask
		p.HasVersionBits = true
	}
	return p
}
