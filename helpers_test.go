package eventlog_test

import (
	"context"
	"errors"
	"log/slog"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/eventlog/eventlog"
	"github.com/eventlog/eventlog/sqlitestore"
)

// newStore returns a fresh SQLite store in the test's temporary
// directory, closed when the test ends.
func newStore(t testing.TB) eventlog.Store {
	t.Helper()
	return openStore(t, filepath.Join(t.TempDir(), "events.db"))
}

// openStore opens the SQLite store at path, closed when the test ends.
func openStore(t testing.TB, path string) eventlog.Store {
	t.Helper()
	s, err := sqlitestore.Open(context.Background(), path, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// bundle is what setup returns: a Logger over a fresh store.
type bundle struct {
	logger *eventlog.Logger
	store  eventlog.Store
}

// setup returns a Logger configured by cfg over a fresh store, both
// closed when the test ends.
func setup(t testing.TB, cfg *eventlog.Config) bundle {
	t.Helper()
	return setupOn(t, newStore(t), cfg)
}

// setupOn returns a Logger over store, closed when the test ends.
func setupOn(t testing.TB, store eventlog.Store, cfg *eventlog.Config) bundle {
	t.Helper()
	l, err := eventlog.New(store, cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	return bundle{logger: l, store: store}
}

// storedIDs returns how many times each id is stored, reading the whole
// store in write order.
func storedIDs(t testing.TB, s eventlog.Store) map[string]int {
	t.Helper()
	ids := map[string]int{}
	after := ""
	for {
		page, err := s.ReadAfter(context.Background(), after, 1000)
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range page {
			ids[e.ID]++
		}
		if len(page) < 1000 {
			return ids
		}
		after = page[len(page)-1].ID
	}
}

// gateStore holds every Insert until the gate opens, and signals each
// Insert that arrives, so a test can keep the writer busy.
type gateStore struct {
	eventlog.Store
	entered chan struct{}
	open    chan struct{}
	once    sync.Once
}

func newGateStore(s eventlog.Store) *gateStore {
	return &gateStore{Store: s, entered: make(chan struct{}, 1<<16), open: make(chan struct{})}
}

func (g *gateStore) Insert(ctx context.Context, events []eventlog.Event) ([]eventlog.Event, []bool, error) {
	g.entered <- struct{}{}
	select {
	case <-g.open:
	case <-ctx.Done():
		return nil, nil, ctx.Err()
	}
	return g.Store.Insert(ctx, events)
}

func (g *gateStore) release() { g.once.Do(func() { close(g.open) }) }

// flakyStore fails its first n Inserts with a connection-style error.
type flakyStore struct {
	eventlog.Store
	failures atomic.Int64
	calls    atomic.Int64
}

var errConnection = errors.New("connection refused (test)")

func (f *flakyStore) Insert(ctx context.Context, events []eventlog.Event) ([]eventlog.Event, []bool, error) {
	f.calls.Add(1)
	if f.failures.Add(-1) >= 0 {
		return nil, nil, errConnection
	}
	return f.Store.Insert(ctx, events)
}

// slowStore makes every Insert take at least d, like a disk with a slow
// fsync, so that concurrent calls pile up behind it.
type slowStore struct {
	eventlog.Store
	d       time.Duration
	inserts atomic.Int64
}

func (s *slowStore) Insert(ctx context.Context, events []eventlog.Event) ([]eventlog.Event, []bool, error) {
	s.inserts.Add(1)
	time.Sleep(s.d)
	return s.Store.Insert(ctx, events)
}

// discardLog is an error log for tests that provoke expected errors.
func discardLog() *slog.Logger { return slog.New(slog.DiscardHandler) }

// spoolFiles lists the segment files in a spool directory.
func spoolFiles(dir string) ([]string, error) { return filepath.Glob(filepath.Join(dir, "*.wal")) }
