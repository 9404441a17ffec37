package cli

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestBenchCommand runs a small bench on SQLite and checks every figure
// of the JSON report is there and plausible, that the raw table file is
// removed, and that a second run refuses the now non-empty database.
func TestBenchCommand(t *testing.T) {
	t.Parallel()
	b := setup(t)
	r := b.run(t, "bench", "--events", "2000", "--ingest-time", "200ms", "--runs", "5", "--query-time", "1s", "--format", "json")
	if r.code != 0 {
		t.Fatalf("bench: exit %d, stderr %q", r.code, r.stderr)
	}
	var rep benchReport
	if err := json.Unmarshal([]byte(r.stdout), &rep); err != nil {
		t.Fatalf("bench --format json wrote %q: %v", r.stdout, err)
	}
	if rep.Machine.Cores < 1 || rep.Machine.GoVersion == "" || rep.Method == "" {
		t.Errorf("machine or method missing: %+v", rep)
	}
	want := []string{"Store.Insert", "raw: SQLite", "Sync, 1 goroutine", "Sync, 64 goroutines", "Async"}
	if len(rep.Ingest) != len(want) {
		t.Fatalf("ingest figures %+v, want %d of them", rep.Ingest, len(want))
	}
	for i, w := range want {
		if in := rep.Ingest[i]; !strings.Contains(in.Name, w) || in.Events < 1 || in.EventsPerSec <= 0 {
			t.Errorf("ingest figure %d = %+v, want %q with events and a rate", i, in, w)
		}
	}
	if rep.Ingest[0].Events != 2000 || rep.Ingest[1].Events != 2000 {
		t.Errorf("load and raw limit wrote %d and %d events, want 2000 each", rep.Ingest[0].Events, rep.Ingest[1].Events)
	}
	if len(rep.Queries) < 15 {
		t.Errorf("only %d query figures", len(rep.Queries))
	}
	for _, q := range rep.Queries {
		if q.Runs < 5 || q.P50 <= 0 || q.P50 > q.P95 || q.P95 > q.P99 {
			t.Errorf("query figure %+v: want at least 5 runs and 0 < p50 <= p95 <= p99", q)
		}
	}
	if rep.Queries[0].Rows != 50 {
		t.Errorf("first page returned %d rows, want 50", rep.Queries[0].Rows)
	}
	var sum int64
	for _, in := range rep.Ingest[2:] {
		sum += in.Events
	}
	if rep.Disk.Events != 2000+sum || rep.Disk.BytesPerEvent < 100 {
		t.Errorf("disk %+v: want %d events and at least 100 bytes each", rep.Disk, 2000+sum)
	}
	left, _ := filepath.Glob(filepath.Join(filepath.Dir(b.path), "eventlog-bench-raw-*"))
	if len(left) > 0 {
		t.Errorf("raw-limit files left behind: %v", left)
	}

	again := b.run(t, "bench", "--events", "1000")
	if again.code != ExitUsage || !strings.Contains(again.stderr, "already holds events") {
		t.Errorf("bench on a loaded database: exit %d, stderr %q; want a usage error saying it holds events", again.code, again.stderr)
	}
	if _, err := os.Stat(b.path); err != nil {
		t.Fatal(err)
	}
}

func TestBenchUsage(t *testing.T) {
	t.Parallel()
	for _, args := range [][]string{
		{"--events", "10"}, {"--batch", "0"}, {"--min-runs", "0"}, {"--ingest-time", "0s"}, {"--runs", "0"}, {"--format", "xml"},
		{"--load-only", "--queries-only"}, {"--raw-events", "-1"}, {"--events", "1000", "--raw-events", "1001"},
		{"--bulk"}, {"--bulk", "--load-only"}, // SQLite
	} {
		b := setup(t)
		if r := b.run(t, append([]string{"bench"}, args...)...); r.code != ExitUsage {
			t.Errorf("bench %v: exit %d, want %d (stderr %q)", args, r.code, ExitUsage, r.stderr)
		}
		b.noFile(t)
	}
}

// TestBenchSplitRun loads with --load-only, which reports only the load
// and disk use, then measures the same database with --queries-only as
// often as wanted without writing to it; --queries-only refuses an empty
// database and does not create a missing SQLite file.
func TestBenchSplitRun(t *testing.T) {
	t.Parallel()
	b := setup(t)
	if r := b.run(t, "bench", "--queries-only"); r.code != ExitUsage || !strings.Contains(r.stderr, "no such file") {
		t.Errorf("--queries-only on a missing SQLite file: exit %d, stderr %q; want a usage error saying there is no such file", r.code, r.stderr)
	}
	b.noFile(t)
	b.mustRun(t, "migrate")
	if r := b.run(t, "bench", "--queries-only"); r.code != ExitUsage || !strings.Contains(r.stderr, "holds no events") {
		t.Errorf("--queries-only on an empty database: exit %d, stderr %q; want a usage error saying it holds no events", r.code, r.stderr)
	}
	r := b.run(t, "bench", "--events", "3000", "--load-only", "--format", "json")
	if r.code != 0 {
		t.Fatalf("bench --load-only: exit %d, stderr %q", r.code, r.stderr)
	}
	var load benchReport
	if err := json.Unmarshal([]byte(r.stdout), &load); err != nil {
		t.Fatal(err)
	}
	if len(load.Ingest) != 1 || load.Ingest[0].Events != 3000 || !strings.Contains(load.Ingest[0].Name, "Store.Insert") || len(load.Queries) != 0 {
		t.Errorf("--load-only reported ingest %+v and %d queries; want only the load of 3000", load.Ingest, len(load.Queries))
	}
	if load.Disk.Events != 3000 || load.Disk.Bytes <= 0 {
		t.Errorf("--load-only disk %+v, want 3000 events", load.Disk)
	}
	for range 2 {
		r := b.run(t, "bench", "--queries-only", "--runs", "5", "--query-time", "1s", "--format", "json")
		if r.code != 0 {
			t.Fatalf("bench --queries-only: exit %d, stderr %q", r.code, r.stderr)
		}
		var q benchReport
		if err := json.Unmarshal([]byte(r.stdout), &q); err != nil {
			t.Fatal(err)
		}
		if len(q.Ingest) != 0 || len(q.Queries) < 15 || q.Disk.Events != 3000 {
			t.Errorf("--queries-only: ingest %+v, %d queries, %d events on disk; want no ingest, every query, the 3000 loaded events untouched", q.Ingest, len(q.Queries), q.Disk.Events)
		}
	}
	// Table format: the split report prints what it has.
	r = b.run(t, "bench", "--queries-only", "--runs", "5", "--query-time", "1s")
	if r.code != 0 || strings.Contains(r.stdout, "ingest ") || !strings.Contains(r.stdout, "query at 3000 events") {
		t.Errorf("bench --queries-only table: exit %d, stdout %q", r.code, r.stdout)
	}
}
