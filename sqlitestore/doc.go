// Package sqlitestore is the embedded default eventlog.Store: one SQLite
// file, written through modernc.org/sqlite (pure Go, no cgo).
//
// The file runs in WAL mode. All writes go through one connection (SQLite
// allows one writer at a time; serializing them in-process avoids
// SQLITE_BUSY), while reads use a pool of read-only connections that never
// wait for the writer. Rollups (eventlog_action_hours,
// eventlog_action_counts, eventlog_actors, eventlog_user_days) are updated
// in the same transaction as the events, so counts, stats and charts never
// scan the events table.
//
// Inserts are the hot path: events and rollup rows are written by
// multi-row statements prepared once on the writer connection, 64 rows a
// statement, and the WAL is checkpointed every 10,000 pages rather than
// after every batch (docs/benchmarks.md, "SQLite store", has the profile
// and the figures).
//
// The schema lives in migration/ as goose SQL files, embedded and run by
// internal/migrate. This package imports no other store and no HTTP or
// queue code.
package sqlitestore
