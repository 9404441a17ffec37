package pgstore

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/eventlog/eventlog"
)

var _ eventlog.Pruner = (*Store)(nil)

// pruneWhere is the selection of q and its arguments, whose placeholders
// start at $first.
func pruneWhere(q eventlog.PruneQuery, first int) (string, []any) {
	where := fmt.Sprintf("ts < $%d", first)
	args := []any{q.Before}
	if len(q.Actions) > 0 {
		args = append(args, q.Actions)
		where += fmt.Sprintf(" AND action = ANY($%d::text[])", first+len(args)-1)
	}
	if len(q.Except) > 0 {
		args = append(args, q.Except)
		where += fmt.Sprintf(" AND NOT action = ANY($%d::text[])", first+len(args)-1)
	}
	return where, args
}

// CountPrunable returns how many events Prune(q) would delete now.
func (s *Store) CountPrunable(ctx context.Context, q eventlog.PruneQuery) (int64, error) {
	if err := q.Normalize(); err != nil {
		return 0, err
	}
	where, args := pruneWhere(q, 1)
	var n int64
	if err := s.pool.QueryRow(ctx, "SELECT count(*) FROM eventlog_events WHERE "+where, args...).Scan(&n); err != nil {
		return 0, s.wrapErr("count prunable", err)
	}
	return n, nil
}

// pruneSQL deletes one batch, oldest first, and takes its events off the
// hourly action counts. It returns how many it deleted, the action hours
// that reached zero, the distinct (user, day) pairs it touched, and the
// (ts, id) of the newest event it deleted.
const pruneSQL = `WITH d AS (
	DELETE FROM eventlog_events WHERE seq IN (
		SELECT seq FROM eventlog_events WHERE {where} ORDER BY ts, id LIMIT $1)
	RETURNING seq, ts, id, action, user_id
), last AS (
	SELECT ts, id FROM d ORDER BY ts DESC, id DESC LIMIT 1
), h AS (
	SELECT action, floor(extract(epoch FROM ts) / 3600)::bigint * 3600 AS hour, count(*) AS n
	FROM d GROUP BY 1, 2
), ah AS (
	UPDATE eventlog_action_hours r SET count = r.count - h.n FROM h
	WHERE r.action = h.action AND r.hour = h.hour
	RETURNING r.action, r.hour, r.count
), dd AS (
	SELECT action, floor(extract(epoch FROM ts) / 86400)::bigint * 86400 AS day, count(*) AS n
	FROM d GROUP BY 1, 2
), ad AS (
	UPDATE eventlog_action_days r SET count = r.count - dd.n FROM dd
	WHERE r.action = dd.action AND r.day = dd.day
	RETURNING r.action, r.day, r.count
), ud AS (
	SELECT DISTINCT user_id, floor(extract(epoch FROM ts) / 86400)::bigint * 86400 AS day
	FROM d WHERE user_id IS NOT NULL
)
SELECT (SELECT count(*) FROM d),
	array(SELECT action FROM ah WHERE count <= 0), array(SELECT hour FROM ah WHERE count <= 0),
	array(SELECT user_id FROM ud), array(SELECT day FROM ud), array(SELECT seq FROM d),
	array(SELECT action FROM ad WHERE count <= 0), array(SELECT day FROM ad WHERE count <= 0),
	(SELECT ts FROM last), (SELECT id::text FROM last)`

// emptyDaysSQL deletes the action days that reached zero.
const emptyDaysSQL = `DELETE FROM eventlog_action_days
	WHERE (action, day) IN (SELECT * FROM unnest($1::text[], $2::bigint[])) AND count <= 0`

// emptyHoursSQL deletes the action hours that reached zero.
const emptyHoursSQL = `DELETE FROM eventlog_action_hours
	WHERE (action, hour) IN (SELECT * FROM unnest($1::text[], $2::bigint[])) AND count <= 0`

// userDaysSQL recomputes the hour bits of the (user, day) pairs a batch
// touched from the events left, deleting the days left empty.
const userDaysSQL = `WITH t AS (
	SELECT * FROM unnest($1::text[], $2::bigint[]) AS t(user_id, day)
), n AS (
	SELECT t.user_id, t.day, coalesce((
		SELECT bit_or(1 << floor((extract(epoch FROM e.ts) - t.day) / 3600)::int)
		FROM eventlog_events e
		WHERE e.user_id = t.user_id AND e.ts >= to_timestamp(t.day) AND e.ts < to_timestamp(t.day + 86400)
	), 0) AS hours
	FROM t
), del AS (
	DELETE FROM eventlog_user_days r USING n
	WHERE r.day = n.day AND r.user_id = n.user_id AND n.hours = 0
)
UPDATE eventlog_user_days r SET hours = n.hours FROM n
WHERE r.day = n.day AND r.user_id = n.user_id AND n.hours <> 0 AND r.hours <> n.hours`

// pruneMark is the (ts, id) of the newest event a prune batch deleted.
type pruneMark struct {
	ts time.Time
	id string
}

// Prune deletes the events q selects, oldest first, q.BatchSize per
// transaction, and updates the rollups in each (see eventlog.Pruner).
// Each batch takes the writers' lock, so inserts wait at most one batch.
func (s *Store) Prune(ctx context.Context, q eventlog.PruneQuery) (int64, error) {
	if err := q.Normalize(); err != nil {
		return 0, err
	}
	where, args := pruneWhere(q, 2)
	del := strings.Replace(pruneSQL, "{where}", where, 1)
	// After the first batch each one starts its index walk after the
	// newest event deleted so far: the deleted rows' index entries stay
	// until VACUUM, and walking over them from the start made every batch
	// slower than the last (127 ms to find the first live entry after
	// 5 million deletions). When that walk reaches the end, one batch
	// from the start catches events back-dated behind it meanwhile.
	delAfter := strings.Replace(pruneSQL, "{where}", fmt.Sprintf("%s AND (ts, id) > ($%d, $%d::uuid)", where, len(args)+2, len(args)+3), 1)
	args = append([]any{q.BatchSize}, args...)
	var last *pruneMark
	run := func(ctx context.Context) (int64, error) {
		stmt, a := del, args
		if last != nil {
			stmt, a = delAfter, append(slices.Clone(args), last.ts, last.id)
		}
		var (
			n    int64
			mark *pruneMark
		)
		err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
			if _, err := tx.Exec(ctx, `SELECT `+lockSQL); err != nil {
				return err
			}
			var (
				actions, users []string
				hours, days    []int64
				seqs           []int64
				dayActions     []string
				actionDays     []int64
				lastTS         *time.Time
				lastID         *string
			)
			if err := tx.QueryRow(ctx, stmt, a...).Scan(&n, &actions, &hours, &users, &days, &seqs, &dayActions, &actionDays, &lastTS, &lastID); err != nil {
				return err
			}
			if err := recordCheckpoints(ctx, tx, seqs); err != nil {
				return err
			}
			if len(dayActions) > 0 {
				if _, err := tx.Exec(ctx, emptyDaysSQL, dayActions, actionDays); err != nil {
					return err
				}
			}
			if len(actions) > 0 {
				if _, err := tx.Exec(ctx, emptyHoursSQL, actions, hours); err != nil {
					return err
				}
			}
			if len(users) > 0 {
				if _, err := tx.Exec(ctx, userDaysSQL, users, days); err != nil {
					return err
				}
			}
			if lastTS != nil && lastID != nil {
				mark = &pruneMark{*lastTS, *lastID}
			}
			return nil
		})
		if err == nil && mark != nil {
			last = mark // the batch committed
		}
		return n, err
	}
	n, err := eventlog.PruneBatches(ctx, q, func(ctx context.Context) (int64, error) {
		bounded := last != nil
		n, err := run(ctx)
		if err != nil || !bounded || n == int64(q.BatchSize) {
			return n, err
		}
		last = nil
		m, err := run(ctx)
		return n + m, err
	})
	if err != nil {
		return n, s.wrapErr("prune", err)
	}
	return n, nil
}
