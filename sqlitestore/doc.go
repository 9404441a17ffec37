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
// The schema lives in migration/ as goose SQL files, embedded and run by
// internal/migrate. This package imports no other store and no HTTP or
// queue code.
package sqlitestore
