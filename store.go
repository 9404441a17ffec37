package eventlog

import (
	"context"
	"database/sql"
	"time"
)

// Store is what a storage driver implements (sqlitestore, pgstore,
// mysqlstore). Every method takes events that were normalized by
// Event.Normalize and queries normalized by Query.Normalize or
// SeriesQuery.Normalize; the Logger and the HTTP layer do that. All
// stores must pass the conformance suite in package storetest, so results
// are identical whichever store is used.
type Store interface {
	// Insert stores events atomically: all of them or, on error, none.
	// An event whose ID is already stored, or repeated earlier in the
	// batch, is skipped and the stored event wins. It returns, in input
	// order, each event as stored, and whether this call stored it.
	Insert(ctx context.Context, events []Event) (stored []Event, inserted []bool, err error)
	// Get returns the event with this id, or an error wrapping ErrNotFound.
	Get(ctx context.Context, id string) (Event, error)
	// Query returns one page of events, newest first.
	Query(ctx context.Context, q Query) (Page, error)
	// Actions returns every action with its event count, most frequent
	// first (ties by action ascending).
	Actions(ctx context.Context) ([]ActionCount, error)
	// Stats returns the four pinax figures as of now.
	Stats(ctx context.Context, now time.Time) (Stats, error)
	// Series returns counts per bucket, empty buckets included
	// (FillSeries helps).
	Series(ctx context.Context, q SeriesQuery) ([]Bucket, error)
	// ActiveUsers returns the number of distinct users with an event in
	// each bucket (q.Interval is Day or Hour), empty buckets included.
	// It is served from a rollup, not by scanning events.
	ActiveUsers(ctx context.Context, q SeriesQuery) ([]Bucket, error)
	// ReadAfter returns up to limit events in write (commit) order that
	// were stored after the event with id afterID; afterID "" starts at
	// the first event. An unknown afterID wraps ErrNotFound. Live tails
	// use it to resume (SSE Last-Event-ID) without missing anything.
	ReadAfter(ctx context.Context, afterID string, limit int) ([]Event, error)
	// ForgetUser removes this user's id and name from all their events,
	// keeping the events, and returns how many events it changed.
	ForgetUser(ctx context.Context, userID string) (int64, error)
	// Ping reports whether the database is reachable.
	Ping(ctx context.Context) error
	// Close releases the store's resources.
	Close() error
}

// SQLTxStore is implemented by stores that can insert inside a caller's
// database/sql transaction (a transactional outbox). The tx must belong
// to a connection of the same database as the store.
type SQLTxStore interface {
	InsertSQLTx(ctx context.Context, tx *sql.Tx, events []Event) (stored []Event, inserted []bool, err error)
}

// SQLStore is implemented by the SQL stores. It gives packages that keep
// auxiliary tables in the same database (API tokens, admin users,
// settings) the database/sql handle and the dialect: "sqlite",
// "postgres" or "mysql".
type SQLStore interface {
	SQLDB() *sql.DB
	Dialect() string
}
