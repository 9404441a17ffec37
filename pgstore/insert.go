package pgstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/eventlog/eventlog"
	"github.com/eventlog/eventlog/internal/sqlscan"
)

// copyThreshold is the batch size from which Insert writes with COPY;
// smaller batches go in one statement with array parameters, which costs a
// single round trip.
const copyThreshold = 16

// lockSQL takes the writers' lock of this schema's eventlog_events. Every
// insert path takes it before drawing seq values and holds it until
// commit, which
//   - makes seq order equal commit order, so ReadAfter (live tails
//     resuming by id) can never skip an event that commits late;
//   - lets the COPY path look up which ids are already stored and then
//     COPY only the others straight into eventlog_events, with no race;
//   - rules out deadlocks between concurrent rollup upserts.
const lockSQL = `pg_advisory_xact_lock(1702260588, ('eventlog_events'::regclass::oid::bigint % 2147483647)::int4)`

// rollupTail updates the rollups from the CTE b of newly inserted events
// (ts, action, user_id). The upserts skip rows they would not change (a
// user seen again in the same hour), which writes no new row version.
const rollupTail = `, h AS (
	SELECT ts, action, user_id,
		floor(extract(epoch FROM ts) / 3600)::bigint * 3600 AS hour,
		floor(extract(epoch FROM ts) / 86400)::bigint * 86400 AS day
	FROM b
), ah AS (
	INSERT INTO eventlog_action_hours AS r (action, hour, count)
	SELECT action, hour, count(*) FROM h GROUP BY action, hour
	ON CONFLICT (action, hour) DO UPDATE SET count = r.count + excluded.count
), ad AS (
	INSERT INTO eventlog_action_days AS r (action, day, count)
	SELECT action, day, count(*) FROM h GROUP BY action, day
	ON CONFLICT (action, day) DO UPDATE SET count = r.count + excluded.count
), ac AS (
	INSERT INTO eventlog_actors AS r (user_id, first_seen, last_seen)
	SELECT user_id, min(ts), max(ts) FROM h WHERE user_id IS NOT NULL GROUP BY user_id
	ON CONFLICT (user_id) DO UPDATE SET
		first_seen = least(r.first_seen, excluded.first_seen),
		last_seen = greatest(r.last_seen, excluded.last_seen)
	WHERE excluded.first_seen < r.first_seen OR excluded.last_seen > r.last_seen
), ud AS (
	INSERT INTO eventlog_user_days AS r (day, user_id, hours)
	SELECT day, user_id, bit_or(1 << ((hour - day) / 3600)::int) FROM h WHERE user_id IS NOT NULL GROUP BY day, user_id
	ON CONFLICT (day, user_id) DO UPDATE SET hours = r.hours | excluded.hours
	WHERE r.hours | excluded.hours <> r.hours
)`

// insertArraysSQL inserts the events given as arrays and updates the
// rollups from those actually inserted, in one statement. Duplicates
// within a batch are removed in Go before this runs, so ON CONFLICT only
// meets events already stored, and those win.
const insertArraysSQL = `WITH src AS (
	SELECT * FROM unnest($1::uuid[], $2::timestamptz[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[], $8::json[], $9::jsonb[])
		WITH ORDINALITY AS s(id, ts, action, user_id, user_name, object_type, object_id, extra, context, ord)
	WHERE (SELECT true FROM ` + lockSQL + `)
), ins AS (
	INSERT INTO eventlog_events (id, ts, action, user_id, user_name, object_type, object_id, extra, context)
	SELECT id, ts, action, user_id, user_name, object_type, object_id, extra, context FROM src ORDER BY ord
	ON CONFLICT (id) DO NOTHING
	RETURNING id, ts, action, user_id
), b AS (SELECT ts, action, user_id FROM ins)` + rollupTail + `
SELECT id::text FROM ins`

// rollupArraysSQL updates the rollups for events just copied in.
const rollupArraysSQL = `WITH b AS (
	SELECT * FROM unnest($1::timestamptz[], $2::text[], $3::text[]) AS u(ts, action, user_id)
)` + rollupTail + `
SELECT count(*) FROM b`

// rollupRangeSQL is rollupArraysSQL that also returns the lowest and
// highest seq after $4 and how many rows lie there: when they are exactly
// the rows a COPY just wrote, their seqs are known without reading them.
const rollupRangeSQL = `WITH b AS (
	SELECT * FROM unnest($1::timestamptz[], $2::text[], $3::text[]) AS u(ts, action, user_id)
)` + rollupTail + `
SELECT min(seq), max(seq), count(*) FROM eventlog_events WHERE seq > $4`

var copyColumns = []string{"id", "ts", "action", "user_id", "user_name", "object_type", "object_id", "extra", "context"}

// queryer is what pgx.Tx, *pgxpool.Pool and *pgx.Conn have in common.
type queryer interface {
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
}

// batch is a deduplicated insert: unique holds the first occurrence of
// each id, in input order; first maps each input position to its index
// in unique.
type batch struct {
	events []eventlog.Event
	unique []eventlog.Event
	first  []int
}

func newBatch(events []eventlog.Event) *batch {
	b := &batch{events: events, first: make([]int, len(events))}
	seen := make(map[string]int, len(events))
	for i, e := range events {
		j, ok := seen[e.ID]
		if !ok {
			j = len(b.unique)
			seen[e.ID] = j
			b.unique = append(b.unique, e)
		}
		b.first[i] = j
	}
	return b
}

// arrays returns the unique events as the nine array parameters of
// insertArraysSQL.
func (b *batch) arrays() []any {
	n := len(b.unique)
	ids, actions, extras := make([]string, n), make([]string, n), make([]string, n)
	ts := make([]time.Time, n)
	userIDs, userNames, objTypes, objIDs, contexts := make([]*string, n), make([]*string, n), make([]*string, n), make([]*string, n), make([]*string, n)
	for i, e := range b.unique {
		r := row(e)
		ids[i], ts[i], actions[i], extras[i] = e.ID, e.Timestamp, e.Action, r.extra
		userIDs[i], userNames[i], objTypes[i], objIDs[i], contexts[i] = r.userID, r.userName, r.objectType, r.objectID, r.context
	}
	return []any{ids, ts, actions, userIDs, userNames, objTypes, objIDs, extras, contexts}
}

// eventRow holds the nullable columns of an event.
type eventRow struct {
	userID, userName, objectType, objectID, context *string
	extra                                           string
}

func row(e eventlog.Event) eventRow {
	var r eventRow
	if e.User != nil {
		r.userID, r.userName = &e.User.ID, &e.User.Name
	}
	if e.Object != nil {
		r.objectType, r.objectID = &e.Object.Type, &e.Object.ID
	}
	r.extra = "{}"
	if len(e.Extra) > 0 {
		r.extra = string(e.Extra)
	}
	if !e.Context.IsZero() {
		c, _ := json.Marshal(e.Context) // a struct of strings always marshals
		s := string(c)
		r.context = &s
	}
	return r
}

// copyRows feeds events to COPY, in order, so seq follows input order.
func copyRows(events []eventlog.Event) pgx.CopyFromSource {
	return pgx.CopyFromSlice(len(events), func(i int) ([]any, error) {
		e := events[i]
		r := row(e)
		return []any{e.ID, e.Timestamp, e.Action, r.userID, r.userName, r.objectType, r.objectID, r.extra, r.context}, nil
	})
}

// result assembles the Store.Insert answer from the set of ids this call
// inserted and the stored versions of the others.
func (b *batch) result(inserted map[string]bool, existing map[string]eventlog.Event) ([]eventlog.Event, []bool, error) {
	stored := make([]eventlog.Event, len(b.events))
	flags := make([]bool, len(b.events))
	claimed := make([]bool, len(b.unique))
	for i := range b.events {
		j := b.first[i]
		u := b.unique[j]
		switch {
		case inserted[u.ID]:
			stored[i] = u
			flags[i] = !claimed[j]
			claimed[j] = true
		default:
			e, ok := existing[u.ID]
			if !ok {
				return nil, nil, fmt.Errorf("event %s was neither inserted nor found", u.ID)
			}
			stored[i] = e
		}
	}
	return stored, flags, nil
}

// missing returns the ids of unique events that were not inserted.
func (b *batch) missing(inserted map[string]bool) []string {
	var ids []string
	for _, e := range b.unique {
		if !inserted[e.ID] {
			ids = append(ids, e.ID)
		}
	}
	return ids
}

func collectIDs(rows pgx.Rows) (map[string]bool, error) {
	ids, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return nil, err
	}
	m := make(map[string]bool, len(ids))
	for _, id := range ids {
		m[id] = true
	}
	return m, nil
}

// Insert stores events atomically; see eventlog.Store. One event, or a
// few, take one round trip; larger batches are written with COPY in a
// transaction.
func (s *Store) Insert(ctx context.Context, events []eventlog.Event) ([]eventlog.Event, []bool, error) {
	if s.closed.Load() {
		return nil, nil, fmt.Errorf("pgstore: insert: %w", eventlog.ErrClosed)
	}
	if len(events) == 0 {
		return nil, nil, nil
	}
	b := newBatch(events)
	var inserted map[string]bool
	var existing map[string]eventlog.Event
	var err error
	if len(b.unique) < copyThreshold {
		// One statement inserts and updates the rollups; the hash chain
		// needs the seqs it drew, so it is a transaction of its own.
		err = pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
			var err error
			if inserted, err = insertArrays(ctx, tx, b); err != nil {
				return err
			}
			if err := chain(ctx, pgxChainTx{tx}, b.unique, inserted); err != nil {
				return err
			}
			existing, err = getMany(ctx, tx, b.missing(inserted))
			return err
		})
	} else {
		inserted, existing, err = s.insertCopy(ctx, b)
	}
	if err != nil {
		return nil, nil, s.wrapErr("insert", err)
	}
	stored, flags, err := b.result(inserted, existing)
	if err != nil {
		return nil, nil, s.wrapErr("insert", err)
	}
	return stored, flags, nil
}

func insertArrays(ctx context.Context, q queryer, b *batch) (map[string]bool, error) {
	rows, err := q.Query(ctx, insertArraysSQL, b.arrays()...)
	if err != nil {
		return nil, err
	}
	return collectIDs(rows)
}

// insertCopy writes a batch of 16 or more events: optimistically, as if
// none of its ids were stored (insertFresh), and when one was, again in
// a transaction that reads the stored ones first (insertChecked).
func (s *Store) insertCopy(ctx context.Context, b *batch) (map[string]bool, map[string]eventlog.Event, error) {
	inserted, ok, err := s.insertFresh(ctx, b)
	if err != nil {
		return nil, nil, err
	}
	if ok {
		return inserted, map[string]eventlog.Event{}, nil
	}
	return s.insertChecked(ctx, b)
}

// insertFresh COPYs all of b's unique events straight into
// eventlog_events in one transaction of four round trips: BEGIN, the
// writers' lock and the chain head; the COPY; the rollups, which also
// return the range of seqs the COPY drew; the chain rows and COMMIT. It
// reports ok false, having stored nothing, when an id was already stored
// (the unique index rejects the COPY), when events stored before
// migration 002 still wait to be chained, or when rows written out of
// band share the seq range: insertChecked handles those.
func (s *Store) insertFresh(ctx context.Context, b *batch) (inserted map[string]bool, ok bool, err error) {
	c, err := s.pool.Acquire(ctx)
	if err != nil {
		return nil, false, err
	}
	defer c.Release()
	done := false
	defer func() {
		if !done {
			// A broken connection is closed by Release (it is not idle).
			rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
			c.Exec(rctx, "ROLLBACK") //nolint:errcheck // best effort
			cancel()
		}
	}()
	var h chainHead
	open := &pgx.Batch{}
	open.Queue("BEGIN")
	open.Queue("SELECT " + lockSQL)
	open.Queue(chainHeadSQL, eventlog.ChainTail, sqlscan.BackfillBefore).QueryRow(func(r pgx.Row) error { return r.Scan(&h.lastSeq, &h.lastHash, &h.tailSeq, &h.tailHash, &h.pending) })
	if err := c.SendBatch(ctx, open).Close(); err != nil {
		return nil, false, err
	}
	if h.pending {
		return nil, false, nil
	}
	events := b.unique
	if _, err := c.CopyFrom(ctx, pgx.Identifier{"eventlog_events"}, copyColumns, copyRows(events)); err != nil {
		if pe, isPg := errors.AsType[*pgconn.PgError](err); isPg && pe.Code == "23505" {
			return nil, false, nil // an id is stored already
		}
		return nil, false, fmt.Errorf("copy: %w", err)
	}
	prev, prevSeq, from := h.start()
	ts, actions, users := make([]time.Time, len(events)), make([]string, len(events)), make([]*string, len(events))
	for i, e := range events {
		ts[i], actions[i] = e.Timestamp, e.Action
		if e.User != nil {
			users[i] = &e.User.ID
		}
	}
	var lo, hi *int64
	var n int64
	if err := c.QueryRow(ctx, rollupRangeSQL, ts, actions, users, from).Scan(&lo, &hi, &n); err != nil {
		return nil, false, fmt.Errorf("rollups: %w", err)
	}
	if lo == nil || n != int64(len(events)) || *hi-*lo+1 != n {
		return nil, false, nil // rows written out of band lie in between
	}
	// COPY draws seqs in row order, so events[i] has seq lo+i.
	seqs, prevs := make([]int64, len(events)), make([]int64, len(events))
	uds, hashes := make([][]byte, len(events)), make([][]byte, len(events))
	for i, e := range events {
		seq := *lo + int64(i)
		ud := eventlog.UserDigest(e.ID, e.User)
		hash := eventlog.ChainNext(prev, seq, eventlog.EventDigest(e, ud))
		seqs[i], uds[i], prevs[i], hashes[i] = seq, ud, prevSeq, hash[:]
		prev, prevSeq = hash, seq
	}
	end := &pgx.Batch{}
	end.Queue(insertChainSQL, seqs, uds, prevs, hashes)
	if h.tailSeq != nil {
		end.Queue(moveTailSQL, seqs[0], eventlog.ChainTail)
	}
	end.Queue("COMMIT")
	if err := c.SendBatch(ctx, end).Close(); err != nil {
		return nil, false, fmt.Errorf("chaining and committing: %w", err)
	}
	done = true
	inserted = make(map[string]bool, len(events))
	for _, e := range events {
		inserted[e.ID] = true
	}
	return inserted, true, nil
}

// insertChecked writes a batch in one transaction: under the writers'
// lock it reads the events whose ids are already stored, COPYs the others
// straight into eventlog_events (COPY's multi-row insert, not a staging
// table and a per-row INSERT … ON CONFLICT), and updates the rollups for
// them.
func (s *Store) insertChecked(ctx context.Context, b *batch) (map[string]bool, map[string]eventlog.Event, error) {
	tx, err := s.pool.Begin(ctx)
	if err != nil {
		return nil, nil, err
	}
	defer tx.Rollback(ctx) //nolint:errcheck // a no-op after Commit
	if _, err := tx.Exec(ctx, `SELECT `+lockSQL); err != nil {
		return nil, nil, err
	}
	ids := make([]string, len(b.unique))
	for i, e := range b.unique {
		ids[i] = e.ID
	}
	existing, err := getMany(ctx, tx, ids)
	if err != nil {
		return nil, nil, err
	}
	fresh := make([]eventlog.Event, 0, len(b.unique))
	inserted := make(map[string]bool, len(b.unique))
	for _, e := range b.unique {
		if _, ok := existing[e.ID]; !ok {
			fresh = append(fresh, e)
			inserted[e.ID] = true
		}
	}
	if len(fresh) > 0 {
		if _, err := tx.CopyFrom(ctx, pgx.Identifier{"eventlog_events"}, copyColumns, copyRows(fresh)); err != nil {
			return nil, nil, fmt.Errorf("copy: %w", err)
		}
		ts, actions, users := make([]time.Time, len(fresh)), make([]string, len(fresh)), make([]*string, len(fresh))
		for i, e := range fresh {
			ts[i], actions[i] = e.Timestamp, e.Action
			if e.User != nil {
				users[i] = &e.User.ID
			}
		}
		if _, err := tx.Exec(ctx, rollupArraysSQL, ts, actions, users); err != nil {
			return nil, nil, fmt.Errorf("rollups: %w", err)
		}
		if err := chain(ctx, pgxChainTx{tx}, fresh, inserted); err != nil {
			return nil, nil, err
		}
	}
	if err := tx.Commit(ctx); err != nil {
		return nil, nil, err
	}
	return inserted, existing, nil
}

// InsertTx stores events inside the caller's pgx transaction, which must
// be on the store's database: they exist if and only if tx commits. It
// returns the same results as Insert. Until tx ends it holds the lock that
// orders writers (see ReadAfter), so keep such transactions short.
func (s *Store) InsertTx(ctx context.Context, tx pgx.Tx, events []eventlog.Event) ([]eventlog.Event, []bool, error) {
	if len(events) == 0 {
		return nil, nil, nil
	}
	b := newBatch(events)
	inserted, err := insertArrays(ctx, tx, b)
	if err != nil {
		return nil, nil, fmt.Errorf("pgstore: insert: %w", err)
	}
	if err := chain(ctx, pgxChainTx{tx}, b.unique, inserted); err != nil {
		return nil, nil, fmt.Errorf("pgstore: insert: %w", err)
	}
	existing, err := getMany(ctx, tx, b.missing(inserted))
	if err != nil {
		return nil, nil, fmt.Errorf("pgstore: insert: %w", err)
	}
	stored, flags, err := b.result(inserted, existing)
	if err != nil {
		return nil, nil, fmt.Errorf("pgstore: insert: %w", err)
	}
	return stored, flags, nil
}

// Outbox returns an eventlog.Outbox that logs through l into tx: events
// exist if and only if tx commits through the Outbox, and l's subscribers
// hear of them only after that commit.
func (s *Store) Outbox(l *eventlog.Logger, tx pgx.Tx) *eventlog.Outbox {
	return eventlog.NewOutbox(l,
		func(ctx context.Context, events []eventlog.Event) ([]eventlog.Event, []bool, error) {
			return s.InsertTx(ctx, tx, events)
		},
		func() error { return tx.Commit(context.Background()) },
		func() error { return tx.Rollback(context.Background()) },
	)
}

// InsertSQLTx stores events inside the caller's database/sql transaction,
// which must be on the store's database (for instance one begun on
// SQLDB()). It implements eventlog.SQLTxStore.
func (s *Store) InsertSQLTx(ctx context.Context, tx *sql.Tx, events []eventlog.Event) ([]eventlog.Event, []bool, error) {
	if len(events) == 0 {
		return nil, nil, nil
	}
	b := newBatch(events)
	rows, err := tx.QueryContext(ctx, insertArraysSQL, b.arrays()...)
	if err != nil {
		return nil, nil, fmt.Errorf("pgstore: insert: %w", err)
	}
	inserted := map[string]bool{}
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			rows.Close()
			return nil, nil, fmt.Errorf("pgstore: insert: %w", err)
		}
		inserted[id] = true
	}
	if err := rows.Close(); err != nil {
		return nil, nil, fmt.Errorf("pgstore: insert: %w", err)
	}
	if err := rows.Err(); err != nil {
		return nil, nil, fmt.Errorf("pgstore: insert: %w", err)
	}
	if err := chain(ctx, sqlChainTx{tx}, b.unique, inserted); err != nil {
		return nil, nil, fmt.Errorf("pgstore: insert: %w", err)
	}
	existing := map[string]eventlog.Event{}
	if ids := b.missing(inserted); len(ids) > 0 {
		rows, err := tx.QueryContext(ctx, selectEvents+` WHERE id = ANY($1::uuid[])`, ids)
		if err != nil {
			return nil, nil, fmt.Errorf("pgstore: insert: %w", err)
		}
		defer rows.Close()
		for rows.Next() {
			e, err := scanEvent(rows)
			if err != nil {
				return nil, nil, fmt.Errorf("pgstore: insert: %w", err)
			}
			existing[e.ID] = e
		}
		if err := rows.Err(); err != nil {
			return nil, nil, fmt.Errorf("pgstore: insert: %w", err)
		}
	}
	stored, flags, err := b.result(inserted, existing)
	if err != nil {
		return nil, nil, fmt.Errorf("pgstore: insert: %w", err)
	}
	return stored, flags, nil
}
