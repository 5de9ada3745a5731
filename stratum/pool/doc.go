// Package pool is the Stratum V1 work server: it hands block templates
// from a Node to miners as mining.notify jobs, checks their shares,
// submits the shares that are blocks, adjusts each connection's difficulty
// (vardiff) and pays the miners of the last N difficulty-weighted shares
// (PPLNS) in the coinbase of the templates it builds.
//
// # Connections
//
// Server.Run accepts TCP (optionally TLS) connections with an accept loop
// that backs off on temporary errors. Each connection has a reader
// goroutine (a stratum.Reader with a bounded line length, closing at once
// on input that is not JSON, such as a TLS probe, or on an over-long line)
// and a bounded outbound buffer: what is appended to it (a response, a
// job) is written at once when the TCP socket takes it without blocking,
// and a writer goroutine flushes the rest with a write deadline; a client
// whose buffer overflows is closed (CloseSlowConsumer), so no client
// stalls the server or another client. A new job is sent from up to
// GOMAXPROCS goroutines, each writing to its share of the connections.
// Every close has a CloseReason. Limits: MaxConns, MaxConnsPerIP (IPv6
// clients counted by /64), MaxUnauthConns (connections not yet authorized;
// at a limit a new connection takes the slot of the oldest of them, so
// idle sockets never lock new miners out), an idle timeout, a handshake
// timeout (no successful mining.authorize in time) and a connection closed
// after MaxInvalidPerConn invalid requests (with a client.show_message
// saying why); an IP is banned for BanDuration only when BanAbusiveConns
// of its connections were closed so within BanWindow, since one IP is
// often a whole farm behind a NAT.
//
// Requests may come in any order and pipelined: mining.configure (BIP310
// version rolling, mask 0x1fffe000 intersected with the client's),
// mining.subscribe (a unique 4-byte extranonce1 per connection and a
// configurable extranonce2 size), mining.authorize (user = payout address,
// optionally ".worker", at most MaxUserLength bytes),
// mining.extranonce.subscribe, mining.suggest_difficulty,
// mining.get_transactions and mining.submit. mining.set_difficulty always
// precedes the first mining.notify.
// mining.get_transactions [job_id] (BFGMiner asks after every notify) is
// answered with the ids of the job's transactions after the coinbase, in
// block order, as an array of hex strings in RPC (display) order: the
// leaves of the merkle tree that the job's branch comes from, so a miner
// can see what it mines. An unknown or stale job id gets error 21; a list
// of more than MaxOutbound/2 bytes gets error 20 ("transaction list too
// long"). Other methods get error 26 (illegal method); the connection
// stays open.
//
// The subscription id is a random SessionIDSize-byte session id in hex,
// not the extranonce1, so that no client takes over another's session.
// When a subscribed connection closes, its session (extranonce1,
// difficulty, its newest live jobs and its accepted shares on them, at
// most MaxSessionShares) is kept for SessionTimeout, within MaxSessions,
// MaxSessionsPerIP and MaxSessionBytes (sessions without accepted shares
// are evicted first, so that churn never evicts a miner's session); a
// client from the same IP that subscribes with that id as params[1], as
// cpuminer does after a reconnect, resumes it: the work it had stays
// valid, and the latest job is re-sent (as a variant, below) without
// clean_jobs when its jobs are still live. A session is resumed at most
// once.
//
// # Jobs and shares
//
// A job is made from each template (Node.TemplateExtranonce with room for
// extranonce1 || extranonce2): on a new tip with clean_jobs=true, which
// also makes every earlier job stale, and every RefreshInterval (new
// transfers, new payouts) without it. The last MaxJobs jobs are kept.
// A share is checked in this order: subscribed (25), authorized worker
// (24), extranonce2 size (20), known job (21), ntime range (31, 32),
// version bits inside the negotiated mask (33), duplicate (22, by the
// share's header hash), share target (23). A share is judged at the
// difficulty its job was sent with to that connection: after a vardiff
// change the shares on jobs sent before keep the old difficulty. A job
// sent again to a connection (at once after a difficulty change, so that
// the new difficulty applies now, or on a resume) goes as a variant:
// job id "<id>.<n>" and ntime + n, n counting the job's sends to that
// connection in hex, so that a miner that restarts the job at extranonce2
// 0 and nonce 0 searches other headers instead of finding its accepted
// shares again. Duplicate and stale shares are not invalid requests. The
// difficulty sent is capped at the job's block difficulty, as ckpool
// does, so that a miner submits every block it finds; a share that meets
// the network target is never refused as low difficulty, and is
// assembled into a block and submitted to the node at once. Job ids and
// the first extranonce1 start at random values, so that shares for jobs
// of before a restart are not mistaken for new ones.
//
// # Concurrency
//
// Server's methods are safe for concurrent use. Lock order: Server.jobMu
// (held while a job is made and sent) before conn.mu and Server.mu;
// conn.mu, Server.mu, pplns.mu and the session cache's lock are never
// held together. The published
// job set is immutable and swapped atomically; a connection's reader
// goroutine owns its handshake state, and what the job loop and the
// writer share with it is under conn.mu. The non-blocking write of a
// connection's output is made under conn.mu; the writer's blocking one is
// not, and conn.writing keeps the two apart. Server.mu guards the
// connection set, the per-IP state and the list of connections not yet
// authorized (with each conn.unauth); the statistics have their own lock,
// never held with another.
//
// The PPLNS window survives restarts when Config.WindowFile is set
// (cmd/node keeps it in the data directory); the statistics do not.
// mining.set_extranonce is never sent.
package pool
