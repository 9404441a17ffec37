package sqlitestore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/eventlog/eventlog"
)

// Insert stores events atomically in one write transaction, rollups
// included (see eventlog.Store).
func (s *Store) Insert(ctx context.Context, events []eventlog.Event) ([]eventlog.Event, []bool, error) {
	if len(events) == 0 {
		return []eventlog.Event{}, []bool{}, nil
	}
	tx, err := s.writer.BeginTx(ctx, nil)
	if err != nil {
		return nil, nil, fmt.Errorf("sqlitestore: insert: %w", err)
	}
	defer tx.Rollback() //nolint:errcheck // a no-op after Commit
	stored, inserted, err := s.insertTx(ctx, tx, events, true)
	if err != nil {
		return nil, nil, err
	}
	if err := tx.Commit(); err != nil {
		return nil, nil, fmt.Errorf("sqlitestore: insert: commit: %w", err)
	}
	return stored, inserted, nil
}

// InsertSQLTx stores events inside the caller's transaction, which must be
// on this store's database (for example one begun on SQLDB). Rollups are
// maintained in the same transaction, so a rollback leaves no trace.
func (s *Store) InsertSQLTx(ctx context.Context, tx *sql.Tx, events []eventlog.Event) ([]eventlog.Event, []bool, error) {
	if tx == nil {
		return nil, nil, errors.New("sqlitestore: InsertSQLTx: tx is nil")
	}
	if len(events) == 0 {
		return []eventlog.Event{}, []bool{}, nil
	}
	// The caller's tx may belong to another *sql.DB on the same file, where
	// the statements cached on the writer cannot run; prepare on the tx.
	return s.insertTx(ctx, tx, events, false)
}

// The events statement is INSERT OR IGNORE rather than ON CONFLICT (id)
// DO NOTHING: the only constraint it can meet with valid events is the
// unique id, and a statement that cannot abort needs no statement
// journal, so SQLite does not copy every page it changes a second time.

// chunkSizes are the row counts of the cached multi-row statements,
// largest first. A batch is written as full chunks of the largest size,
// then its remainder in smaller ones: one statement per 64 rows instead
// of one per row, which is most of database/sql's and the driver's
// per-call cost.
var chunkSizes = [...]int{64, 16, 4, 1}

// multiRow is an INSERT whose VALUES list repeats one row of placeholders,
// prepared once per chunk size on the writer connection.
type multiRow struct {
	name   string
	prefix string // up to and including VALUES
	row    string // one row of placeholders: (?, ?)
	suffix string // the ON CONFLICT clause
	cols   int
	stmts  [len(chunkSizes)]*sql.Stmt
}

func (m *multiRow) sql(rows int) string {
	return m.prefix + " " + strings.Repeat(m.row+", ", rows-1) + m.row + " " + m.suffix
}

// writeStmts are the statements of the insert path, cached on the writer.
type writeStmts struct {
	events, hours, days, actions, actors, userDays, chain *multiRow
}

func newWriteStmts() *writeStmts {
	return &writeStmts{
		events: &multiRow{name: "events", cols: 9,
			prefix: `INSERT OR IGNORE INTO eventlog_events
				(id, ts, action, user_id, user_name, object_type, object_id, extra, context) VALUES`,
			row: `(?, ?, ?, ?, ?, ?, ?, ?, ?)`},
		hours: &multiRow{name: "rollup action hours", cols: 3,
			prefix: `INSERT INTO eventlog_action_hours (action, hour, count) VALUES`,
			row:    `(?, ?, ?)`,
			suffix: `ON CONFLICT (action, hour) DO UPDATE SET count = count + excluded.count`},
		days: &multiRow{name: "rollup action days", cols: 3,
			prefix: `INSERT INTO eventlog_action_days (action, day, count) VALUES`,
			row:    `(?, ?, ?)`,
			suffix: `ON CONFLICT (action, day) DO UPDATE SET count = count + excluded.count`},
		actions: &multiRow{name: "rollup action counts", cols: 2,
			prefix: `INSERT INTO eventlog_action_counts (action, count) VALUES`,
			row:    `(?, ?)`,
			suffix: `ON CONFLICT (action) DO UPDATE SET count = count + excluded.count`},
		actors: &multiRow{name: "rollup actors", cols: 3,
			prefix: `INSERT INTO eventlog_actors (user_id, first_seen, last_seen) VALUES`,
			row:    `(?, ?, ?)`,
			suffix: `ON CONFLICT (user_id) DO UPDATE SET
				first_seen = min(first_seen, excluded.first_seen),
				last_seen = max(last_seen, excluded.last_seen)`},
		userDays: &multiRow{name: "rollup user days", cols: 2,
			prefix: `INSERT INTO eventlog_user_days (day, user_id) VALUES`,
			row:    `(?, ?)`,
			suffix: `ON CONFLICT DO NOTHING`},
		// OR REPLACE: an event deleted out of band may have left the
		// chain row of a seq SQLite gives out again (see chainTx).
		chain: &multiRow{name: "chain", cols: 4,
			prefix: `INSERT OR REPLACE INTO eventlog_chain (seq, user_digest, prev, hash) VALUES`,
			row:    `(?, ?, ?, ?)`},
	}
}

func (w *writeStmts) all() []*multiRow {
	return []*multiRow{w.events, w.hours, w.days, w.actions, w.actors, w.userDays, w.chain}
}

// prepare prepares every statement on db, the one-connection writer.
func (w *writeStmts) prepare(ctx context.Context, db *sql.DB) error {
	for _, m := range w.all() {
		for i, n := range chunkSizes {
			st, err := db.PrepareContext(ctx, m.sql(n))
			if err != nil {
				return fmt.Errorf("preparing %s insert: %w", m.name, err)
			}
			m.stmts[i] = st
		}
	}
	return nil
}

func (w *writeStmts) close() {
	for _, m := range w.all() {
		for i, st := range m.stmts {
			if st != nil {
				st.Close()
				m.stmts[i] = nil
			}
		}
	}
}

// chunk is one statement's share of a multi-row insert.
type chunk struct{ start, rows, size int }

// nextChunk returns the chunk of the cached sizes that starts at start
// of n rows: the largest size that fits in what is left.
func nextChunk(start, n int) chunk {
	for i, size := range chunkSizes {
		if n-start >= size {
			return chunk{start, size, i}
		}
	}
	return chunk{start, 0, 0}
}

// exec runs m for rows rows whose arguments, m.cols per row, fill args
// in row order, and calls done after each chunk with its result. cached
// says tx is on the writer, where m's statements are prepared; otherwise
// each chunk size used is prepared on tx once for this call.
func (m *multiRow) exec(ctx context.Context, tx *sql.Tx, cached bool, rows int, args []any, done func(c chunk, res sql.Result) error) error {
	var stmts [len(chunkSizes)]*sql.Stmt
	defer func() {
		for _, st := range stmts {
			if st != nil {
				st.Close()
			}
		}
	}()
	for c := nextChunk(0, rows); c.rows > 0; c = nextChunk(c.start+c.rows, rows) {
		st := stmts[c.size]
		if st == nil {
			var err error
			if cached {
				// On the writer's one connection this reuses the statement
				// already prepared there.
				st = tx.StmtContext(ctx, m.stmts[c.size])
			} else if st, err = tx.PrepareContext(ctx, m.sql(c.rows)); err != nil {
				return err
			}
			stmts[c.size] = st
		}
		res, err := st.ExecContext(ctx, args[c.start*m.cols:(c.start+c.rows)*m.cols]...)
		if err != nil {
			return err
		}
		if done != nil {
			if err := done(c, res); err != nil {
				return err
			}
		}
	}
	return nil
}

func (s *Store) insertTx(ctx context.Context, tx *sql.Tx, events []eventlog.Event, cached bool) ([]eventlog.Event, []bool, error) {
	ev := s.stmts.events
	args := make([]any, 0, len(events)*ev.cols)
	var ctxJSON []byte
	for _, e := range events {
		var userID, userName, objType, objID, rc any
		if e.User != nil {
			userID, userName = e.User.ID, e.User.Name
		}
		if e.Object != nil {
			objType, objID = e.Object.Type, e.Object.ID
		}
		if !e.Context.IsZero() {
			ctxJSON = appendContextJSON(ctxJSON[:0], e.Context)
			rc = string(ctxJSON)
		}
		extra := "{}"
		if len(e.Extra) > 0 {
			extra = string(e.Extra)
		}
		args = append(args, e.ID, e.Timestamp.UnixMicro(), e.Action, userID, userName, objType, objID, extra, rc)
	}
	// Rows are given seq values one above the largest, in VALUES order,
	// so the rows a chunk stored hold exactly the seqs (last - stored,
	// last]. A chunk that stored fewer rows than it has skipped ids
	// already stored; its rows are looked up below.
	seqs := make([]int64, len(events)) // 0: not inserted
	type partial struct {
		chunk
		first, last int64
	}
	var partials []partial
	err := ev.exec(ctx, tx, cached, len(events), args, func(c chunk, res sql.Result) error {
		n, err := res.RowsAffected()
		if err != nil {
			return err
		}
		last, err := res.LastInsertId()
		if err != nil {
			return err
		}
		if n == int64(c.rows) {
			for k := range c.rows {
				seqs[c.start+k] = last - n + 1 + int64(k)
			}
		} else {
			partials = append(partials, partial{c, last - n + 1, last})
		}
		return nil
	})
	if err != nil {
		return nil, nil, fmt.Errorf("sqlitestore: insert: %w", err)
	}
	stored := make([]eventlog.Event, len(events))
	inserted := make([]bool, len(events))
	copy(stored, events)
	for i := range inserted {
		inserted[i] = true
	}
	for _, p := range partials {
		claimed := map[string]bool{}
		for i := p.start; i < p.start+p.rows; i++ {
			id := events[i].ID
			seq, prev, err := getStored(ctx, tx, id)
			if err != nil {
				return nil, nil, fmt.Errorf("sqlitestore: insert: reading stored event %s: %w", id, err)
			}
			if seq >= p.first && seq <= p.last && !claimed[id] {
				claimed[id] = true
				seqs[i] = seq
				continue
			}
			// Already stored, earlier in this batch or before: the stored
			// event wins.
			stored[i], inserted[i] = prev, false
		}
	}
	var roll rollup
	for i, e := range events {
		if inserted[i] {
			roll.add(e)
		}
	}
	if err := roll.apply(ctx, tx, s.stmts, cached, args[:0]); err != nil {
		return nil, nil, err
	}
	if err := s.chainTx(ctx, tx, events, seqs, cached); err != nil {
		return nil, nil, err
	}
	return stored, inserted, nil
}

// getStored returns the stored event with this id and its seq.
func getStored(ctx context.Context, tx *sql.Tx, id string) (int64, eventlog.Event, error) {
	var seq int64
	row := tx.QueryRowContext(ctx, `SELECT seq, `+eventColumns+` FROM eventlog_events WHERE id = ?`, id)
	e, err := scanEvent(seqScanner{row, &seq})
	return seq, e, err
}

// seqScanner scans a leading seq column before an event's columns.
type seqScanner struct {
	r   rowScanner
	seq *int64
}

func (s seqScanner) Scan(dest ...any) error {
	return s.r.Scan(append([]any{s.seq}, dest...)...)
}

// appendContextJSON appends c as the JSON object encoding/json makes of
// it (empty fields omitted), without its reflection and allocations.
func appendContextJSON(b []byte, c *eventlog.RequestContext) []byte {
	b = append(b, '{')
	first := true
	for _, f := range [...]struct{ key, v string }{
		{"ip", c.IP}, {"user_agent", c.UserAgent}, {"request_id", c.RequestID},
		{"trace_id", c.TraceID}, {"method", c.Method}, {"path", c.Path},
	} {
		if f.v == "" {
			continue
		}
		if !first {
			b = append(b, ',')
		}
		first = false
		b = append(b, '"')
		b = append(b, f.key...)
		b = append(b, `":`...)
		b = appendJSONString(b, f.v)
	}
	return append(b, '}')
}

// appendJSONString appends s as a JSON string, escaping as encoding/json
// does (<, > and & included; invalid UTF-8 becomes U+FFFD).
func appendJSONString(b []byte, s string) []byte {
	const hex = "0123456789abcdef"
	b = append(b, '"')
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			switch {
			case c == '"' || c == '\\':
				b = append(b, '\\', c)
			case c == '\n':
				b = append(b, '\\', 'n')
			case c == '\r':
				b = append(b, '\\', 'r')
			case c == '\t':
				b = append(b, '\\', 't')
			case c < 0x20 || c == '<' || c == '>' || c == '&':
				b = append(b, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xf])
			default:
				b = append(b, c)
			}
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			b = append(b, `\ufffd`...)
		case r == '\u2028' || r == '\u2029':
			b = append(b, `\u202`...)
			b = append(b, hex[r&0xf])
		default:
			b = append(b, s[i:i+size]...)
		}
		i += size
	}
	return append(b, '"')
}

// rollup aggregates one batch so each rollup row is written once per
// batch, not once per event.
type rollup struct {
	hours   map[actionHour]int64
	days    map[actionHour]int64 // hour holds the day's start
	actions map[string]int64
	actors  map[string]seen
	users   map[userDay]struct{}
}

type actionHour struct {
	action string
	hour   int64
}

type userDay struct {
	day    int64
	userID string
}

type seen struct{ first, last int64 }

// bucket returns the Unix second starting t's UTC hour or day.
func bucket(t time.Time, width time.Duration) int64 { return t.Truncate(width).Unix() }

func (r *rollup) add(e eventlog.Event) {
	if r.hours == nil {
		r.hours = map[actionHour]int64{}
		r.days = map[actionHour]int64{}
		r.actions = map[string]int64{}
		r.actors = map[string]seen{}
		r.users = map[userDay]struct{}{}
	}
	r.hours[actionHour{e.Action, bucket(e.Timestamp, time.Hour)}]++
	r.days[actionHour{e.Action, bucket(e.Timestamp, 24*time.Hour)}]++
	r.actions[e.Action]++
	if e.User == nil {
		return
	}
	us := e.Timestamp.UnixMicro()
	if a, ok := r.actors[e.User.ID]; ok {
		r.actors[e.User.ID] = seen{min(a.first, us), max(a.last, us)}
	} else {
		r.actors[e.User.ID] = seen{us, us}
	}
	r.users[userDay{bucket(e.Timestamp, 24*time.Hour), e.User.ID}] = struct{}{}
}

// apply upserts the batch's rollup rows, many rows per statement. args is
// scratch space for the arguments.
func (r *rollup) apply(ctx context.Context, tx *sql.Tx, w *writeStmts, cached bool, args []any) error {
	if r.hours == nil {
		return nil
	}
	run := func(m *multiRow, rows int, args []any) error {
		if err := m.exec(ctx, tx, cached, rows, args, nil); err != nil {
			return fmt.Errorf("sqlitestore: insert: %s: %w", m.name, err)
		}
		return nil
	}
	args = args[:0]
	for k, n := range r.hours {
		args = append(args, k.action, k.hour, n)
	}
	if err := run(w.hours, len(r.hours), args); err != nil {
		return err
	}
	args = args[:0]
	for k, n := range r.days {
		args = append(args, k.action, k.hour, n)
	}
	if err := run(w.days, len(r.days), args); err != nil {
		return err
	}
	args = args[:0]
	for a, n := range r.actions {
		args = append(args, a, n)
	}
	if err := run(w.actions, len(r.actions), args); err != nil {
		return err
	}
	args = args[:0]
	for u, sn := range r.actors {
		args = append(args, u, sn.first, sn.last)
	}
	if err := run(w.actors, len(r.actors), args); err != nil {
		return err
	}
	args = args[:0]
	for d := range r.users {
		args = append(args, d.day, d.userID)
	}
	return run(w.userDays, len(r.users), args)
}
