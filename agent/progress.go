package agent

import (
	"context"
	"sync"
	"time"

	"github.com/onedrive-agent/onedrive-agent/connector"
)

// liveRound counts the pages and items of the round running now, page by
// page; the store saves a round's progress only every few thousand items.
type liveRound struct {
	mu      sync.Mutex
	running bool
	started time.Time
	pages   int64
	items   int64
}

func (l *liveRound) begin(now time.Time) {
	l.mu.Lock()
	l.running, l.started, l.pages, l.items = true, now, 0, 0
	l.mu.Unlock()
}

func (l *liveRound) end() {
	l.mu.Lock()
	l.running = false
	l.mu.Unlock()
}

// fetch wraps a page fetcher to count what it returns.
func (l *liveRound) fetch(f func(context.Context, string) (connector.Page, error)) func(context.Context, string) (connector.Page, error) {
	return func(ctx context.Context, link string) (connector.Page, error) {
		p, err := f(ctx, link)
		if err == nil {
			l.mu.Lock()
			l.pages++
			l.items += int64(len(p.Items))
			l.mu.Unlock()
		}
		return p, err
	}
}

// merge puts the live figures into the status's round: a round running
// now shows at least what it fetched in this run.
func (l *liveRound) merge(r *Round) *Round {
	l.mu.Lock()
	defer l.mu.Unlock()
	if !l.running {
		return r
	}
	if r == nil {
		r = &Round{Mode: "incremental", Phase: "fetch", Started: timePtr(l.started)}
	}
	r.Pages = max(r.Pages, l.pages)
	r.Items = max(r.Items, l.items)
	return r
}
