package mysqlstore_test

import (
	"context"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"errors"
	"iter"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/eventlog/eventlog"
	"github.com/eventlog/eventlog/internal/gen"
	"github.com/eventlog/eventlog/mysqlstore"
)

// bulkTables are the tables Insert and BulkLoad write, with their order.
var bulkTables = map[string]string{
	"eventlog_events":           "seq",
	"eventlog_chain":            "seq",
	"eventlog_chain_checkpoint": "before_seq",
	"eventlog_action_hours":     "action, hour",
	"eventlog_action_days":      "action, day",
	"eventlog_actors":           "user_key",
	"eventlog_user_days":        "day, user_key",
	"eventlog_active_days":      "day",
}

var autoIncrement = regexp.MustCompile(` AUTO_INCREMENT=\d+`)

// dumpTables returns every row of the tables Insert writes, as text in a
// fixed order (bytes in hex), the events table's definition (indexes
// included, the AUTO_INCREMENT counter left out) under "ddl", and the
// bulk load's settings row under "record".
func dumpTables(t *testing.T, s *mysqlstore.Store) map[string]string {
	t.Helper()
	ctx := context.Background()
	db := s.SQLDB()
	out := map[string]string{}
	for table, order := range bulkTables {
		rows, err := db.QueryContext(ctx, "SELECT * FROM "+table+" ORDER BY "+order)
		if err != nil {
			t.Fatalf("dumping %s: %v", table, err)
		}
		cols, err := rows.Columns()
		if err != nil {
			t.Fatal(err)
		}
		var sb strings.Builder
		vals := make([]sql.RawBytes, len(cols))
		dest := make([]any, len(cols))
		for i := range vals {
			dest[i] = &vals[i]
		}
		for rows.Next() {
			if err := rows.Scan(dest...); err != nil {
				t.Fatal(err)
			}
			for i, v := range vals {
				if i > 0 {
					sb.WriteByte('|')
				}
				if v == nil {
					sb.WriteString("NULL")
				} else {
					sb.WriteString(hex.EncodeToString(v))
				}
			}
			sb.WriteByte('\n')
		}
		if err := rows.Err(); err != nil {
			t.Fatal(err)
		}
		rows.Close()
		out[table] = sb.String()
	}
	var name, ddl string
	if err := db.QueryRowContext(ctx, "SHOW CREATE TABLE eventlog_events").Scan(&name, &ddl); err != nil {
		t.Fatal(err)
	}
	out["ddl"] = autoIncrement.ReplaceAllString(ddl, "")
	var record sql.NullString
	if err := db.QueryRowContext(ctx, "SELECT value FROM eventlog_settings WHERE `key` = ?", mysqlstore.BulkIndexesKey).Scan(&record); err != nil && !errors.Is(err, sql.ErrNoRows) {
		t.Fatal(err)
	}
	out["record"] = record.String
	return out
}

func genBatches(t *testing.T, cfg *gen.Config, size int) iter.Seq[[]eventlog.Event] {
	t.Helper()
	g, err := gen.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return g.Batches(size)
}

// TestBulkLoadEqualsInsert loads the same generated batches with Insert
// into one store and with BulkLoad into another: every table (events,
// seqs, chain, rollups) and the table definition must come out the same,
// and the chain must verify.
func TestBulkLoadEqualsInsert(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	cfg := &gen.Config{Seed: 7, Events: 4321, Users: 300, Actions: 12}
	ins, bulk := newStore(t), newStore(t)
	var want int64
	for b := range genBatches(t, cfg, 500) {
		if _, _, err := ins.Insert(ctx, b); err != nil {
			t.Fatal(err)
		}
		want += int64(len(b))
	}
	// Rollups upserted several times during the load, as they would be
	// every million rollup rows at 10,000,000 events.
	mysqlstore.SetBulkRollupRows(bulk, 700)
	n, err := bulk.BulkLoad(ctx, genBatches(t, cfg, 500))
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
	if a["eventlog_action_days"] == "" || a["eventlog_user_days"] == "" || a["eventlog_active_days"] == "" || a["eventlog_actors"] == "" || !strings.Contains(a["ddl"], "KEY `eventlog_events_object`") {
		t.Errorf("rollups or indexes missing from the Insert-loaded store:\n%s", a["ddl"])
	}
	if b["ddl"] != a["ddl"] {
		t.Errorf("table definition after BulkLoad:\n%s\nafter Insert:\n%s", b["ddl"], a["ddl"])
	}
	res, err := eventlog.Verify(ctx, bulk, nil)
	if err != nil || !res.OK || res.Checked != want {
		t.Errorf("verify after BulkLoad: %v, %v; want %d events verified", res, err, want)
	}
	// A later Insert continues the chain and the seqs.
	for b := range genBatches(t, &gen.Config{Seed: 8, Events: 10}, 10) {
		if _, _, err := bulk.Insert(ctx, b); err != nil {
			t.Fatal(err)
		}
	}
	if res, err := eventlog.Verify(ctx, bulk, nil); err != nil || !res.OK || res.Checked != want+10 {
		t.Errorf("verify after a later Insert: %v, %v", res, err)
	}
	if _, err := bulk.BulkLoad(ctx, genBatches(t, cfg, 500)); err == nil || !strings.Contains(err.Error(), "already holds events") {
		t.Errorf("BulkLoad into a loaded store: %v, want an error saying it holds events", err)
	}
}

// TestBulkLoadFailureStoresNothing: a duplicate id (in one batch, or
// across batches, which the unique index reports), a failure after the
// indexes were dropped, one after the commit, and a canceled context each
// fail the whole load, leaving the store empty with all its indexes.
func TestBulkLoadFailureStoresNothing(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := newStore(t)
	before := dumpTables(t, s)
	g, err := gen.New(&gen.Config{Seed: 3, Events: 3000})
	if err != nil {
		t.Fatal(err)
	}
	events := make([]eventlog.Event, 3000)
	g.Fill(events)
	batches := func(n int) [][]eventlog.Event {
		var out [][]eventlog.Event
		for i := 0; i < n; i += 100 {
			out = append(out, events[i:i+100])
		}
		return out
	}
	injected := errors.New("injected failure")
	cases := []struct {
		name    string
		batches [][]eventlog.Event
		hook    string
		cancel  bool
		want    string
	}{
		{name: "duplicate in one batch", batches: [][]eventlog.Event{events[:100], append(slices.Clone(events[100:200]), events[150])},
			want: "event id " + events[150].ID + " appears twice"},
		{name: "duplicate across batches", batches: [][]eventlog.Event{events[:100], events[100:200], events[50:60]},
			want: "Duplicate entry '" + events[50].ID + "'"},
		{name: "failure after the indexes were dropped", batches: batches(1000), hook: "dropped", want: "injected failure"},
		{name: "failure after the commit", batches: batches(3000), hook: "committed", want: "the loaded events were removed"},
		{name: "canceled context", batches: batches(3000), cancel: true, want: context.Canceled.Error()},
	}
	for _, c := range cases {
		mysqlstore.SetBulkHook(s, func(stage string) error {
			if stage == c.hook {
				return injected
			}
			return nil
		})
		lctx, cancel := context.WithCancel(ctx)
		seq := func(yield func([]eventlog.Event) bool) {
			for i, b := range c.batches {
				if c.cancel && i == 10 {
					cancel()
				}
				if !yield(b) {
					return
				}
			}
		}
		_, err := s.BulkLoad(lctx, seq)
		cancel()
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: BulkLoad = %v, want an error containing %q", c.name, err, c.want)
		}
		if c.hook != "" && !errors.Is(err, injected) {
			t.Errorf("%s: BulkLoad = %v, want it to wrap the injected failure", c.name, err)
		}
		after := dumpTables(t, s)
		for k, v := range before {
			if after[k] != v {
				t.Errorf("%s: the failed load changed %s:\n%.500s", c.name, k, after[k])
			}
		}
	}
	mysqlstore.SetBulkHook(s, nil)
	if _, _, err := s.Insert(ctx, events[:10]); err != nil {
		t.Errorf("Insert after failed bulk loads: %v", err)
	}
}

// TestBulkLoadRecovers: indexes that a killed bulk load dropped (its
// record left in eventlog_settings) are restored by the next BulkLoad,
// and a second bulk load cannot run while one does.
func TestBulkLoadRecovers(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s, fresh := newStore(t), newStore(t)
	want := dumpTables(t, fresh)["ddl"]
	db := s.SQLDB()
	var name, ddl string
	if err := db.QueryRowContext(ctx, "SHOW CREATE TABLE eventlog_events").Scan(&name, &ddl); err != nil {
		t.Fatal(err)
	}
	// What a load killed after its DROP INDEX leaves behind: two index
	// definitions, as SHOW CREATE TABLE prints them, in eventlog_settings.
	var dropped []string
	for _, line := range strings.Split(ddl, "\n") {
		l := strings.TrimSuffix(strings.TrimSpace(line), ",")
		if strings.HasPrefix(l, "KEY `eventlog_events_user`") || strings.HasPrefix(l, "KEY `eventlog_events_ts`") {
			dropped = append(dropped, l)
		}
	}
	record, err := json.Marshal(dropped)
	if err != nil || len(dropped) != 2 {
		t.Fatalf("index definitions %q in\n%s", dropped, ddl)
	}
	if _, err := db.ExecContext(ctx, "INSERT INTO eventlog_settings (`key`, value) VALUES (?, ?)", mysqlstore.BulkIndexesKey, string(record)); err != nil {
		t.Fatal(err)
	}
	if _, err := db.ExecContext(ctx, "ALTER TABLE eventlog_events DROP INDEX eventlog_events_user, DROP INDEX eventlog_events_ts"); err != nil {
		t.Fatal(err)
	}
	var nested error
	mysqlstore.SetBulkHook(s, func(stage string) error {
		if stage == "dropped" {
			_, nested = s.BulkLoad(ctx, genBatches(t, &gen.Config{Seed: 1, Events: 10}, 10))
		}
		return nil
	})
	n, err := s.BulkLoad(ctx, genBatches(t, &gen.Config{Seed: 5, Events: 2500}, 1000))
	if err != nil || n != 2500 {
		t.Fatalf("BulkLoad after an interrupted one = %d, %v; want 2500, nil", n, err)
	}
	if nested == nil || !strings.Contains(nested.Error(), "another bulk load is running") {
		t.Errorf("a bulk load during another = %v, want an error saying another is running", nested)
	}
	// Restored indexes come last in the definition; compare the lines.
	sortedLines := func(s string) string {
		lines := strings.Split(strings.ReplaceAll(s, ",\n", "\n"), "\n")
		slices.Sort(lines)
		return strings.Join(lines, "\n")
	}
	got := dumpTables(t, s)
	if sortedLines(got["ddl"]) != sortedLines(want) || got["record"] != "" {
		t.Errorf("after recovery and load the table is\n%s\nwant\n%s\n(record %q)", got["ddl"], want, got["record"])
	}
	if res, err := eventlog.Verify(ctx, s, nil); err != nil || !res.OK || res.Checked != 2500 {
		t.Errorf("verify: %v, %v", res, err)
	}
}
