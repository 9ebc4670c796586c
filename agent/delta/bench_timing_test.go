package delta_test

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/onedrive-agent/onedrive-agent/agent/delta"
	"github.com/onedrive-agent/onedrive-agent/connector"
)

// roundTimes splits the wall time of a round: time in Fetch (HTTP and
// decoding), and per phase the time in the transactions' work and in their
// commits (bbolt's rebalance, page writes and fsync). It tells where a round
// slower than its limit spends the difference.
type roundTimes struct {
	fetch   time.Duration
	fetches int
	work    map[string]time.Duration
	commit  map[string]time.Duration
	txs     map[string]int
}

func newRoundTimes() *roundTimes {
	return &roundTimes{work: map[string]time.Duration{}, commit: map[string]time.Duration{}, txs: map[string]int{}}
}

// wrapFetch times every call of f.
func (t *roundTimes) wrapFetch(f delta.FetchFunc) delta.FetchFunc {
	return func(ctx context.Context, url string) (connector.Page, error) {
		start := time.Now()
		p, err := f(ctx, url)
		t.fetch += time.Since(start)
		t.fetches++
		return p, err
	}
}

// timedDB times the Update transactions of a DB, keyed by the phase the
// round state shows at the end of the transaction's work ("committed" once
// the round is done). Views are not timed.
type timedDB struct {
	delta.DB
	t *roundTimes
}

func (d timedDB) Update(fn func(delta.Tx) error) error {
	start := time.Now()
	var work time.Duration
	phase := "?"
	err := d.DB.Update(func(tx delta.Tx) error {
		s := time.Now()
		err := fn(tx)
		work = time.Since(s)
		if p, ok, perr := delta.InProgress(tx); perr == nil {
			phase = "committed"
			if ok {
				phase = p.Phase
			}
		}
		return err
	})
	d.t.work[phase] += work
	d.t.commit[phase] += time.Since(start) - work
	d.t.txs[phase]++
	return err
}

// String is a one-line summary: "fetch 12.1s (2001 calls); fetch txs 400: work 1.2s commit 3.4s; ...".
func (t *roundTimes) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "in Fetch %v (%d calls)", t.fetch.Round(time.Millisecond), t.fetches)
	phases := make([]string, 0, len(t.txs))
	for p := range t.txs {
		phases = append(phases, p)
	}
	sort.Strings(phases)
	for _, p := range phases {
		fmt.Fprintf(&b, "; %s: %d txs, work %v, commit %v", p, t.txs[p],
			t.work[p].Round(time.Millisecond), t.commit[p].Round(time.Millisecond))
	}
	return b.String()
}
