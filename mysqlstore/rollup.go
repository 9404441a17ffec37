package mysqlstore

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/eventlog/eventlog"
)

// Actions returns every action with its event count, most frequent first,
// summed from the daily rollup rather than counted from events.
func (s *Store) Actions(ctx context.Context) ([]eventlog.ActionCount, error) {
	if err := s.check(); err != nil {
		return nil, err
	}
	rows, err := s.db.QueryContext(ctx,
		"SELECT action, SUM(count) AS n FROM eventlog_action_days GROUP BY action HAVING n > 0 ORDER BY n DESC, action ASC")
	if err != nil {
		return nil, wrap("actions", err)
	}
	defer rows.Close()
	out := []eventlog.ActionCount{}
	for rows.Next() {
		var a eventlog.ActionCount
		if err := rows.Scan(&a.Action, &a.Count); err != nil {
			return nil, wrap("actions", err)
		}
		out = append(out, a)
	}
	if err := rows.Err(); err != nil {
		return nil, wrap("actions", err)
	}
	return out, nil
}

// Stats returns pinax's four figures from the actors rollup: a user is
// used in the last N days when their last event is at or after now minus
// N days, and active when their first event is also before that instant.
func (s *Store) Stats(ctx context.Context, now time.Time) (eventlog.Stats, error) {
	if err := s.check(); err != nil {
		return eventlog.Stats{}, err
	}
	c7 := now.Add(-7 * 24 * time.Hour).UnixMicro()
	c30 := now.Add(-30 * 24 * time.Hour).UnixMicro()
	var st eventlog.Stats
	err := s.db.QueryRowContext(ctx, `SELECT
		COALESCE(SUM(last_seen >= ?), 0),
		COALESCE(SUM(last_seen >= ? AND first_seen < ?), 0),
		COUNT(*),
		COALESCE(SUM(first_seen < ?), 0)
		FROM eventlog_actors WHERE last_seen >= ?`, c7, c7, c7, c30, c30).
		Scan(&st.UsedSeven, &st.ActiveSeven, &st.UsedThirty, &st.ActiveThirty)
	if err != nil {
		return eventlog.Stats{}, wrap("stats", err)
	}
	return st, nil
}

// Series returns event counts per hour or day from the hourly or daily
// rollup. Normalize aligns day series to whole days, so the daily rollup
// answers them exactly.
func (s *Store) Series(ctx context.Context, q eventlog.SeriesQuery) ([]eventlog.Bucket, error) {
	if err := s.check(); err != nil {
		return nil, err
	}
	if err := q.Normalize(); err != nil {
		return nil, err
	}
	table, column, width := "eventlog_action_hours", "hour", usPerHour
	if q.Interval == eventlog.Day {
		table, column, width = "eventlog_action_days", "day", usPerDay
	}
	sqlText := "SELECT " + column + ", SUM(count) FROM " + table + " WHERE " + column + " >= ? AND " + column + " < ?"
	args := []any{floorDiv(q.Since.UnixMicro(), width), floorDiv(q.Until.UnixMicro(), width)}
	if actions := dedupe(q.Actions); len(actions) > 0 {
		sqlText += " AND action IN (?" + strings.Repeat(",?", len(actions)-1) + ")"
		for _, a := range actions {
			args = append(args, a)
		}
	}
	rows, err := s.db.QueryContext(ctx, sqlText+" GROUP BY "+column, args...)
	if err != nil {
		return nil, wrap("series", err)
	}
	defer rows.Close()
	counts := map[int64]int64{}
	seconds := width / int64(time.Second/time.Microsecond)
	for rows.Next() {
		var bucket, n int64
		if err := rows.Scan(&bucket, &n); err != nil {
			return nil, wrap("series", err)
		}
		counts[bucket*seconds] = n
	}
	if err := rows.Err(); err != nil {
		return nil, wrap("series", err)
	}
	return eventlog.FillSeries(q, counts), nil
}

// hourSums sums each of the 24 hour bits of eventlog_user_days.hours.
var hourSums = func() string {
	parts := make([]string, 24)
	for h := range parts {
		parts[h] = fmt.Sprintf("SUM((hours >> %d) & 1)", h)
	}
	return strings.Join(parts, ", ")
}()

// ActiveUsers returns the number of distinct users per day from the
// per-day count eventlog_active_days, or per hour from the user-days
// rollup (one row per user and day, with a bit per hour).
func (s *Store) ActiveUsers(ctx context.Context, q eventlog.SeriesQuery) ([]eventlog.Bucket, error) {
	if err := s.check(); err != nil {
		return nil, err
	}
	if err := q.Normalize(); err != nil {
		return nil, err
	}
	d0 := floorDiv(q.Since.UnixMicro(), usPerDay)
	d1 := floorDiv(q.Until.UnixMicro()-1, usPerDay)
	counts := map[int64]int64{}
	if q.Interval == eventlog.Day {
		// One row a day, kept by triggers (migration 004); a day whose
		// users were all pruned or forgotten keeps a row of 0.
		rows, err := s.db.QueryContext(ctx,
			"SELECT day, users FROM eventlog_active_days WHERE day >= ? AND day <= ?", d0, d1)
		if err != nil {
			return nil, wrap("active users", err)
		}
		defer rows.Close()
		for rows.Next() {
			var day, n int64
			if err := rows.Scan(&day, &n); err != nil {
				return nil, wrap("active users", err)
			}
			counts[day*86400] = n
		}
		if err := rows.Err(); err != nil {
			return nil, wrap("active users", err)
		}
		return eventlog.FillSeries(q, counts), nil
	}
	rows, err := s.db.QueryContext(ctx,
		"SELECT day, "+hourSums+" FROM eventlog_user_days WHERE day >= ? AND day <= ? GROUP BY day", d0, d1)
	if err != nil {
		return nil, wrap("active users", err)
	}
	defer rows.Close()
	var day int64
	var perHour [24]int64
	dest := make([]any, 25)
	dest[0] = &day
	for h := range perHour {
		dest[h+1] = &perHour[h]
	}
	for rows.Next() {
		if err := rows.Scan(dest...); err != nil {
			return nil, wrap("active users", err)
		}
		for h, n := range perHour {
			if n > 0 {
				counts[(day*24+int64(h))*3600] = n
			}
		}
	}
	if err := rows.Err(); err != nil {
		return nil, wrap("active users", err)
	}
	return eventlog.FillSeries(q, counts), nil
}

// ForgetUser removes the user's id and name from their events, keeping
// the events, and drops the user from the actor and user-day rollups.
func (s *Store) ForgetUser(ctx context.Context, userID string) (int64, error) {
	if err := s.check(); err != nil {
		return 0, err
	}
	if userID == "" {
		return 0, &eventlog.ValidationError{Field: "user", Index: -1, Message: "is required"}
	}
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return 0, wrap("forget user", err)
	}
	defer tx.Rollback() //nolint:errcheck // a no-op after Commit
	if err := lockInserts(ctx, tx); err != nil {
		return 0, err
	}
	k := key(userID)
	res, err := tx.ExecContext(ctx,
		"UPDATE eventlog_events SET user_id = NULL, user_name = NULL, user_key = NULL WHERE user_key = ? AND user_id = ?", k, userID)
	if err != nil {
		return 0, wrap("forget user", err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return 0, wrap("forget user", err)
	}
	if _, err := tx.ExecContext(ctx, "DELETE FROM eventlog_actors WHERE user_key = ? AND user_id = ?", k, userID); err != nil {
		return 0, wrap("forget user", err)
	}
	if _, err := tx.ExecContext(ctx, "DELETE FROM eventlog_user_days WHERE user_key = ?", k); err != nil {
		return 0, wrap("forget user", err)
	}
	if err := tx.Commit(); err != nil {
		return 0, wrap("forget user: commit", err)
	}
	return n, nil
}
