package mysqlstore_test

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/eventlog/eventlog"
)

// benchEvents is the number of events BenchmarkQuery loads:
// EVENTLOG_BENCH_EVENTS, default 100000.
func benchEvents(b *testing.B) int {
	n := 100_000
	if v := os.Getenv("EVENTLOG_BENCH_EVENTS"); v != "" {
		var err error
		if n, err = strconv.Atoi(v); err != nil || n < 1 {
			b.Fatalf("EVENTLOG_BENCH_EVENTS=%q is not a positive number", v)
		}
	}
	return n
}

var benchEnd = time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)

// benchGen makes deterministic, realistic events: Zipf-distributed
// actions (100 kinds) and users (100,000), extra of 100–400 bytes, an
// object on most events. Like a live log, timestamps advance through the
// year before benchEnd (total events spread evenly, with jitter) and ids
// are UUIDv7 of the timestamp, as Event.Normalize assigns them.
type benchGen struct {
	r              *rand.Rand
	actions, users *rand.Zipf
	step           time.Duration
	n              int
}

func newBenchGen(seed uint64, total int) *benchGen {
	r := rand.New(rand.NewPCG(seed, 0))
	return &benchGen{
		r: r, actions: rand.NewZipf(r, 1.1, 1, 99), users: rand.NewZipf(r, 1.05, 1, 99_999),
		step: max(365*24*time.Hour/time.Duration(total), time.Microsecond),
	}
}

// uuidV7 returns a version 7 UUID for ts with random low bits.
func (g *benchGen) uuidV7(ts time.Time) string {
	var u uuid.UUID
	ms := uint64(ts.UnixMilli())
	for i := 0; i < 6; i++ {
		u[i] = byte(ms >> (40 - 8*i))
	}
	for i := 6; i < 16; i++ {
		u[i] = byte(g.r.Uint32())
	}
	u[6] = u[6]&0x0f | 0x70
	u[8] = u[8]&0x3f | 0x80
	return u.String()
}

var objectTypes = []string{"invoice", "widget", "order", "project", "document"}
var plans = []string{"free", "pro", "team", "enterprise"}

func (g *benchGen) batch(n int) []eventlog.Event {
	out := make([]eventlog.Event, n)
	for i := range out {
		ts := benchEnd.Add(-365 * 24 * time.Hour).Add(time.Duration(g.n)*g.step + time.Duration(g.r.Int64N(int64(g.step))))
		ts = ts.UTC().Truncate(time.Microsecond)
		g.n++
		e := eventlog.Event{
			ID:        g.uuidV7(ts),
			Timestamp: ts,
			Action:    fmt.Sprintf("ACTION_%02d", g.actions.Uint64()),
		}
		if g.r.IntN(10) > 0 {
			u := g.users.Uint64()
			e.User = &eventlog.User{ID: fmt.Sprintf("user-%d", u), Name: fmt.Sprintf("User Number %d", u)}
		}
		if g.r.IntN(4) > 0 {
			t := objectTypes[g.r.IntN(len(objectTypes))]
			e.Object = &eventlog.Object{Type: t, ID: strconv.Itoa(g.r.IntN(50_000))}
		}
		extra := map[string]any{
			"status": []int{200, 201, 302, 404, 500}[g.r.IntN(5)],
			"plan":   plans[g.r.IntN(len(plans))],
			"path":   fmt.Sprintf("/app/%d/items/%d", g.r.IntN(1000), g.r.IntN(100000)),
			"note":   randomWords(g.r, 5+g.r.IntN(35)),
		}
		e.Extra, _ = json.Marshal(extra)
		out[i] = e
	}
	return out
}

var words = []string{"alpha", "bravo", "charlie", "delta", "echo", "foxtrot", "golf", "hotel", "india", "juliet", "kilo", "lima"}

func randomWords(r *rand.Rand, n int) string {
	b := make([]byte, 0, n*7)
	for i := 0; i < n; i++ {
		if i > 0 {
			b = append(b, ' ')
		}
		b = append(b, words[r.IntN(len(words))]...)
	}
	return string(b)
}

// BenchmarkInsertBatch writes batches of 1000 generated events, each in
// one transaction, into a fresh database.
func BenchmarkInsertBatch(b *testing.B) {
	for _, size := range []int{100, 1000} {
		b.Run(strconv.Itoa(size), func(b *testing.B) {
			s := newStore(b)
			g := newBenchGen(1, 1_000_000)
			ctx := context.Background()
			b.ReportAllocs()
			b.ResetTimer()
			for b.Loop() {
				b.StopTimer()
				batch := g.batch(size)
				b.StartTimer()
				if _, _, err := s.Insert(ctx, batch); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.N*size)/b.Elapsed().Seconds(), "events/s")
		})
	}
}

// BenchmarkQuery loads EVENTLOG_BENCH_EVENTS events in 1000-event batches
// (reporting the load rate), then times first pages of each filter and
// the rollup reads, reporting p50 and p95 over b.N runs.
func BenchmarkQuery(b *testing.B) {
	total := benchEvents(b)
	s := newStore(b)
	ctx := context.Background()
	g := newBenchGen(42, total)
	start := time.Now()
	for loaded := 0; loaded < total; {
		n := min(1000, total-loaded)
		if _, _, err := s.Insert(ctx, g.batch(n)); err != nil {
			b.Fatal(err)
		}
		loaded += n
	}
	load := time.Since(start)
	b.Logf("loaded %d events in %v: %.0f events/s in 1000-event batches", total, load.Round(time.Millisecond), float64(total)/load.Seconds())

	first, err := s.Query(ctx, eventlog.Query{})
	if err != nil {
		b.Fatal(err)
	}
	day := 24 * time.Hour
	queries := map[string]eventlog.Query{
		"all":             {},
		"second_page":     {After: first.Next},
		"action_common":   {Actions: []string{"ACTION_00"}},
		"action_rare":     {Actions: []string{"ACTION_90"}},
		"actions_three":   {Actions: []string{"ACTION_01", "ACTION_20", "ACTION_50"}},
		"user_common":     {UserID: "user-0"},
		"user_rare":       {UserID: "user-5000"},
		"object_type":     {ObjectType: "invoice"},
		"object_type_id":  {ObjectType: "invoice", ObjectID: "123"},
		"since_until_day": {Since: benchEnd.Add(-100 * day), Until: benchEnd.Add(-99 * day)},
		"q_common":        {Text: "charlie"},
		"q_rare_30d":      {Text: "/items/99999", Since: benchEnd.Add(-30 * day)},
		"where_string":    {Where: []eventlog.Where{{Key: "plan", Value: "team"}}},
		"where_number":    {Where: []eventlog.Where{{Key: "status", Value: 500.0}}},
		"action_and_user": {Actions: []string{"ACTION_00"}, UserID: "user-1"},
	}
	names := make([]string, 0, len(queries))
	for name := range queries {
		names = append(names, name)
	}
	slices.Sort(names)
	for _, name := range names {
		q := queries[name]
		b.Run("Query/"+name, func(b *testing.B) {
			timed(b, func() error { _, err := s.Query(ctx, q); return err })
		})
	}
	b.Run("Stats", func(b *testing.B) {
		timed(b, func() error { _, err := s.Stats(ctx, benchEnd); return err })
	})
	b.Run("Actions", func(b *testing.B) {
		timed(b, func() error { _, err := s.Actions(ctx); return err })
	})
	year := eventlog.SeriesQuery{Interval: eventlog.Day, Since: benchEnd.Add(-365 * day), Until: benchEnd}
	b.Run("Series/day_year", func(b *testing.B) {
		timed(b, func() error { _, err := s.Series(ctx, year); return err })
	})
	b.Run("ActiveUsers/day_year", func(b *testing.B) {
		timed(b, func() error { _, err := s.ActiveUsers(ctx, year); return err })
	})
	week := eventlog.SeriesQuery{Interval: eventlog.Hour, Since: benchEnd.Add(-7 * day), Until: benchEnd}
	b.Run("ActiveUsers/hour_week", func(b *testing.B) {
		timed(b, func() error { _, err := s.ActiveUsers(ctx, week); return err })
	})
}

// timed runs fn b.N times and reports the p50 and p95 latency.
func timed(b *testing.B, fn func() error) {
	b.ReportAllocs()
	var lat []time.Duration
	for b.Loop() {
		t0 := time.Now()
		if err := fn(); err != nil {
			b.Fatal(err)
		}
		lat = append(lat, time.Since(t0))
	}
	slices.Sort(lat)
	pct := func(p float64) float64 {
		return float64(lat[int(p*float64(len(lat)-1))].Microseconds()) / 1000
	}
	b.ReportMetric(pct(0.50), "p50-ms")
	b.ReportMetric(pct(0.95), "p95-ms")
}
