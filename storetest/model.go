package storetest

import (
	"bytes"
	"encoding/json"
	"slices"
	"strings"
	"time"

	"github.com/eventlog/eventlog"
)

// The reference model: plain Go over a slice of events, giving the exact
// result every store must return.

// sortNewestFirst orders events ts desc, id desc, as every store does.
func sortNewestFirst(events []eventlog.Event) {
	slices.SortFunc(events, func(a, b eventlog.Event) int {
		if c := b.Timestamp.Compare(a.Timestamp); c != 0 {
			return c
		}
		return strings.Compare(b.ID, a.ID)
	})
}

// modelQuery returns every event matching q's filters (ignoring Limit and
// After), newest first.
func modelQuery(events []eventlog.Event, q eventlog.Query) []eventlog.Event {
	var out []eventlog.Event
	for _, e := range events {
		if matches(e, q) {
			out = append(out, e)
		}
	}
	sortNewestFirst(out)
	return out
}

func matches(e eventlog.Event, q eventlog.Query) bool {
	if len(q.Actions) > 0 && !slices.Contains(q.Actions, e.Action) {
		return false
	}
	if q.UserID != "" && (e.User == nil || e.User.ID != q.UserID) {
		return false
	}
	if q.ObjectType != "" && (e.Object == nil || e.Object.Type != q.ObjectType) {
		return false
	}
	if q.ObjectID != "" && (e.Object == nil || e.Object.ID != q.ObjectID) {
		return false
	}
	if !q.Since.IsZero() && e.Timestamp.Before(q.Since) {
		return false
	}
	if !q.Until.IsZero() && !e.Timestamp.Before(q.Until) {
		return false
	}
	if q.Text != "" && !textMatches(e, q.Text) {
		return false
	}
	for _, w := range q.Where {
		if !whereMatches(e.Extra, w) {
			return false
		}
	}
	return true
}

// asciiLower folds A–Z only: the case folding every store guarantees.
func asciiLower(s string) string {
	return strings.Map(func(r rune) rune {
		if r >= 'A' && r <= 'Z' {
			return r + ('a' - 'A')
		}
		return r
	}, s)
}

func textMatches(e eventlog.Event, text string) bool {
	needle := asciiLower(text)
	fields := []string{e.Action, string(e.Extra)}
	if e.User != nil {
		fields = append(fields, e.User.ID, e.User.Name)
	}
	if e.Object != nil {
		fields = append(fields, e.Object.Type, e.Object.ID)
	}
	for _, f := range fields {
		if strings.Contains(asciiLower(f), needle) {
			return true
		}
	}
	return false
}

// whereMatches compares a top-level value of an extra object with JSON
// value semantics: numbers numerically, no conversion between types, and
// null matching only a key that is present with the value null.
func whereMatches(extra json.RawMessage, w eventlog.Where) bool {
	dec := json.NewDecoder(bytes.NewReader(extra))
	dec.UseNumber()
	var obj any
	if err := dec.Decode(&obj); err != nil {
		return false
	}
	m, ok := obj.(map[string]any)
	if !ok {
		return false
	}
	v, present := m[w.Key]
	if !present {
		return false
	}
	switch want := w.Value.(type) {
	case nil:
		return v == nil
	case bool:
		got, ok := v.(bool)
		return ok && got == want
	case string:
		got, ok := v.(string)
		return ok && got == want
	case float64:
		n, ok := v.(json.Number)
		if !ok {
			return false
		}
		f, err := n.Float64()
		return err == nil && f == want
	}
	return false
}

// modelActions counts events per action, most frequent first, ties by
// action ascending.
func modelActions(events []eventlog.Event) []eventlog.ActionCount {
	counts := map[string]int64{}
	for _, e := range events {
		counts[e.Action]++
	}
	out := make([]eventlog.ActionCount, 0, len(counts))
	for a, n := range counts {
		out = append(out, eventlog.ActionCount{Action: a, Count: n})
	}
	slices.SortFunc(out, func(a, b eventlog.ActionCount) int {
		if a.Count != b.Count {
			if a.Count > b.Count {
				return -1
			}
			return 1
		}
		return strings.Compare(a.Action, b.Action)
	})
	return out
}

// modelStats applies the definition in eventlog.Stats: a user is used in
// the last N days when they have an event at or after now-N days, and
// active when, in addition, their first event is strictly before now-N
// days. Events without a user count for nobody.
func modelStats(events []eventlog.Event, now time.Time) eventlog.Stats {
	type span struct{ first, last time.Time }
	users := map[string]*span{}
	for _, e := range events {
		if e.User == nil {
			continue
		}
		s, ok := users[e.User.ID]
		if !ok {
			users[e.User.ID] = &span{e.Timestamp, e.Timestamp}
			continue
		}
		if e.Timestamp.Before(s.first) {
			s.first = e.Timestamp
		}
		if e.Timestamp.After(s.last) {
			s.last = e.Timestamp
		}
	}
	var st eventlog.Stats
	seven, thirty := now.Add(-7*24*time.Hour), now.Add(-30*24*time.Hour)
	for _, s := range users {
		if !s.last.Before(seven) {
			st.UsedSeven++
			if s.first.Before(seven) {
				st.ActiveSeven++
			}
		}
		if !s.last.Before(thirty) {
			st.UsedThirty++
			if s.first.Before(thirty) {
				st.ActiveThirty++
			}
		}
	}
	return st
}

// modelSeries counts events per bucket of a normalized series query, or
// with distinctUsers the distinct users per bucket (ActiveUsers, which
// ignores q.Actions).
func modelSeries(events []eventlog.Event, q eventlog.SeriesQuery, distinctUsers bool) []eventlog.Bucket {
	w := q.Interval.Duration()
	counts := map[int64]int64{}
	seen := map[int64]map[string]bool{}
	for _, e := range events {
		if e.Timestamp.Before(q.Since) || !e.Timestamp.Before(q.Until) {
			continue
		}
		if !distinctUsers && len(q.Actions) > 0 && !slices.Contains(q.Actions, e.Action) {
			continue
		}
		b := e.Timestamp.Truncate(w).Unix()
		if !distinctUsers {
			counts[b]++
			continue
		}
		if e.User == nil {
			continue
		}
		if seen[b] == nil {
			seen[b] = map[string]bool{}
		}
		if !seen[b][e.User.ID] {
			seen[b][e.User.ID] = true
			counts[b]++
		}
	}
	return eventlog.FillSeries(q, counts)
}
