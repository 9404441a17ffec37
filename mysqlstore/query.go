package mysqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"

	"github.com/eventlog/eventlog"
)

// Get returns the event with this id, or an error wrapping
// eventlog.ErrNotFound.
func (s *Store) Get(ctx context.Context, id string) (eventlog.Event, error) {
	if err := s.check(); err != nil {
		return eventlog.Event{}, err
	}
	row := s.db.QueryRowContext(ctx, "SELECT "+eventColumns+" FROM eventlog_events WHERE id = ?", id)
	e, err := scanEvent(row)
	if errors.Is(err, sql.ErrNoRows) {
		return eventlog.Event{}, fmt.Errorf("event %q: %w", id, eventlog.ErrNotFound)
	}
	if err != nil {
		return eventlog.Event{}, wrap("get", err)
	}
	return e, nil
}

// Query returns one page of events, newest first. Each filter has an
// index ending in (ts, id), so a page is a short backward index walk;
// several actions are read as one walk per action merged by a UNION, which
// avoids sorting every event of those actions.
func (s *Store) Query(ctx context.Context, q eventlog.Query) (eventlog.Page, error) {
	if err := s.check(); err != nil {
		return eventlog.Page{}, err
	}
	if err := q.Normalize(); err != nil {
		return eventlog.Page{}, err
	}
	common, args := filters(q)
	fetch := q.Limit + 1 // one more tells whether a next page exists
	const order = " ORDER BY ts DESC, id DESC LIMIT "
	var sqlText string
	var all []any
	actions := dedupe(q.Actions)
	switch len(actions) {
	case 0:
		sqlText = "SELECT " + eventColumns + " FROM eventlog_events" + where(common) + order + fmt.Sprint(fetch)
		all = args
	case 1:
		sqlText = "SELECT " + eventColumns + " FROM eventlog_events" + where(append([]string{"action = ?"}, common...)) + order + fmt.Sprint(fetch)
		all = append([]any{actions[0]}, args...)
	default:
		var sb strings.Builder
		for i, a := range actions {
			if i > 0 {
				sb.WriteString(" UNION ALL ")
			}
			sb.WriteString("(SELECT " + eventColumns + " FROM eventlog_events" + where(append([]string{"action = ?"}, common...)) + order + fmt.Sprint(fetch) + ")")
			all = append(all, a)
			all = append(all, args...)
		}
		sb.WriteString(order + fmt.Sprint(fetch))
		sqlText = sb.String()
	}
	rows, err := s.db.QueryContext(ctx, sqlText, all...)
	if err != nil {
		return eventlog.Page{}, wrap("query", err)
	}
	events, err := scanEvents(rows, fetch)
	if err != nil {
		return eventlog.Page{}, wrap("query", err)
	}
	page := eventlog.Page{Events: events}
	if len(events) > q.Limit {
		page.Events = events[:q.Limit]
		page.Next = eventlog.CursorAfter(page.Events[q.Limit-1])
	}
	return page, nil
}

func where(conds []string) string {
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

// likeEscaper makes a user's text a literal LIKE pattern (ESCAPE '!').
var likeEscaper = strings.NewReplacer("!", "!!", "%", "!%", "_", "!_")

// searchColumns are the columns Query.Text searches. The byte columns are converted to text so that LOWER folds them;
// COLLATE utf8mb4_bin keeps LIKE from also folding accents, as the
// default utf8mb4 collations would.
var searchColumns = [...]string{
	"CONVERT(action USING utf8mb4)", "CONVERT(user_id USING utf8mb4)", "CONVERT(user_name USING utf8mb4)",
	"CONVERT(object_type USING utf8mb4)", "CONVERT(object_id USING utf8mb4)", "extra",
}

// filters returns the conditions of q other than its actions.
func filters(q eventlog.Query) ([]string, []any) {
	var conds []string
	var args []any
	if q.UserID != "" {
		conds = append(conds, "user_key = ? AND user_id = ?")
		args = append(args, key(q.UserID), q.UserID)
	}
	switch {
	case q.ObjectType != "" && q.ObjectID != "":
		conds = append(conds, "object_key = ? AND object_type = ? AND object_id = ?")
		args = append(args, key(q.ObjectType, q.ObjectID), q.ObjectType, q.ObjectID)
	case q.ObjectType != "":
		conds = append(conds, "type_key = ? AND object_type = ?")
		args = append(args, key(q.ObjectType), q.ObjectType)
	case q.ObjectID != "":
		conds = append(conds, "object_id = ?")
		args = append(args, q.ObjectID)
	}
	if !q.Since.IsZero() {
		conds = append(conds, "ts >= ?")
		args = append(args, q.Since.UnixMicro())
	}
	if !q.Until.IsZero() {
		conds = append(conds, "ts < ?")
		args = append(args, q.Until.UnixMicro())
	}
	if q.After != nil {
		// Equivalent to (ts, id) < (?, ?), written so that both MySQL and
		// MariaDB use it as a range on the index.
		ts := q.After.Timestamp.UnixMicro()
		conds = append(conds, "ts <= ? AND (ts < ? OR id < ?)")
		args = append(args, ts, ts, q.After.ID)
	}
	if q.Text != "" {
		pattern := "%" + likeEscaper.Replace(q.Text) + "%"
		ors := make([]string, len(searchColumns))
		for i, c := range searchColumns {
			ors[i] = "LOWER(" + c + ") COLLATE utf8mb4_bin LIKE LOWER(?) ESCAPE '!'"
			args = append(args, pattern)
		}
		conds = append(conds, "("+strings.Join(ors, " OR ")+")")
	}
	for _, w := range q.Where {
		cond, wargs := whereCond(w)
		conds = append(conds, cond)
		args = append(args, wargs...)
	}
	return conds, args
}

// whereCond compares a top-level key of extra as a JSON value: the type
// must match (the number 200 is not the string "200") and numbers compare
// numerically. extra is text (see migration/001_init.sql), so the value is
// read with JSON_EXTRACT, which both MySQL and MariaDB provide.
func whereCond(w eventlog.Where) (string, []any) {
	path := `$."` + w.Key + `"` // Normalize forbids quotes and backslashes in keys
	const typ = "JSON_TYPE(JSON_EXTRACT(extra, ?))"
	switch v := w.Value.(type) {
	case nil:
		return typ + " = 'NULL'", []any{path}
	case bool:
		lit := "false"
		if v {
			lit = "true"
		}
		return typ + " = 'BOOLEAN' AND JSON_UNQUOTE(JSON_EXTRACT(extra, ?)) = '" + lit + "'", []any{path, path}
	case float64:
		return typ + " IN ('INTEGER', 'UNSIGNED INTEGER', 'DOUBLE', 'DECIMAL') AND CAST(JSON_EXTRACT(extra, ?) AS DOUBLE) = ?", []any{path, path, v}
	default:
		// Compared as bytes: utf8mb4_bin pads, so "a" would equal "a ".
		return typ + " = 'STRING' AND CAST(JSON_UNQUOTE(JSON_EXTRACT(extra, ?)) AS BINARY) = CAST(? AS BINARY)", []any{path, path, fmt.Sprint(v)}
	}
}

// ReadAfter returns up to limit events in commit order stored after the
// event afterID ("" starts at the first event). It reads the primary key
// in order, so a large limit costs only the rows it returns. Inserts take a lock that
// makes seq order commit order, so resuming never skips an event.
func (s *Store) ReadAfter(ctx context.Context, afterID string, limit int) ([]eventlog.Event, error) {
	if err := s.check(); err != nil {
		return nil, err
	}
	if limit < 1 {
		return nil, &eventlog.ValidationError{Field: "limit", Index: -1, Message: "must be positive"}
	}
	var seq int64
	if afterID != "" {
		err := s.db.QueryRowContext(ctx, "SELECT seq FROM eventlog_events WHERE id = ?", afterID).Scan(&seq)
		if errors.Is(err, sql.ErrNoRows) {
			return nil, fmt.Errorf("read after event %q: %w", afterID, eventlog.ErrNotFound)
		}
		if err != nil {
			return nil, wrap("read after", err)
		}
	}
	rows, err := s.db.QueryContext(ctx, "SELECT "+eventColumns+" FROM eventlog_events WHERE seq > ? ORDER BY seq LIMIT ?", seq, limit)
	if err != nil {
		return nil, wrap("read after", err)
	}
	events, err := scanEvents(rows, limit)
	if err != nil {
		return nil, wrap("read after", err)
	}
	return events, nil
}
