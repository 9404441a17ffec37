// Package sqlscan holds the row-reading code the database/sql stores
// (sqlitestore, mysqlstore) share, and the scanner with leading columns
// pgstore uses too: the same query text, the same loop, one copy.
package sqlscan

import (
	"context"
	"database/sql"
	"fmt"

	"github.com/eventlog/eventlog"
)

// Scanner is a row: *sql.Row, *sql.Rows, pgx.Row and pgx.Rows all are.
type Scanner interface{ Scan(dest ...any) error }

// Lead scans the columns Lead before the ones its caller asks for, so a
// store's event scanner reads rows that start with other columns (a seq,
// chain columns).
type Lead struct {
	R    Scanner
	Cols []any
}

// Scan scans Cols, then dest.
func (l Lead) Scan(dest ...any) error {
	return l.R.Scan(append(l.Cols, dest...)...)
}

// NullInt64Ptr turns a scanned nullable integer into a pointer, nil for
// NULL (the form eventlog.ChainRunEnd takes).
func NullInt64Ptr(n sql.NullInt64) *int64 {
	if !n.Valid {
		return nil
	}
	return &n.Int64
}

// BackfillBefore is the before_seq of the checkpoint row migration 002
// leaves when events were already stored: the next write chains them.
const BackfillBefore = -1

// ReadChain implements eventlog.ChainReader's ReadChain inside tx, a
// read-only transaction on one snapshot: the checkpoints, then every
// event in seq order with its chain row (if any). scanEvent reads the
// event columns id, ts, action, user_id, user_name, object_type,
// object_id, extra, context. Database errors and the one for events not
// chained yet go through wrap (the store's prefix); errors of
// checkpoints and fn are returned as they are.
func ReadChain(ctx context.Context, tx *sql.Tx, wrap func(error) error, scanEvent func(Scanner) (eventlog.Event, error),
	checkpoints func([]eventlog.ChainCheckpoint) error, fn func(eventlog.ChainLink) error) error {
	rows, err := tx.QueryContext(ctx, `SELECT before_seq, seq, hash FROM eventlog_chain_checkpoint ORDER BY before_seq`)
	if err != nil {
		return wrap(err)
	}
	var cps []eventlog.ChainCheckpoint
	for rows.Next() {
		var c eventlog.ChainCheckpoint
		if err := rows.Scan(&c.Before, &c.Seq, &c.Hash); err != nil {
			rows.Close()
			return wrap(err)
		}
		if c.Before == BackfillBefore {
			rows.Close()
			return wrap(fmt.Errorf("the events up to seq %d, stored before the chain was added (migration 002), are chained by the next write; write an event first", c.Seq))
		}
		cps = append(cps, c)
	}
	if err := rows.Close(); err != nil {
		return wrap(err)
	}
	if err := rows.Err(); err != nil {
		return wrap(err)
	}
	if err := checkpoints(cps); err != nil {
		return err
	}
	rows, err = tx.QueryContext(ctx, `SELECT e.seq, c.prev, c.user_digest, c.hash, e.id, e.ts, e.action, e.user_id, e.user_name,
		e.object_type, e.object_id, e.extra, e.context
		FROM eventlog_events e LEFT JOIN eventlog_chain c ON c.seq = e.seq ORDER BY e.seq`)
	if err != nil {
		return wrap(err)
	}
	defer rows.Close()
	for rows.Next() {
		var l eventlog.ChainLink
		var prev sql.NullInt64
		l.Event, err = scanEvent(Lead{R: rows, Cols: []any{&l.Seq, &prev, &l.UserDigest, &l.Hash}})
		if err != nil {
			return wrap(err)
		}
		l.Prev = prev.Int64
		if err := fn(l); err != nil {
			return err
		}
	}
	if err := rows.Err(); err != nil {
		return wrap(err)
	}
	return nil
}
