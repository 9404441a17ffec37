package eventlog_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/eventlog/eventlog"
)

// newStore returns a fresh store for a test.
func newStore(t testing.TB) eventlog.Store { return &memStore{byID: map[string]int{}} }

// memStore is an interim stand-in until sqlitestore lands: Insert,
// Get and ReadAfter only.
type memStore struct {
	mu     sync.Mutex
	events []eventlog.Event
	byID   map[string]int
}

func (m *memStore) Insert(ctx context.Context, events []eventlog.Event) ([]eventlog.Event, []bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	stored := make([]eventlog.Event, len(events))
	inserted := make([]bool, len(events))
	for i, e := range events {
		if j, ok := m.byID[e.ID]; ok {
			stored[i] = m.events[j]
			continue
		}
		m.byID[e.ID] = len(m.events)
		m.events = append(m.events, e)
		stored[i], inserted[i] = e, true
	}
	return stored, inserted, nil
}

func (m *memStore) Get(ctx context.Context, id string) (eventlog.Event, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if j, ok := m.byID[id]; ok {
		return m.events[j], nil
	}
	return eventlog.Event{}, fmt.Errorf("event %s: %w", id, eventlog.ErrNotFound)
}

func (m *memStore) ReadAfter(ctx context.Context, afterID string, limit int) ([]eventlog.Event, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	start := 0
	if afterID != "" {
		j, ok := m.byID[afterID]
		if !ok {
			return nil, eventlog.ErrNotFound
		}
		start = j + 1
	}
	end := min(start+limit, len(m.events))
	return append([]eventlog.Event(nil), m.events[start:end]...), nil
}

func (m *memStore) Query(context.Context, eventlog.Query) (eventlog.Page, error) {
	return eventlog.Page{}, eventlog.ErrNotSupported
}
func (m *memStore) Actions(context.Context) ([]eventlog.ActionCount, error) {
	return nil, eventlog.ErrNotSupported
}
func (m *memStore) Stats(context.Context, time.Time) (eventlog.Stats, error) {
	return eventlog.Stats{}, eventlog.ErrNotSupported
}
func (m *memStore) Series(context.Context, eventlog.SeriesQuery) ([]eventlog.Bucket, error) {
	return nil, eventlog.ErrNotSupported
}
func (m *memStore) ActiveUsers(context.Context, eventlog.SeriesQuery) ([]eventlog.Bucket, error) {
	return nil, eventlog.ErrNotSupported
}
func (m *memStore) ForgetUser(context.Context, string) (int64, error) {
	return 0, eventlog.ErrNotSupported
}
func (m *memStore) Ping(context.Context) error { return nil }
func (m *memStore) Close() error               { return nil }
