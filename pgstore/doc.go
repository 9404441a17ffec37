// Package pgstore is the PostgreSQL store of eventlog, built on pgx v5
// and pgxpool. A batch is written in one transaction under a writers'
// lock: ids already stored are looked up, the new events are COPYed into
// eventlog_events and the rollup tables are updated, so a batch is atomic
// and idempotent and seq order is commit order. Single events take one
// INSERT … ON CONFLICT statement (one round trip).
//
// The schema lives in migration/ as goose migrations numbered alike with
// the other stores and is applied by internal/migrate. Besides the Store
// interface, a *Store offers InsertTx and Outbox for pgx transactions and
// InsertSQLTx for database/sql ones (transactional outboxes).
//
// This package must not import another store, the HTTP layer or NATS.
package pgstore
