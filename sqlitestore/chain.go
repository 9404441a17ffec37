package sqlitestore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"

	"github.com/eventlog/eventlog"
)

var _ eventlog.ChainReader = (*Store)(nil)

// backfillBefore is the before_seq of the checkpoint row that migration
// 002 leaves when events were already stored: they are chained by the
// next write.
const backfillBefore = -1

// chainTx covers the rows this write transaction inserted (inserted[i]
// for events[i]) with the hash chain. It runs after the INSERT, so the
// transaction already holds SQLite's one write lock and no other writer
// can move the head between reading it and extending it.
func (s *Store) chainTx(ctx context.Context, tx *sql.Tx, events []eventlog.Event, inserted []bool) error {
	if err := backfillChain(ctx, tx); err != nil {
		return fmt.Errorf("sqlitestore: chaining events stored before migration 002: %w", err)
	}
	mine := make(map[string]int, len(events))
	for i, e := range events {
		if inserted[i] {
			mine[e.ID] = i
		}
	}
	if len(mine) == 0 {
		return nil
	}
	head, err := chainHead(ctx, tx)
	if err != nil {
		return fmt.Errorf("sqlitestore: insert: reading the chain head: %w", err)
	}
	// The rows after the last chained one that have no hash are this
	// transaction's, plus any written out of band, which stay unchained
	// so verify reports them.
	rows, err := tx.QueryContext(ctx, `SELECT seq, id FROM eventlog_events WHERE seq > ? AND chain_hash IS NULL ORDER BY seq`, head.lastChained)
	if err != nil {
		return fmt.Errorf("sqlitestore: insert: reading new seqs: %w", err)
	}
	type newRow struct {
		seq int64
		i   int
	}
	news := make([]newRow, 0, len(mine))
	for rows.Next() {
		var r newRow
		var id string
		if err := rows.Scan(&r.seq, &id); err != nil {
			rows.Close()
			return fmt.Errorf("sqlitestore: insert: reading new seqs: %w", err)
		}
		if i, ok := mine[id]; ok {
			r.i = i
			news = append(news, r)
		}
	}
	if err := rows.Close(); err != nil {
		return err
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("sqlitestore: insert: reading new seqs: %w", err)
	}
	if len(news) != len(mine) {
		return fmt.Errorf("sqlitestore: insert: found %d of the %d new rows to chain", len(news), len(mine))
	}
	upd, err := tx.PrepareContext(ctx, `UPDATE eventlog_events SET user_digest = ?, chain_prev = ?, chain_hash = ? WHERE seq = ?`)
	if err != nil {
		return fmt.Errorf("sqlitestore: insert: chaining: %w", err)
	}
	defer upd.Close()
	prev, prevSeq := head.hash, head.seq
	for _, r := range news {
		e := events[r.i]
		ud := eventlog.UserDigest(e.ID, e.User)
		h := eventlog.ChainNext(prev, r.seq, eventlog.EventDigest(e, ud))
		if _, err := upd.ExecContext(ctx, ud, prevSeq, h[:], r.seq); err != nil {
			return fmt.Errorf("sqlitestore: insert: chaining: %w", err)
		}
		prev, prevSeq = h, r.seq
	}
	if head.fromTail {
		// The next event continues from the pruned tail; key the
		// checkpoint to it (SQLite may reuse the pruned seqs).
		if _, err := tx.ExecContext(ctx, `UPDATE eventlog_chain_checkpoint SET before_seq = ? WHERE before_seq = ?`, news[0].seq, eventlog.ChainTail); err != nil {
			return fmt.Errorf("sqlitestore: insert: moving the chain checkpoint: %w", err)
		}
	}
	return nil
}

// head is where the chain continues: the last chained event, or the
// checkpoint of a pruned tail.
type head struct {
	seq, lastChained int64
	hash             [32]byte
	fromTail         bool
}

func chainHead(ctx context.Context, tx *sql.Tx) (head, error) {
	var h head
	var hash []byte
	err := tx.QueryRowContext(ctx, `SELECT seq, chain_hash FROM eventlog_events WHERE chain_hash IS NOT NULL ORDER BY seq DESC LIMIT 1`).Scan(&h.lastChained, &hash)
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
func backfillChain(ctx context.Context, tx *sql.Tx) error {
	var upTo int64
	err := tx.QueryRowContext(ctx, `SELECT seq FROM eventlog_chain_checkpoint WHERE before_seq = ?`, backfillBefore).Scan(&upTo)
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
		e, err := scanEvent(seqScanner{rows, &seq})
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
	upd, err := tx.PrepareContext(ctx, `UPDATE eventlog_events SET user_digest = ?, chain_prev = ?, chain_hash = ? WHERE seq = ?`)
	if err != nil {
		return err
	}
	defer upd.Close()
	for _, l := range links {
		if _, err := upd.ExecContext(ctx, l.ud, l.prev, l.hash, l.seq); err != nil {
			return err
		}
	}
	_, err = tx.ExecContext(ctx, `DELETE FROM eventlog_chain_checkpoint WHERE before_seq = ?`, backfillBefore)
	return err
}

// prunedLink is an event a prune batch deleted: its seq, the seq it was
// chained after and its chain hash (nil for a row never chained).
type prunedLink struct {
	seq  int64
	prev sql.NullInt64
	hash []byte
}

// recordCheckpoints keeps the chain verifiable across the rows a prune
// batch deleted, in the batch's transaction: for each run of deleted
// rows it stores, keyed by the seq of the next surviving event (or
// ChainTail), the chain hash that event was chained from, which is the
// last entry of the run in chain order. Checkpoints inside the run are
// superseded and removed. Chain order is not seq order across a run:
// SQLite reuses the seqs of pruned newest rows, so the choice follows
// chain_prev, not the largest seq.
func recordCheckpoints(ctx context.Context, tx *sql.Tx, pruned []prunedLink) error {
	slices.SortFunc(pruned, func(a, b prunedLink) int { return int(min(max(a.seq-b.seq, -1), 1)) })
	for i := 0; i < len(pruned); {
		next := eventlog.ChainTail
		var nextPrev sql.NullInt64
		err := tx.QueryRowContext(ctx, `SELECT seq, chain_prev FROM eventlog_events WHERE seq > ? ORDER BY seq LIMIT 1`, pruned[i].seq).Scan(&next, &nextPrev)
		if err != nil && !errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("finding the event after a pruned one: %w", err)
		}
		cands := map[int64][]byte{}
		referenced := map[int64]bool{}
		j := i
		for ; j < len(pruned) && pruned[j].seq < next; j++ {
			if p := pruned[j]; p.hash != nil {
				cands[p.seq] = p.hash
				referenced[p.prev.Int64] = true
			}
		}
		rows, err := tx.QueryContext(ctx, `SELECT seq, hash FROM eventlog_chain_checkpoint WHERE before_seq >= ? AND before_seq <= ?`, pruned[i].seq, next)
		if err != nil {
			return fmt.Errorf("reading chain checkpoints: %w", err)
		}
		for rows.Next() {
			var seq int64
			var hash []byte
			if err := rows.Scan(&seq, &hash); err != nil {
				rows.Close()
				return fmt.Errorf("reading chain checkpoints: %w", err)
			}
			cands[seq] = hash
		}
		if err := rows.Close(); err != nil {
			return err
		}
		best, found := chainEnd(cands, referenced, nextPrev)
		if found {
			if _, err := tx.ExecContext(ctx, `DELETE FROM eventlog_chain_checkpoint WHERE before_seq >= ? AND before_seq <= ?`, pruned[i].seq, next); err != nil {
				return fmt.Errorf("replacing chain checkpoints: %w", err)
			}
			if _, err := tx.ExecContext(ctx, `INSERT INTO eventlog_chain_checkpoint (before_seq, seq, hash) VALUES (?, ?, ?)`, next, best, cands[best]); err != nil {
				return fmt.Errorf("recording a chain checkpoint: %w", err)
			}
		}
		i = j
	}
	return nil
}

// chainEnd picks, among the deleted entries of a run (seq to hash), the
// one the next survivor was chained from: its chain_prev when that is
// among them, else the one no other entry follows.
func chainEnd(cands map[int64][]byte, referenced map[int64]bool, nextPrev sql.NullInt64) (int64, bool) {
	if _, ok := cands[nextPrev.Int64]; nextPrev.Valid && ok {
		return nextPrev.Int64, true
	}
	best, found := int64(0), false
	for seq := range cands {
		if !referenced[seq] && (!found || seq > best) {
			best, found = seq, true
		}
	}
	return best, found
}

// ReadChain reads the chain in one read transaction (see
// eventlog.ChainReader).
func (s *Store) ReadChain(ctx context.Context, checkpoints func([]eventlog.ChainCheckpoint) error, fn func(eventlog.ChainLink) error) error {
	tx, err := s.reader.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return fmt.Errorf("sqlitestore: read chain: %w", err)
	}
	defer tx.Rollback() //nolint:errcheck // read-only
	var cps []eventlog.ChainCheckpoint
	rows, err := tx.QueryContext(ctx, `SELECT before_seq, seq, hash FROM eventlog_chain_checkpoint ORDER BY before_seq`)
	if err != nil {
		return fmt.Errorf("sqlitestore: read chain: %w", err)
	}
	for rows.Next() {
		var c eventlog.ChainCheckpoint
		if err := rows.Scan(&c.Before, &c.Seq, &c.Hash); err != nil {
			rows.Close()
			return fmt.Errorf("sqlitestore: read chain: %w", err)
		}
		if c.Before == backfillBefore {
			rows.Close()
			return fmt.Errorf("sqlitestore: read chain: the %d events stored before the chain was added (migration 002) are chained by the next write; write an event first", c.Seq)
		}
		cps = append(cps, c)
	}
	if err := rows.Close(); err != nil {
		return err
	}
	if err := checkpoints(cps); err != nil {
		return err
	}
	rows, err = tx.QueryContext(ctx, `SELECT seq, chain_prev, user_digest, chain_hash, `+eventColumns+` FROM eventlog_events ORDER BY seq`)
	if err != nil {
		return fmt.Errorf("sqlitestore: read chain: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var l eventlog.ChainLink
		var prev sql.NullInt64
		l.Event, err = scanEvent(chainScanner{rows, []any{&l.Seq, &prev, &l.UserDigest, &l.Hash}})
		if err != nil {
			return fmt.Errorf("sqlitestore: read chain: %w", err)
		}
		l.Prev = prev.Int64
		if err := fn(l); err != nil {
			return err
		}
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("sqlitestore: read chain: %w", err)
	}
	return nil
}

// chainScanner scans the chain columns before an event's columns.
type chainScanner struct {
	r    rowScanner
	lead []any
}

func (s chainScanner) Scan(dest ...any) error {
	return s.r.Scan(append(s.lead, dest...)...)
}
