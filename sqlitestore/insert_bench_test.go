//go:build unix

package sqlitestore_test

import (
	"context"
	"syscall"
	"testing"
	"time"

	"github.com/eventlog/eventlog"
	"github.com/eventlog/eventlog/internal/gen"
)

// processCPU returns the user plus system CPU time of the process.
func processCPU(b *testing.B) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatalf("getrusage: %v", err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkInsertCPU measures what a 1,000-event Insert costs in CPU,
// which on a shared machine is steadier than wall time: cpu-us/event is
// the process's user+system time (SQLite's, Go's and the kernel's for the
// WAL writes and fsync) around Insert calls only, after 20 batches have
// given the file some size. Events come from internal/gen (seed 2).
func BenchmarkInsertCPU(b *testing.B) {
	ctx := context.Background()
	s := openTemp(b, nil)
	g, err := gen.New(&gen.Config{Seed: 2, Events: 1 << 40})
	if err != nil {
		b.Fatal(err)
	}
	batch := make([]eventlog.Event, 1000)
	for range 20 {
		g.Fill(batch)
		if _, _, err := s.Insert(ctx, batch); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportAllocs()
	var cpu, wall time.Duration
	for b.Loop() {
		b.StopTimer()
		g.Fill(batch)
		b.StartTimer()
		c0, w0 := processCPU(b), time.Now()
		if _, _, err := s.Insert(ctx, batch); err != nil {
			b.Fatal(err)
		}
		cpu += processCPU(b) - c0
		wall += time.Since(w0)
	}
	events := float64(b.N * len(batch))
	b.ReportMetric(float64(cpu.Microseconds())/events, "cpu-us/event")
	b.ReportMetric(events/cpu.Seconds(), "events/cpu-s")
	b.ReportMetric(events/wall.Seconds(), "events/s")
}
