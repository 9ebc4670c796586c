// Package delta turns Microsoft Graph's driveItem delta feed into exact
// events against the local item index, in rounds that survive a crash at any
// moment and never hold a round in memory.
//
// The package does no I/O of its own: pages come from a FetchFunc, events go
// to an EmitFunc, and all state lives in the store behind the Tx interface
// (*store.Tx satisfies it; StoreDB adapts a *store.DB). Run must not be
// called concurrently for one instance; Resync may be called at any time.
//
// # Rounds
//
// A round is the pages from a start link to the page carrying a deltaLink:
// the stored cursor; or, without a cursor or after a resync was requested, a
// full enumeration from the fresh link; or, after a crash, the nextLink the
// round had reached. Items are staged by id, so the last occurrence wins and
// duplicates and replays collapse. A round is applied only once every page
// is in; until then the index and the cursor are untouched.
//
// The next pages are fetched while a page is staged, up to
// Limits.FetchAhead pages ahead; a page fetched ahead is only staged in turn,
// so a crash or an error loses nothing but the request.
//
// Up to Limits.BufferItems items are held in memory. A round that ends within
// that buffer is staged, applied and committed (index, events, new cursor) in
// one transaction. A longer round is staged buffer by buffer, each flush one
// transaction that also records the nextLink to resume from, and then
// applied in transactions of at most Limits.ChunkUnits units of work and
// Limits.EmitChunk events handed to Emit, each recording the phase and
// position it reached. Every transaction leaves the store consistent, so a
// crash anywhere resumes exactly where the last commit left off, without
// losing or repeating an event.
//
// Applying goes through these phases, each spanning as many transactions as
// it needs; the last transaction stores the deltaLink as the cursor and drops
// the staged records, the pending events and the round state:
//
//  1. sweep (resyncs only): every indexed item (but the root) that the
//     enumeration did not return is staged as a synthetic delete.
//  2. before: each staged item gets its before-state from the untouched
//     index: whether it existed, its parent, name, tags, size, hash, its path
//     and whether that path was in scope. Paths come only from the index (id,
//     parent id, name), never from parentReference.path. An incremental
//     round records it while staging (the index is untouched until then)
//     and skips this phase.
//  3. index: the staged states are applied to the index; deletes of unknown
//     items do nothing. A deleted folder queues a cascade that removes its
//     indexed descendants and stages a synthetic delete for each, with its old
//     path (the folder's old path + the relative path). A staged item found
//     under a deleted folder but moved elsewhere in the round is moved at
//     once; an item whose new parent is deleted in the round (an orphan) is
//     deleted with its subtree. The result does not depend on the order the
//     records are applied in, so the index always stays a tree.
//  4. events: each staged record is compared with the new index (see
//     Events); a folder whose path changed queues a walk over its indexed
//     descendants that were not staged, reporting those whose scope changed.
//     Events go into the store's pending bucket under a key that sorts them in
//     the round's order.
//  5. emit: the pending events are handed to Emit in order, in slices of at
//     most Limits.EmitBatch; the key of the last one handed over is saved
//     with the round state in the same transaction. Before each
//     slice, when tx.QueuedEvents() >= MaxQueue, the round pauses
//     (Result.Paused): its progress is saved, the cursor stays put, and a
//     later Run continues. A new round does not start while the queue is full.
//
// Cascades and walks are queued in the pending bucket too, so a folder with a
// million descendants is processed in chunks like everything else. Work is
// counted in units: one per staged record per phase, per cascaded or walked
// child, per emitted event.
//
// # First rounds and resyncs
//
// With no cursor and an empty index the round is initial: Baseline indexes
// the drive silently (the staged records then keep no raw items, which saves
// disk on a large enumeration, and the before, events and emit phases are
// skipped); Backfill reports every item in scope except the root as CREATED.
//
// A 410 Gone (a *connector.ResyncError, at the first page or in the middle of
// a round) discards the staged data of the broken round and restarts the
// enumeration from the Location link (or the fresh link) as a reconciling
// resync: the phases above with the sweep, so only real differences are
// reported (new → CREATED, changed → UPDATED, missing → DELETED) and
// unchanged items give nothing. Resync asks for the same on the next round;
// a round already being applied is finished first. A lost cursor with a
// non-empty index is reconciled the same way.
//
// # Events
//
// For each staged item, with "in scope" meaning InScope(path) for a path the
// index can compute (the root is never in scope and never reported):
//   - CREATED: not indexed before and in scope now, or moved into scope;
//   - UPDATED: in scope before and after, and the eTag changed: for files
//     when the content (cTag, size or hash, each when known on both sides),
//     name, parent or metadata (the eTag alone) changed; for
//     folders only when the name or the parent changed. Changes are listed in
//     the order parent, name, content, metadata; OldPath is set when parent
//     or name changed;
//   - DELETED: indexed and in scope before, and deleted (by Graph, by a
//     cascade, by a sweep) or moved out of scope; Path is the last known
//     path.
//
// A folder whose path changed reports nothing for its descendants, except
// for those the move takes into scope (CREATED) or out of it (DELETED). An
// unchanged eTag, ancestors that only came along, a repeated item, and the
// delete of an item the index never knew give nothing. A CREATED for an
// item moved into scope carries no OldPath: the old path was out of scope.
//
// Within a round, DELETED events come first, deepest path first; then
// UPDATED and CREATED by path depth, shallower first, UPDATED before CREATED
// at equal depth; ties by item id (bytewise).
//
// Event.Raw is the item as Graph sent it. For an item Graph did not send in
// that state it is a minimal item: for deletions {"id","name",
// "parentReference":{"id","driveId"},"deleted":{"state":"deleted"}}; for the
// descendants of a folder moved into scope, id, name, eTag, cTag, size,
// lastModifiedDateTime, parentReference and the file or folder facet, from
// the index. Event.Date is lastModifiedDateTime for CREATED and UPDATED, and
// the time the round started (Round.Now) for DELETED and for an item Graph
// sent without a usable lastModifiedDateTime.
//
// # What Graph leaves out
//
// Graph drops selected properties now and then. The root is recognised by
// its indexed id when the root facet is missing (and, on a first
// enumeration, as the parentless live item named "root"); a property left
// out (size, cTag, hashes) keeps the value the index knew; a parentless item
// that is not the root is not part of the drive's tree: an indexed one is
// deleted with its subtree, an unknown one is ignored.
//
// # Safety
//
// A page without links or an item without id (the fetcher should refuse
// them; Run checks again) fails the round with ErrMalformed; a nextLink
// already followed in the round (the last 16 are remembered) or more than
// Limits.MaxPages pages fails it with ErrLinkLoop and discards it. In both
// cases nothing is applied and the cursor does not move.
package delta
