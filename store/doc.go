// Package store is onedrive-agent's database: one bbolt file that holds,
// per instance, the OAuth token, a small state record, the item index of
// the drive, the delta cursor, the staging area of a round in progress and
// the delivery queue with its dead letters. It imports only bbolt and the
// standard library, and no bbolt type leaves it. It is not a public API.
//
// # Guarantees
//
//   - Atomic rounds: everything done in one DB.Update (events enqueued, the
//     new cursor, index changes, round state) commits durably together
//     (one fsync) or not at all, also across kill -9 and power loss.
//   - At least once: a queued message stays until Ack, Reject (to the dead
//     letters) or Purge (of a dead letter). A crash between delivery and
//     Ack delivers it again, with the same id and bytes.
//   - Order: Enqueue appends at the tail with increasing keys; Peek reads
//     from the head. Replay puts dead letters back at the head in their
//     original order; Split puts the parts where the original was.
//   - Counts: queued and dead messages and events, items and staged
//     records are kept in a counters record updated in the same
//     transaction as the data, so Stats and QueuedEvents are O(1).
//   - Damaged files are reported (ErrCorrupt), never rewritten, moved or
//     deleted. A full disk fails the transaction (IsDiskFull) and leaves
//     the database usable.
//
// # Concurrency
//
// A DB is safe for concurrent use by many goroutines. Update transactions
// (and the queue methods, each its own transaction) serialize; View and
// read methods run concurrently with them on a snapshot. Callbacks given to
// Update, View and the ForEach methods must not call methods of the DB.
// Compact (also when triggered automatically) waits for running calls to
// finish and makes new ones wait until it is done.
//
// Only one process opens the file at a time: Open takes the lock file
// "<path>.lock", which holds the owner's pid, and bbolt's lock on the file
// itself; a second process gets ErrLocked naming that pid.
package store
