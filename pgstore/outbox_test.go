package pgstore_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/eventlog/eventlog"
)

var outboxNow = time.Date(2026, 11, 27, 10, 58, 39, 123456000, time.UTC)

func TestOutboxPgxTx(t *testing.T) {
	t.Parallel()
	s := newStore(t)
	ctx := context.Background()
	l, err := eventlog.New(s, &eventlog.Config{Now: func() time.Time { return outboxNow }})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	ch, cancel := l.SubscribeChan(4)
	defer cancel()

	tx, err := s.Pool().Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	ob := s.Outbox(l, tx)
	lost, err := ob.Log(ctx, "ROLLED_BACK", eventlog.User{ID: "u1"})
	if err != nil {
		t.Fatalf("Outbox.Log: %v", err)
	}
	if err := ob.Rollback(); err != nil {
		t.Fatalf("Rollback: %v", err)
	}
	if _, err := s.Get(ctx, lost.ID); !errors.Is(err, eventlog.ErrNotFound) {
		t.Errorf("Get(rolled back) error = %v, want ErrNotFound", err)
	}

	tx, err = s.Pool().Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	// A business write in the same transaction commits with the event.
	if _, err := tx.Exec(ctx, `INSERT INTO eventlog_settings (key, value) VALUES ('outbox-test', 'yes')`); err != nil {
		t.Fatal(err)
	}
	ob = s.Outbox(l, tx)
	kept, err := ob.Log(ctx, "COMMITTED", eventlog.User{ID: "u1"}, eventlog.Extra{"n": 1})
	if err != nil {
		t.Fatalf("Outbox.Log: %v", err)
	}
	select {
	case e := <-ch:
		t.Fatalf("subscriber heard %s before Commit", e.Action)
	default:
	}
	if err := ob.Commit(); err != nil {
		t.Fatalf("Commit: %v", err)
	}
	got, err := s.Get(ctx, kept.ID)
	if err != nil {
		t.Fatalf("Get(committed): %v", err)
	}
	if string(got.Extra) != `{"n":1}` || got.Action != "COMMITTED" {
		t.Errorf("committed event = %+v", got)
	}
	select {
	case e := <-ch:
		if e.ID != kept.ID {
			t.Errorf("subscriber heard %s, want %s", e.ID, kept.ID)
		}
	case <-time.After(10 * time.Second):
		t.Error("subscriber not notified after Commit")
	}
	acts, err := s.Actions(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff([]eventlog.ActionCount{{Action: "COMMITTED", Count: 1}}, acts); d != "" {
		t.Errorf("Actions (-want +got):\n%s", d)
	}
}

func TestInsertTxDuplicates(t *testing.T) {
	t.Parallel()
	s := newStore(t)
	ctx := context.Background()
	mk := func(action string) eventlog.Event {
		e := eventlog.Event{Action: action, Extra: []byte(`{"big":9007199254740993,"b":1,"a":"\u00e9"}`)}
		if err := e.Normalize(outboxNow); err != nil {
			t.Fatal(err)
		}
		return e
	}
	old, fresh := mk("STORED_FIRST"), mk("NEW")
	if _, _, err := s.Insert(ctx, []eventlog.Event{old}); err != nil {
		t.Fatal(err)
	}
	retry := old
	retry.Action = "RETRIED"
	tx, err := s.Pool().Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback(ctx)
	stored, inserted, err := s.InsertTx(ctx, tx, []eventlog.Event{retry, fresh, fresh})
	if err != nil {
		t.Fatalf("InsertTx: %v", err)
	}
	if d := cmp.Diff([]bool{false, true, false}, inserted); d != "" {
		t.Errorf("inserted flags (-want +got):\n%s", d)
	}
	if stored[0].Action != "STORED_FIRST" {
		t.Errorf("a repeated id returned action %q, want the stored event's STORED_FIRST", stored[0].Action)
	}
	if string(stored[0].Extra) != string(old.Extra) {
		t.Errorf("extra round trip = %s, want %s byte for byte", stored[0].Extra, old.Extra)
	}
	if err := tx.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	got, err := s.Get(ctx, fresh.ID)
	if err != nil {
		t.Fatalf("Get: %v", err)
	}
	if string(got.Extra) != string(fresh.Extra) {
		t.Errorf("extra round trip = %s, want %s", got.Extra, fresh.Extra)
	}
}

// TestInsertBatchDuplicates covers the COPY path (batches of 16 or more):
// ids already stored and ids repeated in the batch are skipped, the stored
// event wins, and rollups count each event once.
func TestInsertBatchDuplicates(t *testing.T) {
	t.Parallel()
	s := newStore(t)
	ctx := context.Background()
	var events []eventlog.Event
	for range 40 {
		e := eventlog.Event{Action: "BATCHED", User: &eventlog.User{ID: "u"}}
		if err := e.Normalize(outboxNow); err != nil {
			t.Fatal(err)
		}
		events = append(events, e)
	}
	if _, _, err := s.Insert(ctx, events[:20]); err != nil {
		t.Fatal(err)
	}
	retry := events[5]
	retry.Action = "CHANGED"
	batch := append([]eventlog.Event{retry}, events[10:]...)
	batch = append(batch, events[30])
	stored, inserted, err := s.Insert(ctx, batch)
	if err != nil {
		t.Fatalf("Insert: %v", err)
	}
	for i, e := range batch {
		want := i >= 11 && i <= 30 // events[20:40], first occurrence only
		if inserted[i] != want {
			t.Errorf("inserted[%d] (event %s) = %v, want %v", i, e.ID, inserted[i], want)
		}
		if stored[i].ID != e.ID || stored[i].Action != "BATCHED" {
			t.Errorf("stored[%d] = %s %s, want %s BATCHED", i, stored[i].ID, stored[i].Action, e.ID)
		}
	}
	acts, err := s.Actions(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff([]eventlog.ActionCount{{Action: "BATCHED", Count: 40}}, acts); d != "" {
		t.Errorf("Actions (-want +got):\n%s", d)
	}
	after, err := s.ReadAfter(ctx, "", 100)
	if err != nil {
		t.Fatal(err)
	}
	if len(after) != len(events) {
		t.Fatalf("ReadAfter returned %d events, want %d", len(after), len(events))
	}
	for i := range after {
		if after[i].ID != events[i].ID {
			t.Fatalf("ReadAfter[%d] = %s, want %s: write order must follow input order", i, after[i].ID, events[i].ID)
		}
	}
}
