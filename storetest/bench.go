package storetest

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/eventlog/eventlog"
	"github.com/eventlog/eventlog/internal/gen"
)

// BenchEventsEnv names the environment variable that sets how many
// generated events the query benchmarks load first (default 100000).
const BenchEventsEnv = "EVENTLOG_BENCH_EVENTS"

// Benchmark measures a store with the same workload as every other store:
// batch inserts (events/s), single durable Log calls (one goroutine, and
// concurrent callers sharing group commits), and the first page of each
// query kind plus Stats, Actions, Series and ActiveUsers over a store
// pre-loaded with generated events. Query benchmarks report p50-ms and
// p95-ms over their b.N runs. newStore must return a fresh, empty store
// and close it in b.Cleanup.
//
// Use a small -benchtime (for example -benchtime 20x): each Log is a
// durable commit, and a text search that matches nothing scans the table.
func Benchmark(b *testing.B, newStore func(b *testing.B) eventlog.Store) {
	b.Run("Insert", func(b *testing.B) {
		for _, size := range []int{100, 1000} {
			b.Run(fmt.Sprintf("batch=%d", size), func(b *testing.B) { benchInsert(b, newStore(b), size) })
		}
	})
	b.Run("Log", func(b *testing.B) { benchLog(b, newStore(b)) })
	b.Run("LogParallel", func(b *testing.B) { benchLogParallel(b, newStore(b)) })
	b.Run("Read", func(b *testing.B) { benchReads(b, newStore(b)) })
}

func benchInsert(b *testing.B, s eventlog.Store, size int) {
	ctx := context.Background()
	g, err := gen.New(&gen.Config{Seed: 2, Events: 1 << 40})
	if err != nil {
		b.Fatal(err)
	}
	batch := make([]eventlog.Event, size)
	b.ReportAllocs()
	var spent time.Duration
	for b.Loop() {
		b.StopTimer()
		g.Fill(batch)
		b.StartTimer()
		start := time.Now()
		if _, _, err := s.Insert(ctx, batch); err != nil {
			b.Fatal(err)
		}
		spent += time.Since(start)
	}
	b.ReportMetric(float64(b.N*size)/spent.Seconds(), "events/s")
}

func benchLog(b *testing.B, s eventlog.Store) {
	ctx := context.Background()
	l, err := eventlog.New(s, nil)
	if err != nil {
		b.Fatal(err)
	}
	defer l.Close()
	user := eventlog.User{ID: "user-1", Name: "Ada Lovelace"}
	obj := eventlog.Object{Type: "widget", ID: "42"}
	extra := json.RawMessage(`{"title":"Foo","status":200,"plan":"pro"}`)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := l.Log(ctx, "CREATED_FOO_WIDGET", user, obj, extra); err != nil {
			b.Fatal(err)
		}
	}
}

func benchLogParallel(b *testing.B, s eventlog.Store) {
	ctx := context.Background()
	l, err := eventlog.New(s, nil)
	if err != nil {
		b.Fatal(err)
	}
	defer l.Close()
	extra := json.RawMessage(`{"status":200}`)
	b.SetParallelism(16) // callers per CPU: a web server's concurrent requests
	b.ReportAllocs()
	start := time.Now()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := l.Log(ctx, "VIEWED_PAGE", eventlog.User{ID: "user-2"}, extra); err != nil {
				b.Error(err)
				return
			}
		}
	})
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "events/s")
	if m := l.Metrics(); m.Batches > 0 {
		b.ReportMetric(float64(m.Written)/float64(m.Batches), "events/commit")
	}
}

// benchEvents reads BenchEventsEnv.
func benchEvents(b *testing.B) int64 {
	v := os.Getenv(BenchEventsEnv)
	if v == "" {
		return 100_000
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil || n < 1000 {
		b.Fatalf("%s=%q: want a number of events, at least 1000", BenchEventsEnv, v)
	}
	return n
}

type readCase struct {
	name string
	run  func(ctx context.Context, s eventlog.Store) error
}

func queryCase(name string, q eventlog.Query) readCase {
	if err := q.Normalize(); err != nil {
		panic(fmt.Sprintf("benchmark query %s: %v", name, err))
	}
	return readCase{name, func(ctx context.Context, s eventlog.Store) error {
		_, err := s.Query(ctx, q)
		return err
	}}
}

func seriesCase(name string, q eventlog.SeriesQuery, active bool) readCase {
	if err := q.Normalize(); err != nil {
		panic(fmt.Sprintf("benchmark series %s: %v", name, err))
	}
	return readCase{name, func(ctx context.Context, s eventlog.Store) error {
		var err error
		if active {
			_, err = s.ActiveUsers(ctx, q)
		} else {
			_, err = s.Series(ctx, q)
		}
		return err
	}}
}

func benchReads(b *testing.B, s eventlog.Store) {
	ctx := context.Background()
	n := benchEvents(b)
	g, err := gen.New(&gen.Config{Seed: 1, Events: n})
	if err != nil {
		b.Fatal(err)
	}
	start := time.Now()
	for batch := range g.Batches(1000) {
		if _, _, err := s.Insert(ctx, batch); err != nil {
			b.Fatalf("loading %d events: %v", n, err)
		}
	}
	load := time.Since(start)
	b.Logf("loaded %d generated events in %v (%.0f events/s)", n, load.Round(time.Millisecond), float64(n)/load.Seconds())

	end := g.Config().End
	day := 24 * time.Hour
	mid := end.Add(-180 * day)
	cases := []readCase{
		queryCase("Query/all", eventlog.Query{}),
		queryCase("Query/action=top", eventlog.Query{Actions: []string{gen.ActionName(0)}}),
		queryCase("Query/action=rare", eventlog.Query{Actions: []string{gen.ActionName(90)}}),
		queryCase("Query/actions=3", eventlog.Query{Actions: []string{gen.ActionName(3), gen.ActionName(40), gen.ActionName(80)}}),
		queryCase("Query/user=top", eventlog.Query{UserID: gen.UserID(0)}),
		queryCase("Query/user=tail", eventlog.Query{UserID: gen.UserID(50_000)}),
		queryCase("Query/object_type", eventlog.Query{ObjectType: "order"}),
		queryCase("Query/object_id", eventlog.Query{ObjectID: "1"}),
		queryCase("Query/object", eventlog.Query{ObjectType: "invoice", ObjectID: "7"}),
		queryCase("Query/since=7d", eventlog.Query{Since: end.Add(-7 * day)}),
		queryCase("Query/window=1d", eventlog.Query{Since: mid, Until: mid.Add(day)}),
		queryCase("Query/q=common", eventlog.Query{Text: "weekly"}),
		queryCase("Query/q=name", eventlog.Query{Text: "lovelace"}),
		queryCase("Query/q=none", eventlog.Query{Text: "no-such-text"}),
		queryCase("Query/where=number", eventlog.Query{Where: []eventlog.Where{{Key: "status", Value: 500.0}}}),
		queryCase("Query/where=string", eventlog.Query{Where: []eventlog.Where{{Key: "plan", Value: "team"}}}),
		queryCase("Query/where=bool", eventlog.Query{Where: []eventlog.Where{{Key: "trial", Value: true}}}),
		queryCase("Query/action+where", eventlog.Query{Actions: []string{gen.ActionName(1)}, Where: []eventlog.Where{{Key: "status", Value: 404.0}}}),
		queryCase("Query/user+since", eventlog.Query{UserID: gen.UserID(10), Since: end.Add(-30 * day)}),
		queryCase("Query/window+q", eventlog.Query{Since: mid, Until: mid.Add(day), Text: "coupon"}),
		{"Actions", func(ctx context.Context, s eventlog.Store) error { _, err := s.Actions(ctx); return err }},
		{"Stats", func(ctx context.Context, s eventlog.Store) error { _, err := s.Stats(ctx, end); return err }},
		seriesCase("Series/day=365", eventlog.SeriesQuery{Interval: eventlog.Day, Since: end.Add(-365 * day), Until: end}, false),
		seriesCase("Series/day=30", eventlog.SeriesQuery{Interval: eventlog.Day, Since: end.Add(-30 * day), Until: end}, false),
		seriesCase("Series/hour=7d", eventlog.SeriesQuery{Interval: eventlog.Hour, Since: end.Add(-7 * day), Until: end}, false),
		seriesCase("Series/hour=7d,action", eventlog.SeriesQuery{Interval: eventlog.Hour, Since: end.Add(-7 * day), Until: end, Actions: []string{gen.ActionName(2)}}, false),
		seriesCase("ActiveUsers/day=30", eventlog.SeriesQuery{Interval: eventlog.Day, Since: end.Add(-30 * day), Until: end}, true),
		seriesCase("ActiveUsers/hour=1d", eventlog.SeriesQuery{Interval: eventlog.Hour, Since: end.Add(-day), Until: end}, true),
	}
	for _, c := range cases {
		b.Run(c.name, func(b *testing.B) {
			var took []time.Duration
			b.ReportAllocs()
			for b.Loop() {
				t0 := time.Now()
				if err := c.run(ctx, s); err != nil {
					b.Fatal(err)
				}
				took = append(took, time.Since(t0))
			}
			slices.Sort(took)
			b.ReportMetric(ms(percentile(took, 0.50)), "p50-ms")
			b.ReportMetric(ms(percentile(took, 0.95)), "p95-ms")
		})
	}
}

// percentile returns the nearest-rank percentile of sorted durations.
func percentile(sorted []time.Duration, p float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	i := int(p*float64(len(sorted))+0.5) - 1
	return sorted[min(max(i, 0), len(sorted)-1)]
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
