package pgstore_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"runtime"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/eventlog/eventlog"
)

// BenchmarkLogger measures each Logger write mode into PostgreSQL from
// one goroutine and from 64, with allocations. events/s counts from the
// first call to the end of the Flush that stores the last event. Async
// and Spooled also COPY the same rows into a bare copy of the events
// table (same columns and indexes) in batches of 1,000 in the same run,
// and report the Logger's rate as a share of that raw limit:
//
//	EVENTLOG_TEST_POSTGRES=... go test ./pgstore -run '^$' -bench Logger -benchtime 20000x
func BenchmarkLogger(b *testing.B) {
	for _, mode := range []eventlog.Mode{eventlog.Sync, eventlog.Async, eventlog.Spooled} {
		for _, g := range []int{1, 64} {
			b.Run(fmt.Sprintf("mode=%v/goroutines=%d", mode, g), func(b *testing.B) { benchLogger(b, mode, g) })
		}
	}
}

func benchLogger(b *testing.B, mode eventlog.Mode, goroutines int) {
	ctx := context.Background()
	s := newStore(b)
	cfg := &eventlog.Config{Mode: mode}
	if mode == eventlog.Spooled {
		cfg.SpoolDir = filepath.Join(b.TempDir(), "spool")
	}
	l, err := eventlog.New(s, cfg)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { l.Close() })
	now := time.Now().UTC()
	events := liveEvents(b, rand.New(rand.NewPCG(5, 6)), b.N, &now)
	for i := range events {
		events[i].ID = "" // the Logger assigns ids, as for an application
	}
	var next atomic.Int64
	b.ReportAllocs()
	b.ResetTimer()
	start := time.Now()
	if goroutines == 1 {
		for i := range events {
			if _, err := l.LogEvent(ctx, events[i]); err != nil {
				b.Fatal(err)
			}
		}
	} else {
		b.SetParallelism(max(1, goroutines/runtime.GOMAXPROCS(0)))
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				if _, err := l.LogEvent(ctx, events[next.Add(1)-1]); err != nil {
					b.Error(err)
					return
				}
			}
		})
	}
	if err := l.Flush(ctx); err != nil {
		b.Fatal(err)
	}
	took := time.Since(start)
	b.StopTimer()
	rate := float64(b.N) / took.Seconds()
	b.ReportMetric(rate, "events/s")
	if m := l.Metrics(); m.Batches > 0 {
		b.ReportMetric(float64(m.Written)/float64(m.Batches), "events/commit")
	}
	if mode == eventlog.Sync || b.N < 1000 {
		return
	}
	// The raw limit: COPY of the same rows, with their ids, into a bare
	// table with the same indexes.
	if _, err := s.Pool().Exec(ctx, rawCopyTable); err != nil {
		b.Fatal(err)
	}
	rows, err := s.Pool().Query(ctx, `SELECT id::text FROM eventlog_events ORDER BY seq`)
	if err != nil {
		b.Fatal(err)
	}
	ids, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil || len(ids) != len(events) {
		b.Fatalf("stored %d events of %d: %v", len(ids), len(events), err)
	}
	for i := range events {
		events[i].ID = ids[i]
	}
	t0 := time.Now()
	for i := 0; i < len(events); i += 1000 {
		if err := copyRaw(ctx, s.Pool(), events[i:min(i+1000, len(events))]); err != nil {
			b.Fatal(err)
		}
	}
	raw := float64(len(events)) / time.Since(t0).Seconds()
	b.ReportMetric(raw, "rawcopy-events/s")
	b.ReportMetric(100*rate/raw, "%-of-rawcopy")
}
