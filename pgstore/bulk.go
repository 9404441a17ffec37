package pgstore

import (
	"context"
	"errors"
	"fmt"
	"iter"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/eventlog/eventlog"
)

// BulkLoad fills an empty store with many events, in order, several times
// faster than Insert: in one transaction it drops the secondary indexes
// of eventlog_events, COPYs each batch and chains it with the same code
// as Insert, fills the rollups from the loaded events with the same SQL
// Insert runs, and rebuilds the indexes from their definitions. The
// result holds exactly what Insert of the same batches would have
// stored (same seqs, chain and rollups); `eventlog verify` checks it.
//
// It is all or nothing: on any error, including an event id that
// appears twice (Insert would skip the second; BulkLoad fails, naming
// it), nothing is stored and the indexes are unchanged. The store must
// hold no events. While it runs, eventlog_events is locked against
// readers and writers. Events must be normalized, as Insert expects.
// It returns the number of events stored.
func (s *Store) BulkLoad(ctx context.Context, batches iter.Seq[[]eventlog.Event]) (int64, error) {
	if s.closed.Load() {
		return 0, fmt.Errorf("pgstore: bulk load: %w", eventlog.ErrClosed)
	}
	n, err := s.bulkLoad(ctx, batches)
	if err != nil {
		var pe *pgconn.PgError
		if errors.As(err, &pe) && pe.Code == "23505" {
			return 0, fmt.Errorf("pgstore: bulk load: an event id appears twice (%s); nothing was stored", pe.Detail)
		}
		return 0, s.wrapErr("bulk load", err)
	}
	return n, nil
}

func (s *Store) bulkLoad(ctx context.Context, batches iter.Seq[[]eventlog.Event]) (int64, error) {
	tx, err := s.pool.Begin(ctx)
	if err != nil {
		return 0, err
	}
	defer tx.Rollback(ctx) //nolint:errcheck // a no-op after Commit
	if _, err := tx.Exec(ctx, `SELECT `+lockSQL); err != nil {
		return 0, err
	}
	var stored bool
	if err := tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM eventlog_events) OR EXISTS (SELECT 1 FROM eventlog_chain)
		OR EXISTS (SELECT 1 FROM eventlog_chain_checkpoint)`).Scan(&stored); err != nil {
		return 0, err
	}
	if stored {
		return 0, errors.New("the store already holds events; bulk load needs an empty one")
	}
	// The secondary indexes, as their definitions: UNIQUE (id) is a
	// constraint, the others plain indexes. The primary key on seq stays.
	type index struct{ name, constraint, def string }
	var indexes []index
	rows, err := tx.Query(ctx, `SELECT i.relname, coalesce(c.conname, ''),
			CASE WHEN c.conname IS NULL THEN pg_get_indexdef(x.indexrelid) ELSE pg_get_constraintdef(c.oid) END
		FROM pg_index x
		JOIN pg_class i ON i.oid = x.indexrelid
		LEFT JOIN pg_constraint c ON c.conindid = x.indexrelid AND c.conrelid = x.indrelid
		WHERE x.indrelid = 'eventlog_events'::regclass AND NOT x.indisprimary
		ORDER BY i.relname`)
	if err != nil {
		return 0, err
	}
	for rows.Next() {
		var ix index
		if err := rows.Scan(&ix.name, &ix.constraint, &ix.def); err != nil {
			rows.Close()
			return 0, err
		}
		indexes = append(indexes, ix)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return 0, fmt.Errorf("reading the index definitions: %w", err)
	}
	for _, ix := range indexes {
		q := `DROP INDEX ` + pgx.Identifier{ix.name}.Sanitize()
		if ix.constraint != "" {
			q = `ALTER TABLE eventlog_events DROP CONSTRAINT ` + pgx.Identifier{ix.constraint}.Sanitize()
		}
		if _, err := tx.Exec(ctx, q); err != nil {
			return 0, fmt.Errorf("dropping index %s: %w", ix.name, err)
		}
	}

	var n int64
	for events := range batches {
		if len(events) == 0 {
			continue
		}
		inserted := make(map[string]bool, len(events))
		for _, e := range events {
			if inserted[e.ID] {
				return 0, fmt.Errorf("event id %s appears twice; nothing was stored", e.ID)
			}
			inserted[e.ID] = true
		}
		if _, err := tx.CopyFrom(ctx, pgx.Identifier{"eventlog_events"}, copyColumns, copyRows(events)); err != nil {
			return 0, fmt.Errorf("copy: %w", err)
		}
		if err := chain(ctx, pgxChainTx{tx}, events, inserted); err != nil {
			return 0, err
		}
		n += int64(len(events))
	}

	// The rollups of all loaded events at once: the tables are empty, so
	// the upserts of rollupTail only insert, the same rows Insert's
	// per-batch upserts add up to.
	if _, err := tx.Exec(ctx, `WITH b AS (SELECT ts, action, user_id FROM eventlog_events)`+rollupTail+` SELECT count(*) FROM b`); err != nil {
		return 0, fmt.Errorf("rollups: %w", err)
	}
	// Index builds sort in memory when they can (the session setting
	// ends with the transaction).
	if _, err := tx.Exec(ctx, `SET LOCAL maintenance_work_mem = '1GB'`); err != nil {
		return 0, err
	}
	for _, ix := range indexes {
		q := ix.def
		if ix.constraint != "" {
			q = `ALTER TABLE eventlog_events ADD CONSTRAINT ` + pgx.Identifier{ix.constraint}.Sanitize() + ` ` + ix.def
		}
		if _, err := tx.Exec(ctx, q); err != nil {
			return 0, fmt.Errorf("rebuilding index %s: %w", ix.name, err)
		}
	}
	return n, tx.Commit(ctx)
}
