package admin

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/eventlog/eventlog/sqlitestore"
)

// newTestStore opens the store the handler tests run on: a SQLite file
// in the test's temporary directory, so they need no database server.
func newTestStore(t testing.TB) testStore {
	t.Helper()
	s, err := sqlitestore.Open(context.Background(), filepath.Join(t.TempDir(), "events.db"), nil)
	if err != nil {
		t.Fatalf("sqlitestore.Open: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func TestAccountsSQLite(t *testing.T) {
	t.Parallel()
	exerciseAccounts(t, newTestStore(t))
}
