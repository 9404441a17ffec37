package client

import (
	"context"
	"fmt"
	"time"

	"github.com/eventlog/eventlog"
)

// Store returns an eventlog.Store that writes to and reads from the
// server, so that eventlog.New(c.Store(), cfg) gives a Logger logging
// remotely with group commit: concurrent Log calls become one POST.
//
// Limits: ActiveUsers, ReadAfter and ForgetUser are not part of the HTTP
// API and fail with eventlog.ErrNotSupported; Insert cannot tell an event
// it stored from one the server already had, so it reports every event as
// inserted and local subscribers see idempotent repeats again.
func (c *Client) Store() eventlog.Store { return remoteStore{c} }

type remoteStore struct{ c *Client }

func (s remoteStore) Insert(ctx context.Context, events []eventlog.Event) ([]eventlog.Event, []bool, error) {
	stored, err := s.c.LogBatch(ctx, events)
	if err != nil {
		return nil, nil, err
	}
	inserted := make([]bool, len(stored))
	for i := range inserted {
		inserted[i] = true
	}
	return stored, inserted, nil
}

func (s remoteStore) Get(ctx context.Context, id string) (eventlog.Event, error) {
	return s.c.Get(ctx, id)
}

func (s remoteStore) Query(ctx context.Context, q eventlog.Query) (eventlog.Page, error) {
	return s.c.Query(ctx, q)
}

func (s remoteStore) Actions(ctx context.Context) ([]eventlog.ActionCount, error) {
	return s.c.Actions(ctx)
}

// Stats ignores now: the server answers as of its own clock.
func (s remoteStore) Stats(ctx context.Context, _ time.Time) (eventlog.Stats, error) {
	return s.c.Stats(ctx)
}

func (s remoteStore) Series(ctx context.Context, q eventlog.SeriesQuery) ([]eventlog.Bucket, error) {
	return s.c.Series(ctx, q)
}

func (s remoteStore) ActiveUsers(context.Context, eventlog.SeriesQuery) ([]eventlog.Bucket, error) {
	return nil, fmt.Errorf("ActiveUsers: %w: %w", errRemote, eventlog.ErrNotSupported)
}

func (s remoteStore) ReadAfter(context.Context, string, int) ([]eventlog.Event, error) {
	return nil, fmt.Errorf("ReadAfter: %w (use GET /api/v1/stream): %w", errRemote, eventlog.ErrNotSupported)
}

func (s remoteStore) ForgetUser(context.Context, string) (int64, error) {
	return 0, fmt.Errorf("ForgetUser: %w: %w", errRemote, eventlog.ErrNotSupported)
}

func (s remoteStore) Ping(ctx context.Context) error { return s.c.Ping(ctx) }

// Close releases nothing: the Client owns no server resources.
func (s remoteStore) Close() error { return nil }
