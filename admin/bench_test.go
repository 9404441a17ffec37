package admin

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/eventlog/eventlog"
	"github.com/eventlog/eventlog/sqlitestore"
)

// benchEvents is the size of the benchmark store: EVENTLOG_BENCH_EVENTS,
// default 100000.
func benchEvents(b *testing.B) int {
	n := 100000
	if s := os.Getenv("EVENTLOG_BENCH_EVENTS"); s != "" {
		v, err := strconv.Atoi(s)
		if err != nil || v < 1 {
			b.Fatalf("EVENTLOG_BENCH_EVENTS=%q must be a positive number", s)
		}
		n = v
	}
	return n
}

// loadBenchStore fills a SQLite store with n events over the past year:
// 40 actions with skewed frequencies, 5000 users, 20000 objects.
func loadBenchStore(b *testing.B, n int) *sqlitestore.Store {
	b.Helper()
	ctx := context.Background()
	s, err := sqlitestore.Open(ctx, filepath.Join(b.TempDir(), "bench.db"), &sqlitestore.Options{Synchronous: "NORMAL"})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { s.Close() })
	rng := rand.New(rand.NewPCG(1, 2))
	now := time.Now().UTC()
	batch := make([]eventlog.Event, 0, 1000)
	for i := 0; i < n; i++ {
		a := int(rng.ExpFloat64()*6) % 40
		u := rng.IntN(5000)
		e := eventlog.Event{
			Action:    fmt.Sprintf("ACTION_%02d", a),
			Timestamp: now.Add(-time.Duration(rng.Int64N(int64(365 * 24 * time.Hour)))),
			User:      &eventlog.User{ID: "user" + strconv.Itoa(u), Name: "User " + strconv.Itoa(u)},
			Object:    &eventlog.Object{Type: []string{"widget", "order", "page"}[i%3], ID: strconv.Itoa(rng.IntN(20000))},
			Extra:     []byte(fmt.Sprintf(`{"plan":%q,"status":%d,"note":"event %d"}`, []string{"free", "pro", "team"}[rng.IntN(3)], 200+rng.IntN(5)*100, i)),
		}
		if err := e.Normalize(now); err != nil {
			b.Fatal(err)
		}
		batch = append(batch, e)
		if len(batch) == cap(batch) || i == n-1 {
			if _, _, err := s.Insert(ctx, batch); err != nil {
				b.Fatal(err)
			}
			batch = batch[:0]
		}
	}
	return s
}

// BenchmarkPages measures the server time of each admin page over a
// pre-loaded SQLite store, with a real session, and reports the p95.
func BenchmarkPages(b *testing.B) {
	n := benchEvents(b)
	store := loadBenchStore(b, n)
	accounts, err := NewAccounts(store)
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	if err := accounts.CreateUser(ctx, "bench", "bench-password"); err != nil {
		b.Fatal(err)
	}
	h, err := newHandler(&Config{Store: store, Accounts: accounts})
	if err != nil {
		b.Fatal(err)
	}
	cookie, err := h.sessions.issue(ctx, "bench")
	if err != nil {
		b.Fatal(err)
	}
	// A cursor from the first page, for "older".
	first, err := store.Query(ctx, eventlog.Query{Limit: h.pageSize})
	if err != nil {
		b.Fatal(err)
	}
	since := time.Now().UTC().AddDate(0, -2, 0).Format(time.DateOnly)
	until := time.Now().UTC().AddDate(0, -1, 0).Format(time.DateOnly)
	for _, p := range []struct{ name, path string }{
		{"events", "/events"},
		{"events_older", "/events?after=" + first.Next.String() + "&back=first"},
		{"action", "/events?action=ACTION_03"},
		{"rare_action", "/events?action=ACTION_39"},
		{"user", "/events?user=user42"},
		{"object", "/events?otype=widget&oid=77"},
		{"where", "/events?where=plan%3Dteam"},
		{"today", "/events?range=today"},
		{"7d", "/events?range=7d"},
		{"custom_range", "/events?range=custom&since=" + since + "&until=" + until},
		{"combined", "/events?action=ACTION_01&where=status%3D500&range=30d"},
		{"search", "/events?q=event+4242"},
		{"search_miss", "/events?q=nowhere-to-be-found"},
		{"event", "/events/" + first.Events[0].ID},
		{"user_timeline", "/user?id=user42"},
		{"dashboard", "/dashboard"},
		{"dashboard_json_30d", "/dashboard.json?range=30d"},
		{"dashboard_json_365d", "/dashboard.json?range=365d"},
	} {
		b.Run(fmt.Sprintf("%s/events=%d", p.name, n), func(b *testing.B) {
			b.ReportAllocs()
			var times []time.Duration
			for b.Loop() {
				req := httptest.NewRequest("GET", p.path, nil)
				req.AddCookie(&http.Cookie{Name: sessionCookie, Value: cookie})
				rec := httptest.NewRecorder()
				start := time.Now()
				h.ServeHTTP(rec, req)
				times = append(times, time.Since(start))
				if rec.Code != http.StatusOK {
					b.Fatalf("GET %s: status %d: %s", p.path, rec.Code, rec.Body.String())
				}
			}
			slices.Sort(times)
			b.ReportMetric(float64(times[len(times)*95/100].Microseconds())/1000, "p95-ms")
		})
	}
}
