package delta

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/onedrive-agent/onedrive-agent/connector"
)

// fetch follows the round's links to the deltaLink, staging the items in the
// store whenever the buffer is full, and finally stages the rest and starts
// applying in the same transaction.
func (r *Round) fetch(ctx context.Context, db DB, st *roundState, persisted bool, cursor, freshURL string, lim Limits, res *Result) error {
	log := r.log()
	if st.Resync && st.Pages == 0 {
		res.Resynced = true
	}
	base := *st // the state as stored (or to be created)
	base.Recent = append([]uint64(nil), st.Recent...)
	var buf []connector.Item
	resyncs := 0
	// Pages come from a fetcher that follows the nextLinks up to
	// FetchAhead pages ahead, so the next page is on its way while this
	// one is staged. It is restarted after a resync and stopped on return.
	var ahead *prefetcher
	defer func() {
		if ahead != nil {
			ahead.stop()
		}
	}()
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		link := st.Next
		if link == "" {
			link = freshURL
		}
		if ahead == nil {
			ahead = r.prefetch(ctx, link, lim.FetchAhead)
		}
		page, err := ahead.next(link)
		res.Requests++
		if err != nil {
			ahead.stop()
			ahead = nil
			var rerr *connector.ResyncError
			if !errors.Is(err, connector.ErrResyncRequired) {
				if st.Resync && st.Pages == 0 && st.Next != "" && persisted && ctx.Err() == nil {
					// The Location of a 410 failed: the next attempt starts
					// from the fresh enumeration link instead.
					r.forgetLocation(db, &base)
				}
				return fmt.Errorf("fetch delta page %d: %w", st.Pages+1, err)
			}
			resyncs++
			if resyncs > 2 {
				return fmt.Errorf("fetch delta page %d: resync asked again right after a resync: %w", st.Pages+1, err)
			}
			loc := ""
			if errors.As(err, &rerr) {
				loc = rerr.Location
			}
			log.Warn("delta link expired: starting a reconciling resync", "pages", st.Pages, "items", st.Items)
			next, err := r.restart(db, &base, persisted, cursor, loc)
			if err != nil {
				return err
			}
			*st, base, persisted, buf = *next, *next, true, nil
			res.Resynced = true
			continue
		}
		if err := checkPage(&page); err != nil {
			return fmt.Errorf("delta page %d: %w", st.Pages+1, err)
		}
		st.remember(link)
		st.Pages++
		st.Items += int64(len(page.Items))
		res.Pages++
		res.Items += len(page.Items)
		for i := range page.Items {
			it := &page.Items[i]
			if st.DriveID == "" && it.DriveID != "" {
				st.DriveID = it.DriveID
			}
			if st.Mode == modeBaseline {
				it.Raw = nil
			}
		}
		buf = append(buf, page.Items...)
		if st.Pages%int64(lim.LogEvery) == 0 {
			log.Info(fmt.Sprintf("enumerating: %s items, %s pages", thousands(st.Items), thousands(st.Pages)),
				"items", st.Items, "pages", st.Pages, "mode", st.Mode.String())
		}
		if page.DeltaLink != "" {
			st.Delta = page.DeltaLink
			st.Next = ""
			if !persisted && len(buf) == 0 && st.Mode == modeIncremental && st.Delta == cursor {
				// Nothing changed and Graph gave the same link back: the
				// round's transaction would store what is stored. A drive
				// that does not change then costs no write (and no fsync)
				// per poll.
				res.Done = true
				return nil
			}
			return r.finishFetch(db, &base, st, persisted, cursor, buf, lim, res)
		}
		next := page.NextLink
		if next == link || st.seen(next) || st.Pages >= lim.MaxPages {
			log.Error("delta feed loops: round discarded", "pages", st.Pages, "items", st.Items)
			if err := r.discard(db, &base, persisted, cursor); err != nil {
				return err
			}
			return fmt.Errorf("after %d pages: %w", st.Pages, ErrLinkLoop)
		}
		st.Next = next
		if len(buf) >= lim.BufferItems {
			err := db.Update(func(tx Tx) error {
				if err := verify(tx, &base, persisted, cursor); err != nil {
					return err
				}
				if err := r.stage(tx, buf, st); err != nil {
					return err
				}
				return saveRound(tx, st)
			})
			if err != nil {
				return fmt.Errorf("stage delta pages: %w", err)
			}
			base, persisted = *st, true
			base.Recent = append([]uint64(nil), st.Recent...)
			clear(buf)
			buf = buf[:0]
		}
	}
}

// prefetcher fetches a round's pages in a goroutine of its own, following
// each page's nextLink, while the round stages the pages before. It stops
// after a page with a deltaLink or without a nextLink, a link it was just
// given again, or an error; it is at most FetchAhead pages ahead of the
// page the round took last.
type prefetcher struct {
	ctx    context.Context
	cancel context.CancelFunc
	fetch  FetchFunc // set when nothing is fetched ahead
	pages  chan fetched
	done   chan struct{}
}

// fetched is one page (or the error) of a link.
type fetched struct {
	link string
	page connector.Page
	err  error
}

// prefetch starts fetching at link. ahead < 0 fetches nothing ahead: each
// page is fetched when the round asks for it.
func (r *Round) prefetch(ctx context.Context, link string, ahead int) *prefetcher {
	ctx, cancel := context.WithCancel(ctx)
	p := &prefetcher{ctx: ctx, cancel: cancel, done: make(chan struct{})}
	if ahead < 0 {
		p.fetch = r.Fetch
		close(p.done)
		return p
	}
	// The goroutine holds the page it is fetching; the channel the rest.
	p.pages = make(chan fetched, max(ahead-1, 0))
	go func() {
		defer close(p.done)
		defer close(p.pages)
		for {
			page, err := r.Fetch(ctx, link)
			select {
			case p.pages <- fetched{link: link, page: page, err: err}:
			case <-ctx.Done():
				return
			}
			if err != nil || page.DeltaLink != "" || page.NextLink == "" || page.NextLink == link {
				return
			}
			link = page.NextLink
		}
	}()
	return p
}

// next returns the page of link, the link the fetcher is at.
func (p *prefetcher) next(link string) (connector.Page, error) {
	if p.fetch != nil {
		return p.fetch(p.ctx, link)
	}
	f, ok := <-p.pages
	switch {
	case !ok && p.ctx.Err() != nil:
		return connector.Page{}, p.ctx.Err()
	case !ok:
		return connector.Page{}, errors.New("page fetcher stopped")
	case f.link != link:
		return connector.Page{}, fmt.Errorf("page fetcher at %q, want %q", f.link, link)
	}
	return f.page, f.err
}

// stop cancels the fetch in progress and waits for the goroutine to end.
func (p *prefetcher) stop() {
	p.cancel()
	<-p.done
}

// finishFetch stages the last items and applies as much of the round as
// one transaction allows: a small round is committed right here.
func (r *Round) finishFetch(db DB, base, st *roundState, persisted bool, cursor string, buf []connector.Item, lim Limits, res *Result) error {
	var done, paused bool
	err := db.Update(func(tx Tx) error {
		if err := verify(tx, base, persisted, cursor); err != nil {
			return err
		}
		if err := r.stage(tx, buf, st); err != nil {
			return err
		}
		st.Phase = st.firstPhase()
		st.Pos = ""
		a := r.applier(tx, st, lim, res)
		var err error
		done, paused, err = a.run()
		return err
	})
	if err != nil {
		return fmt.Errorf("apply delta round: %w", err)
	}
	res.Done, res.Paused = done, paused
	return nil
}

// verify checks, inside a transaction, that the round is still the one this
// call started from.
func verify(tx Tx, base *roundState, persisted bool, cursor string) error {
	cur, err := loadRound(tx)
	if err != nil {
		return err
	}
	if !persisted {
		if cur != nil {
			return ErrRoundChanged
		}
		c, err := tx.Cursor()
		if err != nil {
			return fmt.Errorf("read cursor: %w", err)
		}
		if c != cursor {
			return ErrRoundChanged
		}
		return nil
	}
	if cur == nil || cur.ID != base.ID || cur.Phase != phaseFetch || cur.Pages != base.Pages {
		return ErrRoundChanged
	}
	return nil
}

// stage records the items by id; the last occurrence wins. Raw items are
// dropped in baseline rounds. When the round records before-states while
// staging (st.BeforeStaged: an incremental round, whose index is untouched
// until the round is applied), each record gets the item's state in the
// index here, which the before phase would otherwise read in a pass of its
// own.
func (r *Round) stage(tx Tx, items []connector.Item, st *roundState) error {
	keepRaw := st.Mode != modeBaseline
	var ps *paths
	if st.BeforeStaged {
		ps = newPaths(tx)
	}
	// Put in key order: bbolt then appends to its in-memory leaves instead
	// of shifting every entry after each insert (Graph lists a folder's
	// children in no useful order). The sort is stable, so the last
	// occurrence of a repeated id is still put last and wins.
	slices.SortStableFunc(items, func(a, b connector.Item) int { return strings.Compare(a.ID, b.ID) })
	for i := range items {
		if err := recogniseRoot(tx, &items[i], st.Mode); err != nil {
			return err
		}
		s := stagedFromGraph(&items[i], keepRaw)
		if ps != nil {
			if err := r.setBefore(tx, ps, &s); err != nil {
				return err
			}
		}
		if err := tx.PutStaged(s.ID, encodeStaged(&s)); err != nil {
			return fmt.Errorf("stage item %q: %w", s.ID, err)
		}
	}
	return nil
}

// recogniseRoot sets Root on the drive's root when Graph sent it without the
// root facet, which it does when it drops selected properties (seen with
// OneDrive for Business and SharePoint delta; see the tests). The root is
// known by its id once indexed; before that (a first enumeration, whose
// index is empty), a parentless item named "root" that is not deleted is
// taken for it. Any other
// parentless item (Graph also sends stray items of other drives without a
// parent id) is kept out of the tree when the round is applied (applyAlive).
func recogniseRoot(tx Tx, it *connector.Item, m mode) error {
	if it.Root || it.ParentID != "" || it.Deleted {
		return nil
	}
	cur, ok, err := tx.Item(it.ID)
	if err != nil {
		return fmt.Errorf("read item %q: %w", it.ID, err)
	}
	switch {
	case ok && cur.Root:
	case !ok && it.Name == "root" && (m == modeBaseline || m == modeBackfill):
	default:
		return nil
	}
	it.Root, it.Folder, it.File = true, true, false
	return nil
}

// restart discards the staged data of the broken round and starts a
// reconciling resync from loc (or the fresh enumeration link).
func (r *Round) restart(db DB, base *roundState, persisted bool, cursor, loc string) (*roundState, error) {
	var next *roundState
	err := db.Update(func(tx Tx) error {
		if err := verify(tx, base, persisted, cursor); err != nil {
			return err
		}
		if err := clearRound(tx); err != nil {
			return err
		}
		count, err := tx.ItemCount()
		if err != nil {
			return fmt.Errorf("count index: %w", err)
		}
		next = r.newRound(newRoundID(), "", count, true)
		next.Next = loc
		return saveRound(tx, next)
	})
	if err != nil {
		return nil, fmt.Errorf("start resync: %w", err)
	}
	return next, nil
}

// forgetLocation makes a resync that has not fetched anything yet start from
// the fresh enumeration link; failures are left for the next attempt.
func (r *Round) forgetLocation(db DB, base *roundState) {
	err := db.Update(func(tx Tx) error {
		if err := verify(tx, base, true, ""); err != nil {
			return err
		}
		st := *base
		st.Next = ""
		return saveRound(tx, &st)
	})
	if err != nil {
		r.log().Warn("could not reset the resync link", "err", err)
	}
}

// discard drops a round that cannot be applied; a resync stays requested.
func (r *Round) discard(db DB, base *roundState, persisted bool, cursor string) error {
	err := db.Update(func(tx Tx) error {
		if err := verify(tx, base, persisted, cursor); err != nil {
			return err
		}
		if err := clearRound(tx); err != nil {
			return err
		}
		if base.Resync {
			return saveRound(tx, &roundState{ID: newRoundID(), Phase: phaseFetch, Resync: true})
		}
		return tx.SetRoundState(nil)
	})
	if err != nil {
		return fmt.Errorf("discard delta round: %w", err)
	}
	return nil
}

func clearRound(tx Tx) error {
	if err := tx.ClearStaged(); err != nil {
		return fmt.Errorf("clear staged items: %w", err)
	}
	if err := tx.ClearPending(); err != nil {
		return fmt.Errorf("clear pending events: %w", err)
	}
	return nil
}

// checkPage rejects what the fetcher should already have refused.
func checkPage(p *connector.Page) error {
	if p.NextLink == "" && p.DeltaLink == "" {
		return fmt.Errorf("no nextLink or deltaLink: %w", ErrMalformed)
	}
	for i := range p.Items {
		if p.Items[i].ID == "" {
			return fmt.Errorf("item %d has no id: %w", i, ErrMalformed)
		}
	}
	return nil
}
