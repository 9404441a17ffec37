// Package mysqlstore is the eventlog store for MySQL 8 and MariaDB 10.6+
// (tested on MariaDB 10.11), on github.com/go-sql-driver/mysql.
//
// Open it with a URL such as mysql://user:pass@host:3306/db (mariadb://
// works too). The schema lives in the embedded migration directory and is
// applied by internal/migrate; see migration/001_init.sql for why extra is
// kept as text rather than a JSON column and how long text columns are
// indexed.
//
// Every insert takes one row lock (eventlog_insert_lock) before it writes,
// so events are numbered in commit order and rollups never deadlock. The
// Logger's group commit keeps that cheap; a transaction that logs through
// InsertSQLTx holds the lock until it commits, so keep such transactions
// short.
//
// BulkLoad fills an empty store several times faster than Insert (one
// transaction, the non-unique indexes rebuilt after) and stores the same
// rows, seqs, chain and rollups; `eventlog bench --load-only --bulk` uses
// it.
//
// This package holds only the MySQL driver code; the domain lives in
// package eventlog and the shared behaviour is pinned by package
// storetest.
package mysqlstore
