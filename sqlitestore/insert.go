package sqlitestore

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"

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
	stored, inserted, err := insertTx(ctx, tx, events)
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
	return insertTx(ctx, tx, events)
}

const insertEventSQL = `INSERT INTO eventlog_events
	(id, ts, action, user_id, user_name, object_type, object_id, extra, context)
	VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
	ON CONFLICT (id) DO NOTHING`

func insertTx(ctx context.Context, tx *sql.Tx, events []eventlog.Event) ([]eventlog.Event, []bool, error) {
	stmt, err := tx.PrepareContext(ctx, insertEventSQL)
	if err != nil {
		return nil, nil, fmt.Errorf("sqlitestore: insert: %w", err)
	}
	defer stmt.Close()
	stored := make([]eventlog.Event, len(events))
	inserted := make([]bool, len(events))
	var roll rollup
	for i, e := range events {
		var userID, userName, objType, objID, rc sql.NullString
		if e.User != nil {
			userID = sql.NullString{String: e.User.ID, Valid: true}
			userName = sql.NullString{String: e.User.Name, Valid: true}
		}
		if e.Object != nil {
			objType = sql.NullString{String: e.Object.Type, Valid: true}
			objID = sql.NullString{String: e.Object.ID, Valid: true}
		}
		if !e.Context.IsZero() {
			b, err := json.Marshal(e.Context)
			if err != nil {
				return nil, nil, fmt.Errorf("sqlitestore: insert: event %d: context: %w", i, err)
			}
			rc = sql.NullString{String: string(b), Valid: true}
		}
		extra := string(e.Extra)
		if extra == "" {
			extra = "{}"
		}
		res, err := stmt.ExecContext(ctx, e.ID, e.Timestamp.UnixMicro(), e.Action,
			userID, userName, objType, objID, extra, rc)
		if err != nil {
			return nil, nil, fmt.Errorf("sqlitestore: insert: event %d (id %s): %w", i, e.ID, err)
		}
		n, err := res.RowsAffected()
		if err != nil {
			return nil, nil, fmt.Errorf("sqlitestore: insert: %w", err)
		}
		if n == 0 {
			// Already stored, earlier in this batch or before: the stored
			// event wins.
			prev, err := getEvent(ctx, tx, e.ID)
			if err != nil {
				return nil, nil, fmt.Errorf("sqlitestore: insert: reading stored event %s: %w", e.ID, err)
			}
			stored[i] = prev
			continue
		}
		stored[i], inserted[i] = e, true
		roll.add(e)
	}
	if err := roll.apply(ctx, tx); err != nil {
		return nil, nil, err
	}
	return stored, inserted, nil
}

// rollup aggregates one batch so each rollup row is written once per
// batch, not once per event.
type rollup struct {
	hours   map[actionHour]int64
	days    map[actionHour]int64 // hour holds the day's start
	actions map[string]int64
	actors  map[string]*seen
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
		r.actors = map[string]*seen{}
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
		a.first, a.last = min(a.first, us), max(a.last, us)
	} else {
		r.actors[e.User.ID] = &seen{us, us}
	}
	r.users[userDay{bucket(e.Timestamp, 24*time.Hour), e.User.ID}] = struct{}{}
}

func (r *rollup) apply(ctx context.Context, tx *sql.Tx) error {
	if r.hours == nil {
		return nil
	}
	steps := []struct {
		name string
		sql  string
		rows func(exec func(args ...any) error) error
	}{
		{"action hours", `INSERT INTO eventlog_action_hours (action, hour, count) VALUES (?, ?, ?)
			ON CONFLICT (action, hour) DO UPDATE SET count = count + excluded.count`,
			func(exec func(args ...any) error) error {
				for k, n := range r.hours {
					if err := exec(k.action, k.hour, n); err != nil {
						return err
					}
				}
				return nil
			}},
		{"action days", `INSERT INTO eventlog_action_days (action, day, count) VALUES (?, ?, ?)
			ON CONFLICT (action, day) DO UPDATE SET count = count + excluded.count`,
			func(exec func(args ...any) error) error {
				for k, n := range r.days {
					if err := exec(k.action, k.hour, n); err != nil {
						return err
					}
				}
				return nil
			}},
		{"action counts", `INSERT INTO eventlog_action_counts (action, count) VALUES (?, ?)
			ON CONFLICT (action) DO UPDATE SET count = count + excluded.count`,
			func(exec func(args ...any) error) error {
				for a, n := range r.actions {
					if err := exec(a, n); err != nil {
						return err
					}
				}
				return nil
			}},
		{"actors", `INSERT INTO eventlog_actors (user_id, first_seen, last_seen) VALUES (?, ?, ?)
			ON CONFLICT (user_id) DO UPDATE SET
				first_seen = min(first_seen, excluded.first_seen),
				last_seen = max(last_seen, excluded.last_seen)`,
			func(exec func(args ...any) error) error {
				for u, sn := range r.actors {
					if err := exec(u, sn.first, sn.last); err != nil {
						return err
					}
				}
				return nil
			}},
		{"user days", `INSERT INTO eventlog_user_days (day, user_id) VALUES (?, ?) ON CONFLICT DO NOTHING`,
			func(exec func(args ...any) error) error {
				for d := range r.users {
					if err := exec(d.day, d.userID); err != nil {
						return err
					}
				}
				return nil
			}},
	}
	for _, st := range steps {
		stmt, err := tx.PrepareContext(ctx, st.sql)
		if err != nil {
			return fmt.Errorf("sqlitestore: insert: rollup %s: %w", st.name, err)
		}
		err = st.rows(func(args ...any) error {
			_, err := stmt.ExecContext(ctx, args...)
			return err
		})
		stmt.Close()
		if err != nil {
			return fmt.Errorf("sqlitestore: insert: rollup %s: %w", st.name, err)
		}
	}
	return nil
}
