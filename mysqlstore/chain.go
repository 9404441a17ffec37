package mysqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/eventlog/eventlog"
	"github.com/eventlog/eventlog/internal/sqlscan"
)

var _ eventlog.ChainReader = (*Store)(nil)

// chainTx covers the events this transaction inserted (inserted[i] for
// events[i]) with the hash chain, in the side table eventlog_chain. The
// transaction holds the insert lock, and every read here is a locking
// read, which sees the latest committed rows even when the caller's
// transaction (InsertSQLTx) took its snapshot earlier.
func chainTx(ctx context.Context, tx *sql.Tx, events []eventlog.Event, inserted []bool) error {
	return chainBatch(ctx, tx, events, inserted, " FOR UPDATE")
}

// chainBatch is chainTx with the locking clause of its scan of the new
// rows: BulkLoad passes "", since its one transaction holds the insert
// lock and sees its own rows, and a locking read would keep a lock
// structure in the buffer pool for every page of a load of millions.
func chainBatch(ctx context.Context, tx *sql.Tx, events []eventlog.Event, inserted []bool, lock string) error {
	byID := make(map[string]int, len(events))
	for i, e := range events {
		if inserted[i] {
			byID[e.ID] = i
		}
	}
	if len(byID) == 0 {
		return nil
	}
	if err := backfill(ctx, tx); err != nil {
		return wrap("chaining the events stored before migration 002", err)
	}
	var prev [32]byte
	var prevSeq, from int64
	var hash []byte
	err := tx.QueryRowContext(ctx, `SELECT seq, hash FROM eventlog_chain ORDER BY seq DESC LIMIT 1 FOR UPDATE`).Scan(&from, &hash)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return wrap("insert: reading the chain head", err)
	}
	prevSeq = from
	copy(prev[:], hash)
	var tailSeq int64
	fromTail := false
	switch err := tx.QueryRowContext(ctx, `SELECT seq, hash FROM eventlog_chain_checkpoint WHERE before_seq = ? FOR UPDATE`, eventlog.ChainTail).Scan(&tailSeq, &hash); {
	case err == nil:
		prevSeq, fromTail = tailSeq, true
		copy(prev[:], hash)
	case !errors.Is(err, sql.ErrNoRows):
		return wrap("insert: reading the chain head", err)
	}
	// Rows after the last chained one without a chain row are this
	// transaction's, plus any written out of band, which stay unchained
	// so verify reports them.
	rows, err := tx.QueryContext(ctx, `SELECT e.seq, e.id FROM eventlog_events e LEFT JOIN eventlog_chain c ON c.seq = e.seq
		WHERE e.seq > ? AND c.seq IS NULL ORDER BY e.seq`+lock, from)
	if err != nil {
		return wrap("insert: reading new seqs", err)
	}
	ins := newMultiInsert("INSERT INTO eventlog_chain (seq, user_digest, prev, hash) VALUES ", "(?,?,?,?)", "")
	var first int64
	n := 0
	type newRow struct {
		seq int64
		i   int
	}
	var news []newRow
	for rows.Next() {
		var seq int64
		var id string
		if err := rows.Scan(&seq, &id); err != nil {
			rows.Close()
			return wrap("insert: reading new seqs", err)
		}
		if i, ok := byID[id]; ok {
			news = append(news, newRow{seq, i})
		}
	}
	if err := rows.Close(); err != nil {
		return err
	}
	if err := rows.Err(); err != nil {
		return wrap("insert: reading new seqs", err)
	}
	for _, r := range news {
		e := events[r.i]
		ud := eventlog.UserDigest(e.ID, e.User)
		h := eventlog.ChainNext(prev, r.seq, eventlog.EventDigest(e, ud))
		if err := ins.add(ctx, tx, 96, r.seq, ud, prevSeq, h[:]); err != nil {
			return wrap("insert: chaining", err)
		}
		if n == 0 {
			first = r.seq
		}
		n++
		prev, prevSeq = h, r.seq
	}
	if n != len(byID) {
		return fmt.Errorf("mysqlstore: insert: found %d of the %d new rows to chain", n, len(byID))
	}
	if err := ins.flush(ctx, tx); err != nil {
		return wrap("insert: chaining", err)
	}
	if fromTail {
		if _, err := tx.ExecContext(ctx, `UPDATE eventlog_chain_checkpoint SET before_seq = ? WHERE before_seq = ?`, first, eventlog.ChainTail); err != nil {
			return wrap("insert: moving the chain checkpoint", err)
		}
	}
	return nil
}

// backfill chains the events stored before migration 002, once.
func backfill(ctx context.Context, tx *sql.Tx) error {
	var upTo int64
	err := tx.QueryRowContext(ctx, `SELECT seq FROM eventlog_chain_checkpoint WHERE before_seq = ? FOR UPDATE`, sqlscan.BackfillBefore).Scan(&upTo)
	if errors.Is(err, sql.ErrNoRows) {
		return nil
	}
	if err != nil {
		return err
	}
	rows, err := tx.QueryContext(ctx, `SELECT seq, `+eventColumns+` FROM eventlog_events WHERE seq <= ? ORDER BY seq`, upTo)
	if err != nil {
		return err
	}
	type link struct {
		seq, prev int64
		ud, hash  []byte
	}
	var links []link
	var prev [32]byte
	var prevSeq int64
	for rows.Next() {
		var seq int64
		e, err := scanEvent(sqlscan.Lead{R: rows, Cols: []any{&seq}})
		if err != nil {
			rows.Close()
			return err
		}
		ud := eventlog.UserDigest(e.ID, e.User)
		h := eventlog.ChainNext(prev, seq, eventlog.EventDigest(e, ud))
		links = append(links, link{seq, prevSeq, ud, h[:]})
		prev, prevSeq = h, seq
	}
	if err := rows.Close(); err != nil {
		return err
	}
	if err := rows.Err(); err != nil {
		return err
	}
	ins := newMultiInsert("INSERT INTO eventlog_chain (seq, user_digest, prev, hash) VALUES ", "(?,?,?,?)", "")
	for _, l := range links {
		if err := ins.add(ctx, tx, 96, l.seq, l.ud, l.prev, l.hash); err != nil {
			return err
		}
	}
	if err := ins.flush(ctx, tx); err != nil {
		return err
	}
	_, err = tx.ExecContext(ctx, `DELETE FROM eventlog_chain_checkpoint WHERE before_seq = ?`, sqlscan.BackfillBefore)
	return err
}

// recordCheckpoints keeps the chain verifiable across the rows a prune
// batch deleted (seqs), in the batch's transaction: it removes their
// chain rows and stores, keyed by the seq of the next surviving event
// (or ChainTail), the chain hash that event was chained from. Older
// checkpoints inside the run are superseded and removed.
func recordCheckpoints(ctx context.Context, tx *sql.Tx, seqs []int64) error {
	if len(seqs) == 0 {
		return nil
	}
	type link struct {
		seq  int64
		prev int64
		hash []byte
	}
	slices.Sort(seqs)
	args := make([]any, len(seqs))
	for i, s := range seqs {
		args[i] = s
	}
	in := "(?" + strings.Repeat(",?", len(seqs)-1) + ")"
	rows, err := tx.QueryContext(ctx, `SELECT seq, prev, hash FROM eventlog_chain WHERE seq IN `+in+` ORDER BY seq FOR UPDATE`, args...)
	if err != nil {
		return fmt.Errorf("reading chain rows: %w", err)
	}
	var pruned []link
	for rows.Next() {
		var l link
		if err := rows.Scan(&l.seq, &l.prev, &l.hash); err != nil {
			rows.Close()
			return err
		}
		pruned = append(pruned, l)
	}
	if err := rows.Close(); err != nil {
		return err
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("reading chain rows: %w", err)
	}
	if _, err := tx.ExecContext(ctx, `DELETE FROM eventlog_chain WHERE seq IN `+in, args...); err != nil {
		return fmt.Errorf("deleting chain rows: %w", err)
	}
	// Deleted rows never chained (written out of band) end runs too.
	for i, k := 0, 0; i < len(seqs); {
		next := eventlog.ChainTail
		var nextPrev sql.NullInt64
		err := tx.QueryRowContext(ctx, `SELECT e.seq, c.prev FROM eventlog_events e LEFT JOIN eventlog_chain c ON c.seq = e.seq
			WHERE e.seq > ? ORDER BY e.seq LIMIT 1`, seqs[i]).Scan(&next, &nextPrev)
		if err != nil && !errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("finding the event after a pruned one: %w", err)
		}
		cands := map[int64][]byte{}
		referenced := map[int64]bool{}
		for ; k < len(pruned) && pruned[k].seq < next; k++ {
			cands[pruned[k].seq] = pruned[k].hash
			referenced[pruned[k].prev] = true
		}
		lo := seqs[i]
		for i < len(seqs) && seqs[i] < next {
			i++
		}
		rows, err := tx.QueryContext(ctx, `SELECT seq, hash FROM eventlog_chain_checkpoint WHERE before_seq >= ? AND before_seq <= ? FOR UPDATE`, lo, next)
		if err != nil {
			return fmt.Errorf("reading chain checkpoints: %w", err)
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
		if err := rows.Close(); err != nil {
			return err
		}
		best, ok := eventlog.ChainRunEnd(cands, referenced, sqlscan.NullInt64Ptr(nextPrev))
		if !ok {
			continue
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM eventlog_chain_checkpoint WHERE before_seq >= ? AND before_seq <= ?`, lo, next); err != nil {
			return fmt.Errorf("replacing chain checkpoints: %w", err)
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO eventlog_chain_checkpoint (before_seq, seq, hash) VALUES (?, ?, ?)`, next, best, cands[best]); err != nil {
			return fmt.Errorf("recording a chain checkpoint: %w", err)
		}
	}
	return nil
}

// ReadChain reads the chain in one consistent snapshot (see
// eventlog.ChainReader).
func (s *Store) ReadChain(ctx context.Context, checkpoints func([]eventlog.ChainCheckpoint) error, fn func(eventlog.ChainLink) error) error {
	if err := s.check(); err != nil {
		return err
	}
	tx, err := s.db.BeginTx(ctx, &sql.TxOptions{Isolation: sql.LevelRepeatableRead, ReadOnly: true})
	if err != nil {
		return wrap("read chain", err)
	}
	defer tx.Rollback() //nolint:errcheck // read-only
	return sqlscan.ReadChain(ctx, tx, func(err error) error { return wrap("read chain", err) },
		func(r sqlscan.Scanner) (eventlog.Event, error) { return scanEvent(r) }, checkpoints, fn)
}
