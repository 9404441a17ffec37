package eventlog_test

import (
	"context"
	"encoding/json"
	"fmt"
	"runtime"
	"testing"
	"time"

	"github.com/eventlog/eventlog"
	"github.com/eventlog/eventlog/spool"
)

// benchEvent is a typical small event: the fast path takes extra as
// json.RawMessage so nothing is marshalled per call.
var benchEvent = eventlog.Event{
	Action: "CREATED_FOO_WIDGET",
	User:   &eventlog.User{ID: "42", Name: "alice"},
	Object: &eventlog.Object{Type: "widget", ID: "17"},
	Extra:  json.RawMessage(`{"title":"Foo"}`),
}

// benchLogger returns a Logger over a SQLite file with the default
// synchronous=FULL, as an application would run it.
func benchLogger(b *testing.B, cfg *eventlog.Config) *eventlog.Logger {
	b.Helper()
	return setup(b, cfg).logger
}

// reportRate adds events/s, counting the final Flush, to the result.
func reportRate(b *testing.B, l *eventlog.Logger, start time.Time) {
	if err := l.Flush(context.Background()); err != nil {
		b.Fatal(err)
	}
	b.StopTimer()
	if m := l.Metrics(); m.Written < int64(b.N) {
		b.Fatalf("written %d of %d", m.Written, b.N)
	}
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "events/s")
}

func BenchmarkLogSync(b *testing.B) {
	for _, g := range []int{1, 64} {
		b.Run(fmt.Sprintf("goroutines=%d", g), func(b *testing.B) {
			l := benchLogger(b, nil)
			ctx := context.Background()
			b.ReportAllocs()
			start := time.Now()
			b.ResetTimer()
			if g == 1 {
				for range b.N {
					if _, err := l.LogEvent(ctx, benchEvent); err != nil {
						b.Fatal(err)
					}
				}
			} else {
				b.SetParallelism(max(1, g/runtime.GOMAXPROCS(0)))
				b.RunParallel(func(pb *testing.PB) {
					for pb.Next() {
						if _, err := l.LogEvent(ctx, benchEvent); err != nil {
							b.Error(err)
							return
						}
					}
				})
			}
			reportRate(b, l, start)
		})
	}
}

// BenchmarkLogAsync measures Async mode into SQLite end to end: ns/op
// and events/s include the Flush that stores the last event.
func BenchmarkLogAsync(b *testing.B) {
	l := benchLogger(b, &eventlog.Config{Mode: eventlog.Async})
	ctx := context.Background()
	b.ReportAllocs()
	start := time.Now()
	b.ResetTimer()
	for range b.N {
		if _, err := l.LogEvent(ctx, benchEvent); err != nil {
			b.Fatal(err)
		}
	}
	reportRate(b, l, start)
}

// BenchmarkLogAsyncPipeline is BenchmarkLogAsync over a store that
// keeps nothing: the ceiling of the Logger's own queue and batching,
// whatever the database.
func BenchmarkLogAsyncPipeline(b *testing.B) {
	l := setupOn(b, discardStore{}, &eventlog.Config{Mode: eventlog.Async}).logger
	ctx := context.Background()
	b.ReportAllocs()
	start := time.Now()
	b.ResetTimer()
	for range b.N {
		if _, err := l.LogEvent(ctx, benchEvent); err != nil {
			b.Fatal(err)
		}
	}
	reportRate(b, l, start)
}

// BenchmarkLogAsyncCall measures only the call: the background writer is
// parked in a held store, so neither the store nor the writer competes
// with Log for the CPU, and the buffer holds the whole run.
func BenchmarkLogAsyncCall(b *testing.B) {
	gate := newGateStore(discardStore{})
	l := setupOn(b, gate, &eventlog.Config{Mode: eventlog.Async, BufferSize: b.N + 2, MaxBatch: 1}).logger
	ctx := context.Background()
	if _, err := l.LogEvent(ctx, benchEvent); err != nil {
		b.Fatal(err)
	}
	<-gate.entered
	b.ReportAllocs()
	cpu0 := processCPU()
	b.ResetTimer()
	for range b.N {
		if _, err := l.LogEvent(ctx, benchEvent); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	// On a shared machine wall time includes waiting for a core; the
	// process's CPU time per call is the cost of Log itself.
	b.ReportMetric(float64((processCPU()-cpu0).Nanoseconds())/float64(b.N), "cpu-ns/op")
	go func() {
		for range gate.entered {
		}
	}()
	gate.release()
}

// discardStore stores nothing and reports every event inserted.
type discardStore struct{ eventlog.Store }

func (discardStore) Insert(_ context.Context, events []eventlog.Event) ([]eventlog.Event, []bool, error) {
	inserted := make([]bool, len(events))
	for i := range inserted {
		inserted[i] = true
	}
	return events, inserted, nil
}

func BenchmarkLogSpooled(b *testing.B) {
	for _, p := range []spool.SyncPolicy{spool.SyncNever, spool.SyncInterval, spool.SyncAlways} {
		b.Run("fsync="+p.String(), func(b *testing.B) {
			l := benchLogger(b, &eventlog.Config{Mode: eventlog.Spooled, SpoolDir: b.TempDir(), SpoolSync: p})
			ctx := context.Background()
			b.ReportAllocs()
			start := time.Now()
			b.ResetTimer()
			for range b.N {
				if _, err := l.LogEvent(ctx, benchEvent); err != nil {
					b.Fatal(err)
				}
			}
			reportRate(b, l, start)
		})
	}
}

// BenchmarkLogSpooledParallel is Spooled with fsync before every return
// and 64 callers, who share fsyncs of the spool as Sync callers share
// commits.
func BenchmarkLogSpooledParallel(b *testing.B) {
	l := benchLogger(b, &eventlog.Config{Mode: eventlog.Spooled, SpoolDir: b.TempDir(), SpoolSync: spool.SyncAlways})
	ctx := context.Background()
	b.ReportAllocs()
	b.SetParallelism(max(1, 64/runtime.GOMAXPROCS(0)))
	start := time.Now()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := l.LogEvent(ctx, benchEvent); err != nil {
				b.Error(err)
				return
			}
		}
	})
	reportRate(b, l, start)
}
