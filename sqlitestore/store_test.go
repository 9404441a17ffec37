package sqlitestore_test

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/eventlog/eventlog"
	"github.com/eventlog/eventlog/sqlitestore"
	"github.com/eventlog/eventlog/storetest"
)

func openTemp(t testing.TB, opts *sqlitestore.Options) *sqlitestore.Store {
	t.Helper()
	path := filepath.Join(t.TempDir(), "events.db")
	s, err := sqlitestore.Open(context.Background(), path, opts)
	if err != nil {
		t.Fatalf("Open(%s): %v", path, err)
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return s
}

func TestStore(t *testing.T) {
	t.Parallel()
	storetest.Exercise(t, func(t *testing.T) eventlog.Store { return openTemp(t, nil) })
}

// BenchmarkStore runs the shared benchmark; EVENTLOG_BENCH_EVENTS sizes
// the pre-loaded store of the read benchmarks (default 100000).
func BenchmarkStore(b *testing.B) {
	storetest.Benchmark(b, func(b *testing.B) eventlog.Store { return openTemp(b, nil) })
}
