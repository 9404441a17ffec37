package pgstore_test

import (
	"context"
	"errors"
	"io/fs"
	"testing"

	"github.com/eventlog/eventlog"
	"github.com/eventlog/eventlog/pgstore"
)

func TestOpenWithoutSchemaIsOutdated(t *testing.T) {
	t.Parallel()
	url, schema := newSchema(t)
	ctx := context.Background()
	_, err := pgstore.Open(ctx, url, &pgstore.Options{Schema: schema})
	if !errors.Is(err, eventlog.ErrSchemaOutdated) {
		t.Fatalf("Open on an empty schema: error = %v, want one wrapping ErrSchemaOutdated", err)
	}
	// Checking must not have created the tables.
	s, err := pgstore.Open(ctx, url, &pgstore.Options{Schema: schema, Migrate: true})
	if err != nil {
		t.Fatalf("Open with Migrate: %v", err)
	}
	defer s.Close()
	var n int
	if err := s.Pool().QueryRow(ctx, `SELECT count(*) FROM eventlog_schema_version WHERE version_id > 0`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	files, err := fs.Glob(pgstore.Migrations(), "*.sql")
	if err != nil {
		t.Fatal(err)
	}
	if n != len(files) {
		t.Errorf("after migrating, %d versions are recorded, want %d: the check before it must not have applied one", n, len(files))
	}
}

func TestMigrateTwiceIsNoOp(t *testing.T) {
	t.Parallel()
	s := newStore(t)
	ctx := context.Background()
	n, err := s.Migrate(ctx)
	if err != nil || n != 0 {
		t.Fatalf("second Migrate = %d, %v; want 0, nil", n, err)
	}
	url, schema := schemaOf(t, s)
	again, err := pgstore.Open(ctx, url, &pgstore.Options{Schema: schema})
	if err != nil {
		t.Fatalf("Open without Migrate on a migrated schema: %v", err)
	}
	again.Close()
}

func TestNewerSchemaIsRefused(t *testing.T) {
	t.Parallel()
	s := newStore(t)
	ctx := context.Background()
	ev := eventlog.Event{Action: "KEPT"}
	if err := ev.Normalize(ev.Timestamp); err != nil {
		t.Fatal(err)
	}
	if _, _, err := s.Insert(ctx, []eventlog.Event{ev}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Pool().Exec(ctx, `INSERT INTO eventlog_schema_version (version_id, is_applied) VALUES (999, true)`); err != nil {
		t.Fatal(err)
	}
	url, schema := schemaOf(t, s)
	for _, migrate := range []bool{false, true} {
		_, err := pgstore.Open(ctx, url, &pgstore.Options{Schema: schema, Migrate: migrate})
		if !errors.Is(err, eventlog.ErrSchemaTooNew) {
			t.Errorf("Open(Migrate: %v) on a newer schema: error = %v, want one wrapping ErrSchemaTooNew", migrate, err)
		}
	}
	if _, err := s.Migrate(ctx); !errors.Is(err, eventlog.ErrSchemaTooNew) {
		t.Errorf("Migrate on a newer schema: error = %v, want one wrapping ErrSchemaTooNew", err)
	}
	if _, err := s.Get(ctx, ev.ID); err != nil {
		t.Errorf("the newer database was touched: Get: %v", err)
	}
}

// schemaOf returns the URL and schema a test store was opened with.
func schemaOf(t *testing.T, s *pgstore.Store) (url, schema string) {
	t.Helper()
	if err := s.Pool().QueryRow(context.Background(), `SELECT current_schema()`).Scan(&schema); err != nil {
		t.Fatal(err)
	}
	return testURL(t), schema
}
