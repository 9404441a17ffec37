package sqlitestore

import (
	"cmp"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"slices"

	"github.com/eventlog/eventlog"
	"github.com/eventlog/eventlog/internal/sqlscan"
)

var _ eventlog.ChainReader = (*Store)(nil)

// chainTx covers the rows this write transaction inserted with the hash
// chain, in the side table eventlog_chain: seqs[i] is the seq the insert
// gave events[i], 0 for an event not inserted. It runs after the INSERT,
// so the transaction already holds SQLite's one write lock and no other
// writer can move the head between reading it and extending it. Rows
// written out of band stay unchained, so verify reports them. After an
// out-of-band delete of the newest events SQLite gives their seqs to new
// rows, below the orphaned chain rows; the new chain rows replace the
// orphans.
func (s *Store) chainTx(ctx context.Context, tx *sql.Tx, events []eventlog.Event, seqs []int64, cached bool) error {
	var mine []seqOf
	for i, seq := range seqs {
		if seq != 0 {
			mine = append(mine, seqOf{seq, i})
		}
	}
	if len(mine) == 0 {
		return nil
	}
	// In VALUES order already, unless a chunk held stored ids; chain order
	// is seq order.
	slices.SortFunc(mine, func(a, b seqOf) int { return cmp.Compare(a.seq, b.seq) })
	if err := s.backfillChain(ctx, tx, cached); err != nil {
		return fmt.Errorf("sqlitestore: chaining events stored before migration 002: %w", err)
	}
	head, err := chainHead(ctx, tx)
	if err != nil {
		return fmt.Errorf("sqlitestore: insert: reading the chain head: %w", err)
	}
	links := make([]chainRow, 0, len(mine))
	prev, prevSeq := head.hash, head.seq
	for _, r := range mine {
		e := events[r.i]
		ud := eventlog.UserDigest(e.ID, e.User)
		h := eventlog.ChainNext(prev, r.seq, eventlog.EventDigest(e, ud))
		links = append(links, chainRow{r.seq, prevSeq, ud, h})
		prev, prevSeq = h, r.seq
	}
	if err := s.insertChainRows(ctx, tx, cached, links); err != nil {
		return fmt.Errorf("sqlitestore: insert: chaining: %w", err)
	}
	if head.fromTail {
		// The next event continues from the pruned tail; key the
		// checkpoint to it (SQLite may reuse the pruned seqs).
		if _, err := tx.ExecContext(ctx, `UPDATE eventlog_chain_checkpoint SET before_seq = ? WHERE before_seq = ?`, links[0].seq, eventlog.ChainTail); err != nil {
			return fmt.Errorf("sqlitestore: insert: moving the chain checkpoint: %w", err)
		}
	}
	return nil
}

// seqOf is a new row's seq and its index in the inserted batch.
type seqOf struct {
	seq int64
	i   int
}

// chainRow is one row of eventlog_chain.
type chainRow struct {
	seq, prev int64
	ud        []byte
	hash      [32]byte
}

// insertChainRows writes rows, many per statement (cached says tx is on
// the writer, where the statements are prepared).
func (s *Store) insertChainRows(ctx context.Context, tx *sql.Tx, cached bool, rows []chainRow) error {
	args := make([]any, 0, 4*len(rows))
	for _, r := range rows {
		args = append(args, r.seq, r.ud, r.prev, r.hash[:])
	}
	return s.stmts.chain.exec(ctx, tx, cached, len(rows), args, nil)
}

// head is where the chain continues: the last chained event, or the
// checkpoint of a pruned tail.
type head struct {
	seq, lastChained int64 // lastChained: the newest chain row
	hash             [32]byte
	fromTail         bool
}

func chainHead(ctx context.Context, tx *sql.Tx) (head, error) {
	var h head
	var hash []byte
	err := tx.QueryRowContext(ctx, `SELECT seq, hash FROM eventlog_chain ORDER BY seq DESC LIMIT 1`).Scan(&h.lastChained, &hash)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return h, err
	}
	h.seq = h.lastChained
	copy(h.hash[:], hash)
	err = tx.QueryRowContext(ctx, `SELECT seq, hash FROM eventlog_chain_checkpoint WHERE before_seq = ?`, eventlog.ChainTail).Scan(&h.seq, &hash)
	switch {
	case err == nil:
		copy(h.hash[:], hash)
		h.fromTail = true
	case !errors.Is(err, sql.ErrNoRows):
		return h, err
	}
	return h, nil
}

// backfillChain chains the events stored before migration 002, once.
func (s *Store) backfillChain(ctx context.Context, tx *sql.Tx, cached bool) error {
	var upTo int64
	err := tx.QueryRowContext(ctx, `SELECT seq FROM eventlog_chain_checkpoint WHERE before_seq = ?`, sqlscan.BackfillBefore).Scan(&upTo)
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
	var links []chainRow
	var prev [32]byte
	var prevSeq int64
	for rows.Next() {
		var seq int64
		e, err := scanEvent(seqScanner{rows, &seq})
		if err != nil {
			rows.Close()
			return err
		}
		ud := eventlog.UserDigest(e.ID, e.User)
		h := eventlog.ChainNext(prev, seq, eventlog.EventDigest(e, ud))
		links = append(links, chainRow{seq, prevSeq, ud, h})
		prev, prevSeq = h, seq
	}
	if err := rows.Close(); err != nil {
		return err
	}
	if err := rows.Err(); err != nil {
		return err
	}
	if err := s.insertChainRows(ctx, tx, cached, links); err != nil {
		return err
	}
	_, err = tx.ExecContext(ctx, `DELETE FROM eventlog_chain_checkpoint WHERE before_seq = ?`, sqlscan.BackfillBefore)
	return err
}

// recordCheckpoints keeps the chain verifiable across the rows a prune
// batch deleted (seqs), in the batch's transaction: it removes their
// chain rows and stores, keyed by the seq of the next surviving event
// (or ChainTail), the chain hash that event was chained from, which is
// the last entry of the run in chain order. Checkpoints inside the run
// are superseded and removed. Chain order is not seq order across a run:
// SQLite reuses the seqs of pruned newest rows, so the choice follows
// prev, not the largest seq.
func recordCheckpoints(ctx context.Context, tx *sql.Tx, seqs []int64) error {
	if len(seqs) == 0 {
		return nil
	}
	slices.Sort(seqs)
	list, err := json.Marshal(seqs)
	if err != nil {
		return err
	}
	type link struct {
		seq, prev int64
		hash      []byte
	}
	var pruned []link
	rows, err := tx.QueryContext(ctx, `DELETE FROM eventlog_chain WHERE seq IN (SELECT value FROM json_each(?)) RETURNING seq, prev, hash`, string(list))
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
	if err := rows.Close(); err != nil {
		return err
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("deleting chain rows: %w", err)
	}
	slices.SortFunc(pruned, func(a, b link) int { return cmp.Compare(a.seq, b.seq) })
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
		rows, err := tx.QueryContext(ctx, `DELETE FROM eventlog_chain_checkpoint WHERE before_seq >= ? AND before_seq <= ? RETURNING seq, hash`, lo, next)
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
		if err := rows.Close(); err != nil {
			return err
		}
		if best, ok := eventlog.ChainRunEnd(cands, referenced, sqlscan.NullInt64Ptr(nextPrev)); ok {
			if _, err := tx.ExecContext(ctx, `INSERT INTO eventlog_chain_checkpoint (before_seq, seq, hash) VALUES (?, ?, ?)`, next, best, cands[best]); err != nil {
				return fmt.Errorf("recording a chain checkpoint: %w", err)
			}
		}
	}
	return nil
}

// ReadChain reads the chain in one read transaction (see
// eventlog.ChainReader).
func (s *Store) ReadChain(ctx context.Context, checkpoints func([]eventlog.ChainCheckpoint) error, fn func(eventlog.ChainLink) error) error {
	tx, err := s.reader.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return fmt.Errorf("sqlitestore: read chain: %w", err)
	}
	defer tx.Rollback() //nolint:errcheck // read-only
	return sqlscan.ReadChain(ctx, tx, func(err error) error { return fmt.Errorf("sqlitestore: read chain: %w", err) },
		func(r sqlscan.Scanner) (eventlog.Event, error) { return scanEvent(r) }, checkpoints, fn)
}
