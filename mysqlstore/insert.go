package mysqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/eventlog/eventlog"
)

// Statement limits for multi-row inserts: rows per statement, and bytes
// of values per statement, well under MariaDB's default
// max_allowed_packet (16 MiB) even when escaping doubles the text.
const (
	maxRowsPerStatement  = 1000
	maxBytesPerStatement = 4 << 20
)

// Insert stores events atomically in one transaction (see
// eventlog.Store).
func (s *Store) Insert(ctx context.Context, events []eventlog.Event) ([]eventlog.Event, []bool, error) {
	if err := s.check(); err != nil {
		return nil, nil, err
	}
	if len(events) == 0 {
		return []eventlog.Event{}, []bool{}, nil
	}
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return nil, nil, wrap("insert", err)
	}
	stored, inserted, err := insertTx(ctx, tx, events)
	if err != nil {
		_ = tx.Rollback()
		return nil, nil, err
	}
	if err := tx.Commit(); err != nil {
		return nil, nil, wrap("insert: commit", err)
	}
	return stored, inserted, nil
}

// InsertSQLTx stores events inside the caller's transaction, rollups
// included, so they exist if and only if tx commits (a transactional
// outbox). tx must be on the database of this store, over a utf8mb4
// connection (go-sql-driver/mysql's default). It holds the store's insert
// lock until tx ends, so other inserts wait for it.
func (s *Store) InsertSQLTx(ctx context.Context, tx *sql.Tx, events []eventlog.Event) ([]eventlog.Event, []bool, error) {
	if err := s.check(); err != nil {
		return nil, nil, err
	}
	if tx == nil {
		return nil, nil, fmt.Errorf("mysqlstore: InsertSQLTx: tx is nil")
	}
	if len(events) == 0 {
		return []eventlog.Event{}, []bool{}, nil
	}
	return insertTx(ctx, tx, events)
}

// lockInserts serializes writers: AUTO_INCREMENT hands out seq in
// statement order, not commit order, so without it a reader of
// ReadAfter could pass a seq whose transaction commits later.
func lockInserts(ctx context.Context, tx *sql.Tx) error {
	var one int
	err := tx.QueryRowContext(ctx, "SELECT id FROM eventlog_insert_lock WHERE id = 1 FOR UPDATE").Scan(&one)
	if err != nil {
		return wrap("taking the insert lock", err)
	}
	return nil
}

// insertEventsHead and insertEventsRow build the multi-row INSERT of
// events (arguments from eventArgs), for Insert and BulkLoad alike.
const (
	insertEventsHead = "INSERT INTO eventlog_events (id, ts, action, user_id, user_name, user_key, object_type, object_id, type_key, object_key, extra, context) VALUES "
	insertEventsRow  = "(?,?,?,?,?,?,?,?,?,?,?,?)"
)

func insertTx(ctx context.Context, tx *sql.Tx, events []eventlog.Event) ([]eventlog.Event, []bool, error) {
	if err := lockInserts(ctx, tx); err != nil {
		return nil, nil, err
	}
	first := make(map[string]int, len(events))
	ids := make([]string, 0, len(events))
	for i, e := range events {
		if e.ID == "" {
			return nil, nil, eventlog.AtIndex(&eventlog.ValidationError{Field: "id", Message: "is empty: normalize events before storing them"}, i)
		}
		if _, ok := first[e.ID]; !ok {
			first[e.ID] = i
			ids = append(ids, e.ID)
		}
	}
	existing, err := lockedEvents(ctx, tx, ids)
	if err != nil {
		return nil, nil, err
	}

	stored := make([]eventlog.Event, len(events))
	inserted := make([]bool, len(events))
	rows := newMultiInsert(insertEventsHead, insertEventsRow, "")
	roll := newRollups()
	for i, e := range events {
		if j := first[e.ID]; j != i {
			stored[i] = stored[j]
			continue
		}
		if old, ok := existing[e.ID]; ok {
			stored[i] = old
			continue
		}
		stored[i], inserted[i] = e, true
		args, size, err := eventArgs(e)
		if err != nil {
			return nil, nil, eventlog.AtIndex(err, i)
		}
		if err := rows.add(ctx, tx, size, args...); err != nil {
			return nil, nil, wrap("insert", err)
		}
		roll.add(e)
	}
	if err := rows.flush(ctx, tx); err != nil {
		return nil, nil, wrap("insert", err)
	}
	if err := roll.write(ctx, tx); err != nil {
		return nil, nil, wrap("insert: rollups", err)
	}
	if err := chainTx(ctx, tx, events, inserted); err != nil {
		return nil, nil, err
	}
	return stored, inserted, nil
}

// lockedEvents returns the stored events among ids. It reads with FOR
// UPDATE, a locking read that sees the latest committed rows even when
// the caller's transaction took its snapshot earlier.
func lockedEvents(ctx context.Context, tx *sql.Tx, ids []string) (map[string]eventlog.Event, error) {
	out := map[string]eventlog.Event{}
	for len(ids) > 0 {
		chunk := ids[:min(len(ids), maxRowsPerStatement)]
		ids = ids[len(chunk):]
		args := make([]any, len(chunk))
		for i, id := range chunk {
			args[i] = id
		}
		q := "SELECT " + eventColumns + " FROM eventlog_events WHERE id IN (?" + strings.Repeat(",?", len(chunk)-1) + ") FOR UPDATE"
		rows, err := tx.QueryContext(ctx, q, args...)
		if err != nil {
			return nil, wrap("insert: reading stored events", err)
		}
		evs, err := scanEvents(rows, 0)
		if err != nil {
			return nil, wrap("insert: reading stored events", err)
		}
		for _, e := range evs {
			out[e.ID] = e
		}
	}
	return out, nil
}

// eventArgs returns the insert arguments of e and their approximate size.
func eventArgs(e eventlog.Event) ([]any, int, error) {
	var userID, userName, objType, objID, ctxJSON any
	var userKey, typeKey, objKey any
	size := len(e.ID) + len(e.Action) + len(e.Extra) + 64
	if e.User != nil {
		userID, userName, userKey = e.User.ID, e.User.Name, key(e.User.ID)
		size += len(e.User.ID) + len(e.User.Name)
	}
	if e.Object != nil {
		objType, objID = e.Object.Type, e.Object.ID
		typeKey, objKey = key(e.Object.Type), key(e.Object.Type, e.Object.ID)
		size += len(e.Object.Type) + len(e.Object.ID)
	}
	if !e.Context.IsZero() {
		b, err := json.Marshal(e.Context)
		if err != nil {
			return nil, 0, &eventlog.ValidationError{Field: "context", Index: -1, Message: err.Error()}
		}
		ctxJSON = string(b)
		size += len(b)
	}
	extra := string(e.Extra)
	if extra == "" {
		extra = "{}"
	}
	return []any{e.ID, e.Timestamp.UnixMicro(), e.Action, userID, userName, userKey, objType, objID, typeKey, objKey, extra, ctxJSON}, size, nil
}

// multiInsert builds multi-row INSERT statements, flushing one when it
// reaches maxRowsPerStatement rows or maxBytesPerStatement bytes.
type multiInsert struct {
	head, row, tail string
	sb              strings.Builder
	args            []any
	rows, bytes     int
}

func newMultiInsert(head, row, tail string) *multiInsert {
	return &multiInsert{head: head, row: row, tail: tail}
}

func (m *multiInsert) add(ctx context.Context, tx *sql.Tx, size int, args ...any) error {
	if m.rows > 0 && (m.rows >= maxRowsPerStatement || m.bytes+size > maxBytesPerStatement) {
		if err := m.flush(ctx, tx); err != nil {
			return err
		}
	}
	if m.rows == 0 {
		m.sb.Reset()
		m.sb.WriteString(m.head)
	} else {
		m.sb.WriteByte(',')
	}
	m.sb.WriteString(m.row)
	m.args = append(m.args, args...)
	m.rows++
	m.bytes += size
	return nil
}

func (m *multiInsert) flush(ctx context.Context, tx *sql.Tx) error {
	if m.rows == 0 {
		return nil
	}
	m.sb.WriteString(m.tail)
	_, err := tx.ExecContext(ctx, m.sb.String(), m.args...)
	m.args, m.rows, m.bytes = m.args[:0], 0, 0
	return err
}

// actionBucket keys the action rollups: bucket is an hour or a day number.
type actionBucket struct {
	action string
	bucket int64
}

type dayKey struct {
	day  int64
	user string
}

type actor struct {
	first, last int64
}

// rollups aggregates one batch before it upserts the rollup tables, so a
// batch of 1000 events costs four statements, not 4000.
type rollups struct {
	hours  map[actionBucket]int64
	adays  map[actionBucket]int64
	actors map[string]*actor
	days   map[dayKey]uint32
	order  []string // actor ids in first-seen order, for stable statements
}

func newRollups() *rollups {
	return &rollups{hours: map[actionBucket]int64{}, adays: map[actionBucket]int64{}, actors: map[string]*actor{}, days: map[dayKey]uint32{}}
}

func (r *rollups) add(e eventlog.Event) {
	ts := e.Timestamp.UnixMicro()
	hour := floorDiv(ts, usPerHour)
	day := floorDiv(ts, usPerDay)
	r.hours[actionBucket{e.Action, hour}]++
	r.adays[actionBucket{e.Action, day}]++
	if e.User == nil {
		return
	}
	id := e.User.ID
	if a, ok := r.actors[id]; ok {
		a.first, a.last = min(a.first, ts), max(a.last, ts)
	} else {
		r.actors[id] = &actor{first: ts, last: ts}
		r.order = append(r.order, id)
	}
	r.days[dayKey{day, id}] |= 1 << uint(hour-day*24)
}

func (r *rollups) write(ctx context.Context, tx *sql.Tx) error {
	hours := newMultiInsert("INSERT INTO eventlog_action_hours (action, hour, count) VALUES ", "(?,?,?)",
		" ON DUPLICATE KEY UPDATE count = count + VALUES(count)")
	for k, n := range r.hours {
		if err := hours.add(ctx, tx, len(k.action)+16, k.action, k.bucket, n); err != nil {
			return err
		}
	}
	if err := hours.flush(ctx, tx); err != nil {
		return err
	}
	adays := newMultiInsert("INSERT INTO eventlog_action_days (action, day, count) VALUES ", "(?,?,?)",
		" ON DUPLICATE KEY UPDATE count = count + VALUES(count)")
	for k, n := range r.adays {
		if err := adays.add(ctx, tx, len(k.action)+16, k.action, k.bucket, n); err != nil {
			return err
		}
	}
	if err := adays.flush(ctx, tx); err != nil {
		return err
	}
	actors := newMultiInsert("INSERT INTO eventlog_actors (user_key, user_id, first_seen, last_seen) VALUES ", "(?,?,?,?)",
		" ON DUPLICATE KEY UPDATE first_seen = LEAST(first_seen, VALUES(first_seen)), last_seen = GREATEST(last_seen, VALUES(last_seen))")
	for _, id := range r.order {
		a := r.actors[id]
		if err := actors.add(ctx, tx, len(id)+48, key(id), id, a.first, a.last); err != nil {
			return err
		}
	}
	if err := actors.flush(ctx, tx); err != nil {
		return err
	}
	days := newMultiInsert("INSERT INTO eventlog_user_days (day, user_key, hours) VALUES ", "(?,?,?)",
		" ON DUPLICATE KEY UPDATE hours = hours | VALUES(hours)")
	for k, bits := range r.days {
		if err := days.add(ctx, tx, 40, k.day, key(k.user), bits); err != nil {
			return err
		}
	}
	return days.flush(ctx, tx)
}
