// Package callback turns an instance's events into callback messages and
// delivers them to the instance's receiver.
//
// Forming: Build, called inside the round's store transaction, cuts the
// events into messages of at most max_events events with the body of
// CONTRACT section 5 (Open Connectors' "message" envelope) and ids
// "<dbid>-<instanceid>-<seq %012d>". A body is fixed once formed: every
// retry, also after a restart, sends the same bytes.
//
// Delivering: one Dispatcher per instance (New, then Run in its own
// goroutine) sends the queue head first, one request at a time, signs each
// attempt (Elements-Webhook-Signature, Standard Webhooks), and acts on the
// answer as Classify says: 2xx acks, 400/413 (one event)/415/422 move the
// message to the dead letters, 413 with several events splits it in two,
// anything else retries it for ever with exponential backoff and jitter
// between retry_initial and retry_max, honouring Retry-After (capped at
// MaxRetryAfter). Attempts and the next attempt time are stored with the
// message, so a restart continues the backoff. Acks are committed in
// batches in the background; one lost in a crash means a redelivery with
// the same ids and bytes, never a loss.
//
// The runtime wires: StoreQueue(db, name) as the Queue, an *http.Client
// (shared, with proxy and CA settings), an Observer for metrics, and calls
// Notify after it enqueues messages or replays dead letters.
package callback
