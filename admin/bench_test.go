package admin

import (
	"context"
	"encoding/json"
	"fmt"
	"html"
	"maps"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/eventlog/eventlog"
	"github.com/eventlog/eventlog/dial"
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

// benchTarget is what BenchmarkPages measures: the store, the clock the
// handler uses, and the URL of each page.
type benchTarget struct {
	store eventlog.Store
	size  string // events=N, or db=STORE for an already-loaded database
	now   func() time.Time
	pages []benchPage
}

type benchPage struct{ name, path string }

// benchStore returns the store to measure: the database named by
// EVENTLOG_BENCH_DB (sqlite:PATH or postgres://…), opened without
// migrating and only read, or else a SQLite store freshly loaded with
// EVENTLOG_BENCH_EVENTS events.
func benchStore(b *testing.B) benchTarget {
	b.Helper()
	ctx := context.Background()
	u := os.Getenv("EVENTLOG_BENCH_DB")
	if u == "" {
		n := benchEvents(b)
		s := loadBenchStore(b, n)
		since := time.Now().UTC().AddDate(0, -2, 0).Format(time.DateOnly)
		until := time.Now().UTC().AddDate(0, -1, 0).Format(time.DateOnly)
		return benchTarget{store: s, size: fmt.Sprintf("events=%d", n), now: time.Now, pages: []benchPage{
			{"action", "/events?action=ACTION_03"},
			{"rare_action", "/events?action=ACTION_39"},
			{"user", "/events?user=user42"},
			{"object", "/events?otype=widget&oid=77"},
			{"where", "/events?where=plan%3Dteam"},
			{"custom_range", "/events?range=custom&since=" + since + "&until=" + until},
			{"combined", "/events?action=ACTION_01&where=status%3D500&range=30d"},
			{"search", "/events?q=event+4242"},
		}}
	}
	s, err := dial.Open(ctx, u, dial.Options{})
	if err != nil {
		b.Fatalf("EVENTLOG_BENCH_DB: %v", err)
	}
	b.Cleanup(func() { s.Close() })
	kind, _, _ := strings.Cut(u, ":")
	return dataPages(b, s, kind)
}

// dataPages picks the pages' filters from an already-loaded store: the
// most and the least frequent action, and the user, object and extra
// value of recent events. The clock is set just after the newest event,
// so the date ranges and the dashboard cover the data however old it is.
func dataPages(b *testing.B, s eventlog.Store, kind string) benchTarget {
	b.Helper()
	ctx := context.Background()
	first, err := s.Query(ctx, eventlog.Query{Limit: eventlog.MaxLimit})
	if err != nil {
		b.Fatal(err)
	}
	acts, err := s.Actions(ctx)
	if err != nil {
		b.Fatal(err)
	}
	if len(first.Events) == 0 || len(acts) == 0 {
		b.Fatal("EVENTLOG_BENCH_DB holds no events")
	}
	newest := first.Events[0].Timestamp
	now := newest.Add(time.Minute)
	t := benchTarget{store: s, size: "db=" + kind, now: func() time.Time { return now }}
	add := func(name, path string) { t.pages = append(t.pages, benchPage{name, path}) }
	add("action", "/events?action="+url.QueryEscape(acts[0].Action))
	add("rare_action", "/events?action="+url.QueryEscape(acts[len(acts)-1].Action))
	var user, where, search string
	var obj *eventlog.Object
	for _, e := range first.Events {
		if user == "" && e.User != nil {
			user = e.User.ID
		}
		if obj == nil && e.Object != nil {
			obj = e.Object
		}
		if where == "" {
			var m map[string]any
			json.Unmarshal(e.Extra, &m)
			for _, k := range slices.Sorted(maps.Keys(m)) {
				if v, ok := m[k].(string); ok && len(v) < 20 {
					where = eventlog.Where{Key: k, Value: v}.String()
					break
				}
			}
		}
	}
	// A search hit: the id of a user with fewer events, from the oldest
	// event of the sample.
	for i := len(first.Events) - 1; i >= 0 && search == ""; i-- {
		if u := first.Events[i].User; u != nil && u.ID != user {
			search = u.ID
		}
	}
	if user != "" {
		add("user", "/events?user="+url.QueryEscape(user))
	}
	if obj != nil {
		add("object", "/events?otype="+url.QueryEscape(obj.Type)+"&oid="+url.QueryEscape(obj.ID))
	}
	if where != "" {
		add("where", "/events?where="+url.QueryEscape(where))
	}
	since := now.AddDate(0, -2, 0).Format(time.DateOnly)
	until := now.AddDate(0, -1, 0).Format(time.DateOnly)
	add("custom_range", "/events?range=custom&since="+since+"&until="+until)
	combined := "/events?action=" + url.QueryEscape(acts[min(1, len(acts)-1)].Action) + "&range=30d"
	if where != "" {
		combined += "&where=" + url.QueryEscape(where)
	}
	add("combined", combined)
	if search != "" {
		add("search", "/events?q="+url.QueryEscape(search))
	}
	return t
}

// BenchmarkPages measures the server time of each admin page, with a
// real session, and reports the p50 and p95. The store is a SQLite file
// loaded with EVENTLOG_BENCH_EVENTS events (default 100,000), or the
// database EVENTLOG_BENCH_DB names, which is only read: the admin
// account and its session live in a separate temporary SQLite file.
func BenchmarkPages(b *testing.B) {
	t := benchStore(b)
	ctx := context.Background()
	var acctStore eventlog.SQLStore
	if sq, ok := t.store.(eventlog.SQLStore); ok && os.Getenv("EVENTLOG_BENCH_DB") == "" {
		acctStore = sq
	} else {
		s, err := sqlitestore.Open(ctx, filepath.Join(b.TempDir(), "accounts.db"), nil)
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { s.Close() })
		acctStore = s
	}
	accounts, err := NewAccounts(acctStore)
	if err != nil {
		b.Fatal(err)
	}
	if err := accounts.CreateUser(ctx, "bench", "bench-password"); err != nil {
		b.Fatal(err)
	}
	h, err := newHandler(&Config{Store: t.store, Accounts: accounts, Now: t.now})
	if err != nil {
		b.Fatal(err)
	}
	cookie, err := h.sessions.issue(ctx, "bench")
	if err != nil {
		b.Fatal(err)
	}
	// A cursor from the first page, for "older".
	first, err := t.store.Query(ctx, eventlog.Query{Limit: h.pageSize})
	if err != nil {
		b.Fatal(err)
	}
	get := func(path string) *httptest.ResponseRecorder {
		req := httptest.NewRequest("GET", path, nil)
		req.AddCookie(&http.Cookie{Name: sessionCookie, Value: cookie})
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code != http.StatusOK {
			b.Fatalf("GET %s: status %d: %s", path, rec.Code, rec.Body.String())
		}
		return rec
	}
	// The continuation of a search that finds nothing in its window.
	const miss = "/events?q=nowhere-to-be-found"
	missOlder := miss
	if m := olderRe.FindStringSubmatch(get(miss).Body.String()); m != nil {
		missOlder = html.UnescapeString(m[1])
	}
	pages := []benchPage{
		{"events", "/events"},
		{"events_older", "/events?after=" + first.Next.String() + "&back=first"},
	}
	pages = append(pages, t.pages...)
	pages = append(pages, []benchPage{
		{"today", "/events?range=today"},
		{"7d", "/events?range=7d"},
		{"search_miss", miss},
		{"search_miss_older", missOlder},
		{"event", "/events/" + first.Events[0].ID},
		{"user_timeline", "/user?id=" + url.QueryEscape(userOf(first.Events))},
		{"dashboard", "/dashboard"},
		{"dashboard_json_30d", "/dashboard.json?range=30d"},
		{"dashboard_json_365d", "/dashboard.json?range=365d"},
	}...)
	for _, p := range pages {
		b.Run(fmt.Sprintf("%s/%s", p.name, t.size), func(b *testing.B) {
			b.ReportAllocs()
			var times []time.Duration
			for b.Loop() {
				start := time.Now()
				get(p.path)
				times = append(times, time.Since(start))
			}
			slices.Sort(times)
			b.ReportMetric(float64(times[len(times)/2].Microseconds())/1000, "p50-ms")
			b.ReportMetric(float64(times[len(times)*95/100].Microseconds())/1000, "p95-ms")
		})
	}
}

// olderRe finds a page's "Older" link.
var olderRe = regexp.MustCompile(`<a rel="next" href="([^"]+)"`)

func userOf(events []eventlog.Event) string {
	for _, e := range events {
		if e.User != nil {
			return e.User.ID
		}
	}
	return "user42"
}
