// Package bench holds the benchmarks that compare whole paths: the
// standard library's and sha256-simd's naive double hash, every sha256d
// kernel on one goroutine, and the miner at one and at all threads. Run
//
//	go test -run XXX -bench . ./bench/
//
// and compare the H/s metrics as ratios within one run.
package bench
