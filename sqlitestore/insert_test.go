package sqlitestore_test

import (
	"context"
	"database/sql"
	"fmt"
	"maps"
	"slices"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/eventlog/eventlog"
)

// TestInsertRepeatsAcrossChunks repeats ids inside one multi-row chunk,
// across chunks and from an earlier call, in a batch large enough to use
// every chunk size, and checks each answer against the first occurrence.
func TestInsertRepeatsAcrossChunks(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := openTemp(t, nil)
	at := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	newEvent := func(i int) eventlog.Event {
		e := eventlog.Event{
			Timestamp: at.Add(time.Duration(i) * time.Second),
			Action:    fmt.Sprintf("ACTION_%d", i%3),
			User:      &eventlog.User{ID: fmt.Sprintf("user-%d", i%7), Name: "Ada"},
			Extra:     []byte(fmt.Sprintf(`{"i":%d}`, i)),
		}
		if err := e.Normalize(at); err != nil {
			t.Fatal(err)
		}
		return e
	}
	earlier := []eventlog.Event{newEvent(-1), newEvent(-2)}
	if _, _, err := s.Insert(ctx, earlier); err != nil {
		t.Fatal(err)
	}
	batch := make([]eventlog.Event, 157) // 2×64 + 16 + 3×4 + 1: every chunk size
	for i := range batch {
		batch[i] = newEvent(i)
	}
	repeat := map[int]int{ // position -> the earlier position it repeats
		5: 2, 63: 62, 64: 3, 100: 64, 150: 120, 156: 155,
	}
	// In position order, so a repeat of a repeat (100 -> 64 -> 3) takes
	// the id 64 already took; map order made this test flaky.
	for _, i := range slices.Sorted(maps.Keys(repeat)) {
		e := newEvent(1000 + i) // different content, same id
		e.ID = batch[repeat[i]].ID
		batch[i] = e
	}
	batch[20].ID, batch[130].ID = earlier[0].ID, earlier[1].ID

	stored, inserted, err := s.Insert(ctx, batch)
	if err != nil {
		t.Fatal(err)
	}
	want := make([]eventlog.Event, len(batch))
	wantInserted := make([]bool, len(batch))
	counts := map[string]int64{"ACTION_-1": 1, "ACTION_-2": 1} // the earlier two
	for i, e := range batch {
		switch {
		case i == 20:
			want[i] = earlier[0]
		case i == 130:
			want[i] = earlier[1]
		default:
			if j, ok := repeat[i]; ok {
				want[i] = want[j]
				continue
			}
			want[i], wantInserted[i] = e, true
			counts[e.Action]++
		}
	}
	if d := cmp.Diff(want, stored); d != "" {
		t.Errorf("stored events (-want +got):\n%s", d)
	}
	if d := cmp.Diff(wantInserted, inserted); d != "" {
		t.Errorf("inserted (-want +got):\n%s", d)
	}
	actions, err := s.Actions(ctx)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]int64{}
	for _, a := range actions {
		got[a.Action] = a.Count
	}
	if d := cmp.Diff(counts, got); d != "" {
		t.Errorf("action counts (-want +got):\n%s", d)
	}
	for i, e := range want {
		g, err := s.Get(ctx, e.ID)
		if err != nil {
			t.Fatalf("Get(%s): %v", e.ID, err)
		}
		if d := cmp.Diff(e, g); d != "" {
			t.Errorf("Get(batch[%d].ID) (-want +got):\n%s", i, d)
		}
	}
}

// TestInsertSQLTx inserts a batch that spans several chunk sizes, with a
// repeat, inside the caller's transaction: a rollback leaves nothing, a
// commit stores the batch and its rollups.
func TestInsertSQLTx(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := openTemp(t, nil)
	at := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	batch := make([]eventlog.Event, 70)
	for i := range batch {
		batch[i] = eventlog.Event{Timestamp: at, Action: "OUTBOX", User: &eventlog.User{ID: "u"}}
		if err := batch[i].Normalize(at); err != nil {
			t.Fatal(err)
		}
	}
	batch[69].ID = batch[0].ID
	insert := func() ([]eventlog.Event, []bool, *sql.Tx) {
		tx, err := s.SQLDB().BeginTx(ctx, nil)
		if err != nil {
			t.Fatal(err)
		}
		stored, inserted, err := s.InsertSQLTx(ctx, tx, batch)
		if err != nil {
			tx.Rollback()
			t.Fatalf("InsertSQLTx: %v", err)
		}
		return stored, inserted, tx
	}
	_, _, tx := insert()
	if err := tx.Rollback(); err != nil {
		t.Fatal(err)
	}
	if acts, err := s.Actions(ctx); err != nil || len(acts) != 0 {
		t.Fatalf("after rollback, Actions = %v, %v; want none", acts, err)
	}
	stored, inserted, tx := insert()
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
	for i := range batch {
		if want := i != 69; inserted[i] != want {
			t.Errorf("inserted[%d] = %v, want %v", i, inserted[i], want)
		}
	}
	if stored[69].ID != batch[0].ID {
		t.Errorf("stored[69].ID = %s, want the first occurrence's %s", stored[69].ID, batch[0].ID)
	}
	acts, err := s.Actions(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff([]eventlog.ActionCount{{Action: "OUTBOX", Count: 69}}, acts); d != "" {
		t.Errorf("Actions (-want +got):\n%s", d)
	}
}
