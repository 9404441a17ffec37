package storetest

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/eventlog/eventlog"
	"github.com/eventlog/eventlog/internal/gen"
)

// testChain checks the tamper-evident history (eventlog.ChainReader):
// Verify passes on fresh data, after forget-user, after prunes (the head
// stays the same) and after more writes; it names the first bad event
// when extra, the timestamp or the user is edited in SQL, when a row is
// inserted without the store, and when a row is deleted.
func testChain(t *testing.T, s eventlog.Store) {
	cr, ok := s.(eventlog.ChainReader)
	if !ok {
		t.Skipf("%T does not implement eventlog.ChainReader", s)
	}
	sqs, ok := s.(eventlog.SQLStore)
	if !ok {
		t.Skipf("%T does not implement eventlog.SQLStore; the tampering needs SQL", s)
	}
	ctx := ctxT(t)
	db, dialect := sqs.SQLDB(), sqs.Dialect()
	exec := func(query string, args ...any) {
		t.Helper()
		if _, err := db.ExecContext(ctx, placeholders(dialect, query), args...); err != nil {
			t.Fatalf("%s: %v", query, err)
		}
	}
	seqOf := func(id string) int64 {
		t.Helper()
		var seq int64
		if err := db.QueryRowContext(ctx, placeholders(dialect, `SELECT seq FROM eventlog_events WHERE id = ?`), id).Scan(&seq); err != nil {
			t.Fatalf("seq of %s: %v", id, err)
		}
		return seq
	}
	verify := func(step string) eventlog.VerifyResult {
		t.Helper()
		res, err := eventlog.Verify(ctx, cr, nil)
		if err != nil {
			t.Fatalf("%s: Verify: %v", step, err)
		}
		return res
	}
	wantOK := func(step string, checked int64, head string) eventlog.VerifyResult {
		t.Helper()
		res := verify(step)
		if !res.OK || res.Checked != checked || len(res.Head) != 64 {
			t.Fatalf("%s: %v; want %d events verified", step, res, checked)
		}
		if head != "" && res.Head != head {
			t.Errorf("%s: head %s, want %s", step, res.Head, head)
		}
		return res
	}
	wantBad := func(step string, seq int64, id, problem string) {
		t.Helper()
		res := verify(step)
		if res.OK || res.Seq != seq || res.ID != id || res.Problem != problem {
			t.Fatalf("%s: got %q; want seq %d id %s: %s", step, res, seq, id, problem)
		}
	}

	if res := verify("empty store"); !res.OK || res.Checked != 0 || res.Head != "" {
		t.Fatalf("empty store: %v; want 0 events verified and no head", res)
	}
	events := normalized(t, queryFixture(200))
	for i := 0; i < len(events); i += 70 {
		mustInsert(t, ctx, s, events[i:min(i+70, len(events))])
	}
	// A batch that repeats stored ids stores and chains only the new one.
	extra := normalized(t, queryFixture(201))[200:]
	mustInsert(t, ctx, s, append([]eventlog.Event{events[3], events[150]}, extra...))
	events = append(events, extra...)
	n := int64(len(events))
	head := wantOK("fresh", n, "").Head

	if _, err := s.ForgetUser(ctx, "alice"); err != nil {
		t.Fatal(err)
	}
	wantOK("after forget-user", n, head)

	p, ok := s.(eventlog.Pruner)
	if !ok {
		t.Fatalf("%T keeps a chain but cannot prune", s)
	}
	mid := events[len(events)/2].Timestamp
	for _, q := range []eventlog.PruneQuery{
		{Before: mid, Actions: []string{"LOGGED_IN"}, BatchSize: 3},
		{Before: mid, Except: []string{"SIGNED_UP"}, BatchSize: 7},
	} {
		d, err := p.Prune(ctx, q)
		if err != nil {
			t.Fatal(err)
		}
		if d == 0 {
			t.Fatalf("prune %+v deleted nothing; the test tests nothing", q)
		}
		n -= d
		wantOK(fmt.Sprintf("after pruning %d", d), n, head)
	}

	more := normalized(t, queryFixture(230))[201:]
	mustInsert(t, ctx, s, more)
	n += int64(len(more))
	head = wantOK("after more writes", n, "").Head

	// Pruning everything leaves a checkpoint the next write continues
	// from, with the same head.
	all := mid.AddDate(100, 0, 0)
	d, err := p.Prune(ctx, eventlog.PruneQuery{Before: all, Actions: []string{"SIGNED_UP"}})
	if err != nil || d == 0 {
		t.Fatalf("prune SIGNED_UP: %d, %v", d, err)
	}
	n -= d
	wantOK("after pruning every SIGNED_UP", n, head)
	d, err = p.Prune(ctx, eventlog.PruneQuery{Before: all})
	if err != nil || d != n {
		t.Fatalf("prune all: %d, %v; want %d", d, err, n)
	}
	wantOK("after pruning all", 0, head)
	tail := normalized(t, queryFixture(260))[230:]
	mustInsert(t, ctx, s, tail)
	n = int64(len(tail))
	wantOK("after writing after pruning all", n, "")

	victim := tail[10]
	vseq := seqOf(victim.ID)

	exec(`UPDATE eventlog_events SET extra = '{"amount":1000000}' WHERE id = ?`, victim.ID)
	wantBad("edited extra", vseq, victim.ID, eventlog.ProblemModified)
	exec(`UPDATE eventlog_events SET extra = ? WHERE id = ?`, string(victim.Extra), victim.ID)
	wantOK("extra restored", n, "")

	second := map[string]string{
		"sqlite":   `ts = ts + 1000000`,
		"mysql":    `ts = ts + 1000000`,
		"postgres": `ts = ts + interval '1 second'`,
	}[dialect]
	undo := strings.Replace(second, "+", "-", 1)
	exec(`UPDATE eventlog_events SET `+second+` WHERE id = ?`, victim.ID)
	wantBad("changed timestamp", vseq, victim.ID, eventlog.ProblemModified)
	exec(`UPDATE eventlog_events SET `+undo+` WHERE id = ?`, victim.ID)
	wantOK("timestamp restored", n, "")

	if victim.User != nil {
		exec(`UPDATE eventlog_events SET user_name = 'Mallory' WHERE id = ?`, victim.ID)
		wantBad("edited user name", vseq, victim.ID, eventlog.ProblemModified)
		exec(`UPDATE eventlog_events SET user_name = ? WHERE id = ?`, victim.User.Name, victim.ID)
		wantOK("user name restored", n, "")
	}

	forged := eventlog.NewID()
	exec(`INSERT INTO eventlog_events (id, ts, action, extra) SELECT ?, ts, action, extra FROM eventlog_events WHERE id = ?`, forged, victim.ID)
	wantBad("inserted row", seqOf(forged), forged, eventlog.ProblemOutOfBand)
	// A write after it does not bless it.
	after := normalized(t, queryFixture(262))[260:]
	mustInsert(t, ctx, s, after)
	n += int64(len(after))
	wantBad("inserted row, then a write", seqOf(forged), forged, eventlog.ProblemOutOfBand)
	exec(`DELETE FROM eventlog_events WHERE id = ?`, forged)
	wantOK("inserted row removed", n, "")

	next := tail[11]
	exec(`DELETE FROM eventlog_events WHERE id = ?`, victim.ID)
	wantBad("deleted row", seqOf(next.ID), next.ID, eventlog.ProblemDeleted)
}

// placeholders rewrites ? placeholders as $1, $2, ... for PostgreSQL.
func placeholders(dialect, query string) string {
	if dialect != "postgres" {
		return query
	}
	var b strings.Builder
	n := 0
	for _, r := range query {
		if r == '?' {
			n++
			fmt.Fprintf(&b, "$%d", n)
			continue
		}
		b.WriteRune(r)
	}
	return b.String()
}

// BenchmarkVerify loads EVENTLOG_BENCH_EVENTS generated events (default
// 100000) in batches of 1000 and reports how fast eventlog.Verify walks
// them (events/s). newStore must return a fresh, empty store that
// implements eventlog.ChainReader.
func BenchmarkVerify(b *testing.B, newStore func(b *testing.B) eventlog.Store) {
	s := newStore(b)
	cr, ok := s.(eventlog.ChainReader)
	if !ok {
		b.Skipf("%T does not implement eventlog.ChainReader", s)
	}
	ctx := context.Background()
	n := benchEvents(b)
	g, err := gen.New(&gen.Config{Seed: 1, Events: n})
	if err != nil {
		b.Fatal(err)
	}
	for batch := range g.Batches(1000) {
		if _, _, err := s.Insert(ctx, batch); err != nil {
			b.Fatalf("loading %d events: %v", n, err)
		}
	}
	b.ReportAllocs()
	b.ResetTimer()
	var checked int64
	for b.Loop() {
		res, err := eventlog.Verify(ctx, cr, nil)
		if err != nil {
			b.Fatal(err)
		}
		if !res.OK || res.Checked != int64(n) {
			b.Fatalf("Verify: %v; want %d events verified", res, n)
		}
		checked += res.Checked
	}
	b.ReportMetric(float64(checked)/b.Elapsed().Seconds(), "events/s")
}

// testChainBackfill checks that events stored before the chain existed
// (migration 002 on a populated database leaves a marker checkpoint) are
// chained by the next write, and that Verify says so until then.
func testChainBackfill(t *testing.T, s eventlog.Store) {
	cr, ok := s.(eventlog.ChainReader)
	if !ok {
		t.Skipf("%T does not implement eventlog.ChainReader", s)
	}
	sqs, ok := s.(eventlog.SQLStore)
	if !ok {
		t.Skipf("%T does not implement eventlog.SQLStore; simulating an old database needs SQL", s)
	}
	ctx := ctxT(t)
	db, dialect := sqs.SQLDB(), sqs.Dialect()
	events := normalized(t, queryFixture(50))
	mustInsert(t, ctx, s, events)
	// What migration 002 finds and leaves on a database of version 1.
	var maxSeq int64
	if err := db.QueryRowContext(ctx, `SELECT max(seq) FROM eventlog_events`).Scan(&maxSeq); err != nil {
		t.Fatal(err)
	}
	for _, q := range []string{`DELETE FROM eventlog_chain`, `DELETE FROM eventlog_chain_checkpoint`} {
		if _, err := db.ExecContext(ctx, q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	if _, err := db.ExecContext(ctx, placeholders(dialect, `INSERT INTO eventlog_chain_checkpoint (before_seq, seq, hash) VALUES (-1, ?, ?)`), maxSeq, []byte{}); err != nil {
		t.Fatal(err)
	}
	if _, err := eventlog.Verify(ctx, cr, nil); err == nil || !strings.Contains(err.Error(), "chained by the next write") {
		t.Fatalf("Verify before the backfill: %v; want an error saying the next write chains the old events", err)
	}
	more := normalized(t, queryFixture(53))[50:]
	mustInsert(t, ctx, s, more)
	res, err := eventlog.Verify(ctx, cr, nil)
	if err != nil || !res.OK || res.Checked != int64(len(events)+len(more)) {
		t.Fatalf("Verify after the backfill: %v, %v; want %d events verified", res, err, len(events)+len(more))
	}
}

// testChainTailDeleted checks that deleting the newest events out of
// band shows once the next event is written: it follows an entry that is
// gone (SQLite even hands the deleted seq to the new row).
func testChainTailDeleted(t *testing.T, s eventlog.Store) {
	cr, ok := s.(eventlog.ChainReader)
	if !ok {
		t.Skipf("%T does not implement eventlog.ChainReader", s)
	}
	sqs, ok := s.(eventlog.SQLStore)
	if !ok {
		t.Skipf("%T does not implement eventlog.SQLStore; the tampering needs SQL", s)
	}
	ctx := ctxT(t)
	db, dialect := sqs.SQLDB(), sqs.Dialect()
	events := normalized(t, queryFixture(12))
	mustInsert(t, ctx, s, events[:10])
	last := events[9]
	if _, err := db.ExecContext(ctx, placeholders(dialect, `DELETE FROM eventlog_events WHERE id = ?`), last.ID); err != nil {
		t.Fatal(err)
	}
	mustInsert(t, ctx, s, events[10:])
	res, err := eventlog.Verify(ctx, cr, nil)
	if err != nil {
		t.Fatal(err)
	}
	if res.OK || res.ID != events[10].ID || res.Problem != eventlog.ProblemDeleted {
		t.Fatalf("after deleting the newest event and writing two: %q; want %s deleted before it", res, events[10].ID)
	}
}
