package pgstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"

	"github.com/jackc/pgx/v5"

	"github.com/eventlog/eventlog"
	"github.com/eventlog/eventlog/internal/sqlscan"
)

var _ eventlog.ChainReader = (*Store)(nil)

// The hash chain lives in a side table, eventlog_chain (seq, user_digest,
// prev, hash), written in the insert transaction: an UPDATE of the fresh
// event rows would leave a dead version of each behind and, on full
// pages, a new entry in every index.

// chainTx is what the chain needs of a transaction, so the pgx and the
// database/sql insert paths share one implementation.
type chainTx interface {
	query(ctx context.Context, q string, args []any, row func(scan func(dest ...any) error) error) error
	exec(ctx context.Context, q string, args ...any) error
}

type pgxChainTx struct{ tx pgx.Tx }

func (t pgxChainTx) query(ctx context.Context, q string, args []any, row func(func(...any) error) error) error {
	rows, err := t.tx.Query(ctx, q, args...)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		if err := row(rows.Scan); err != nil {
			return err
		}
	}
	return rows.Err()
}

func (t pgxChainTx) exec(ctx context.Context, q string, args ...any) error {
	_, err := t.tx.Exec(ctx, q, args...)
	return err
}

type sqlChainTx struct{ tx *sql.Tx }

func (t sqlChainTx) query(ctx context.Context, q string, args []any, row func(func(...any) error) error) error {
	rows, err := t.tx.QueryContext(ctx, q, args...)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		if err := row(rows.Scan); err != nil {
			return err
		}
	}
	return rows.Err()
}

func (t sqlChainTx) exec(ctx context.Context, q string, args ...any) error {
	_, err := t.tx.ExecContext(ctx, q, args...)
	return err
}

// chainHeadSQL returns the last chained seq and hash, the checkpoint of
// a pruned tail (before_seq = ChainTail), if any, and whether events
// stored before migration 002 still wait to be chained (before_seq =
// sqlscan.BackfillBefore): one round trip for what every chaining write reads.
const chainHeadSQL = `SELECT
	(SELECT seq FROM eventlog_chain ORDER BY seq DESC LIMIT 1),
	(SELECT hash FROM eventlog_chain ORDER BY seq DESC LIMIT 1),
	(SELECT seq FROM eventlog_chain_checkpoint WHERE before_seq = $1),
	(SELECT hash FROM eventlog_chain_checkpoint WHERE before_seq = $1),
	EXISTS (SELECT 1 FROM eventlog_chain_checkpoint WHERE before_seq = $2)`

// chainHead is what chainHeadSQL reads: where the next chained event
// links to.
type chainHead struct {
	lastSeq, tailSeq   *int64
	lastHash, tailHash []byte
	pending            bool // events stored before migration 002 wait
}

func (h *chainHead) scan(scan func(...any) error) error {
	return scan(&h.lastSeq, &h.lastHash, &h.tailSeq, &h.tailHash, &h.pending)
}

// start returns the hash and seq the next chained event links to, and
// the seq after which no row is chained yet.
func (h *chainHead) start() (prev [32]byte, prevSeq, from int64) {
	if h.lastSeq != nil {
		prevSeq, from = *h.lastSeq, *h.lastSeq
		copy(prev[:], h.lastHash)
	}
	if h.tailSeq != nil {
		prevSeq = *h.tailSeq
		copy(prev[:], h.tailHash)
	}
	return prev, prevSeq, from
}

// insertChainSQL writes chain rows given as arrays (seq, user_digest,
// prev, hash); moveTailSQL moves the pruned-tail checkpoint to the first
// event chained after it.
const (
	insertChainSQL = `INSERT INTO eventlog_chain (seq, user_digest, prev, hash)
		SELECT * FROM unnest($1::bigint[], $2::bytea[], $3::bigint[], $4::bytea[])`
	moveTailSQL = `UPDATE eventlog_chain_checkpoint SET before_seq = $1 WHERE before_seq = $2`
)

// chain covers the events this transaction inserted (ids in inserted)
// with the hash chain. The transaction holds the writers' lock (every
// insert path takes it first), so the head cannot move underneath.
func chain(ctx context.Context, tx chainTx, events []eventlog.Event, inserted map[string]bool) error {
	if len(inserted) == 0 {
		return nil
	}
	var h chainHead
	if err := tx.query(ctx, chainHeadSQL, []any{eventlog.ChainTail, sqlscan.BackfillBefore}, h.scan); err != nil {
		return fmt.Errorf("reading the chain head: %w", err)
	}
	if h.pending {
		if err := backfill(ctx, tx); err != nil {
			return fmt.Errorf("chaining the events stored before migration 002: %w", err)
		}
		h = chainHead{}
		if err := tx.query(ctx, chainHeadSQL, []any{eventlog.ChainTail, sqlscan.BackfillBefore}, h.scan); err != nil {
			return fmt.Errorf("reading the chain head: %w", err)
		}
	}
	prev, prevSeq, from := h.start()
	byID := make(map[string]int, len(inserted))
	for i, e := range events {
		if inserted[e.ID] {
			byID[e.ID] = i
		}
	}
	// Rows after the last chained one are this transaction's, plus any
	// written out of band, which stay unchained so verify reports them.
	// No row after the last chained one has a chain row (chain rows are
	// written in seq order), so this is a plain range scan of the primary
	// key. (It used to be an anti-join with eventlog_chain, whose
	// generic plan, which the plan cache may choose for this prepared
	// statement, merges the whole chain table: 38 ms per batch at
	// 100,000 events, growing with the table.)
	seqs := make([]int64, 0, len(byID))
	uds := make([][]byte, 0, len(byID))
	prevs := make([]int64, 0, len(byID))
	hashes := make([][]byte, 0, len(byID))
	err := tx.query(ctx, `SELECT e.seq, e.id::text FROM eventlog_events e
		WHERE e.seq > $1 ORDER BY e.seq`, []any{from},
		func(scan func(...any) error) error {
			var seq int64
			var id string
			if err := scan(&seq, &id); err != nil {
				return err
			}
			i, ok := byID[id]
			if !ok {
				return nil
			}
			e := events[i]
			ud := eventlog.UserDigest(e.ID, e.User)
			h := eventlog.ChainNext(prev, seq, eventlog.EventDigest(e, ud))
			seqs, uds, prevs, hashes = append(seqs, seq), append(uds, ud), append(prevs, prevSeq), append(hashes, h[:])
			prev, prevSeq = h, seq
			return nil
		})
	if err != nil {
		return fmt.Errorf("reading new seqs: %w", err)
	}
	if len(seqs) != len(byID) {
		return fmt.Errorf("found %d of the %d new rows to chain", len(seqs), len(byID))
	}
	if err := tx.exec(ctx, insertChainSQL, seqs, uds, prevs, hashes); err != nil {
		return fmt.Errorf("chaining: %w", err)
	}
	if h.tailSeq != nil {
		if err := tx.exec(ctx, moveTailSQL, seqs[0], eventlog.ChainTail); err != nil {
			return fmt.Errorf("moving the chain checkpoint: %w", err)
		}
	}
	return nil
}

// backfill chains the events stored before migration 002, once.
func backfill(ctx context.Context, tx chainTx) error {
	var upTo *int64
	err := tx.query(ctx, `SELECT seq FROM eventlog_chain_checkpoint WHERE before_seq = $1`, []any{sqlscan.BackfillBefore}, func(scan func(...any) error) error {
		return scan(&upTo)
	})
	if err != nil || upTo == nil {
		return err
	}
	var seqs, prevs []int64
	var uds, hashes [][]byte
	var prev [32]byte
	var prevSeq int64
	err = tx.query(ctx, `SELECT seq, id::text, ts, action, user_id, user_name, object_type, object_id, extra::text, context::text
		FROM eventlog_events WHERE seq <= $1 ORDER BY seq`, []any{*upTo}, func(scan func(...any) error) error {
		var seq int64
		e, err := scanEvent(sqlscan.Lead{R: scanFunc(scan), Cols: []any{&seq}})
		if err != nil {
			return err
		}
		ud := eventlog.UserDigest(e.ID, e.User)
		h := eventlog.ChainNext(prev, seq, eventlog.EventDigest(e, ud))
		seqs, uds, prevs, hashes = append(seqs, seq), append(uds, ud), append(prevs, prevSeq), append(hashes, h[:])
		prev, prevSeq = h, seq
		return nil
	})
	if err != nil {
		return err
	}
	if err := tx.exec(ctx, `INSERT INTO eventlog_chain (seq, user_digest, prev, hash)
		SELECT * FROM unnest($1::bigint[], $2::bytea[], $3::bigint[], $4::bytea[])`, seqs, uds, prevs, hashes); err != nil {
		return err
	}
	return tx.exec(ctx, `DELETE FROM eventlog_chain_checkpoint WHERE before_seq = $1`, sqlscan.BackfillBefore)
}

// scanFunc is a Scan method as a value.
type scanFunc func(dest ...any) error

func (f scanFunc) Scan(dest ...any) error { return f(dest...) }

// recordCheckpoints keeps the chain verifiable across the rows a prune
// batch deleted (seqs), in the batch's transaction: it removes their
// chain rows and stores, keyed by the seq of the next surviving event
// (or ChainTail), the chain hash that event was chained from. Older
// checkpoints inside the run are superseded and removed.
func recordCheckpoints(ctx context.Context, tx pgx.Tx, seqs []int64) error {
	if len(seqs) == 0 {
		return nil
	}
	type link struct {
		seq  int64
		prev *int64
		hash []byte
	}
	pruned := make([]link, 0, len(seqs))
	rows, err := tx.Query(ctx, `DELETE FROM eventlog_chain WHERE seq = ANY($1::bigint[]) RETURNING seq, prev, hash`, seqs)
	if err != nil {
		return fmt.Errorf("deleting chain rows: %w", err)
	}
	for rows.Next() {
		var l link
		if err := rows.Scan(&l.seq, &l.prev, &l.hash); err != nil {
			rows.Close()
			return err
		}
		pruned = append(pruned, l)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return fmt.Errorf("deleting chain rows: %w", err)
	}
	// Deleted rows never chained (written out of band) end runs too.
	slices.Sort(seqs)
	slices.SortFunc(pruned, func(a, b link) int { return int(min(max(a.seq-b.seq, -1), 1)) })
	for i, k := 0, 0; i < len(seqs); {
		next := eventlog.ChainTail
		var nextPrev *int64
		err := tx.QueryRow(ctx, `SELECT e.seq, c.prev FROM eventlog_events e LEFT JOIN eventlog_chain c ON c.seq = e.seq
			WHERE e.seq > $1 ORDER BY e.seq LIMIT 1`, seqs[i]).Scan(&next, &nextPrev)
		if err != nil && !errors.Is(err, pgx.ErrNoRows) {
			return fmt.Errorf("finding the event after a pruned one: %w", err)
		}
		cands := map[int64][]byte{}
		referenced := map[int64]bool{}
		for ; k < len(pruned) && pruned[k].seq < next; k++ {
			cands[pruned[k].seq] = pruned[k].hash
			if pruned[k].prev != nil {
				referenced[*pruned[k].prev] = true
			}
		}
		lo := seqs[i]
		for i < len(seqs) && seqs[i] < next {
			i++
		}
		rows, err := tx.Query(ctx, `DELETE FROM eventlog_chain_checkpoint WHERE before_seq >= $1 AND before_seq <= $2 RETURNING seq, hash`, lo, next)
		if err != nil {
			return fmt.Errorf("replacing chain checkpoints: %w", err)
		}
		for rows.Next() {
			var seq int64
			var hash []byte
			if err := rows.Scan(&seq, &hash); err != nil {
				rows.Close()
				return err
			}
			cands[seq] = hash
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return fmt.Errorf("replacing chain checkpoints: %w", err)
		}
		if best, ok := eventlog.ChainRunEnd(cands, referenced, nextPrev); ok {
			if _, err := tx.Exec(ctx, `INSERT INTO eventlog_chain_checkpoint (before_seq, seq, hash) VALUES ($1, $2, $3)`, next, best, cands[best]); err != nil {
				return fmt.Errorf("recording a chain checkpoint: %w", err)
			}
		}
	}
	return nil
}

// ReadChain reads the chain in one REPEATABLE READ snapshot (see
// eventlog.ChainReader).
func (s *Store) ReadChain(ctx context.Context, checkpoints func([]eventlog.ChainCheckpoint) error, fn func(eventlog.ChainLink) error) error {
	tx, err := s.pool.BeginTx(ctx, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly})
	if err != nil {
		return s.wrapErr("read chain", err)
	}
	defer tx.Rollback(ctx) //nolint:errcheck // read-only
	rows, err := tx.Query(ctx, `SELECT before_seq, seq, hash FROM eventlog_chain_checkpoint ORDER BY before_seq`)
	if err != nil {
		return s.wrapErr("read chain", err)
	}
	var cps []eventlog.ChainCheckpoint
	for rows.Next() {
		var c eventlog.ChainCheckpoint
		if err := rows.Scan(&c.Before, &c.Seq, &c.Hash); err != nil {
			rows.Close()
			return s.wrapErr("read chain", err)
		}
		if c.Before == sqlscan.BackfillBefore {
			rows.Close()
			return fmt.Errorf("pgstore: read chain: the events up to seq %d, stored before the chain was added (migration 002), are chained by the next write; write an event first", c.Seq)
		}
		cps = append(cps, c)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return s.wrapErr("read chain", err)
	}
	if err := checkpoints(cps); err != nil {
		return err
	}
	rows, err = tx.Query(ctx, `SELECT e.seq, c.prev, c.user_digest, c.hash, e.id::text, e.ts, e.action, e.user_id, e.user_name,
		e.object_type, e.object_id, e.extra::text, e.context::text
		FROM eventlog_events e LEFT JOIN eventlog_chain c ON c.seq = e.seq ORDER BY e.seq`)
	if err != nil {
		return s.wrapErr("read chain", err)
	}
	defer rows.Close()
	for rows.Next() {
		var l eventlog.ChainLink
		var prev *int64
		l.Event, err = scanEvent(sqlscan.Lead{R: rows, Cols: []any{&l.Seq, &prev, &l.UserDigest, &l.Hash}})
		if err != nil {
			return s.wrapErr("read chain", err)
		}
		if prev != nil {
			l.Prev = *prev
		}
		if err := fn(l); err != nil {
			return err
		}
	}
	if err := rows.Err(); err != nil {
		return s.wrapErr("read chain", err)
	}
	return nil
}
