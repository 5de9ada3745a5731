package bench

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"runtime"
	"testing"
	"time"

	simd "github.com/minio/sha256-simd"
	"github.com/powmine/powmine/chain"
	"github.com/powmine/powmine/hash/sha256d"
	"github.com/powmine/powmine/miner"
)

// header is a fixed synthetic header.
func header() [sha256d.HeaderSize]byte {
	var h [sha256d.HeaderSize]byte
	for i := range h {
		h[i] = byte(i * 7)
	}
	return h
}

func reportRate(b *testing.B, hashes float64) {
	b.ReportMetric(hashes/b.Elapsed().Seconds(), "H/s")
}

// BenchmarkNaive hashes Sum256(Sum256(header)) per nonce, as a program
// without a mining kernel would.
func BenchmarkNaive(b *testing.B) {
	b.Run("crypto-sha256", func(b *testing.B) {
		h := header()
		var nonce uint32
		b.ReportAllocs()
		for b.Loop() {
			binary.LittleEndian.PutUint32(h[76:], nonce)
			first := sha256.Sum256(h[:])
			_ = sha256.Sum256(first[:])
			nonce++
		}
		reportRate(b, float64(b.N))
	})
	b.Run("sha256-simd", func(b *testing.B) {
		h := header()
		var nonce uint32
		b.ReportAllocs()
		for b.Loop() {
			binary.LittleEndian.PutUint32(h[76:], nonce)
			first := simd.Sum256(h[:])
			_ = simd.Sum256(first[:])
			nonce++
		}
		reportRate(b, float64(b.N))
	})
}

// BenchmarkKernel runs every kernel this CPU supports on one goroutine.
func BenchmarkKernel(b *testing.B) {
	h := header()
	var target [sha256d.Size]byte // no hash meets it
	job := sha256d.NewJob(&h, &target)
	for _, k := range sha256d.Kernels() {
		b.Run(k.Name(), func(b *testing.B) {
			if !k.Supported() {
				b.Skipf("this CPU lacks %v", k.Requires())
			}
			b.ReportAllocs()
			s := sha256d.NewScanner(k)
			batch := k.Batch()
			var start uint32
			for b.Loop() {
				s.Scan(job, start, uint64(batch), nil)
				start += uint32(batch)
			}
			reportRate(b, float64(b.N*batch))
		})
	}
}

// BenchmarkMiner runs the whole miner (fastest kernel) at one thread and
// at one per CPU; an operation is 2^20 hashes.
func BenchmarkMiner(b *testing.B) {
	const perOp = 1 << 20
	for _, threads := range []int{1, runtime.NumCPU()} {
		b.Run(fmt.Sprintf("threads=%d", threads), func(b *testing.B) {
			b.ReportAllocs()
			m, err := miner.New(miner.Config{Threads: threads})
			if err != nil {
				b.Fatal(err)
			}
			ctx, cancel := context.WithCancel(context.Background())
			done := make(chan error, 1)
			b.ResetTimer()
			go func() { done <- m.Run(ctx) }()
			m.SetWork(&miner.Work{Header: chain.Header{Version: 1}})
			want := uint64(b.N) * perOp
			for m.Hashes() < want {
				time.Sleep(time.Millisecond)
			}
			b.StopTimer()
			cancel()
			if err := <-done; err != nil {
				b.Fatal(err)
			}
			b.ReportMetric(float64(m.Hashes())/b.Elapsed().Seconds(), "H/s")
			b.Logf("kernel %s", m.Kernel().Name())
		})
	}
}
