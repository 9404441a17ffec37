package mysqlstore_test

import (
	"context"
	"errors"
	"testing"

	"github.com/eventlog/eventlog"
)

// TestOutboxWithBusinessRows checks that events logged in an application
// transaction, and the application's own rows, commit or roll back
// together, with subscribers told only after a commit.
func TestOutboxWithBusinessRows(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := newStore(t)
	db := s.SQLDB()
	if _, err := db.ExecContext(ctx, "CREATE TABLE widgets (id INT PRIMARY KEY, title VARCHAR(64) NOT NULL)"); err != nil {
		t.Fatal(err)
	}
	l, err := eventlog.New(s, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	seen, cancel := l.SubscribeChan(16)
	defer cancel()

	logWidget := func(id int, commit bool) eventlog.Event {
		tx, err := db.BeginTx(ctx, nil)
		if err != nil {
			t.Fatal(err)
		}
		ob, err := l.OutboxSQL(tx)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := tx.ExecContext(ctx, "INSERT INTO widgets (id, title) VALUES (?, ?)", id, "Foo"); err != nil {
			t.Fatal(err)
		}
		e, err := ob.Log(ctx, "CREATED_FOO_WIDGET", eventlog.Object{Type: "widget", ID: "w"}, eventlog.Extra{"id": id})
		if err != nil {
			t.Fatal(err)
		}
		if commit {
			err = ob.Commit()
		} else {
			err = ob.Rollback()
		}
		if err != nil {
			t.Fatal(err)
		}
		return e
	}

	rolledBack := logWidget(1, false)
	committed := logWidget(2, true)

	var widgets int
	if err := db.QueryRowContext(ctx, "SELECT COUNT(*) FROM widgets").Scan(&widgets); err != nil {
		t.Fatal(err)
	}
	if widgets != 1 {
		t.Errorf("widgets = %d, want only the committed one", widgets)
	}
	if _, err := s.Get(ctx, rolledBack.ID); !errors.Is(err, eventlog.ErrNotFound) {
		t.Errorf("Get(rolled back event) err = %v, want ErrNotFound", err)
	}
	if got, err := s.Get(ctx, committed.ID); err != nil || string(got.Extra) != `{"id":2}` {
		t.Errorf("Get(committed event) = %s, %v", got.Extra, err)
	}
	if e := <-seen; e.ID != committed.ID {
		t.Errorf("subscriber got %s, want the committed event %s", e.ID, committed.ID)
	}
	select {
	case e := <-seen:
		t.Errorf("subscriber got a second event %s (%s)", e.ID, e.Extra)
	default:
	}
	acts, err := s.Actions(ctx)
	if err != nil || len(acts) != 1 || acts[0].Count != 1 {
		t.Errorf("Actions = %v, %v; the rolled back event must not be counted", acts, err)
	}
}
