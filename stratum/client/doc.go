// Package client is the miner side of Stratum V1: it connects to a pool
// (stratum+tcp://, or stratum+ssl:// and its alias stratum+tls:// over
// TLS), turns the pool's jobs into miner.Work, and submits the miner's
// shares.
//
// # Session
//
// On each connection the client pipelines mining.configure (BIP310
// version rolling with mask 0x1fffe000, unless Config.NoVersionRolling),
// mining.subscribe (user agent, and the previous subscription id of the
// same URL to resume a session), mining.authorize and
// mining.extranonce.subscribe. It then follows the pool:
//   - mining.set_difficulty sets the share target of the next job, as
//     cpuminer does (difficulty 1 until told otherwise);
//   - mining.set_extranonce sets extranonce1 and extranonce2_size for the
//     next job;
//   - mining.notify becomes a miner.Work: the header with extranonce2 = 0,
//     the job's ntime, the share target, and a Roll that moves to other
//     extranonce2 values (and version bits when rolling);
//   - mining.set_version_mask applies at once (the current job is
//     republished with the new mask);
//   - client.reconnect drops the connection and reconnects to the same
//     URL (redirects to other hosts are not followed);
//   - mining.ping, client.get_version and client.show_message are
//     answered or logged.
//
// # Rolling
//
// Work.Roll maps roll number n to the header to search. Without version
// rolling, extranonce2 = n written little-endian in extranonce2_size bytes
// (cpuminer's counting: 00000000, 01000000, ...), truncated to that size.
// With a granted mask of k bits, the low k bits of n are scattered into
// the mask's bit positions and XORed into the job's version, and
// extranonce2 = n >> k. Roll 0 is the job's own header. A job the pool
// sends again with the same id and headers (no clean_jobs), as pools do
// to apply a new difficulty at once, is mined from past the rolls already
// searched, not from roll 0, so that no share is found and sent twice.
//
// # Shares
//
// Every share of a live job is sent as mining.submit [user, job id,
// extranonce2, ntime, nonce] plus version_bits (the header's version
// masked) when rolling was granted. Responses are matched by integer id;
// accepted and rejected counts are reported through Config.OnShare with
// the pool's reason (any error shape, or "result false").
//
// Stale shares are dropped, not submitted: a share of a job that a
// clean_jobs notify invalidated, of a job older than the last MaxJobs, or
// of an earlier connection. The pool would reject it as "job not found";
// OnShare reports it with Stale set and it is not counted as submitted.
//
// # Robustness
//
// A closed connection, a read or write timeout, a failed handshake, or a
// malformed message from the pool (logged) ends the connection; the
// client reconnects after an exponential backoff with jitter, bounded by
// Config.MaxBackoff. A URL whose connection fails before the session is
// established (no job received) makes the next connection try the next
// URL (failover); a session that was established and then ends is
// retried on the same URL first, resuming its subscription. Lines are
// limited to Config.MaxLineSize, reads and writes have deadlines
// (Config.ReadTimeout, Config.WriteTimeout), and a pool that leaves
// MaxPending requests unanswered is dropped.
package client
