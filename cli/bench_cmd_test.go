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
		{"--events", "10"}, {"--batch", "0"}, {"--ingest-time", "0s"}, {"--runs", "0"}, {"--format", "xml"},
	} {
		b := setup(t)
		if r := b.run(t, append([]string{"bench"}, args...)...); r.code != ExitUsage {
			t.Errorf("bench %v: exit %d, want %d (stderr %q)", args, r.code, ExitUsage, r.stderr)
		}
		b.noFile(t)
	}
}
