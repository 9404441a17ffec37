package pgstore

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/eventlog/eventlog"
)

const selectEvents = `SELECT id::text, ts, action, user_id, user_name, object_type, object_id, extra::text, context::text FROM eventlog_events`

// searchExpr must match the expression of the trigram index
// eventlog_events_search in migration/001_init.sql character for character,
// or the planner will not use the index.
const searchExpr = `lower(action || chr(31) || coalesce(user_id, '') || chr(31) || coalesce(user_name, '') || chr(31) || coalesce(object_type, '') || chr(31) || coalesce(object_id, '') || chr(31) || extra::text)`

// searchWalkExpr is searchExpr in a form the trigram index does not
// match (the same text, with an empty string appended).
const searchWalkExpr = `lower(action || chr(31) || coalesce(user_id, '') || chr(31) || coalesce(user_name, '') || chr(31) || coalesce(object_type, '') || chr(31) || coalesce(object_id, '') || chr(31) || extra::text || '')`

// searchSep is chr(31), the separator of the joined search expression.
const searchSep = '\x1f'

// maxTextWalk is the most events a text search walks, by the rollups'
// count of its time range, rather than reading the trigram index.
const maxTextWalk = 200_000

// walkText decides how a text search reads: by walking the index of its
// other filters (time range, action) and testing each row, stopping at a
// full page, when its time range holds at most maxTextWalk events by the
// daily rollups; otherwise through the trigram index. The index finds a
// rare text anywhere fast, but a common one (a frequent user id) matches
// hundreds of thousands of rows that it must all fetch and sort, where
// the walk stops after a page of them; a bounded range also bounds the
// walk. The count covers whole days, so it errs towards the index.
func (s *Store) walkText(ctx context.Context, q eventlog.Query) (bool, error) {
	if q.Since.IsZero() {
		return false, nil
	}
	upper := q.Until
	if q.After != nil && (upper.IsZero() || q.After.Timestamp.Before(upper)) {
		upper = q.After.Timestamp.Add(time.Microsecond)
	}
	var w whereBuilder
	w.add("day >= " + w.arg(q.Since.Truncate(24*time.Hour).Unix()))
	if !upper.IsZero() {
		w.add("day < " + w.arg(upper.Unix()))
	}
	table := "eventlog_day_counts"
	if len(q.Actions) > 0 {
		table = "eventlog_action_days"
		w.add("action = ANY(" + w.arg(q.Actions) + "::text[])")
	}
	var n int64
	if err := s.pool.QueryRow(ctx, "SELECT coalesce(sum(count), 0)::bigint FROM "+table+w.sql(), w.args...).Scan(&n); err != nil {
		return false, err
	}
	return n <= maxTextWalk, nil
}

type scanner interface {
	Scan(dest ...any) error
}

func scanEvent(r scanner) (eventlog.Event, error) {
	var (
		e                                       eventlog.Event
		userID, userName, objType, objID, ctxJS *string
		extra                                   string
	)
	if err := r.Scan(&e.ID, &e.Timestamp, &e.Action, &userID, &userName, &objType, &objID, &extra, &ctxJS); err != nil {
		return eventlog.Event{}, err
	}
	e.Timestamp = e.Timestamp.UTC()
	if userID != nil {
		e.User = &eventlog.User{ID: *userID}
		if userName != nil {
			e.User.Name = *userName
		}
	}
	if objType != nil && objID != nil {
		e.Object = &eventlog.Object{Type: *objType, ID: *objID}
	}
	e.Extra = json.RawMessage(extra)
	if ctxJS != nil {
		var c eventlog.RequestContext
		if err := json.Unmarshal([]byte(*ctxJS), &c); err != nil {
			return eventlog.Event{}, fmt.Errorf("event %s: context: %w", e.ID, err)
		}
		e.Context = &c
	}
	return e, nil
}

func collectEvents(rows pgx.Rows) ([]eventlog.Event, error) {
	defer rows.Close()
	var out []eventlog.Event
	for rows.Next() {
		e, err := scanEvent(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, e)
	}
	return out, rows.Err()
}

// getMany returns the stored events with these ids, by id.
func getMany(ctx context.Context, q queryer, ids []string) (map[string]eventlog.Event, error) {
	m := make(map[string]eventlog.Event, len(ids))
	if len(ids) == 0 {
		return m, nil
	}
	rows, err := q.Query(ctx, selectEvents+` WHERE id = ANY($1::uuid[])`, ids)
	if err != nil {
		return nil, err
	}
	events, err := collectEvents(rows)
	if err != nil {
		return nil, err
	}
	for _, e := range events {
		m[e.ID] = e
	}
	return m, nil
}

// Get returns the event with this id, or an error wrapping
// eventlog.ErrNotFound (also for a malformed id, which cannot be stored).
func (s *Store) Get(ctx context.Context, id string) (eventlog.Event, error) {
	u, err := uuid.Parse(id)
	if err != nil {
		return eventlog.Event{}, fmt.Errorf("pgstore: event %q: %w", id, eventlog.ErrNotFound)
	}
	rows, err := s.pool.Query(ctx, selectEvents+` WHERE id = $1::uuid`, u.String())
	if err != nil {
		return eventlog.Event{}, s.wrapErr("get", err)
	}
	events, err := collectEvents(rows)
	if err != nil {
		return eventlog.Event{}, s.wrapErr("get", err)
	}
	if len(events) == 0 {
		return eventlog.Event{}, fmt.Errorf("pgstore: event %s: %w", id, eventlog.ErrNotFound)
	}
	return events[0], nil
}

// likeEscape escapes the LIKE wildcards of s (backslash is the default
// escape character).
var likeEscape = strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`)

// whereBuilder accumulates SQL conditions and their numbered parameters.
type whereBuilder struct {
	conds []string
	args  []any
}

// arg adds a parameter and returns its placeholder.
func (w *whereBuilder) arg(v any) string {
	w.args = append(w.args, v)
	return "$" + strconv.Itoa(len(w.args))
}

func (w *whereBuilder) add(cond string) { w.conds = append(w.conds, cond) }

func (w *whereBuilder) sql() string {
	if len(w.conds) == 0 {
		return ""
	}
	return " WHERE " + strings.Join(w.conds, " AND ")
}

// Query returns one page of events, newest first. Every filter is served
// by an index (see migration/001_init.sql). Text uses the trigram index
// when pg_trgm is installed and otherwise filters while walking (ts, id);
// in a time range of at most maxTextWalk events it first walks the
// range's newest textWalkRows rows (see walkText).
func (s *Store) Query(ctx context.Context, q eventlog.Query) (eventlog.Page, error) {
	var w whereBuilder
	if len(q.Actions) == 1 {
		w.add("action = " + w.arg(q.Actions[0]))
	} else if len(q.Actions) > 1 {
		w.add("action = ANY(" + w.arg(q.Actions) + "::text[])")
	}
	if q.UserID != "" {
		w.add("user_id = " + w.arg(q.UserID))
	}
	if q.ObjectType != "" {
		w.add("object_type = " + w.arg(q.ObjectType))
	}
	if q.ObjectID != "" {
		w.add("object_id = " + w.arg(q.ObjectID))
	}
	if !q.Since.IsZero() {
		w.add("ts >= " + w.arg(q.Since))
	}
	if !q.Until.IsZero() {
		w.add("ts < " + w.arg(q.Until))
	}
	for _, wh := range q.Where {
		key, _ := json.Marshal(wh.Key)
		obj := "{" + string(key) + ":" + string(wh.JSONValue()) + "}"
		w.add("extra::jsonb @> " + w.arg(obj) + "::jsonb")
	}
	if q.After != nil {
		w.add("(ts, id) < (" + w.arg(q.After.Timestamp) + ", " + w.arg(q.After.ID) + "::uuid)")
	}
	limit := q.Limit
	if limit == 0 {
		limit = eventlog.DefaultLimit
	}
	var events []eventlog.Event
	var err error
	switch {
	case q.Text == "":
		events, err = s.queryEvents(ctx, selectEvents+w.sql(), w.args, limit+1)
	default:
		var walk bool
		if walk, err = s.walkText(ctx, q); err != nil {
			break
		}
		if !walk {
			tw := w.clone()
			tw.add(textCond(&tw, q.Text, searchExpr))
			events, err = s.queryEvents(ctx, selectEvents+tw.sql(), tw.args, limit+1)
			break
		}
		events, err = s.walkThenIndex(ctx, w, q.Text, limit+1)
	}
	if err != nil {
		return eventlog.Page{}, s.wrapErr("query", err)
	}
	var page eventlog.Page
	if len(events) > limit {
		events = events[:limit]
		page.Next = eventlog.CursorAfter(events[limit-1])
	}
	page.Events = events
	return page, nil
}

// textWalkRows is how many of a range's newest rows a text search tests
// one by one before it asks the trigram index about the rest.
const textWalkRows = 5000

// walkThenIndex finds up to n events matching w and text, newest first:
// it tests the newest textWalkRows rows of w's range one by one, which
// fills a page of a common text (a frequent user id) at once, and looks
// for the rest, older than those rows, through the trigram index, which
// finds a rare text at once. Either alone is slow for the other kind:
// the index must fetch and sort every match of a common text, the walk
// read the whole range for a rare one.
func (s *Store) walkThenIndex(ctx context.Context, w whereBuilder, text string, n int) ([]eventlog.Event, error) {
	walk := textWalkRows
	if s.textWalk > 0 {
		walk = s.textWalk
	}
	ww := w.clone()
	cond := textCond(&ww, text, searchWalkExpr)
	events, err := s.queryEvents(ctx, `SELECT * FROM (`+selectEvents+ww.sql()+
		` ORDER BY ts DESC, id DESC LIMIT `+strconv.Itoa(walk)+`) e WHERE `+cond, ww.args, n)
	if err != nil || len(events) >= n {
		return events, err
	}
	// Where did the walk stop? No row there: it read the whole range.
	var lastTS time.Time
	var lastID string
	err = s.pool.QueryRow(ctx, `SELECT ts, id::text FROM eventlog_events`+w.sql()+
		` ORDER BY ts DESC, id DESC OFFSET `+strconv.Itoa(walk-1)+` LIMIT 1`,
		append([]any{pgx.QueryExecModeExec}, w.args...)...).Scan(&lastTS, &lastID)
	if errors.Is(err, pgx.ErrNoRows) {
		return events, nil
	}
	if err != nil {
		return nil, err
	}
	iw := w.clone()
	iw.add("(ts, id) < (" + iw.arg(lastTS) + ", " + iw.arg(lastID) + "::uuid)")
	iw.add(textCond(&iw, text, searchExpr))
	older, err := s.queryEvents(ctx, selectEvents+iw.sql(), iw.args, n-len(events))
	return append(events, older...), err
}

// textCond returns the condition that text occurs in an event, using the
// joined search expression expr, and adds its parameter to w.
func textCond(w *whereBuilder, text, expr string) string {
	p := w.arg("%" + likeEscape.Replace(text) + "%")
	cond := fmt.Sprintf("%s LIKE lower(%s)", expr, p)
	if strings.ContainsRune(text, searchSep) {
		// Only a text holding the separator can match across two
		// fields in the joined expression: test each field too.
		cond += fmt.Sprintf(" AND (lower(action) LIKE lower(%[1]s) OR lower(user_id) LIKE lower(%[1]s) OR lower(user_name) LIKE lower(%[1]s) OR lower(object_type) LIKE lower(%[1]s) OR lower(object_id) LIKE lower(%[1]s) OR lower(extra::text) LIKE lower(%[1]s))", p)
	}
	return cond
}

// queryEvents runs sql (a SELECT of selectEvents' columns) newest first,
// at most n rows.
func (s *Store) queryEvents(ctx context.Context, sql string, args []any, n int) ([]eventlog.Event, error) {
	sql += " ORDER BY ts DESC, id DESC LIMIT " + strconv.Itoa(n)
	// Plan with the actual values (QueryExecModeExec never reuses a
	// prepared statement): a generic plan cannot tell a user with 80
	// events from an action with 300,000 and picked a 100 ms plan where
	// the custom one takes under 10 ms at a million events.
	rows, err := s.pool.Query(ctx, sql, append([]any{pgx.QueryExecModeExec}, args...)...)
	if err != nil {
		return nil, err
	}
	return collectEvents(rows)
}

func (w *whereBuilder) clone() whereBuilder {
	return whereBuilder{conds: slices.Clone(w.conds), args: slices.Clone(w.args)}
}

// Actions returns every action with its count, from the per-action
// totals of the daily rollup (migration 005).
func (s *Store) Actions(ctx context.Context) ([]eventlog.ActionCount, error) {
	rows, err := s.pool.Query(ctx, `SELECT action, count FROM eventlog_action_counts
		WHERE count > 0 ORDER BY count DESC, action COLLATE "C"`)
	if err != nil {
		return nil, s.wrapErr("actions", err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (eventlog.ActionCount, error) {
		var a eventlog.ActionCount
		err := r.Scan(&a.Action, &a.Count)
		return a, err
	})
	if err != nil {
		return nil, s.wrapErr("actions", err)
	}
	if out == nil {
		out = []eventlog.ActionCount{}
	}
	return out, nil
}

// Stats returns pinax's four figures from the actors rollup: users with
// an event at or after now minus 7 (30) days, and those of them whose
// first event is before that.
func (s *Store) Stats(ctx context.Context, now time.Time) (eventlog.Stats, error) {
	d7 := now.Add(-7 * 24 * time.Hour)
	d30 := now.Add(-30 * 24 * time.Hour)
	var st eventlog.Stats
	err := s.pool.QueryRow(ctx, `SELECT
		count(*) FILTER (WHERE last_seen >= $1),
		count(*),
		count(*) FILTER (WHERE last_seen >= $1 AND first_seen < $1),
		count(*) FILTER (WHERE first_seen < $2)
		FROM eventlog_actors WHERE last_seen >= $2`, d7, d30).
		Scan(&st.UsedSeven, &st.UsedThirty, &st.ActiveSeven, &st.ActiveThirty)
	if err != nil {
		return eventlog.Stats{}, s.wrapErr("stats", err)
	}
	return st, nil
}

// Series returns event counts per bucket from the hourly rollup.
func (s *Store) Series(ctx context.Context, q eventlog.SeriesQuery) ([]eventlog.Bucket, error) {
	// Day buckets read the daily rollup (365 rows a year per action), hour
	// buckets the hourly one; both are exact since buckets are aligned.
	// All actions by day read the per-day totals (migration 005).
	table, col := "eventlog_action_hours", "hour"
	if q.Interval == eventlog.Day {
		table, col = "eventlog_action_days", "day"
		if len(q.Actions) == 0 {
			table = "eventlog_day_counts"
		}
	}
	var w whereBuilder
	w.add(col + " >= " + w.arg(q.Since.Unix()))
	w.add(col + " < " + w.arg(q.Until.Unix()))
	if len(q.Actions) > 0 {
		w.add("action = ANY(" + w.arg(q.Actions) + "::text[])")
	}
	counts, err := s.buckets(ctx, "SELECT "+col+", sum(count)::bigint FROM "+table+w.sql()+" GROUP BY 1", w.args)
	if err != nil {
		return nil, s.wrapErr("series", err)
	}
	return eventlog.FillSeries(q, counts), nil
}

// ActiveUsers returns distinct users per bucket: by day from the per-day
// count eventlog_active_days, by hour from eventlog_user_days, whose hour
// bit sets answer hourly buckets without touching events.
func (s *Store) ActiveUsers(ctx context.Context, q eventlog.SeriesQuery) ([]eventlog.Bucket, error) {
	var sql string
	args := []any{q.Since.Unix(), q.Until.Unix()}
	if q.Interval == eventlog.Hour {
		sql = `SELECT day + h * 3600, count(*) FROM eventlog_user_days, generate_series(0, 23) AS h
			WHERE day >= floor($1::numeric / 86400)::bigint * 86400 AND day < $2
			AND hours & (1 << h) <> 0 AND day + h * 3600 >= $1 AND day + h * 3600 < $2
			GROUP BY 1`
	} else {
		// One row a day, kept by triggers (migration 004).
		sql = `SELECT day, users FROM eventlog_active_days WHERE day >= $1 AND day < $2`
	}
	counts, err := s.buckets(ctx, sql, args)
	if err != nil {
		return nil, s.wrapErr("active users", err)
	}
	return eventlog.FillSeries(q, counts), nil
}

func (s *Store) buckets(ctx context.Context, sql string, args []any) (map[int64]int64, error) {
	rows, err := s.pool.Query(ctx, sql, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	counts := map[int64]int64{}
	for rows.Next() {
		var start, n int64
		if err := rows.Scan(&start, &n); err != nil {
			return nil, err
		}
		counts[start] = n
	}
	return counts, rows.Err()
}

// ReadAfter returns up to limit events in commit order after the event
// afterID ("" for the beginning). Commit order equals seq order because
// inserts hold an advisory lock from drawing seq values until commit.
func (s *Store) ReadAfter(ctx context.Context, afterID string, limit int) ([]eventlog.Event, error) {
	if limit <= 0 {
		return []eventlog.Event{}, nil
	}
	var after int64
	if afterID != "" {
		u, err := uuid.Parse(afterID)
		if err != nil {
			return nil, fmt.Errorf("pgstore: read after %q: %w", afterID, eventlog.ErrNotFound)
		}
		err = s.pool.QueryRow(ctx, `SELECT seq FROM eventlog_events WHERE id = $1::uuid`, u.String()).Scan(&after)
		if errors.Is(err, pgx.ErrNoRows) {
			return nil, fmt.Errorf("pgstore: read after %s: %w", afterID, eventlog.ErrNotFound)
		}
		if err != nil {
			return nil, s.wrapErr("read after", err)
		}
	}
	rows, err := s.pool.Query(ctx, selectEvents+` WHERE seq > $1 ORDER BY seq LIMIT $2`, after, limit)
	if err != nil {
		return nil, s.wrapErr("read after", err)
	}
	events, err := collectEvents(rows)
	if err != nil {
		return nil, s.wrapErr("read after", err)
	}
	if events == nil {
		events = []eventlog.Event{}
	}
	return events, nil
}

// ForgetUser removes the user's id and name from their events and drops
// the user from the actor rollups, in one transaction.
func (s *Store) ForgetUser(ctx context.Context, userID string) (int64, error) {
	var n int64
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `UPDATE eventlog_events SET user_id = NULL, user_name = NULL WHERE user_id = $1`, userID)
		if err != nil {
			return err
		}
		n = tag.RowsAffected()
		if _, err := tx.Exec(ctx, `DELETE FROM eventlog_actors WHERE user_id = $1`, userID); err != nil {
			return err
		}
		_, err = tx.Exec(ctx, `DELETE FROM eventlog_user_days WHERE user_id = $1`, userID)
		return err
	})
	if err != nil {
		return 0, s.wrapErr("forget user", err)
	}
	return n, nil
}
