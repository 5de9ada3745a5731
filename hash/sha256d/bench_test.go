package sha256d

import (
	"crypto/sha256"
	"encoding/binary"
	"testing"
)

// BenchmarkScan reports each kernel's single-goroutine rate on a target no
// nonce meets, next to the standard library's naive double hash.
func BenchmarkScan(b *testing.B) {
	b.Run("stdlib-naive", func(b *testing.B) {
		b.ReportAllocs()
		hdr := genesisHeader
		var n uint32
		for b.Loop() {
			binary.LittleEndian.PutUint32(hdr[76:], n)
			first := sha256.Sum256(hdr[:])
			_ = sha256.Sum256(first[:])
			n++
		}
		b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "H/s")
	})
	for _, k := range Kernels() {
		b.Run(k.Name(), func(b *testing.B) {
			if !k.Supported() {
				b.Skipf("CPU lacks %v", k.Requires())
			}
			b.ReportAllocs()
			var tg [Size]byte
			j := NewJob(&genesisHeader, &tg)
			s := NewScanner(k)
			batch := k.Batch()
			var start uint32
			for b.Loop() {
				s.Scan(j, start, uint64(batch), nil)
				start += uint32(batch)
			}
			b.ReportMetric(float64(b.N*batch)/b.Elapsed().Seconds(), "H/s")
		})
	}
}

// BenchmarkChoose reports how long Choose takes, self-tests and timing
// together; the self-tests' reference hashes, computed once per process,
// are left out after the first iteration.
func BenchmarkChoose(b *testing.B) {
	for b.Loop() {
		Choose()
	}
}
