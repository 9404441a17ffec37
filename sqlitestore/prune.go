package sqlitestore

import (
	"context"
	"database/sql"
	"fmt"
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
			args = append(args, a)
		}
	}
	if len(q.Except) > 0 {
		where += " AND action NOT IN (?" + strings.Repeat(",?", len(q.Except)-1) + ")"
		for _, a := range q.Except {
			args = append(args, a)
		}
	}
	return where, args
}

// CountPrunable returns how many events Prune(q) would delete now.
func (s *Store) CountPrunable(ctx context.Context, q eventlog.PruneQuery) (int64, error) {
	if err := q.Normalize(); err != nil {
		return 0, err
	}
	where, args := pruneWhere(q)
	var n int64
	if err := s.reader.QueryRowContext(ctx, "SELECT count(*) FROM eventlog_events WHERE "+where, args...).Scan(&n); err != nil {
		return 0, fmt.Errorf("sqlitestore: count prunable: %w", err)
	}
	return n, nil
}

// Prune deletes the events q selects, oldest first, q.BatchSize per write
// transaction, and updates the rollups in each (see eventlog.Pruner).
func (s *Store) Prune(ctx context.Context, q eventlog.PruneQuery) (int64, error) {
	if err := q.Normalize(); err != nil {
		return 0, err
	}
	where, args := pruneWhere(q)
	del := `DELETE FROM eventlog_events WHERE seq IN (
		SELECT seq FROM eventlog_events WHERE ` + where + ` ORDER BY ts, id LIMIT ?)
		RETURNING ts, action, user_id, seq`
	args = append(args, q.BatchSize)
	n, err := eventlog.PruneBatches(ctx, q, func(ctx context.Context) (int64, error) {
		return s.pruneBatch(ctx, del, args)
	})
	if err != nil {
		return n, fmt.Errorf("sqlitestore: prune: %w", err)
	}
	return n, nil
}

func (s *Store) pruneBatch(ctx context.Context, del string, args []any) (int64, error) {
	tx, err := s.writer.BeginTx(ctx, nil)
	if err != nil {
		return 0, err
	}
	defer tx.Rollback() //nolint:errcheck // a no-op after Commit
	rows, err := tx.QueryContext(ctx, del, args...)
	if err != nil {
		return 0, err
	}
	var roll rollup
	var n int64
	var pruned []int64
	for rows.Next() {
		var (
			ts     int64
			e      eventlog.Event
			userID sql.NullString
			seq    int64
		)
		if err := rows.Scan(&ts, &e.Action, &userID, &seq); err != nil {
			rows.Close()
			return 0, err
		}
		e.Timestamp = time.UnixMicro(ts).UTC()
		if userID.Valid {
			e.User = &eventlog.User{ID: userID.String}
		}
		roll.add(e)
		pruned = append(pruned, seq)
		n++
	}
	if err := rows.Close(); err != nil {
		return 0, err
	}
	if err := rows.Err(); err != nil {
		return 0, err
	}
	if n == 0 {
		return 0, nil
	}
	if err := roll.subtract(ctx, tx); err != nil {
		return 0, err
	}
	if err := recordCheckpoints(ctx, tx, pruned); err != nil {
		return 0, err
	}
	return n, tx.Commit()
}

// subtract removes the counted events from the rollups: counts go down
// and rows reaching zero are deleted; a user's day stays only while the
// user has an event left that day. Actors are kept (see eventlog.Pruner).
func (r *rollup) subtract(ctx context.Context, tx *sql.Tx) error {
	type step struct {
		sql  string
		args [][]any
	}
	var hours, days, actions, hourKeys, dayKeys, actionKeys [][]any
	for k, n := range r.hours {
		hours = append(hours, []any{n, k.action, k.hour})
		hourKeys = append(hourKeys, []any{k.action, k.hour})
	}
	for k, n := range r.days {
		days = append(days, []any{n, k.action, k.hour})
		dayKeys = append(dayKeys, []any{k.action, k.hour})
	}
	for a, n := range r.actions {
		actions = append(actions, []any{n, a})
		actionKeys = append(actionKeys, []any{a})
	}
	var users [][]any
	for d := range r.users {
		users = append(users, []any{d.day, d.userID, d.userID, d.day * 1e6, (d.day + 86400) * 1e6})
	}
	steps := []step{
		{`UPDATE eventlog_action_hours SET count = count - ? WHERE action = ? AND hour = ?`, hours},
		{`UPDATE eventlog_action_days SET count = count - ? WHERE action = ? AND day = ?`, days},
		{`UPDATE eventlog_action_counts SET count = count - ? WHERE action = ?`, actions},
		{`DELETE FROM eventlog_action_hours WHERE action = ? AND hour = ? AND count <= 0`, hourKeys},
		{`DELETE FROM eventlog_action_days WHERE action = ? AND day = ? AND count <= 0`, dayKeys},
		{`DELETE FROM eventlog_action_counts WHERE action = ? AND count <= 0`, actionKeys},
		{`DELETE FROM eventlog_user_days WHERE day = ? AND user_id = ? AND NOT EXISTS (
			SELECT 1 FROM eventlog_events WHERE user_id = ? AND ts >= ? AND ts < ?)`, users},
	}
	for _, st := range steps {
		stmt, err := tx.PrepareContext(ctx, st.sql)
		if err != nil {
			return err
		}
		for _, a := range st.args {
			if _, err := stmt.ExecContext(ctx, a...); err != nil {
				stmt.Close()
				return err
			}
		}
		stmt.Close()
	}
	return nil
}
