package sqlitestore_test

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"testing/fstest"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/eventlog/eventlog"
	"github.com/eventlog/eventlog/internal/migrate"
	"github.com/eventlog/eventlog/sqlitestore"
)

func TestMigrateRerunIsNoop(t *testing.T) {
	t.Parallel()
	s := openTemp(t, nil)
	n, err := s.Migrate(context.Background())
	if err != nil || n != 0 {
		t.Fatalf("Migrate on a migrated file = %d, %v; want 0, nil", n, err)
	}
}

func TestOpenCreatesEverySharedTable(t *testing.T) {
	t.Parallel()
	s := openTemp(t, nil)
	ctx := context.Background()
	db := s.SQLDB()
	for _, stmt := range []string{
		`INSERT INTO eventlog_tokens (name, scope, hash, created_at) VALUES ('ci', 'write', 'abc', 1)`,
		`INSERT INTO eventlog_admins (name, password_hash, created_at) VALUES ('root', 'x', 1)`,
		`INSERT INTO eventlog_settings (key, value) VALUES ('session_key', 'k')`,
	} {
		if _, err := db.ExecContext(ctx, stmt); err != nil {
			t.Errorf("%s: %v", stmt, err)
		}
	}
	if _, err := db.ExecContext(ctx, `INSERT INTO eventlog_tokens (name, scope, hash, created_at) VALUES ('other', 'read', 'abc', 2)`); err == nil {
		t.Error("eventlog_tokens.hash accepted a duplicate; it must be UNIQUE")
	}
	if s.Dialect() != "sqlite" {
		t.Errorf("Dialect() = %q, want sqlite", s.Dialect())
	}
}

// rawDB opens the file directly, bypassing the store.
func rawDB(t *testing.T, path string) *sql.DB {
	t.Helper()
	db, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

func fileSum(t *testing.T, path string) [32]byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return sha256.Sum256(b)
}

func TestOpenRefusesNewerSchemaAndLeavesFileUntouched(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "newer.db")
	s, err := sqlitestore.Open(ctx, path, nil)
	if err != nil {
		t.Fatal(err)
	}
	s.Close()
	db := rawDB(t, path)
	if _, err := db.ExecContext(ctx, `INSERT INTO eventlog_schema_version (version_id, is_applied) VALUES (999, 1)`); err != nil {
		t.Fatalf("recording a future version: %v", err)
	}
	if _, err := db.ExecContext(ctx, `PRAGMA wal_checkpoint(TRUNCATE)`); err != nil {
		t.Fatal(err)
	}
	db.Close()
	before := fileSum(t, path)

	for _, opts := range []*sqlitestore.Options{nil, {Migrate: true}} {
		s, err := sqlitestore.Open(ctx, path, opts)
		if err == nil {
			s.Close()
			t.Fatalf("Open(%+v) of a file at version 999 succeeded", opts)
		}
		if !errors.Is(err, eventlog.ErrSchemaTooNew) {
			t.Fatalf("Open(%+v) error = %v, want one wrapping ErrSchemaTooNew", opts, err)
		}
	}
	if after := fileSum(t, path); after != before {
		t.Error("Open of a newer file changed the file")
	}
	var v int64
	if err := rawDB(t, path).QueryRowContext(ctx, `SELECT max(version_id) FROM eventlog_schema_version`).Scan(&v); err != nil || v != 999 {
		t.Errorf("schema version after refused Open = %d, %v; want 999", v, err)
	}
}

func TestOpenOutdatedNeedsMigrate(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "app.db")
	// An application's own database, without eventlog's schema yet.
	db := rawDB(t, path)
	if _, err := db.ExecContext(ctx, `CREATE TABLE app_users (id INTEGER PRIMARY KEY); INSERT INTO app_users VALUES (7)`); err != nil {
		t.Fatal(err)
	}
	db.Close()

	_, err := sqlitestore.Open(ctx, path, nil)
	if !errors.Is(err, eventlog.ErrSchemaOutdated) {
		t.Fatalf("Open of a file without the schema: error = %v, want one wrapping ErrSchemaOutdated", err)
	}
	var tables int
	if err := rawDB(t, path).QueryRowContext(ctx, `SELECT count(*) FROM sqlite_master`).Scan(&tables); err != nil || tables != 1 {
		t.Errorf("refused Open left %d tables (%v); want the application's one only", tables, err)
	}
	s, err := sqlitestore.Open(ctx, path, &sqlitestore.Options{Migrate: true})
	if err != nil {
		t.Fatalf("Open with Migrate: %v", err)
	}
	defer s.Close()
	var id int
	if err := s.SQLDB().QueryRowContext(ctx, `SELECT id FROM app_users`).Scan(&id); err != nil || id != 7 {
		t.Errorf("the application's table after migration: id %d, %v", id, err)
	}
	if _, err := s.Actions(ctx); err != nil {
		t.Errorf("Actions after migration: %v", err)
	}
}

func TestOpenEmptyFileIsMigrated(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "empty.db")
	if err := os.WriteFile(path, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	s, err := sqlitestore.Open(context.Background(), path, nil)
	if err != nil {
		t.Fatalf("Open of an empty file: %v", err)
	}
	defer s.Close()
	if err := s.Ping(context.Background()); err != nil {
		t.Fatal(err)
	}
}

func TestOpenRejectsBadOptions(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	for _, tc := range []struct {
		path  string
		opts  *sqlitestore.Options
		field string
	}{
		{filepath.Join(dir, "a.db"), &sqlitestore.Options{Synchronous: "OFF"}, "Synchronous"},
		{filepath.Join(dir, "b.db"), &sqlitestore.Options{BusyTimeout: -1}, "BusyTimeout"},
		{filepath.Join(dir, "c.db"), &sqlitestore.Options{ReadConns: -2}, "ReadConns"},
		{":memory:", nil, "in-memory"},
		{"", nil, "in-memory"},
	} {
		s, err := sqlitestore.Open(context.Background(), tc.path, tc.opts)
		if err == nil {
			s.Close()
			t.Errorf("Open(%q, %+v) succeeded, want an error naming %s", tc.path, tc.opts, tc.field)
			continue
		}
		if !strings.Contains(err.Error(), tc.field) {
			t.Errorf("Open(%q, %+v) error %q does not name %s", tc.path, tc.opts, err, tc.field)
		}
	}
}

func TestParseURL(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		url, path, sync string
	}{
		{"sqlite:eventlog.db", "eventlog.db", ""},
		{"sqlite:data/events.db", "data/events.db", ""},
		{"sqlite:/var/lib/eventlog.db", "/var/lib/eventlog.db", ""},
		{"sqlite:///var/lib/eventlog.db", "/var/lib/eventlog.db", ""},
		{"sqlite3:x.db", "x.db", ""},
		{"file:x.db", "x.db", ""},
		{"file:///abs/x.db", "/abs/x.db", ""},
		{"sqlite:x.db?synchronous=NORMAL", "x.db", "NORMAL"},
	} {
		path, opts, err := sqlitestore.ParseURL(tc.url)
		if err != nil {
			t.Errorf("ParseURL(%q): %v", tc.url, err)
			continue
		}
		if d := cmp.Diff([]string{tc.path, tc.sync}, []string{path, opts.Synchronous}); d != "" {
			t.Errorf("ParseURL(%q) path, synchronous (-want +got):\n%s", tc.url, d)
		}
	}
	for _, bad := range []string{"sqlite:", "sqlite://host/x.db", "postgres://x", "sqlite:x.db?synchronous=OFF", "sqlite:x.db?cache=shared", "x.db"} {
		if _, _, err := sqlitestore.ParseURL(bad); err == nil {
			t.Errorf("ParseURL(%q) succeeded, want an error", bad)
		}
	}
}

// TestUpgradeFromV1WithEvents migrates a file written by the first
// release (schema version 1, events and rollups, no hash chain) to the
// current schema: every old event is kept and readable, the next write
// chains the old events with it, and the whole file then verifies.
func TestUpgradeFromV1WithEvents(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "v1.db")
	db := rawDB(t, path)
	v1 := fstest.MapFS{}
	src, err := fs.ReadFile(sqlitestore.Migrations(), "001_init.sql")
	if err != nil {
		t.Fatal(err)
	}
	v1["001_init.sql"] = &fstest.MapFile{Data: src}
	if n, err := migrate.Up(ctx, db, migrate.SQLite, v1); err != nil || n != 1 {
		t.Fatalf("creating a version 1 file: %d, %v", n, err)
	}
	// Rows as release 1 wrote them, rollups included.
	old := []string{
		`INSERT INTO eventlog_events (id, ts, action, user_id, user_name, object_type, object_id, extra, context)
			VALUES ('0193a6b2-7c3d-7e4f-8a9b-000000000001', 1764000000000000, 'SIGNED_UP', '42', 'alice', NULL, NULL, '{"plan":"pro"}', NULL)`,
		`INSERT INTO eventlog_events (id, ts, action, user_id, user_name, object_type, object_id, extra, context)
			VALUES ('0193a6b2-7c3d-7e4f-8a9b-000000000002', 1764000001000000, 'CREATED_WIDGET', '42', 'alice', 'widget', '17', '{}', '{"ip":"10.0.0.1"}')`,
		`INSERT INTO eventlog_action_hours VALUES ('SIGNED_UP', 1763999600, 1), ('CREATED_WIDGET', 1763999600, 1)`,
		`INSERT INTO eventlog_action_days VALUES ('SIGNED_UP', 1763942400, 1), ('CREATED_WIDGET', 1763942400, 1)`,
		`INSERT INTO eventlog_action_counts VALUES ('SIGNED_UP', 1), ('CREATED_WIDGET', 1)`,
		`INSERT INTO eventlog_actors VALUES ('42', 1764000000000000, 1764000001000000)`,
		`INSERT INTO eventlog_user_days VALUES (1763942400, '42')`,
	}
	for _, q := range old {
		if _, err := db.ExecContext(ctx, q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	db.Close()

	if _, err := sqlitestore.Open(ctx, path, nil); !errors.Is(err, eventlog.ErrSchemaOutdated) {
		t.Fatalf("Open of a version 1 file: %v; want ErrSchemaOutdated", err)
	}
	s, err := sqlitestore.Open(ctx, path, &sqlitestore.Options{Migrate: true})
	if err != nil {
		t.Fatalf("Open with Migrate: %v", err)
	}
	defer s.Close()
	e, err := s.Get(ctx, "0193a6b2-7c3d-7e4f-8a9b-000000000002")
	if err != nil || e.Action != "CREATED_WIDGET" || e.Context == nil || e.Context.IP != "10.0.0.1" {
		t.Fatalf("old event after migration: %+v, %v", e, err)
	}
	if _, _, err := s.Insert(ctx, []eventlog.Event{{ID: "0193a6b2-7c3d-7e4f-8a9b-000000000003",
		Timestamp: time.UnixMicro(1764000002000000).UTC(), Action: "PAID", Extra: []byte(`{}`)}}); err != nil {
		t.Fatalf("first write after migration: %v", err)
	}
	res, err := eventlog.Verify(ctx, s, nil)
	if err != nil || !res.OK || res.Checked != 3 {
		t.Fatalf("Verify after migration and one write = %+v, %v; want all 3 events verified", res, err)
	}
	acts, err := s.Actions(ctx)
	if err != nil || len(acts) != 3 {
		t.Fatalf("Actions after migration = %v, %v; want the two old actions and PAID", acts, err)
	}
	// Migration 004 counted the old user-day; later writes add to it.
	day := eventlog.SeriesQuery{Interval: eventlog.Day, Since: time.Unix(1763942400, 0), Until: time.Unix(1763942400+86400, 0)}
	if err := day.Normalize(); err != nil {
		t.Fatal(err)
	}
	active := func() int64 {
		t.Helper()
		bs, err := s.ActiveUsers(ctx, day)
		if err != nil || len(bs) != 1 {
			t.Fatalf("ActiveUsers = %v, %v", bs, err)
		}
		return bs[0].Count
	}
	if n := active(); n != 1 {
		t.Errorf("active users of the old day after migration = %d, want 1 (user 42)", n)
	}
	for i, u := range []string{"42", "43"} {
		if _, _, err := s.Insert(ctx, []eventlog.Event{{ID: fmt.Sprintf("0193a6b2-7c3d-7e4f-8a9b-00000000001%d", i),
			Timestamp: time.UnixMicro(1764000003000000).UTC(), Action: "PAID", User: &eventlog.User{ID: u}, Extra: []byte(`{}`)}}); err != nil {
			t.Fatal(err)
		}
	}
	if n := active(); n != 2 {
		t.Errorf("active users after events of users 42 and 43 = %d, want 2", n)
	}
	// Migration 006 summed the old day's actions; later writes add to it.
	bs, err := s.Series(ctx, day)
	if err != nil || len(bs) != 1 || bs[0].Count != 5 {
		t.Errorf("events of the old day after migration and three writes = %v, %v; want 5", bs, err)
	}
}
