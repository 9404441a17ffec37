package pgstore_test

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/eventlog/eventlog"
	"github.com/eventlog/eventlog/pgstore"
)

var benchBase = time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)

var (
	benchActions = []string{"LOGGED_IN", "LOGGED_OUT", "VIEWED_PAGE", "CREATED_WIDGET", "UPDATED_WIDGET",
		"DELETED_WIDGET", "PAID_INVOICE", "SENT_MESSAGE", "INVITED_USER", "EXPORTED_REPORT"}
	benchPlans = []string{"free", "pro", "team"}
	benchWords = []string{"alpha", "bravo", "charlie", "delta", "echo", "foxtrot", "golf", "hotel", "india", "juliet"}
)

// benchEvents returns n normalized events from a seeded generator: ten
// actions with skewed frequencies, 10,000 users (a fifth of events
// anonymous), 100,000 objects of five types, timestamps over 90 days
// before benchBase, and an extra object of about 90 bytes.
func benchEvents(tb testing.TB, r *rand.Rand, n int) []eventlog.Event {
	return genEvents(tb, r, n, func() time.Time {
		return benchBase.Add(-time.Duration(r.Int64N(int64(90*24*time.Hour/time.Microsecond))) * time.Microsecond)
	})
}

// liveEvents returns n events like benchEvents but timestamped as a live
// application logs them: now, advancing by about a millisecond per event.
func liveEvents(tb testing.TB, r *rand.Rand, n int, now *time.Time) []eventlog.Event {
	return genEvents(tb, r, n, func() time.Time {
		*now = now.Add(time.Duration(r.IntN(2000)) * time.Microsecond)
		return *now
	})
}

func genEvents(tb testing.TB, r *rand.Rand, n int, ts func() time.Time) []eventlog.Event {
	out := make([]eventlog.Event, n)
	for i := range out {
		a := benchActions[min(r.IntN(len(benchActions)), r.IntN(len(benchActions)))]
		e := eventlog.Event{
			ID:        uuid.Must(uuid.NewV7()).String(),
			Timestamp: ts(),
			Action:    a,
			Object:    &eventlog.Object{Type: "type" + strconv.Itoa(r.IntN(5)), ID: strconv.Itoa(r.IntN(100_000))},
			Extra: json.RawMessage(fmt.Sprintf(`{"plan":%q,"status":%d,"n":%d,"note":"%s %s"}`,
				benchPlans[r.IntN(3)], []int{200, 200, 200, 404, 500}[r.IntN(5)], r.IntN(1_000_000),
				benchWords[r.IntN(len(benchWords))], benchWords[r.IntN(len(benchWords))])),
		}
		if r.IntN(5) != 0 {
			u := strconv.Itoa(r.IntN(10_000))
			e.User = &eventlog.User{ID: "user" + u, Name: "User " + u}
		}
		if err := e.Normalize(benchBase); err != nil {
			tb.Fatal(err)
		}
		out[i] = e
	}
	return out
}

// rawCopyTable is the comparison for BenchmarkInsert: a bare table with
// the columns and indexes of eventlog_events (trigram index included) that
// COPY fills directly, with no staging, deduplication, ordering lock or
// rollups.
const rawCopyTable = `CREATE TABLE raw_events (LIKE eventlog_events INCLUDING ALL)`

// BenchmarkInsert compares Store.Insert of 1000-event batches with a raw
// COPY of the same rows into a table with the same indexes. Each
// iteration does both, alternating which goes first, so load from other
// processes on the machine hits both alike. "live" timestamps events as
// an application logging now does; "backfill90d" scatters them over 90
// days, the worst case for the rollups (about 2,600 rollup rows touched
// per 1000 events):
//
//	EVENTLOG_TEST_POSTGRES=... go test ./pgstore -run '^$' -bench Insert -benchtime 100x
func BenchmarkInsert(b *testing.B) {
	b.Run("live", func(b *testing.B) {
		now := benchBase
		benchInsert(b, func(r *rand.Rand, n int) []eventlog.Event { return liveEvents(b, r, n, &now) })
	})
	b.Run("backfill90d", func(b *testing.B) {
		benchInsert(b, func(r *rand.Rand, n int) []eventlog.Event { return benchEvents(b, r, n) })
	})
}

func benchInsert(b *testing.B, gen func(r *rand.Rand, n int) []eventlog.Event) {
	const batch = 1000
	s := newStore(b)
	ctx := context.Background()
	if _, err := s.Pool().Exec(ctx, rawCopyTable); err != nil {
		b.Fatal(err)
	}
	r := rand.New(rand.NewPCG(1, 2))
	var storeTime, rawTime time.Duration
	i := 0
	for b.Loop() {
		b.StopTimer()
		events := gen(r, batch)
		raw := make([]eventlog.Event, len(events))
		copy(raw, events)
		b.StartTimer()
		for k := range 2 {
			t0 := time.Now()
			if (i+k)%2 == 0 {
				if _, _, err := s.Insert(ctx, events); err != nil {
					b.Fatal(err)
				}
				storeTime += time.Since(t0)
			} else {
				if err := copyRaw(ctx, s.Pool(), raw); err != nil {
					b.Fatal(err)
				}
				rawTime += time.Since(t0)
			}
		}
		i++
	}
	n := float64(b.N * batch)
	b.ReportMetric(n/storeTime.Seconds(), "store-events/s")
	b.ReportMetric(n/rawTime.Seconds(), "rawcopy-events/s")
	b.ReportMetric(100*rawTime.Seconds()/storeTime.Seconds(), "store-%-of-raw")
}

// copyRaw COPYs events (with an object each, as the generators make
// them) into the table rawCopyTable creates.
func copyRaw(ctx context.Context, pool *pgxpool.Pool, events []eventlog.Event) error {
	cols := []string{"id", "ts", "action", "user_id", "user_name", "object_type", "object_id", "extra", "context"}
	_, err := pool.CopyFrom(ctx, pgx.Identifier{"raw_events"}, cols, pgx.CopyFromSlice(len(events), func(i int) ([]any, error) {
		e := events[i]
		var uid, uname, ctxJS *string
		if e.User != nil {
			uid, uname = &e.User.ID, &e.User.Name
		}
		return []any{e.ID, e.Timestamp, e.Action, uid, uname, e.Object.Type, e.Object.ID, string(e.Extra), ctxJS}, nil
	}))
	return err
}

// latencyStore is the store BenchmarkQueryFirstPage loads once.
var latencyStore struct {
	once sync.Once
	s    *pgstore.Store
	err  error
}

// openLatencyStore returns a store holding EVENTLOG_PG_BENCH_EVENTS events
// (default 100,000). With EVENTLOG_PG_BENCH_SCHEMA set, the data is kept
// in that schema and reused by later runs; otherwise it lives in a
// temporary schema.
func openLatencyStore(b *testing.B) *pgstore.Store {
	n := 100_000
	if v := os.Getenv("EVENTLOG_PG_BENCH_EVENTS"); v != "" {
		var err error
		if n, err = strconv.Atoi(v); err != nil {
			b.Fatalf("EVENTLOG_PG_BENCH_EVENTS=%q: %v", v, err)
		}
	}
	latencyStore.once.Do(func() {
		ctx := context.Background()
		url := testURL(b)
		schema := os.Getenv("EVENTLOG_PG_BENCH_SCHEMA")
		if schema == "" {
			_, schema = newSchema(b)
		} else {
			exec(b, url, "CREATE SCHEMA IF NOT EXISTS "+pgx.Identifier{schema}.Sanitize())
		}
		s, err := pgstore.Open(ctx, url, &pgstore.Options{Migrate: true, Schema: schema})
		if err != nil {
			latencyStore.err = err
			return
		}
		latencyStore.s = s
		var have int
		if err := s.Pool().QueryRow(ctx, `SELECT count(*) FROM eventlog_events`).Scan(&have); err != nil {
			latencyStore.err = err
			return
		}
		r := rand.New(rand.NewPCG(3, uint64(have)))
		start := time.Now()
		for have < n {
			events := benchEvents(b, r, min(1000, n-have))
			if _, _, err := s.Insert(ctx, events); err != nil {
				latencyStore.err = err
				return
			}
			have += len(events)
		}
		// As autovacuum would after a bulk load: fresh statistics, and the
		// GIN pending lists merged so queries do not scan them linearly.
		if _, err := s.Pool().Exec(ctx, `VACUUM (ANALYZE) eventlog_events`); err != nil {
			latencyStore.err = err
			return
		}
		b.Logf("store holds %d events (loaded in %v)", have, time.Since(start).Round(time.Second))
	})
	if latencyStore.err != nil {
		b.Fatal(latencyStore.err)
	}
	return latencyStore.s
}

// BenchmarkQueryFirstPage measures the latency of the first page (50
// events) of each kind of query, reporting p50 and p95 in milliseconds:
//
//	EVENTLOG_TEST_POSTGRES=... EVENTLOG_PG_BENCH_EVENTS=1000000 EVENTLOG_PG_BENCH_SCHEMA=eventlog_bench_1m \
//	  go test ./pgstore -run '^$' -bench QueryFirstPage -benchtime 200x -timeout 1h
func BenchmarkQueryFirstPage(b *testing.B) {
	s := openLatencyStore(b)
	ctx := context.Background()
	week := benchBase.Add(-7 * 24 * time.Hour)
	cases := []struct {
		name string
		q    eventlog.Query
	}{
		{"all", eventlog.Query{}},
		{"action_common", eventlog.Query{Actions: []string{"LOGGED_IN"}}},
		{"action_rare", eventlog.Query{Actions: []string{"EXPORTED_REPORT"}}},
		{"actions_two", eventlog.Query{Actions: []string{"PAID_INVOICE", "INVITED_USER"}}},
		{"user", eventlog.Query{UserID: "user4242"}},
		{"object", eventlog.Query{ObjectType: "type3", ObjectID: "31337"}},
		{"object_type", eventlog.Query{ObjectType: "type1"}},
		{"range_week", eventlog.Query{Since: week.Add(-24 * time.Hour), Until: week}},
		{"where_common", eventlog.Query{Where: []eventlog.Where{{Key: "plan", Value: "pro"}}}},
		{"where_selective", eventlog.Query{Where: []eventlog.Where{{Key: "n", Value: float64(123456)}}}},
		{"text_common", eventlog.Query{Text: "bravo"}},
		{"text_rare", eventlog.Query{Text: "user4242"}},
		{"text_absent", eventlog.Query{Text: "zulu"}},
		{"action_user_where", eventlog.Query{Actions: []string{"LOGGED_IN"}, UserID: "user17", Where: []eventlog.Where{{Key: "status", Value: float64(200)}}}},
		{"page_two", eventlog.Query{}},
	}
	for _, c := range cases {
		b.Run(c.name, func(b *testing.B) {
			q := c.q
			if err := q.Normalize(); err != nil {
				b.Fatal(err)
			}
			if c.name == "page_two" {
				first, err := s.Query(ctx, q)
				if err != nil {
					b.Fatal(err)
				}
				q.After = first.Next
			}
			var lat []time.Duration
			for b.Loop() {
				t0 := time.Now()
				if _, err := s.Query(ctx, q); err != nil {
					b.Fatal(err)
				}
				lat = append(lat, time.Since(t0))
			}
			slices.Sort(lat)
			ms := func(p float64) float64 {
				return float64(lat[int(p*float64(len(lat)-1))]) / float64(time.Millisecond)
			}
			b.ReportMetric(ms(0.50), "p50-ms")
			b.ReportMetric(ms(0.95), "p95-ms")
		})
	}
}
