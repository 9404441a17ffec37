package sqlitestore

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/eventlog/eventlog"
)

// querier is what *sql.DB and *sql.Tx have in common.
type querier interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

const eventColumns = `id, ts, action, user_id, user_name, object_type, object_id, extra, context`

type rowScanner interface{ Scan(dest ...any) error }

func scanEvent(r rowScanner) (eventlog.Event, error) {
	var (
		e                                eventlog.Event
		ts                               int64
		userID, userName, objType, objID sql.NullString
		extra                            []byte
		rc                               sql.NullString
	)
	if err := r.Scan(&e.ID, &ts, &e.Action, &userID, &userName, &objType, &objID, &extra, &rc); err != nil {
		return e, err
	}
	e.Timestamp = time.UnixMicro(ts).UTC()
	if userID.Valid {
		e.User = &eventlog.User{ID: userID.String, Name: userName.String}
	}
	if objType.Valid {
		e.Object = &eventlog.Object{Type: objType.String, ID: objID.String}
	}
	e.Extra = json.RawMessage(extra)
	if rc.Valid {
		e.Context = &eventlog.RequestContext{}
		if err := json.Unmarshal([]byte(rc.String), e.Context); err != nil {
			return e, fmt.Errorf("event %s: stored context is not JSON: %w", e.ID, err)
		}
	}
	return e, nil
}

func getEvent(ctx context.Context, q querier, id string) (eventlog.Event, error) {
	e, err := scanEvent(q.QueryRowContext(ctx, `SELECT `+eventColumns+` FROM eventlog_events WHERE id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return e, fmt.Errorf("event %s: %w", id, eventlog.ErrNotFound)
	}
	return e, err
}

// Get returns the event with this id, or an error wrapping
// eventlog.ErrNotFound.
func (s *Store) Get(ctx context.Context, id string) (eventlog.Event, error) {
	e, err := getEvent(ctx, s.reader, id)
	if err != nil {
		return eventlog.Event{}, fmt.Errorf("sqlitestore: get: %w", err)
	}
	return e, nil
}

// Query returns one page of events, newest first. Each filter has an
// index ending in (ts, id), so a page is a bounded index walk; several
// actions are read as one walk per action merged by the outer ORDER BY.
// Text and extra filters are checked row by row during the walk.
func (s *Store) Query(ctx context.Context, q eventlog.Query) (eventlog.Page, error) {
	var conds []string
	var args []any
	if q.UserID != "" {
		conds, args = append(conds, "user_id = ?"), append(args, q.UserID)
	}
	switch {
	case q.ObjectType != "" && q.ObjectID != "":
		// The unary + keeps the planner off the object_type index: the
		// object_id index narrows one object to its few types.
		conds, args = append(conds, "+object_type = ?"), append(args, q.ObjectType)
	case q.ObjectType != "":
		conds, args = append(conds, "object_type = ?"), append(args, q.ObjectType)
	}
	if q.ObjectID != "" {
		conds, args = append(conds, "object_id = ?"), append(args, q.ObjectID)
	}
	if !q.Since.IsZero() {
		conds, args = append(conds, "ts >= ?"), append(args, q.Since.UnixMicro())
	}
	if !q.Until.IsZero() {
		conds, args = append(conds, "ts < ?"), append(args, q.Until.UnixMicro())
	}
	if q.After != nil {
		conds, args = append(conds, "(ts, id) < (?, ?)"), append(args, q.After.Timestamp.UnixMicro(), q.After.ID)
	}
	if q.Text != "" {
		// SQLite's LIKE folds ASCII letters only, which is the folding every
		// store guarantees; % and _ in the text are escaped to be literal.
		// It compares in place, where lower() would copy every value.
		pattern := "%" + likeEscaper.Replace(q.Text) + "%"
		var ors []string
		for _, col := range []string{"action", "user_id", "user_name", "object_type", "object_id", "extra"} {
			ors = append(ors, col+` LIKE ? ESCAPE '\'`)
			args = append(args, pattern)
		}
		conds = append(conds, "("+strings.Join(ors, " OR ")+")")
	}
	for _, w := range q.Where {
		c, a := whereSQL(w)
		conds, args = append(conds, c), append(args, a...)
	}
	limit := q.Limit
	if limit <= 0 {
		limit = eventlog.DefaultLimit
	}
	order := ` ORDER BY ts DESC, id DESC LIMIT ?`
	var sqlText string
	switch len(q.Actions) {
	case 0:
		sqlText = `SELECT ` + eventColumns + ` FROM eventlog_events` + whereClause(conds) + order
	case 1:
		sqlText = `SELECT ` + eventColumns + ` FROM eventlog_events` + whereClause(append([]string{"action = ?"}, conds...)) + order
		args = append([]any{q.Actions[0]}, args...)
	default:
		branch := `SELECT * FROM (SELECT ` + eventColumns + ` FROM eventlog_events` +
			whereClause(append([]string{"action = ?"}, conds...)) + order + `)`
		var branches []string
		var all []any
		for _, a := range dedupe(q.Actions) {
			branches = append(branches, branch)
			all = append(all, a)
			all = append(all, args...)
			all = append(all, limit+1)
		}
		sqlText = strings.Join(branches, " UNION ALL ") + order
		args = all
	}
	args = append(args, limit+1)
	rows, err := s.reader.QueryContext(ctx, sqlText, args...)
	if err != nil {
		return eventlog.Page{}, fmt.Errorf("sqlitestore: query: %w", err)
	}
	defer rows.Close()
	events := make([]eventlog.Event, 0, min(limit+1, 64))
	for rows.Next() {
		e, err := scanEvent(rows)
		if err != nil {
			return eventlog.Page{}, fmt.Errorf("sqlitestore: query: %w", err)
		}
		events = append(events, e)
	}
	if err := rows.Err(); err != nil {
		return eventlog.Page{}, fmt.Errorf("sqlitestore: query: %w", err)
	}
	page := eventlog.Page{Events: events}
	if len(events) > limit {
		page.Events = events[:limit]
		page.Next = eventlog.CursorAfter(page.Events[limit-1])
	}
	return page, nil
}

func whereClause(conds []string) string {
	if len(conds) == 0 {
		return ""
	}
	return " WHERE " + strings.Join(conds, " AND ")
}

func dedupe(xs []string) []string {
	seen := make(map[string]bool, len(xs))
	out := xs[:0:0]
	for _, x := range xs {
		if !seen[x] {
			seen[x] = true
			out = append(out, x)
		}
	}
	return out
}

// whereSQL compares one top-level key of extra with JSON value semantics:
// json_type tells the number 200 from the string "200" and a null from a
// missing key; numbers compare numerically (200 = 200.0).
func whereSQL(w eventlog.Where) (string, []any) {
	path := `$."` + w.Key + `"`
	switch v := w.Value.(type) {
	case nil:
		return "json_type(extra, ?) = 'null'", []any{path}
	case bool:
		if v {
			return "json_type(extra, ?) = 'true'", []any{path}
		}
		return "json_type(extra, ?) = 'false'", []any{path}
	case float64:
		return "(json_type(extra, ?) IN ('integer', 'real') AND json_extract(extra, ?) = ?)", []any{path, path, v}
	case string:
		return "(json_type(extra, ?) = 'text' AND json_extract(extra, ?) = ?)", []any{path, path, v}
	}
	// Query.Normalize rejects other types; match nothing rather than all.
	return "0", nil
}

var likeEscaper = strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`)

// Actions lists every action with its count from the per-action totals.
func (s *Store) Actions(ctx context.Context) ([]eventlog.ActionCount, error) {
	rows, err := s.reader.QueryContext(ctx,
		`SELECT action, count FROM eventlog_action_counts WHERE count > 0 ORDER BY count DESC, action ASC`)
	if err != nil {
		return nil, fmt.Errorf("sqlitestore: actions: %w", err)
	}
	defer rows.Close()
	out := []eventlog.ActionCount{}
	for rows.Next() {
		var a eventlog.ActionCount
		if err := rows.Scan(&a.Action, &a.Count); err != nil {
			return nil, fmt.Errorf("sqlitestore: actions: %w", err)
		}
		out = append(out, a)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqlitestore: actions: %w", err)
	}
	return out, nil
}

// Stats computes the four pinax figures from the actors rollup: used
// means last seen at or after now minus N days, active means used and
// first seen strictly before it.
func (s *Store) Stats(ctx context.Context, now time.Time) (eventlog.Stats, error) {
	seven := now.Add(-7 * 24 * time.Hour).UnixMicro()
	thirty := now.Add(-30 * 24 * time.Hour).UnixMicro()
	var st eventlog.Stats
	// Four counts over ranges of the (last_seen, first_seen) index, in one
	// statement (one snapshot). A bare count of a range only steps through
	// the index; one walk computing four sums evaluated each expression
	// per entry and took twice as long (12 ms against 7 for the 65,000
	// users of the last 30 days at 10 million events).
	err := s.reader.QueryRowContext(ctx, `SELECT
		(SELECT count(*) FROM eventlog_actors WHERE last_seen >= ?1),
		(SELECT count(*) FROM eventlog_actors WHERE last_seen >= ?2),
		(SELECT count(*) FROM eventlog_actors WHERE last_seen >= ?1 AND first_seen < ?1),
		(SELECT count(*) FROM eventlog_actors WHERE last_seen >= ?2 AND first_seen < ?2)`,
		seven, thirty).Scan(&st.UsedSeven, &st.UsedThirty, &st.ActiveSeven, &st.ActiveThirty)
	if err != nil {
		return eventlog.Stats{}, fmt.Errorf("sqlitestore: stats: %w", err)
	}
	return st, nil
}

// Series reads the hourly or the daily action rollup, whichever matches
// the interval, so a year of days is at most actions x 365 rows.
func (s *Store) Series(ctx context.Context, q eventlog.SeriesQuery) ([]eventlog.Bucket, error) {
	table, col := "eventlog_action_hours", "hour"
	if q.Interval == eventlog.Day {
		table, col = "eventlog_action_days", "day"
		if len(q.Actions) == 0 {
			// All actions: the per-day totals (migration 006).
			table = "eventlog_day_counts"
		}
	}
	args := []any{q.Since.Unix(), q.Until.Unix()}
	sqlText := `SELECT ` + col + `, sum(count) FROM ` + table + ` WHERE ` + col + ` >= ? AND ` + col + ` < ?`
	if acts := dedupe(q.Actions); len(acts) > 0 {
		sqlText += ` AND action IN (?` + strings.Repeat(", ?", len(acts)-1) + `)`
		for _, a := range acts {
			args = append(args, a)
		}
	}
	sqlText += ` GROUP BY ` + col
	counts, err := s.bucketCounts(ctx, sqlText, args, q.Interval)
	if err != nil {
		return nil, fmt.Errorf("sqlitestore: series: %w", err)
	}
	return eventlog.FillSeries(q, counts), nil
}

// ActiveUsers counts distinct users per bucket: for days from the
// per-day count eventlog_active_days (one row a day, kept equal to the
// day's eventlog_user_days rows by triggers, migration 004); for hours,
// which the rollups cannot answer, from the events in the range through
// the (ts, id) index.
func (s *Store) ActiveUsers(ctx context.Context, q eventlog.SeriesQuery) ([]eventlog.Bucket, error) {
	var counts map[int64]int64
	var err error
	if q.Interval == eventlog.Hour {
		const hourMicros = int64(time.Hour / time.Microsecond)
		counts, err = s.bucketCounts(ctx, `SELECT (ts - ((ts % ?1) + ?1) % ?1) / 1000000 AS h, count(DISTINCT user_id)
			FROM eventlog_events WHERE ts >= ?2 AND ts < ?3 AND user_id IS NOT NULL GROUP BY h`,
			[]any{hourMicros, q.Since.UnixMicro(), q.Until.UnixMicro()}, eventlog.Hour)
	} else {
		counts, err = s.bucketCounts(ctx, `SELECT day, users FROM eventlog_active_days WHERE day >= ? AND day < ?`,
			[]any{q.Since.Unix(), q.Until.Unix()}, eventlog.Day)
	}
	if err != nil {
		return nil, fmt.Errorf("sqlitestore: active users: %w", err)
	}
	return eventlog.FillSeries(q, counts), nil
}

// bucketCounts reads (unix second, count) rows and adds them up per bucket
// of the interval.
func (s *Store) bucketCounts(ctx context.Context, sqlText string, args []any, iv eventlog.Interval) (map[int64]int64, error) {
	rows, err := s.reader.QueryContext(ctx, sqlText, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	counts := map[int64]int64{}
	w := iv.Duration()
	for rows.Next() {
		var at, n int64
		if err := rows.Scan(&at, &n); err != nil {
			return nil, err
		}
		counts[bucket(time.Unix(at, 0).UTC(), w)] += n
	}
	return counts, rows.Err()
}

// ReadAfter returns events in write order (seq) after the event afterID.
func (s *Store) ReadAfter(ctx context.Context, afterID string, limit int) ([]eventlog.Event, error) {
	if limit <= 0 {
		return nil, fmt.Errorf("sqlitestore: read after: limit %d must be positive", limit)
	}
	var from int64
	if afterID != "" {
		err := s.reader.QueryRowContext(ctx, `SELECT seq FROM eventlog_events WHERE id = ?`, afterID).Scan(&from)
		if errors.Is(err, sql.ErrNoRows) {
			return nil, fmt.Errorf("sqlitestore: read after %s: %w", afterID, eventlog.ErrNotFound)
		}
		if err != nil {
			return nil, fmt.Errorf("sqlitestore: read after: %w", err)
		}
	}
	rows, err := s.reader.QueryContext(ctx,
		`SELECT `+eventColumns+` FROM eventlog_events WHERE seq > ? ORDER BY seq LIMIT ?`, from, limit)
	if err != nil {
		return nil, fmt.Errorf("sqlitestore: read after: %w", err)
	}
	defer rows.Close()
	out := []eventlog.Event{}
	for rows.Next() {
		e, err := scanEvent(rows)
		if err != nil {
			return nil, fmt.Errorf("sqlitestore: read after: %w", err)
		}
		out = append(out, e)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqlitestore: read after: %w", err)
	}
	return out, nil
}

// ForgetUser clears the user's id and name from their events and removes
// them from the actor and user-day rollups, in one transaction.
func (s *Store) ForgetUser(ctx context.Context, userID string) (int64, error) {
	tx, err := s.writer.BeginTx(ctx, nil)
	if err != nil {
		return 0, fmt.Errorf("sqlitestore: forget user: %w", err)
	}
	defer tx.Rollback() //nolint:errcheck // a no-op after Commit
	res, err := tx.ExecContext(ctx, `UPDATE eventlog_events SET user_id = NULL, user_name = NULL WHERE user_id = ?`, userID)
	if err != nil {
		return 0, fmt.Errorf("sqlitestore: forget user: %w", err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return 0, fmt.Errorf("sqlitestore: forget user: %w", err)
	}
	for _, stmt := range []string{
		`DELETE FROM eventlog_actors WHERE user_id = ?`,
		`DELETE FROM eventlog_user_days WHERE user_id = ?`,
	} {
		if _, err := tx.ExecContext(ctx, stmt, userID); err != nil {
			return 0, fmt.Errorf("sqlitestore: forget user: %w", err)
		}
	}
	if err := tx.Commit(); err != nil {
		return 0, fmt.Errorf("sqlitestore: forget user: commit: %w", err)
	}
	return n, nil
}
