package pgstore_test

import (
	"context"
	"database/sql"
	"io/fs"
	"net/url"
	"testing"
	"testing/fstest"
	"time"

	"github.com/google/go-cmp/cmp"
	_ "github.com/jackc/pgx/v5/stdlib" // the "pgx" database/sql driver for the version 3 set-up

	"github.com/eventlog/eventlog"
	"github.com/eventlog/eventlog/internal/migrate"
	"github.com/eventlog/eventlog/pgstore"
)

// TestMigrationsBackfillRollups upgrades a schema at version 3 holding
// user-day and action-day rows: migration 004 counts the users per day
// and 005 the events per action and per day, and their triggers then
// keep the counts as events arrive and users are forgotten.
func TestMigrationsBackfillRollups(t *testing.T) {
	t.Parallel()
	base, schema := newSchema(t)
	ctx := context.Background()
	u, err := url.Parse(base)
	if err != nil {
		t.Fatal(err)
	}
	qv := u.Query()
	qv.Set("search_path", schema)
	u.RawQuery = qv.Encode()
	db, err := sql.Open("pgx", u.String())
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	v3 := fstest.MapFS{}
	for _, name := range []string{"001_init.sql", "002_chain.sql", "003_action_days.sql"} {
		b, err := fs.ReadFile(pgstore.Migrations(), name)
		if err != nil {
			t.Fatal(err)
		}
		v3[name] = &fstest.MapFile{Data: b}
	}
	if n, err := migrate.Up(ctx, db, migrate.Postgres, v3); err != nil || n != 3 {
		t.Fatalf("creating a version 3 schema: %d, %v", n, err)
	}
	day0 := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	day1 := day0.Add(24 * time.Hour)
	if _, err := db.ExecContext(ctx, `INSERT INTO eventlog_user_days (day, user_id, hours) VALUES ($1, 'a', 1), ($1, 'b', 2), ($2, 'a', 4)`,
		day0.Unix(), day1.Unix()); err != nil {
		t.Fatal(err)
	}
	if _, err := db.ExecContext(ctx, `INSERT INTO eventlog_action_days (action, day, count) VALUES ('A', $1, 3), ('B', $1, 1), ('A', $2, 2)`,
		day0.Unix(), day1.Unix()); err != nil {
		t.Fatal(err)
	}
	s, err := pgstore.Open(ctx, base, &pgstore.Options{Schema: schema, Migrate: true})
	if err != nil {
		t.Fatalf("Open with Migrate: %v", err)
	}
	defer s.Close()
	q := eventlog.SeriesQuery{Interval: eventlog.Day, Since: day0, Until: day1.Add(48 * time.Hour)}
	if err := q.Normalize(); err != nil {
		t.Fatal(err)
	}
	check := func(what string, want ...int64) {
		t.Helper()
		got, err := s.ActiveUsers(ctx, q)
		if err != nil {
			t.Fatal(err)
		}
		var counts []int64
		for _, b := range got {
			counts = append(counts, b.Count)
		}
		if d := cmp.Diff(want, counts); d != "" {
			t.Errorf("%s: active users per day (-want +got):\n%s", what, d)
		}
	}
	check("after migration", 2, 1, 0)
	totals := func(what string, wantActions []eventlog.ActionCount, wantDays ...int64) {
		t.Helper()
		acts, err := s.Actions(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if d := cmp.Diff(wantActions, acts); d != "" {
			t.Errorf("%s: Actions (-want +got):\n%s", what, d)
		}
		series, err := s.Series(ctx, q)
		if err != nil {
			t.Fatal(err)
		}
		var counts []int64
		for _, b := range series {
			counts = append(counts, b.Count)
		}
		if d := cmp.Diff(wantDays, counts); d != "" {
			t.Errorf("%s: events per day (-want +got):\n%s", what, d)
		}
	}
	totals("after migration", []eventlog.ActionCount{{Action: "A", Count: 5}, {Action: "B", Count: 1}}, 4, 2, 0)
	var events []eventlog.Event
	for _, e := range []struct {
		user string
		at   time.Time
	}{{"b", day1.Add(time.Hour)}, {"b", day1.Add(2 * time.Hour)}, {"a", day1.Add(3 * time.Hour)}, {"c", day1.Add(24 * time.Hour)}} {
		ev := eventlog.Event{Action: "SEEN", User: &eventlog.User{ID: e.user}, Timestamp: e.at}
		if err := ev.Normalize(e.at); err != nil {
			t.Fatal(err)
		}
		events = append(events, ev)
	}
	if _, _, err := s.Insert(ctx, events); err != nil {
		t.Fatal(err)
	}
	check("after inserting", 2, 2, 1)
	totals("after inserting", []eventlog.ActionCount{{Action: "A", Count: 5}, {Action: "SEEN", Count: 4}, {Action: "B", Count: 1}}, 4, 5, 1)
	if _, err := s.ForgetUser(ctx, "a"); err != nil {
		t.Fatal(err)
	}
	check("after forgetting a", 1, 1, 1)
}
