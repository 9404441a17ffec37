package mysqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"iter"
	"strings"

	"github.com/go-sql-driver/mysql"

	"github.com/eventlog/eventlog"
)

// bulkIndexesKey names the eventlog_settings row that holds, while a bulk
// load runs, the definitions of the indexes it dropped, so that they are
// restored even when the process dies before it could rebuild them.
const bulkIndexesKey = "mysqlstore.bulk_load.dropped_indexes"

// bulkLockName is the server-wide named lock that lets one bulk load at
// a time run on a database (GET_LOCK names are not per database).
const bulkLockName = "CONCAT('eventlog_bulk_load_', SHA1(DATABASE()))"

// bulkTables are the tables a bulk load writes. They must all be empty,
// so that removing the load (TRUNCATE) restores them exactly.
var bulkTables = []string{"eventlog_events", "eventlog_chain", "eventlog_chain_checkpoint",
	"eventlog_action_hours", "eventlog_action_days", "eventlog_actors", "eventlog_user_days", "eventlog_active_days"}

// bulkRollupRows is how many rollup rows a bulk load sums in memory over
// many batches (about 100 MB) before it upserts them, as Insert does for
// one batch. Fewer, larger flushes write each actor row fewer times.
const bulkRollupRows = 1_000_000

// BulkLoad fills an empty store with many events, in order, several times
// faster than Insert. It drops the non-unique secondary indexes of
// eventlog_events (so InnoDB appends each row to the primary key and the
// unique id index only), writes every batch in one transaction with the
// row, chain and rollup code of Insert (rollups summed over many batches
// before they are upserted), commits, and rebuilds the dropped indexes
// with one ALTER TABLE, which sorts instead of inserting row by row. The
// result holds exactly what Insert of the same batches would have stored
// (same seqs, chain and rollups); `eventlog verify` checks it.
//
// It is all or nothing: on any error, including an event id that appears
// twice (Insert would skip the second; BulkLoad fails, naming it), no
// event is stored and the indexes are as before. InnoDB commits DDL
// implicitly, so the indexes are dropped before the transaction and
// rebuilt after it: if the transaction fails they are rebuilt on the
// empty table; if the rebuild fails, the loaded rows are removed (the
// tables were empty, so TRUNCATE restores them) and the indexes rebuilt.
// Until the rebuild is done the dropped definitions are kept in
// eventlog_settings; if the process dies in between, the next BulkLoad
// restores them first (and then refuses the store if the load had
// committed).
//
// The store must hold no events and no rollups, as after a fresh
// migration. One bulk load runs at a time on a database. While it runs,
// inserts wait for the insert lock (and fail after
// innodb_lock_wait_timeout, 50 s by default), and queries see an empty
// store, then, until the rebuild ends, the loaded events without the
// dropped indexes (slowly). Events must be normalized, as Insert
// expects. It returns the number of events stored.
func (s *Store) BulkLoad(ctx context.Context, batches iter.Seq[[]eventlog.Event]) (int64, error) {
	if err := s.check(); err != nil {
		return 0, fmt.Errorf("mysqlstore: bulk load: %w", err)
	}
	conn, err := s.db.Conn(ctx)
	if err != nil {
		return 0, wrap("bulk load", err)
	}
	defer conn.Close()
	var got sql.NullInt64
	if err := conn.QueryRowContext(ctx, "SELECT GET_LOCK("+bulkLockName+", 0)").Scan(&got); err != nil {
		return 0, wrap("bulk load: taking the bulk load lock", err)
	}
	if got.Int64 != 1 {
		return 0, errors.New("mysqlstore: bulk load: another bulk load is running on this database")
	}
	// A broken connection releases the lock when its session ends.
	defer conn.ExecContext(context.WithoutCancel(ctx), "DO RELEASE_LOCK("+bulkLockName+")") //nolint:errcheck
	n, err := s.bulkLoad(ctx, conn, batches)
	if err != nil {
		return 0, wrap("bulk load", err)
	}
	return n, nil
}

func (s *Store) bulkLoad(ctx context.Context, conn *sql.Conn, batches iter.Seq[[]eventlog.Event]) (int64, error) {
	if err := restoreIndexes(ctx, conn); err != nil {
		return 0, fmt.Errorf("restoring the indexes an interrupted bulk load dropped: %w", err)
	}
	if err := checkEmpty(ctx, conn); err != nil {
		return 0, err
	}
	defs, err := droppableIndexes(ctx, conn)
	if err != nil {
		return 0, err
	}
	record, err := json.Marshal(defs)
	if err != nil {
		return 0, err
	}
	if _, err := conn.ExecContext(ctx, "INSERT INTO eventlog_settings (`key`, value) VALUES (?, ?)", bulkIndexesKey, string(record)); err != nil {
		return 0, fmt.Errorf("recording the indexes to drop: %w", err)
	}
	if len(defs) > 0 {
		drops := make([]string, len(defs))
		for i, d := range defs {
			drops[i] = "DROP INDEX " + quoteName(indexName(d))
		}
		if _, err := conn.ExecContext(ctx, "ALTER TABLE eventlog_events "+strings.Join(drops, ", ")); err != nil {
			return 0, s.bulkCleanup(ctx, conn, false, fmt.Errorf("dropping the secondary indexes: %w", err))
		}
	}
	if err := s.bulkHook("dropped"); err != nil {
		return 0, s.bulkCleanup(ctx, conn, false, err)
	}
	flushAt := bulkRollupRows
	if s.testRollupRows > 0 {
		flushAt = s.testRollupRows
	}
	n, err := bulkInsert(ctx, conn, batches, flushAt)
	if err != nil {
		return 0, s.bulkCleanup(ctx, conn, false, err)
	}
	if err := s.bulkHook("committed"); err != nil {
		return 0, s.bulkCleanup(ctx, conn, true, err)
	}
	if err := restoreIndexes(ctx, conn); err != nil {
		return 0, s.bulkCleanup(ctx, conn, true, fmt.Errorf("rebuilding the secondary indexes: %w", err))
	}
	return n, nil
}

// bulkHook lets tests fail a bulk load at a stage ("dropped": after the
// indexes were dropped; "committed": after the events were committed).
func (s *Store) bulkHook(stage string) error {
	if s.testBulkHook == nil {
		return nil
	}
	return s.testBulkHook(stage)
}

// bulkInsert writes every batch in one transaction, holding the insert
// lock, with Insert's code for rows, chain and rollups, upserting the
// rollups when they reach flushAt rows.
func bulkInsert(ctx context.Context, conn *sql.Conn, batches iter.Seq[[]eventlog.Event], flushAt int) (int64, error) {
	tx, err := conn.BeginTx(ctx, nil)
	if err != nil {
		return 0, err
	}
	defer tx.Rollback() //nolint:errcheck // a no-op after Commit
	if err := lockInserts(ctx, tx); err != nil {
		return 0, err
	}
	// Again under the lock: an insert may have come in since the first check.
	if err := checkEmpty(ctx, tx); err != nil {
		return 0, err
	}
	rows := newMultiInsert(insertEventsHead, insertEventsRow, "")
	roll := newRollups()
	seen := map[string]bool{}
	var n int64
	b := -1
	for events := range batches {
		b++
		if len(events) == 0 {
			continue
		}
		clear(seen)
		inserted := make([]bool, len(events))
		for i, e := range events {
			if e.ID == "" {
				return 0, fmt.Errorf("batch %d: %w", b, eventlog.AtIndex(&eventlog.ValidationError{Field: "id", Message: "is empty: normalize events before storing them"}, i))
			}
			if seen[e.ID] {
				return 0, fmt.Errorf("event id %s appears twice; nothing was stored", e.ID)
			}
			seen[e.ID] = true
			args, size, err := eventArgs(e)
			if err != nil {
				return 0, fmt.Errorf("batch %d: %w", b, eventlog.AtIndex(err, i))
			}
			if err := rows.add(ctx, tx, size, args...); err != nil {
				return 0, insertError(err)
			}
			roll.add(e)
			inserted[i] = true
		}
		if err := rows.flush(ctx, tx); err != nil {
			return 0, insertError(err)
		}
		if err := chainBatch(ctx, tx, events, inserted, ""); err != nil {
			return 0, err
		}
		if roll.rows() >= flushAt {
			if err := roll.write(ctx, tx); err != nil {
				return 0, fmt.Errorf("rollups: %w", err)
			}
			roll = newRollups()
		}
		n += int64(len(events))
	}
	if err := roll.write(ctx, tx); err != nil {
		return 0, fmt.Errorf("rollups: %w", err)
	}
	if err := tx.Commit(); err != nil {
		return 0, fmt.Errorf("commit: %w", err)
	}
	return n, nil
}

// insertError names a duplicate id, which the unique index on id (kept
// during the load) reports.
func insertError(err error) error {
	var me *mysql.MySQLError
	if errors.As(err, &me) && me.Number == 1062 {
		return fmt.Errorf("an event id appears twice (%s); nothing was stored", me.Message)
	}
	return fmt.Errorf("insert: %w", err)
}

// rows is how many rollup rows r would upsert.
func (r *rollups) rows() int {
	return len(r.hours) + len(r.adays) + len(r.actors) + len(r.days)
}

type queryRower interface {
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

func checkEmpty(ctx context.Context, q queryRower) error {
	parts := make([]string, len(bulkTables))
	for i, t := range bulkTables {
		parts[i] = "EXISTS (SELECT 1 FROM " + t + ")"
	}
	var stored bool
	if err := q.QueryRowContext(ctx, "SELECT "+strings.Join(parts, " OR ")).Scan(&stored); err != nil {
		return fmt.Errorf("checking that the store is empty: %w", err)
	}
	if stored {
		return errors.New("the store already holds events (or rollups); bulk load needs an empty, freshly migrated one")
	}
	return nil
}

// droppableIndexes returns the definitions, as SHOW CREATE TABLE prints
// them, of the indexes of eventlog_events that a bulk load drops: every
// secondary index but the unique ones, which keep rejecting duplicates.
func droppableIndexes(ctx context.Context, conn *sql.Conn) ([]string, error) {
	var table, ddl string
	if err := conn.QueryRowContext(ctx, "SHOW CREATE TABLE eventlog_events").Scan(&table, &ddl); err != nil {
		return nil, fmt.Errorf("reading the index definitions: %w", err)
	}
	var defs []string
	for _, line := range strings.Split(ddl, "\n") {
		l := strings.TrimSuffix(strings.TrimSpace(line), ",")
		for _, kind := range []string{"KEY `", "FULLTEXT KEY `", "SPATIAL KEY `"} {
			if strings.HasPrefix(l, kind) {
				defs = append(defs, l)
			}
		}
	}
	return defs, nil
}

// restoreIndexes adds back the indexes recorded in eventlog_settings that
// eventlog_events lacks, in one ALTER TABLE, and removes the record.
func restoreIndexes(ctx context.Context, conn *sql.Conn) error {
	var record string
	err := conn.QueryRowContext(ctx, "SELECT value FROM eventlog_settings WHERE `key` = ?", bulkIndexesKey).Scan(&record)
	if errors.Is(err, sql.ErrNoRows) {
		return nil
	}
	if err != nil {
		return err
	}
	var defs []string
	if err := json.Unmarshal([]byte(record), &defs); err != nil {
		return fmt.Errorf("eventlog_settings %s: %w", bulkIndexesKey, err)
	}
	rows, err := conn.QueryContext(ctx, `SELECT DISTINCT index_name FROM information_schema.statistics
		WHERE table_schema = DATABASE() AND table_name = 'eventlog_events'`)
	if err != nil {
		return err
	}
	present := map[string]bool{}
	for rows.Next() {
		var name string
		if err := rows.Scan(&name); err != nil {
			rows.Close()
			return err
		}
		present[name] = true
	}
	if err := rows.Close(); err != nil {
		return err
	}
	if err := rows.Err(); err != nil {
		return err
	}
	var adds []string
	for _, d := range defs {
		if !present[indexName(d)] {
			adds = append(adds, "ADD "+d)
		}
	}
	if len(adds) > 0 {
		if _, err := conn.ExecContext(ctx, "ALTER TABLE eventlog_events "+strings.Join(adds, ", ")); err != nil {
			return err
		}
	}
	_, err = conn.ExecContext(ctx, "DELETE FROM eventlog_settings WHERE `key` = ?", bulkIndexesKey)
	return err
}

// bulkCleanup undoes a failed load: it removes the loaded rows when they
// were committed (truncate) and restores the dropped indexes, then
// returns cause. A canceled context may have broken conn; the cleanup
// then runs on a new connection once the old session has ended (the
// server rolls its transaction back first).
func (s *Store) bulkCleanup(ctx context.Context, conn *sql.Conn, truncate bool, cause error) error {
	ctx = context.WithoutCancel(ctx)
	undo := func(c *sql.Conn) error {
		if truncate {
			for _, t := range bulkTables {
				if _, err := c.ExecContext(ctx, "TRUNCATE TABLE "+t); err != nil {
					return fmt.Errorf("removing the loaded rows: %w", err)
				}
			}
		}
		return restoreIndexes(ctx, c)
	}
	err := undo(conn)
	if err != nil && conn.PingContext(ctx) != nil {
		err = func() error {
			c, err := s.db.Conn(ctx)
			if err != nil {
				return err
			}
			defer c.Close()
			var got sql.NullInt64
			if err := c.QueryRowContext(ctx, "SELECT GET_LOCK("+bulkLockName+", 600)").Scan(&got); err != nil {
				return err
			}
			if got.Int64 != 1 {
				return errors.New("the broken connection's session still holds the bulk load lock after 10 minutes")
			}
			defer c.ExecContext(ctx, "DO RELEASE_LOCK("+bulkLockName+")") //nolint:errcheck
			return undo(c)
		}()
	}
	if err != nil {
		return fmt.Errorf("%w; undoing the load failed too, and the next BulkLoad finishes it: %v", cause, err)
	}
	if truncate {
		return fmt.Errorf("%w; the loaded events were removed", cause)
	}
	return cause
}

// indexName returns the name in an index definition such as
// "KEY `name` (`a`,`b`)".
func indexName(def string) string {
	i := strings.IndexByte(def, '`')
	if i < 0 {
		return ""
	}
	var sb strings.Builder
	for j := i + 1; j < len(def); j++ {
		if def[j] == '`' {
			if j+1 < len(def) && def[j+1] == '`' {
				sb.WriteByte('`')
				j++
				continue
			}
			break
		}
		sb.WriteByte(def[j])
	}
	return sb.String()
}

func quoteName(name string) string {
	return "`" + strings.ReplaceAll(name, "`", "``") + "`"
}
