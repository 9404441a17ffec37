package storetest

import (
	"errors"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/eventlog/eventlog"
)

// testPrune checks that Prune deletes exactly the events its query
// selects, in several batches, that the rollups then describe exactly
// the events left (Actions, Series, ActiveUsers), and that Stats, read
// from the actors rollup, is unchanged (see eventlog.Pruner).
func testPrune(t *testing.T, s eventlog.Store) {
	p, ok := s.(eventlog.Pruner)
	if !ok {
		t.Skipf("%T does not implement eventlog.Pruner", s)
	}
	ctx := ctxT(t)
	events := normalized(t, queryFixture(300))
	mustInsert(t, ctx, s, events)
	first := events[len(events)-1].Timestamp
	statsBefore, err := s.Stats(ctx, base)
	if err != nil {
		t.Fatal(err)
	}

	if _, err := p.Prune(ctx, eventlog.PruneQuery{}); !errors.Is(err, eventlog.ErrInvalid) {
		t.Fatalf("Prune without Before: %v, want ErrInvalid", err)
	}
	if n, err := p.Prune(ctx, eventlog.PruneQuery{Before: first}); err != nil || n != 0 {
		t.Fatalf("Prune before the first event: %d, %v; want 0", n, err)
	}

	remaining := events
	mid := events[len(events)/2].Timestamp
	for _, q := range []eventlog.PruneQuery{
		// One action, older than the middle, seven per batch.
		{Before: mid, Actions: []string{"LOGGED_IN"}, BatchSize: 7},
		// Two actions, one of them already pruned up to mid.
		{Before: mid.Add(12 * time.Hour), Actions: []string{"LOGGED_IN", "A_B_TEST"}, BatchSize: 5},
		// Everything but two actions, older than the middle.
		{Before: mid, Except: []string{"SIGNED_UP", "PAID_50%_OFF"}, BatchSize: 9},
		// Everything older than the middle; the cut falls inside a run
		// of equal timestamps only if the fixture puts one there, and
		// events at exactly Before stay.
		{Before: mid, BatchSize: 10},
	} {
		var keep, gone []eventlog.Event
		for _, e := range remaining {
			if q.Matches(e) {
				gone = append(gone, e)
			} else {
				keep = append(keep, e)
			}
		}
		if len(gone) == 0 {
			t.Fatalf("query %+v selects nothing in the fixture", q)
		}
		n, err := p.CountPrunable(ctx, q)
		if err != nil || n != int64(len(gone)) {
			t.Fatalf("CountPrunable(%+v) = %d, %v; want %d", q, n, err, len(gone))
		}
		var calls []int64
		q.Progress = func(deleted int64) { calls = append(calls, deleted) }
		n, err = p.Prune(ctx, q)
		if err != nil || n != int64(len(gone)) {
			t.Fatalf("Prune(%+v) = %d, %v; want %d", q, n, err, len(gone))
		}
		wantCalls := (len(gone) + q.BatchSize - 1) / q.BatchSize
		if len(calls) != wantCalls || calls[len(calls)-1] != n {
			t.Errorf("Prune(%+v) reported progress %v, want %d batches ending at %d", q, calls, wantCalls, n)
		}
		if n, err := p.CountPrunable(ctx, q); err != nil || n != 0 {
			t.Fatalf("CountPrunable after Prune = %d, %v; want 0", n, err)
		}
		remaining = keep
		checkRemaining(t, s, remaining, first)
	}
	statsAfter, err := s.Stats(ctx, base)
	if err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff(statsBefore, statsAfter); d != "" {
		t.Errorf("Stats changed by Prune (-before +after):\n%s", d)
	}

	// Pruning everything leaves empty rollups.
	if _, err := p.Prune(ctx, eventlog.PruneQuery{Before: base.Add(time.Hour), BatchSize: 1000}); err != nil {
		t.Fatal(err)
	}
	checkRemaining(t, s, nil, first)
}

// checkRemaining compares the store's events and rollups with the model
// of the events it should hold.
func checkRemaining(t *testing.T, s eventlog.Store, want []eventlog.Event, first time.Time) {
	t.Helper()
	ctx := ctxT(t)
	got := queryAll(t, ctx, s, eventlog.Query{Limit: 1000})
	wantSorted := modelQuery(want, eventlog.Query{Limit: 1000})
	if d := diffEvents(wantSorted, got); d != "" {
		t.Fatalf("events after Prune (-want +got):\n%s", d)
	}
	acts, err := s.Actions(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff(modelActions(want), acts); d != "" {
		t.Errorf("Actions after Prune (-want +got):\n%s", d)
	}
	for _, interval := range []eventlog.Interval{eventlog.Hour, eventlog.Day} {
		q := eventlog.SeriesQuery{Interval: interval, Since: first.Add(-48 * time.Hour), Until: base.Add(48 * time.Hour)}
		if err := q.Normalize(); err != nil {
			t.Fatal(err)
		}
		series, err := s.Series(ctx, q)
		if err != nil {
			t.Fatal(err)
		}
		if d := cmp.Diff(modelSeries(want, q, false), series); d != "" {
			t.Errorf("Series by %v after Prune (-want +got):\n%s", interval, d)
		}
		active, err := s.ActiveUsers(ctx, q)
		if err != nil {
			t.Fatal(err)
		}
		if d := cmp.Diff(modelSeries(want, q, true), active); d != "" {
			t.Errorf("ActiveUsers by %v after Prune (-want +got):\n%s", interval, d)
		}
	}
}

// testPruneBackdatedDuring checks that an event inserted while a prune
// runs, with a timestamp older than the events it already deleted, is
// pruned too when the query selects it: a store that walks forward from
// the last deleted event must still look behind it before it stops.
func testPruneBackdatedDuring(t *testing.T, s eventlog.Store) {
	p, ok := s.(eventlog.Pruner)
	if !ok {
		t.Skipf("%T does not implement eventlog.Pruner", s)
	}
	ctx := ctxT(t)
	events := normalized(t, queryFixture(60))
	mustInsert(t, ctx, s, events)
	oldest := events[len(events)-1].Timestamp
	late := normalized(t, []eventlog.Event{{Action: "LATE_BACKDATED", Timestamp: oldest.Add(-time.Hour), Extra: []byte(`{}`)}})
	inserted := false
	q := eventlog.PruneQuery{Before: base.Add(time.Hour), BatchSize: 7, Progress: func(int64) {
		if !inserted {
			inserted = true
			mustInsert(t, ctx, s, late)
		}
	}}
	n, err := p.Prune(ctx, q)
	if err != nil || n != int64(len(events)+1) {
		t.Fatalf("Prune with an event back-dated behind it meanwhile = %d, %v; want %d", n, err, len(events)+1)
	}
	if left, err := p.CountPrunable(ctx, eventlog.PruneQuery{Before: base.Add(time.Hour)}); err != nil || left != 0 {
		t.Fatalf("CountPrunable after Prune = %d, %v; want 0", left, err)
	}
}
