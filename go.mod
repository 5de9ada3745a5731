module github.com/powmine/powmine

go 1.26

require (
	github.com/klauspost/cpuid/v2 v2.4.2 // indirect
	github.com/minio/sha256-simd v1.0.1 // indirect
	golang.org/x/sys v0.41.0 // indirect
)
