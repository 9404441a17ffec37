package cli

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"
	_ "github.com/jackc/pgx/v5/stdlib" // registers the "pgx" database/sql driver

	"github.com/eventlog/eventlog"
	"github.com/eventlog/eventlog/dial"
	"github.com/eventlog/eventlog/mysqlstore"
	"github.com/eventlog/eventlog/sqlitestore"
)

// pinaxNamespace is the UUIDv5 namespace of events imported from
// pinax-eventlog: an event's id is UUIDv5(pinaxNamespace, the decimal
// pinax row id), so the same row always gets the same id.
var pinaxNamespace = uuid.NewSHA1(uuid.NameSpaceURL, []byte("https://github.com/eventlog/eventlog/pinax_eventlog_log"))

// PinaxEventID returns the id import --from-pinax gives the pinax-eventlog
// row with this id.
func PinaxEventID(rowID int64) string {
	return uuid.NewSHA1(pinaxNamespace, []byte(strconv.FormatInt(rowID, 10))).String()
}

// pinaxQuery reads one page of pinax_eventlog_log in row id order, with
// the username and the content type's natural key. {after} and {limit}
// are replaced by the dialect's placeholders.
const pinaxQuery = `SELECT l.id, l.user_id, u.username, l.timestamp, l.action,
	ct.app_label, ct.model, l.object_id, l.extra
	FROM pinax_eventlog_log l
	LEFT JOIN auth_user u ON u.id = l.user_id
	LEFT JOIN django_content_type ct ON ct.id = l.content_type_id
	WHERE l.id > {after}
	ORDER BY l.id
	LIMIT {limit}`

// openPinax opens the Django database at rawURL for reading and returns
// the query text in its placeholder dialect.
func openPinax(rawURL string) (*sql.DB, string, error) {
	scheme, _, _ := strings.Cut(rawURL, ":")
	query := strings.NewReplacer("{after}", "?", "{limit}", "?").Replace(pinaxQuery)
	switch scheme {
	case "sqlite", "sqlite3", "file":
		path, _, err := sqlitestore.ParseURL(rawURL)
		if err != nil {
			return nil, "", usageErrorf("invalid --from-pinax: %v", err)
		}
		db, err := sql.Open("sqlite", "file:"+(&url.URL{Path: path}).EscapedPath()+"?mode=ro&_pragma=busy_timeout(5000)")
		return db, query, err
	case "postgres", "postgresql":
		db, err := sql.Open("pgx", rawURL)
		return db, strings.NewReplacer("{after}", "$1", "{limit}", "$2").Replace(pinaxQuery), err
	case "mysql", "mariadb":
		cfg, err := mysqlstore.ParseURL(rawURL)
		if err != nil {
			return nil, "", usageErrorf("invalid --from-pinax: %v", err)
		}
		cfg.ParseTime = true
		cfg.Loc = time.UTC // Django stores UTC when USE_TZ is on
		db, err := sql.Open("mysql", cfg.FormatDSN())
		return db, query, err
	}
	return nil, "", usageErrorf("invalid --from-pinax %q: use postgres://…, mysql://… or sqlite:PATH", dial.Redact(rawURL))
}

// fromPinax imports every row of pinax_eventlog_log from db (opened by
// openPinax on rawURL).
func (imp *importer) fromPinax(ctx context.Context, e *env, db *sql.DB, query, rawURL string) error {
	var total int64
	if err := db.QueryRowContext(ctx, `SELECT count(*) FROM pinax_eventlog_log`).Scan(&total); err != nil {
		return fmt.Errorf("--from-pinax %s: reading pinax_eventlog_log: %w", dial.Redact(rawURL), err)
	}
	bar := newProgress(e.stderr, total, "importing", false)
	defer bar.done()
	var after int64
	for {
		events, last, err := readPinaxPage(ctx, db, query, after, imp.batch)
		if err != nil {
			return err
		}
		if len(events) == 0 {
			return nil
		}
		for i := range events {
			imp.redact.RedactEvent(&events[i])
		}
		imp.counts.read += int64(len(events))
		if err := imp.insert(ctx, events); err != nil {
			imp.counts.read -= int64(len(events))
			return fmt.Errorf("storing pinax rows %d–%d: %w", after+1, last, err)
		}
		bar.add(int64(len(events)))
		after = last
	}
}

// readPinaxPage reads up to limit rows with id > after and returns them
// as normalized events, with the last row id.
func readPinaxPage(ctx context.Context, db *sql.DB, query string, after int64, limit int) ([]eventlog.Event, int64, error) {
	rows, err := db.QueryContext(ctx, query, after, limit)
	if err != nil {
		return nil, 0, fmt.Errorf("reading pinax_eventlog_log: %w", err)
	}
	defer rows.Close()
	events := make([]eventlog.Event, 0, limit)
	last := after
	for rows.Next() {
		var (
			id                          int64
			userID                      sql.NullInt64
			userName, appLabel, model   sql.NullString
			objectID, action, extraText sql.NullString
			ts                          any
		)
		if err := rows.Scan(&id, &userID, &userName, &ts, &action, &appLabel, &model, &objectID, &extraText); err != nil {
			return nil, 0, fmt.Errorf("reading pinax_eventlog_log after id %d: %w", last, err)
		}
		last = id
		ev, err := pinaxEvent(id, userID, userName, ts, action, appLabel, model, objectID, extraText)
		if err != nil {
			return nil, 0, fmt.Errorf("pinax_eventlog_log row id %d: %w", id, err)
		}
		events = append(events, ev)
	}
	if err := rows.Err(); err != nil {
		return nil, 0, fmt.Errorf("reading pinax_eventlog_log after id %d: %w", last, err)
	}
	return events, last, nil
}

// pinaxEvent converts one pinax row to a normalized event.
func pinaxEvent(id int64, userID sql.NullInt64, userName sql.NullString, ts any, action, appLabel, model, objectID, extraText sql.NullString) (eventlog.Event, error) {
	t, err := pinaxTime(ts)
	if err != nil {
		return eventlog.Event{}, err
	}
	ev := eventlog.Event{ID: PinaxEventID(id), Timestamp: t, Action: action.String}
	if userID.Valid {
		ev.User = &eventlog.User{ID: strconv.FormatInt(userID.Int64, 10), Name: userName.String}
	}
	if appLabel.Valid && objectID.Valid && objectID.String != "" {
		ev.Object = &eventlog.Object{Type: appLabel.String + "." + model.String, ID: objectID.String}
	}
	if extraText.Valid && strings.TrimSpace(extraText.String) != "" && strings.TrimSpace(extraText.String) != "null" {
		ev.Extra = json.RawMessage(extraText.String)
	}
	if err := ev.Normalize(t); err != nil {
		return eventlog.Event{}, err
	}
	return ev, nil
}

// pinaxTimeLayouts are the text forms of Django's DateTimeField: SQLite
// stores "2006-01-02 15:04:05.999999" (UTC when USE_TZ is on), sometimes
// with an offset.
var pinaxTimeLayouts = []string{
	"2006-01-02 15:04:05.999999999",
	"2006-01-02 15:04:05.999999999-07:00",
	"2006-01-02 15:04:05.999999999Z07:00",
	time.RFC3339Nano,
	"2006-01-02T15:04:05.999999999",
}

// pinaxTime reads a timestamp column, which drivers return as a time.Time
// or as text.
func pinaxTime(v any) (time.Time, error) {
	var s string
	switch x := v.(type) {
	case time.Time:
		return x.UTC(), nil
	case string:
		s = x
	case []byte:
		s = string(x)
	default:
		return time.Time{}, fmt.Errorf("timestamp: unexpected %T", v)
	}
	for _, layout := range pinaxTimeLayouts {
		if t, err := time.Parse(layout, s); err == nil {
			return t.UTC(), nil
		}
	}
	return time.Time{}, fmt.Errorf("timestamp %q is not a date and time", s)
}
