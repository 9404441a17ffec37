package natsqueue

import (
	"context"
	"database/sql"

	"github.com/eventlog/eventlog"
)

// IngestStore returns an eventlog.Store for an ingest node, to pass to
// eventlog.New: Insert publishes the events to the stream and returns
// once JetStream acknowledged them; every read (Get, Query, Stats, ...)
// and ForgetUser goes to base, the database the workers fill. So an
// unchanged eventlog.Logger — validation, group commit, LogBatch — and
// everything built on it (the HTTP API) ingest through the queue:
//
//	logger, _ := eventlog.New(q.IngestStore(store), nil)
//	cancel, _ := q.Subscribe(ctx, func(e eventlog.Event) { logger.Notify(e) }) // tail every node
//
// Two differences from a database store follow from the queue. Insert
// reports every event as not inserted by this call, because whether its
// id is new is only known when a worker stores it; so the Logger notifies
// its subscribers of nothing itself, and Subscribe calling Logger.Notify
// feeds them from the stream instead, including events ingested on other
// nodes, each once. And Insert returns the events as published: when an
// id was already stored with other content, the stored event wins later,
// in the worker.
//
// When base implements eventlog.SQLStore, so does the returned store.
func (q *Queue) IngestStore(base eventlog.Store) eventlog.Store {
	s := &ingestStore{Store: base, pub: q.pub}
	if sq, ok := base.(eventlog.SQLStore); ok {
		return &ingestSQLStore{ingestStore: s, sql: sq}
	}
	return s
}

type ingestStore struct {
	eventlog.Store
	pub *Publisher
}

// Insert publishes events and waits for JetStream's acknowledgements.
func (s *ingestStore) Insert(ctx context.Context, events []eventlog.Event) ([]eventlog.Event, []bool, error) {
	if err := s.pub.Publish(ctx, events); err != nil {
		return nil, nil, err
	}
	return events, make([]bool, len(events)), nil
}

type ingestSQLStore struct {
	*ingestStore
	sql eventlog.SQLStore
}

// SQLDB returns the database handle of the base store.
func (s *ingestSQLStore) SQLDB() *sql.DB { return s.sql.SQLDB() }

// Dialect returns the dialect of the base store.
func (s *ingestSQLStore) Dialect() string { return s.sql.Dialect() }
