package cli

import (
	"bufio"
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/eventlog/eventlog/internal/gen"
)

// BenchmarkRetention measures, on SQLite and on PostgreSQL (when
// EVENTLOG_TEST_POSTGRES is set), the three bulk commands of issue 8 over
// EVENTLOG_BENCH_EVENTS generated events (internal/gen, a year of
// events; default 20000): import of a JSONL file into an empty database,
// export of every event as JSONL and as CSV, and prune of the older half
// of the year in batches of 1000. The sub-benchmarks share the database
// and must run once each, in order:
//
//	EVENTLOG_BENCH_EVENTS=1000000 go test ./cli -run '^$' -bench Retention -benchtime 1x -timeout 1h
func BenchmarkRetention(b *testing.B) {
	n := int64(20_000)
	if s := os.Getenv("EVENTLOG_BENCH_EVENTS"); s != "" {
		v, err := strconv.ParseInt(s, 10, 64)
		if err != nil || v < 1 {
			b.Fatalf("EVENTLOG_BENCH_EVENTS=%q must be a positive number", s)
		}
		n = v
	}
	file := filepath.Join(b.TempDir(), "events.jsonl")
	writeGenerated(b, file, n)
	end := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC) // gen's default End
	half := end.Add(-365 * 24 * time.Hour / 2).Format(time.RFC3339)

	dbs := []struct {
		name string
		url  func(b *testing.B) string
	}{
		{"sqlite", func(b *testing.B) string { return "sqlite:" + filepath.Join(b.TempDir(), "bench.db") }},
		{"postgres", benchPostgresURL},
	}
	outer := b
	for _, d := range dbs {
		var db string
		cmd := func(b *testing.B, args ...string) string {
			var out, errs strings.Builder
			e := &env{stdin: strings.NewReader(""), stdout: &out, stderr: &errs,
				getenv: func(string) string { return "" }, now: func() time.Time { return end }}
			if code := run(context.Background(), append([]string{"--db", db}, args...), e); code != 0 {
				b.Fatalf("eventlog %s: exit %d: %s", strings.Join(args, " "), code, errs.String())
			}
			return out.String()
		}
		perSecond := func(b *testing.B, events int64) {
			b.ReportMetric(float64(events)*float64(b.N)/b.Elapsed().Seconds(), "events/s")
		}
		b.Run(d.name+"/import", func(b *testing.B) {
			for range b.N {
				b.StopTimer()
				db = d.url(outer) // outlives this sub-benchmark
				cmd(b, "migrate")
				b.StartTimer()
				cmd(b, "import", file)
			}
			perSecond(b, n)
		})
		for _, format := range []string{"jsonl", "csv"} {
			b.Run(d.name+"/export-"+format, func(b *testing.B) {
				out := filepath.Join(b.TempDir(), "out."+format)
				for range b.N {
					cmd(b, "export", "--format", format, "-o", out)
				}
				perSecond(b, n)
				fi, _ := os.Stat(out)
				b.ReportMetric(float64(fi.Size())/float64(n), "bytes/event")
			})
		}
		b.Run(d.name+"/prune-half", func(b *testing.B) {
			var deleted int64
			for range b.N {
				out := cmd(b, "prune", "--before", half)
				v, err := strconv.ParseInt(strings.Fields(out)[1], 10, 64)
				if err != nil {
					b.Fatalf("prune printed %q", out)
				}
				deleted += v
			}
			b.ReportMetric(float64(deleted)/b.Elapsed().Seconds(), "events/s")
			b.ReportMetric(float64(deleted)/float64(b.N), "deleted")
		})
	}
}

// writeGenerated writes n generated events to path as canonical JSONL.
func writeGenerated(b *testing.B, path string, n int64) {
	b.Helper()
	f, err := os.Create(path)
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	w := bufio.NewWriterSize(f, 1<<20)
	g, err := gen.New(&gen.Config{Events: n})
	if err != nil {
		b.Fatal(err)
	}
	var line []byte
	for batch := range g.Batches(1000) {
		for _, ev := range batch {
			line = append(ev.AppendJSON(line[:0]), '\n')
			w.Write(line) //nolint:errcheck // Flush reports it
		}
	}
	if err := w.Flush(); err != nil {
		b.Fatal(err)
	}
}

// benchPostgresURL returns a URL to a fresh schema of the server named by
// EVENTLOG_TEST_POSTGRES, dropped when the benchmark ends, or skips.
func benchPostgresURL(b *testing.B) string {
	base := os.Getenv("EVENTLOG_TEST_POSTGRES")
	if base == "" {
		b.Skip("set EVENTLOG_TEST_POSTGRES to benchmark PostgreSQL")
	}
	admin, err := sql.Open("pgx", base)
	if err != nil {
		b.Fatal(err)
	}
	r := make([]byte, 6)
	rand.Read(r) //nolint:errcheck // never fails
	name := "eventlog_bench_" + hex.EncodeToString(r)
	if _, err := admin.Exec("CREATE SCHEMA " + name); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() {
		admin.Exec("DROP SCHEMA " + name + " CASCADE") //nolint:errcheck // best effort
		admin.Close()
	})
	u, err := url.Parse(base)
	if err != nil {
		b.Fatal(err)
	}
	q := u.Query()
	q.Set("search_path", name)
	u.RawQuery = q.Encode()
	return u.String()
}
