package cli

import (
	"encoding/json"
	"strings"
	"testing"
)

// TestBenchBulkMySQL loads with --load-only --bulk on MariaDB/MySQL
// through mysqlstore's BulkLoad, then measures the loaded database.
func TestBenchBulkMySQL(t *testing.T) {
	t.Parallel()
	b := mysqlBundle(t)
	r := b.run(t, "bench", "--events", "2000", "--load-only", "--bulk", "--format", "json")
	if r.code != 0 {
		t.Fatalf("bench --load-only --bulk: exit %d, stderr %q", r.code, r.stderr)
	}
	var load benchReport
	if err := json.Unmarshal([]byte(r.stdout), &load); err != nil {
		t.Fatal(err)
	}
	if len(load.Ingest) != 1 || load.Ingest[0].Events != 2000 || !strings.Contains(load.Ingest[0].Name, "mysqlstore BulkLoad") {
		t.Errorf("--bulk reported ingest %+v; want the mysqlstore BulkLoad of 2000 events", load.Ingest)
	}
	if load.Disk.Events != 2000 {
		t.Errorf("--bulk disk %+v, want 2000 events", load.Disk)
	}
	r = b.run(t, "bench", "--queries-only", "--runs", "5", "--query-time", "1s", "--format", "json")
	if r.code != 0 {
		t.Fatalf("bench --queries-only after --bulk: exit %d, stderr %q", r.code, r.stderr)
	}
	if r := b.run(t, "bench", "--events", "2000", "--bulk"); r.code != ExitUsage || !strings.Contains(r.stderr, "--load-only") {
		t.Errorf("--bulk without --load-only: exit %d, stderr %q; want a usage error", r.code, r.stderr)
	}
}
