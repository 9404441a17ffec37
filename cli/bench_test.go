package cli

import (
	"context"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/eventlog/eventlog/dial"
	"github.com/eventlog/eventlog/internal/gen"
)

// BenchmarkCommands measures whole command runs, in process, against a
// SQLite file pre-loaded with realistic events (internal/gen; count from
// EVENTLOG_BENCH_EVENTS, default 100000): opening the store, the query and
// formatting the output. Run with:
//
//	go test ./cli -run '^$' -bench Commands -benchtime 20x
func BenchmarkCommands(b *testing.B) {
	n := int64(100_000)
	if s := os.Getenv("EVENTLOG_BENCH_EVENTS"); s != "" {
		v, err := strconv.ParseInt(s, 10, 64)
		if err != nil || v < 1 {
			b.Fatalf("EVENTLOG_BENCH_EVENTS=%q must be a positive number", s)
		}
		n = v
	}
	db := "sqlite:" + filepath.Join(b.TempDir(), "bench.db")
	load(b, db, n)
	end := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC) // gen's default End
	for _, bc := range []struct {
		name string
		args []string
	}{
		{"events/table", []string{"events"}},
		{"events/jsonl-1000", []string{"events", "--format", "jsonl", "--limit", "1000"}},
		{"events/csv-1000", []string{"events", "--format", "csv", "--limit", "1000"}},
		{"events/action", []string{"events", "--format", "json", "--action", gen.ActionName(5)}},
		{"events/user", []string{"events", "--format", "json", "--user", gen.UserID(10)}},
		{"events/since-7d", []string{"events", "--format", "json", "--since", "7d"}},
		{"events/where", []string{"events", "--format", "json", "--where", "plan=team"}},
		{"events/q", []string{"events", "--format", "json", "-q", "coupon"}},
		{"actions", []string{"actions"}},
		{"stats", []string{"stats"}},
		{"log", []string{"log", "BENCH_LOGGED", "--user", "1", "--extra", `{"plan":"pro"}`}},
	} {
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			e := &env{
				stdin: strings.NewReader(""), stdout: io.Discard, stderr: io.Discard,
				getenv: func(string) string { return "" },
				now:    func() time.Time { return end },
			}
			args := append([]string{"--db", db}, bc.args...)
			for b.Loop() {
				if code := run(context.Background(), args, e); code != 0 {
					b.Fatalf("eventlog %s: exit %d", strings.Join(bc.args, " "), code)
				}
			}
		})
	}
}

// load fills the database at url with n generated events in batches of
// 1000.
func load(b *testing.B, url string, n int64) {
	b.Helper()
	ctx := context.Background()
	st, err := dial.Open(ctx, url, dial.Options{Migrate: true})
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	g, err := gen.New(&gen.Config{Events: n})
	if err != nil {
		b.Fatal(err)
	}
	for batch := range g.Batches(1000) {
		if _, _, err := st.Insert(ctx, batch); err != nil {
			b.Fatal(err)
		}
	}
}
