// Package callback forms an instance's events into callback messages.
//
// Build, called inside the round's store transaction, cuts the events into
// messages of at most max_events events with the body of the HTTP callback
// (Open Connectors' "message" envelope, written by sink/opencon) and ids
// "<dbid>-<instanceid>-<seq %012d>". A body is fixed once formed: every
// attempt, also after a restart, sends the same bytes, and every sink
// derives what it sends from those bytes alone.
//
// Delivery is not here: agent/deliver runs the loop (order, acks, backoff,
// dead letters) and the sink packages (sink/webhook, …) send.
package callback
