package sha256d

import "math/bits"

// scanGeneric is the portable kernel. It writes to cand every nonce in
// start .. start+count-1 (wrapping at 2^32) whose final H7, byte-swapped, is
// at or below st.t7, and returns how many it wrote; cand must have room for
// count entries.
//
// It starts each nonce from the job's state after round 3 (the nonce enters
// only as an addend of a and e), uses the per-job schedule parts, and stops
// the second hash after round 60, where H7 is already known.
func scanGeneric(st *jobState, start, count uint32, cand *uint32) uint32 {
	out := unsafeSlice(cand, count)
	var n uint32
	var w [64]uint32
	copy(w[:], st.wpart[:16])
	w[16], w[17] = st.wpart[16], st.wpart[17]
	var w2 [61]uint32
	w2[8] = 0x80000000
	w2[15] = 256
	for i := uint32(0); i < count; i++ {
		nonce := start + i
		w3 := bits.ReverseBytes32(nonce)
		w[3] = w3
		s := st.state4
		s[0] += w3
		s[4] += w3
		for t := 18; t < 64; t++ {
			w[t] = sigma1(w[t-2]) + w[t-7] + sigma0(w[t-15]) + w[t-16]
		}
		for t := 4; t < 64; t++ {
			round(&s, t, w[t])
		}
		for j := range 8 {
			w2[j] = st.mid[j] + s[j]
		}
		for t := 16; t < 61; t++ {
			w2[t] = sigma1(w2[t-2]) + w2[t-7] + sigma0(w2[t-15]) + w2[t-16]
		}
		s = iv
		for t := 0; t < 61; t++ {
			round(&s, t, w2[t])
		}
		if bits.ReverseBytes32(iv[7]+s[4]) <= st.t7 {
			out[n] = nonce
			n++
		}
	}
	return n
}
