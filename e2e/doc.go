// Package e2e is the end-to-end suite ("proof under fire"): it builds the
// real onedrive-agent binary once and runs it, as a separate process, against
// the fake Microsoft Graph of connector/graphtest and a recording callback
// receiver, both started in the test process. Nothing of the agent is linked
// into the tests: they only see what a user sees (agent.toml, the command
// line, exit statuses, stderr, the admin API and the callback requests).
//
// Scenarios (each file holds one):
//
//   - churn: random creates, edits, renames, moves and deletes with polls in
//     between; the received events, replayed onto the starting tree, give the
//     fake's final tree, and the events of every poll equal the ones derived
//     from snapshots of the fake taken right before each poll.
//   - outage: the receiver refuses connections for a long stretch while
//     changes keep coming; afterwards everything arrives in order and the
//     backlog drains (drain rate and longest outage are logged).
//   - crash: the agent is killed with SIGKILL at random moments during churn
//     and a flapping receiver (5xx, timeouts, 429 with Retry-After, lost
//     responses) and restarted each time; nothing is lost, order is kept,
//     duplicates carry the same ids and bytes.
//   - Microsoft misbehaving: 410 at the start and in the middle of a round,
//     throttling with and without Retry-After, expired access tokens, a
//     rotating single-use refresh token (delegated sign-in through
//     `login --code`), empty pages, child-first and shuffled order,
//     duplicates.
//   - bad input: malformed configurations, a damaged database, a second
//     process on the same data_dir, an unwritable data_dir, a full queue.
//
// Every scenario ends with the same proof: the replay of the deduplicated
// events equals the fake's final tree (paths, and eTag and hash of every
// file), no sequence number is missing from the delivered message and event
// ids (loss count 0), ids increase per instance, every duplicate repeats the
// same bytes under the same message id, and Graph saw no request inside a
// Retry-After window.
//
// The default run (`go test ./e2e/`, part of `go test ./...`) runs a short
// version of every scenario, well under a minute in all. The long version
// (thousands of changes over several minutes, 60 kills, outages of minutes)
// sits behind the build tag e2e:
//
//	go test -tags e2e -run . -count=1 -timeout 60m -v ./e2e/
//
// The figures (loss count, duplicate rate, longest outage, drain rate,
// kills) are printed with t.Logf on lines starting with "FIGURE", so `-v`
// output can be quoted: go test ... -v ./e2e/ | grep FIGURE.
package e2e
