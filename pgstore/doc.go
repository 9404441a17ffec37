// Package pgstore is the PostgreSQL store of eventlog, built on pgx v5
// and pgxpool. Batches are written with COPY into a per-connection staging
// table and moved into eventlog_events with one INSERT … ON CONFLICT that
// also maintains the rollup tables, so a batch is atomic and idempotent.
//
// The schema lives in migration/ as goose migrations numbered alike with
// the other stores and is applied by internal/migrate. Besides the Store
// interface, a *Store offers InsertTx and Outbox for pgx transactions and
// InsertSQLTx for database/sql ones (transactional outboxes).
//
// This package must not import another store, the HTTP layer or NATS.
package pgstore
