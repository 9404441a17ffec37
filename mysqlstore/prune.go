package mysqlstore

import (
	"context"
	"database/sql"
	"strings"
	"time"

	"github.com/eventlog/eventlog"
)

var _ eventlog.Pruner = (*Store)(nil)

// pruneWhere is the selection of q as SQL and its arguments.
func pruneWhere(q eventlog.PruneQuery) (string, []any) {
	where := "ts < ?"
	args := []any{q.Before.UnixMicro()}
	if len(q.Actions) > 0 {
		where += " AND action IN (?" + strings.Repeat(",?", len(q.Actions)-1) + ")"
		for _, a := range q.Actions {
			args = append(args, []byte(a))
		}
	}
	if len(q.Except) > 0 {
		where += " AND action NOT IN (?" + strings.Repeat(",?", len(q.Except)-1) + ")"
		for _, a := range q.Except {
			args = append(args, []byte(a))
		}
	}
	return where, args
}

// CountPrunable returns how many events Prune(q) would delete now.
func (s *Store) CountPrunable(ctx context.Context, q eventlog.PruneQuery) (int64, error) {
	if err := s.check(); err != nil {
		return 0, err
	}
	if err := q.Normalize(); err != nil {
		return 0, err
	}
	where, args := pruneWhere(q)
	var n int64
	if err := s.db.QueryRowContext(ctx, "SELECT COUNT(*) FROM eventlog_events WHERE "+where, args...).Scan(&n); err != nil {
		return 0, wrap("count prunable", err)
	}
	return n, nil
}

// Prune deletes the events q selects, oldest first, q.BatchSize per
// transaction, and updates the rollups in each (see eventlog.Pruner).
// Each batch holds the insert lock, so inserts wait at most one batch.
func (s *Store) Prune(ctx context.Context, q eventlog.PruneQuery) (int64, error) {
	if err := s.check(); err != nil {
		return 0, err
	}
	if err := q.Normalize(); err != nil {
		return 0, err
	}
	where, args := pruneWhere(q)
	sel := "SELECT seq, ts, action, user_id FROM eventlog_events WHERE " + where + " ORDER BY ts, id LIMIT ?"
	args = append(args, q.BatchSize)
	n, err := eventlog.PruneBatches(ctx, q, func(ctx context.Context) (int64, error) {
		tx, err := s.db.BeginTx(ctx, nil)
		if err != nil {
			return 0, err
		}
		defer tx.Rollback() //nolint:errcheck // a no-op after Commit
		n, err := pruneBatch(ctx, tx, sel, args)
		if err != nil || n == 0 {
			return 0, err
		}
		return n, tx.Commit()
	})
	if err != nil {
		return n, wrap("prune", err)
	}
	return n, nil
}

func pruneBatch(ctx context.Context, tx *sql.Tx, sel string, args []any) (int64, error) {
	if err := lockInserts(ctx, tx); err != nil {
		return 0, err
	}
	rows, err := tx.QueryContext(ctx, sel, args...)
	if err != nil {
		return 0, err
	}
	roll := newRollups()
	var seqs []any
	var pruned []int64
	for rows.Next() {
		var (
			seq, ts int64
			action  []byte
			userID  sql.NullString
		)
		if err := rows.Scan(&seq, &ts, &action, &userID); err != nil {
			rows.Close()
			return 0, err
		}
		e := eventlog.Event{Timestamp: time.UnixMicro(ts).UTC(), Action: string(action)}
		if userID.Valid {
			e.User = &eventlog.User{ID: userID.String}
		}
		roll.add(e)
		seqs = append(seqs, seq)
		pruned = append(pruned, seq)
	}
	if err := rows.Close(); err != nil {
		return 0, err
	}
	if err := rows.Err(); err != nil {
		return 0, err
	}
	if len(seqs) == 0 {
		return 0, nil
	}
	if _, err := tx.ExecContext(ctx, "DELETE FROM eventlog_events WHERE seq IN (?"+strings.Repeat(",?", len(seqs)-1)+")", seqs...); err != nil {
		return 0, err
	}
	if err := roll.subtract(ctx, tx); err != nil {
		return 0, err
	}
	if err := recordCheckpoints(ctx, tx, pruned); err != nil {
		return 0, err
	}
	return int64(len(seqs)), nil
}

// subtract takes deleted events off the action counts, deleting rows
// that reach zero, and recomputes the hour bits of each (day, user)
// touched from the events left. Actors are kept (see eventlog.Pruner).
func (r *rollups) subtract(ctx context.Context, tx *sql.Tx) error {
	for _, t := range []struct {
		table, column string
		counts        map[actionBucket]int64
	}{
		{"eventlog_action_hours", "hour", r.hours},
		{"eventlog_action_days", "day", r.adays},
	} {
		for k, n := range t.counts {
			if _, err := tx.ExecContext(ctx, "UPDATE "+t.table+" SET count = count - ? WHERE action = ? AND "+t.column+" = ?", n, []byte(k.action), k.bucket); err != nil {
				return err
			}
			if _, err := tx.ExecContext(ctx, "DELETE FROM "+t.table+" WHERE action = ? AND "+t.column+" = ? AND count <= 0", []byte(k.action), k.bucket); err != nil {
				return err
			}
		}
	}
	for d := range r.days {
		k := key(d.user)
		rows, err := tx.QueryContext(ctx, "SELECT ts FROM eventlog_events WHERE user_key = ? AND user_id = ? AND ts >= ? AND ts < ?",
			k, []byte(d.user), d.day*usPerDay, (d.day+1)*usPerDay)
		if err != nil {
			return err
		}
		var hours uint32
		for rows.Next() {
			var ts int64
			if err := rows.Scan(&ts); err != nil {
				rows.Close()
				return err
			}
			hours |= 1 << uint(floorDiv(ts, usPerHour)-d.day*24)
		}
		if err := rows.Close(); err != nil {
			return err
		}
		if err := rows.Err(); err != nil {
			return err
		}
		if hours == 0 {
			_, err = tx.ExecContext(ctx, "DELETE FROM eventlog_user_days WHERE day = ? AND user_key = ?", d.day, k)
		} else {
			_, err = tx.ExecContext(ctx, "UPDATE eventlog_user_days SET hours = ? WHERE day = ? AND user_key = ?", hours, d.day, k)
		}
		if err != nil {
			return err
		}
	}
	return nil
}
