//go:build unix

package sqlitestore_test

import (
	"context"
	"strings"
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
	timeBatches(b, g, batch, func() {
		if _, _, err := s.Insert(ctx, batch); err != nil {
			b.Fatal(err)
		}
	})
}

// timeBatches calls insert for 20 batches of generated events, to give
// the file some size, then for b.N more, and reports the CPU and wall
// time per event of the timed calls.
func timeBatches(b *testing.B, g *gen.Generator, batch []eventlog.Event, insert func()) {
	for range 20 {
		g.Fill(batch)
		insert()
	}
	b.ReportAllocs()
	var cpu, wall time.Duration
	for b.Loop() {
		b.StopTimer()
		g.Fill(batch)
		b.StartTimer()
		c0, w0 := processCPU(b), time.Now()
		insert()
		cpu += processCPU(b) - c0
		wall += time.Since(w0)
	}
	events := float64(b.N * len(batch))
	b.ReportMetric(float64(cpu.Microseconds())/events, "cpu-us/event")
	b.ReportMetric(events/cpu.Seconds(), "events/cpu-s")
	b.ReportMetric(events/wall.Seconds(), "events/s")
}

// BenchmarkInsertRaw is the engine's limit for the rows Insert writes,
// to compare BenchmarkInsertCPU with: the same generated events, in the
// same transactions of 1,000 and 64-row prepared statements, on the
// store's own connection and pragmas, into a bare table with the events
// table's columns — with no index at all ("bare"), with the unique id
// alone ("id"), and with the events table's six indexes ("indexed") —
// and with no rollups, no hash chain and no duplicate handling.
func BenchmarkInsertRaw(b *testing.B) {
	for _, c := range []struct{ name, indexes string }{
		{"bare", ``},
		{"id", `CREATE UNIQUE INDEX raw_id ON raw (id);`},
		{"indexed", `CREATE UNIQUE INDEX raw_id ON raw (id);
			CREATE INDEX raw_ts ON raw (ts, id);
			CREATE INDEX raw_action ON raw (action, ts, id);
			CREATE INDEX raw_user ON raw (user_id, ts, id);
			CREATE INDEX raw_object_type ON raw (object_type, ts, id);
			CREATE INDEX raw_object_id ON raw (object_id, ts, id, object_type);`},
	} {
		b.Run(c.name, func(b *testing.B) { benchRaw(b, c.indexes) })
	}
}

func benchRaw(b *testing.B, indexes string) {
	ctx := context.Background()
	s := openTemp(b, nil)
	db := s.SQLDB()
	if _, err := db.ExecContext(ctx, `CREATE TABLE raw (seq INTEGER PRIMARY KEY, id TEXT NOT NULL,
		ts INTEGER NOT NULL, action TEXT NOT NULL, user_id TEXT, user_name TEXT,
		object_type TEXT, object_id TEXT, extra TEXT NOT NULL, context TEXT);`+indexes); err != nil {
		b.Fatal(err)
	}
	const rowsPerStmt = 64
	stmt, err := db.PrepareContext(ctx, `INSERT INTO raw (id, ts, action, user_id, user_name, object_type, object_id, extra, context) VALUES `+
		strings.Repeat(`(?, ?, ?, ?, ?, ?, ?, ?, ?), `, rowsPerStmt-1)+`(?, ?, ?, ?, ?, ?, ?, ?, ?)`)
	if err != nil {
		b.Fatal(err)
	}
	defer stmt.Close()
	g, err := gen.New(&gen.Config{Seed: 2, Events: 1 << 40})
	if err != nil {
		b.Fatal(err)
	}
	batch := make([]eventlog.Event, 1024) // 16 statements of 64 rows
	args := make([]any, 0, len(batch)*9)
	insert := func() {
		args = args[:0]
		for _, e := range batch {
			var userID, userName, objType, objID, rc any
			if e.User != nil {
				userID, userName = e.User.ID, e.User.Name
			}
			if e.Object != nil {
				objType, objID = e.Object.Type, e.Object.ID
			}
			if !e.Context.IsZero() {
				rc = `{"ip":"` + e.Context.IP + `"}`
			}
			args = append(args, e.ID, e.Timestamp.UnixMicro(), e.Action, userID, userName, objType, objID, string(e.Extra), rc)
		}
		tx, err := db.BeginTx(ctx, nil)
		if err != nil {
			b.Fatal(err)
		}
		st := tx.StmtContext(ctx, stmt)
		for i := 0; i < len(batch); i += rowsPerStmt {
			if _, err := st.ExecContext(ctx, args[i*9:(i+rowsPerStmt)*9]...); err != nil {
				b.Fatal(err)
			}
		}
		if err := tx.Commit(); err != nil {
			b.Fatal(err)
		}
	}
	timeBatches(b, g, batch, insert)
}
