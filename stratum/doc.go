// Package stratum will speak Stratum V1, the line-delimited JSON-RPC
// protocol of mining pools: a work server for pooled miners and the client
// that cmd/miner uses with -o stratum+tcp://. It has no code yet; the miner
// already accepts the flags (-o, -u, -p) and rejects pool URLs until it lands.
package stratum
