package pgstore_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"os"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/eventlog/eventlog"
	"github.com/eventlog/eventlog/pgstore"
	"github.com/eventlog/eventlog/storetest"
)

// testURL returns EVENTLOG_TEST_POSTGRES, skipping the test when it is
// unset, or failing it under CI=true where a missing database must not
// pass silently.
func testURL(t testing.TB) string {
	t.Helper()
	url := os.Getenv("EVENTLOG_TEST_POSTGRES")
	if url == "" {
		msg := "EVENTLOG_TEST_POSTGRES is not set; to run the PostgreSQL store tests set it, e.g. EVENTLOG_TEST_POSTGRES=postgres://postgres@127.0.0.1:5432/test?sslmode=disable"
		if os.Getenv("CI") == "true" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	return url
}

// newSchema creates a uniquely named, empty schema and drops it, with
// everything in it, when the test ends.
func newSchema(t testing.TB) (url, schema string) {
	t.Helper()
	url = testURL(t)
	var b [6]byte
	if _, err := rand.Read(b[:]); err != nil {
		t.Fatal(err)
	}
	schema = "eventlog_test_" + hex.EncodeToString(b[:])
	exec(t, url, "CREATE SCHEMA "+schema)
	t.Cleanup(func() { exec(t, url, "DROP SCHEMA "+schema+" CASCADE") })
	return url, schema
}

func exec(t testing.TB, url, sql string, args ...any) {
	t.Helper()
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatalf("connecting to %s: %v", url, err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, sql, args...); err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
}

// newStore opens a migrated store in a fresh schema, closed at cleanup.
func newStore(t testing.TB) *pgstore.Store {
	t.Helper()
	url, schema := newSchema(t)
	s, err := pgstore.Open(context.Background(), url, &pgstore.Options{Migrate: true, Schema: schema})
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func TestStore(t *testing.T) {
	t.Parallel()
	testURL(t)
	storetest.Exercise(t, func(t *testing.T) eventlog.Store { return newStore(t) })
}
