package sha256d

import "testing"

// brokenKernel returns a copy of k that runs scan instead of its own raw
// kernel.
func brokenKernel(k *Kernel, flaw string, scan scanFunc) *Kernel {
	b := *k
	b.name = k.name + "/" + flaw
	b.scan = scan
	return &b
}

// dropLate wraps scan into a kernel that loses every candidate after its
// fourth iteration in a call: right on the few iterations a short check
// covers, wrong on a miner-sized call.
func dropLate(scan scanFunc, stride uint32) scanFunc {
	return func(st *jobState, start, count uint32, cand *uint32) uint32 {
		out := unsafeSlice(cand, scan(st, start, count, cand))
		n := 0
		for _, c := range out {
			if c-start < 4*stride {
				out[n] = c
				n++
			}
		}
		return uint32(n)
	}
}

// signedCompare wraps scan into a kernel that compares bswap(H7) with t7 as
// signed 32-bit numbers, the mistake VPCMPGTD invites. It derives that
// from two unsigned scans: the nonces with H7 <= t7 and those with H7 <
// 2^31 (non-negative as signed).
func signedCompare(scan scanFunc) scanFunc {
	return func(st *jobState, start, count uint32, cand *uint32) uint32 {
		if count == 0 {
			return 0
		}
		le := make([]uint32, count)
		le = le[:scan(st, start, count, &le[0])]
		low := make([]uint32, count)
		lowState := *st
		lowState.t7 = 1<<31 - 1
		low = low[:scan(&lowState, start, count, &low[0])]
		out := unsafeSlice(cand, count)
		n := 0
		for i := range count {
			nonce := start + i
			inLE := len(le) > 0 && le[0] == nonce
			if inLE {
				le = le[1:]
			}
			nonNegative := len(low) > 0 && low[0] == nonce
			if nonNegative {
				low = low[1:]
			}
			// A negative H7 is below a non-negative t7; against a
			// negative t7 the unsigned order holds among negatives.
			if int32(st.t7) >= 0 && (inLE || !nonNegative) || int32(st.t7) < 0 && inLE && !nonNegative {
				out[n] = nonce
				n++
			}
		}
		return uint32(n)
	}
}

// clampHighTop wraps scan into a kernel that reads a target top word at or
// above 2^31 as 2^31 - 1: right for every target below 2^31.
func clampHighTop(scan scanFunc) scanFunc {
	return func(st *jobState, start, count uint32, cand *uint32) uint32 {
		s := *st
		s.t7 = min(s.t7, 1<<31-1)
		return scan(&s, start, count, cand)
	}
}

// TestSelfTestRejectsBrokenKernels wraps every kernel in flaws that short
// or low-target checks miss; SelfTest must reject each.
func TestSelfTestRejectsBrokenKernels(t *testing.T) {
	forEachKernel(t, func(t *testing.T, k *Kernel) {
		for _, b := range []*Kernel{
			brokenKernel(k, "late", dropLate(k.scan, k.stride)),
			brokenKernel(k, "signed", signedCompare(k.scan)),
			brokenKernel(k, "clamped", clampHighTop(k.scan)),
		} {
			err := b.SelfTest()
			if err == nil {
				t.Errorf("kernel %s passed its self-test", b.name)
				continue
			}
			t.Log(err)
		}
	})
}
