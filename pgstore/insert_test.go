package pgstore_test

import (
	"context"
	"testing"
	"time"

	"github.com/eventlog/eventlog"
	"github.com/eventlog/eventlog/internal/gen"
)

// TestInsertCopyFallbacks drives batches large enough for the COPY path
// through each case its optimistic first attempt hands over to the
// checked one: a row written out of band in the seq range, events stored
// before the chain existed, a duplicate id, and a pruned tail. The chain
// must verify (or name exactly the out-of-band row) after each.
func TestInsertCopyFallbacks(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := newStore(t)
	g, err := gen.New(&gen.Config{Seed: 11, Events: 200})
	if err != nil {
		t.Fatal(err)
	}
	var stored int64
	insert := func(events []eventlog.Event) {
		t.Helper()
		_, fresh, err := s.Insert(ctx, events)
		if err != nil {
			t.Fatal(err)
		}
		for _, f := range fresh {
			if f {
				stored++
			}
		}
	}
	verify := func(what string, want int64) eventlog.VerifyResult {
		t.Helper()
		res, err := eventlog.Verify(ctx, s, nil)
		if err != nil {
			t.Fatalf("%s: verify: %v", what, err)
		}
		if want >= 0 && (!res.OK || res.Checked != want) {
			t.Errorf("%s: %v; want %d events verified", what, res, want)
		}
		return res
	}
	batch := func(n int) []eventlog.Event {
		out := make([]eventlog.Event, n)
		g.Fill(out)
		return out
	}
	sqlExec := func(q string, args ...any) {
		t.Helper()
		if _, err := s.Pool().Exec(ctx, q, args...); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	chainRows := func() (n int64) {
		t.Helper()
		if err := s.Pool().QueryRow(ctx, `SELECT count(*) FROM eventlog_chain`).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}

	insert(batch(20))
	verify("first batch", 20)

	// Out of band: a row between the chain head and the next batch.
	forged := eventlog.NewID()
	sqlExec(`INSERT INTO eventlog_events (id, ts, action, extra) VALUES ($1, now(), 'FORGED', '{}')`, forged)
	insert(batch(20))
	if res := verify("after a forged row", -1); res.OK || res.ID != forged || res.Problem != eventlog.ProblemOutOfBand {
		t.Errorf("after a forged row and a batch: %v; want %s reported inserted out of band", res, forged)
	}
	if n := chainRows(); n != 40 {
		t.Errorf("%d chain rows, want the 40 logged events chained and the forged one not", n)
	}
	sqlExec(`DELETE FROM eventlog_events WHERE id = $1`, forged)
	verify("forged row removed", 40)

	// Events from before migration 002: the next batch chains them first.
	sqlExec(`DELETE FROM eventlog_chain; DELETE FROM eventlog_chain_checkpoint;
		INSERT INTO eventlog_chain_checkpoint (before_seq, seq, hash) SELECT -1, max(seq), '\x'::bytea FROM eventlog_events`)
	insert(batch(20))
	verify("after the backfill", 60)

	// A batch holding a stored id: that one is skipped, the rest stored.
	dup := batch(20)
	var old eventlog.Event
	if err := s.Pool().QueryRow(ctx, `SELECT id::text FROM eventlog_events ORDER BY seq LIMIT 1`).Scan(&old.ID); err != nil {
		t.Fatal(err)
	}
	dup[7].ID = old.ID
	before := stored
	insert(dup)
	if stored-before != 19 {
		t.Errorf("a batch of 20 with one stored id added %d events, want 19", stored-before)
	}
	verify("after a duplicate", 79)

	// A pruned tail: everything so far is deleted, the next batch links to
	// the checkpoint prune left.
	if _, err := s.Prune(ctx, eventlog.PruneQuery{Before: time.Now().Add(time.Hour)}); err != nil {
		t.Fatal(err)
	}
	insert(batch(20))
	verify("after pruning everything", 20)
}
