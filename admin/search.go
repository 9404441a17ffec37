package admin

import (
	"context"
	"time"

	"github.com/eventlog/eventlog"
)

// DefaultSearchBudget is how many events one free-text search request
// reads at most, counted from the rollups (Config.SearchBudget).
const DefaultSearchBudget = 25_000

// oldestCursorID is the smallest event id: a cursor (t, oldestCursorID)
// continues with the events strictly before t.
const oldestCursorID = "00000000-0000-0000-0000-000000000000"

// searchLookback bounds how far back the window is sought: no store
// holds events older than this before now (or the cursor).
const searchLookback = 20 * 365 * 24 * time.Hour

// windowed reports whether q's free-text search is bounded by a window:
// it is unless a user or object id filter bounds it through its index.
func windowed(q eventlog.Query) bool {
	return q.Text != "" && q.UserID == "" && q.ObjectID == ""
}

// searchWindow returns the start of the newest time window, ending at
// the page's upper bound, that holds at most budget events by the
// rollups' counts (Series, restricted to q's actions), so that a
// free-text search reads a bounded number of rows however large the
// store. It is at least one hour wide. It returns the zero time when
// the window reaches q.Since or the oldest event: then the search is
// not bounded. Counting whole buckets where the range cuts one makes
// the window narrower, never wider, than the budget.
func (h *Handler) searchWindow(ctx context.Context, q eventlog.Query, now time.Time) (time.Time, error) {
	budget := int64(h.budget)
	// The upper bound: the cursor, Until, or (events may be stamped a
	// little ahead of the server clock) an hour past now.
	upper := now.UTC().Add(time.Hour)
	if q.After != nil && q.After.Timestamp.Before(upper) {
		upper = q.After.Timestamp
	}
	if !q.Until.IsZero() && q.Until.Before(upper) {
		upper = q.Until
	}
	floor := upper.Add(-searchLookback)
	if !q.Since.IsZero() && q.Since.After(floor) {
		floor = q.Since
	}
	var acc int64
	// walk adds up buckets newest first. It returns the window start
	// when the budget is reached in b, or the zero time.
	var walk func(iv eventlog.Interval, since, until time.Time, refine bool) (time.Time, bool, error)
	walk = func(iv eventlog.Interval, since, until time.Time, refine bool) (time.Time, bool, error) {
		sq := eventlog.SeriesQuery{Interval: iv, Since: since, Until: until, Actions: q.Actions}
		if err := sq.Normalize(); err != nil {
			return time.Time{}, false, err
		}
		bs, err := h.store.Series(ctx, sq)
		if err != nil {
			return time.Time{}, false, err
		}
		for i := len(bs) - 1; i >= 0; i-- {
			b := bs[i]
			if acc+b.Count <= budget {
				acc += b.Count
				continue
			}
			if refine {
				// The budget runs out inside this day: find the hour.
				end := b.Start.Add(24 * time.Hour)
				if end.After(until) {
					end = until
				}
				if w, ok, err := walk(eventlog.Hour, b.Start, end, false); err != nil || ok {
					return w, ok, err
				}
				// The day's hours add up to less than its day count
				// only if the rollups disagree; stop at the day's start.
				return b.Start, true, nil
			}
			if acc == 0 {
				return b.Start, true, nil // at least one bucket
			}
			return b.Start.Add(iv.Duration()), true, nil
		}
		return time.Time{}, false, nil
	}
	// Hours back to the start of the day before upper's, then days
	// by growing spans, so a dense store stops after a few small reads.
	dayEnd := upper.Truncate(24 * time.Hour).Add(-24 * time.Hour)
	if upper.Sub(dayEnd) > 0 {
		start := maxTime(dayEnd, floor.Truncate(time.Hour))
		if start.Before(upper) {
			w, ok, err := walk(eventlog.Hour, start, upper, false)
			if err != nil || ok {
				return clampWindow(w, q.Since), err
			}
		}
	}
	end := dayEnd
	for _, days := range []int{14, 180, 3650, 20 * 365} {
		if !end.After(floor) {
			break
		}
		start := maxTime(end.Add(-time.Duration(days)*24*time.Hour), floor.Truncate(24*time.Hour))
		w, ok, err := walk(eventlog.Day, start, end, true)
		if err != nil || ok {
			return clampWindow(w, q.Since), err
		}
		end = start
	}
	return time.Time{}, nil
}

// clampWindow returns the zero time (no bound) when the window start is
// at or before since.
func clampWindow(w, since time.Time) time.Time {
	if w.IsZero() || (!since.IsZero() && !w.After(since)) {
		return time.Time{}
	}
	return w
}

func maxTime(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}
