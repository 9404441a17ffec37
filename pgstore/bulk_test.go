package pgstore_test

import (
	"context"
	"slices"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/eventlog/eventlog"
	"github.com/eventlog/eventlog/internal/gen"
	"github.com/eventlog/eventlog/pgstore"
)

// dumpTables returns every row of every eventlog_ table but the schema
// version, as text in a fixed order, and the definitions of the events table's indexes with
// the schema name taken out.
func dumpTables(t *testing.T, s *pgstore.Store) map[string]string {
	t.Helper()
	ctx := context.Background()
	out := map[string]string{}
	// Every eventlog_ table, so rollups added by later migrations are
	// compared too.
	tables, err := s.Pool().Query(ctx, `SELECT tablename FROM pg_tables WHERE schemaname = current_schema()
		AND tablename LIKE 'eventlog\_%' AND tablename <> 'eventlog_schema_version'`)
	if err != nil {
		t.Fatal(err)
	}
	names, err := pgx.CollectRows(tables, pgx.RowTo[string])
	if err != nil {
		t.Fatal(err)
	}
	if len(names) < 8 {
		t.Fatalf("found only the tables %v", names)
	}
	for _, table := range names {
		var dump *string
		if err := s.Pool().QueryRow(ctx, `SELECT string_agg(t::text, E'\n' ORDER BY t::text) FROM `+table+` t`).Scan(&dump); err != nil {
			t.Fatalf("dumping %s: %v", table, err)
		}
		if dump != nil {
			out[table] = *dump
		}
	}
	rows, err := s.Pool().Query(ctx, `SELECT indexname || ': ' || replace(indexdef, current_schema() || '.', '') FROM pg_indexes
		WHERE schemaname = current_schema() AND tablename = 'eventlog_events' ORDER BY indexname`)
	if err != nil {
		t.Fatal(err)
	}
	var defs []string
	for rows.Next() {
		var d string
		if err := rows.Scan(&d); err != nil {
			t.Fatal(err)
		}
		defs = append(defs, d)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	out["indexes"] = strings.Join(defs, "\n")
	return out
}

// TestBulkLoadEqualsInsert loads the same generated batches with Insert
// into one store and with BulkLoad into another: every table (events,
// seqs, chain, rollups) and every index must come out the same, and the
// chain must verify.
func TestBulkLoadEqualsInsert(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	batches := func() func(func([]eventlog.Event) bool) {
		g, err := gen.New(&gen.Config{Seed: 7, Events: 4321, Users: 300, Actions: 12})
		if err != nil {
			t.Fatal(err)
		}
		return g.Batches(500)
	}
	ins, bulk := newStore(t), newStore(t)
	var want int64
	for b := range batches() {
		if _, _, err := ins.Insert(ctx, b); err != nil {
			t.Fatal(err)
		}
		want += int64(len(b))
	}
	n, err := bulk.BulkLoad(ctx, batches())
	if err != nil {
		t.Fatalf("BulkLoad: %v", err)
	}
	if n != want {
		t.Errorf("BulkLoad stored %d events, want %d", n, want)
	}
	a, b := dumpTables(t, ins), dumpTables(t, bulk)
	for _, table := range slices.Sorted(func(yield func(string) bool) {
		for k := range a {
			if !yield(k) {
				return
			}
		}
	}) {
		if a[table] != b[table] {
			t.Errorf("%s differs after BulkLoad (%d bytes) from after Insert (%d bytes)", table, len(b[table]), len(a[table]))
		}
	}
	if a["eventlog_action_days"] == "" || a["eventlog_user_days"] == "" || !strings.Contains(a["indexes"], "gin") {
		t.Errorf("rollups or indexes missing from the Insert-loaded store: %q", a["indexes"])
	}
	res, err := eventlog.Verify(ctx, bulk, nil)
	if err != nil || !res.OK || res.Checked != want {
		t.Errorf("verify after BulkLoad: %v, %v; want %d events verified", res, err, want)
	}
	// A later Insert continues the chain.
	g, _ := gen.New(&gen.Config{Seed: 8, Events: 10})
	for b := range g.Batches(10) {
		if _, _, err := bulk.Insert(ctx, b); err != nil {
			t.Fatal(err)
		}
	}
	if res, err := eventlog.Verify(ctx, bulk, nil); err != nil || !res.OK || res.Checked != want+10 {
		t.Errorf("verify after a later Insert: %v, %v", res, err)
	}
	if _, err := bulk.BulkLoad(ctx, batches()); err == nil || !strings.Contains(err.Error(), "already holds events") {
		t.Errorf("BulkLoad into a loaded store: %v, want an error saying it holds events", err)
	}
}

// TestBulkLoadDuplicateStoresNothing: an id seen twice, in one batch or
// across batches, fails the whole load, leaving the store empty and its
// indexes in place.
func TestBulkLoadDuplicateStoresNothing(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := newStore(t)
	before := dumpTables(t, s)
	g, err := gen.New(&gen.Config{Seed: 3, Events: 300})
	if err != nil {
		t.Fatal(err)
	}
	events := make([]eventlog.Event, 300)
	g.Fill(events)
	for name, batches := range map[string][][]eventlog.Event{
		"in one batch":   {events[:100], append(slices.Clone(events[100:200]), events[150])},
		"across batches": {events[:100], events[100:200], events[50:60]},
	} {
		_, err := s.BulkLoad(ctx, slices.Values(batches))
		if err == nil || !strings.Contains(err.Error(), "appears twice") {
			t.Errorf("%s: BulkLoad = %v, want an error saying an id appears twice", name, err)
		}
		if after := dumpTables(t, s); after["indexes"] != before["indexes"] || after["eventlog_events"] != "" || after["eventlog_chain"] != "" {
			t.Errorf("%s: the failed load left events or changed indexes:\n%s", name, after["indexes"])
		}
	}
	if _, _, err := s.Insert(ctx, events[:10]); err != nil {
		t.Errorf("Insert after failed bulk loads: %v", err)
	}
}
