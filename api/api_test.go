package api_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/eventlog/eventlog"
	"github.com/eventlog/eventlog/api"
)

type errBody struct {
	Error struct {
		Code    string `json:"code"`
		Message string `json:"message"`
		Field   string `json:"field"`
		Index   *int   `json:"index"`
	} `json:"error"`
}

func decode[T any](t testing.TB, body string) T {
	t.Helper()
	var v T
	if err := json.Unmarshal([]byte(body), &v); err != nil {
		t.Fatalf("decoding %q: %v", body, err)
	}
	return v
}

type listBody struct {
	Events     []eventlog.Event `json:"events"`
	NextCursor *string          `json:"next_cursor"`
}

func TestIngestAndRead(t *testing.T) {
	t.Parallel()
	forEachBackend(t, func(t *testing.T, open func(testing.TB) eventlog.Store) {
		b := setup(t, open(t), setupOpts{})

		// Object in, object out, with defaults filled.
		status, body := b.do(t, "POST", "/api/v1/events", b.write,
			`{"action":"SIGNED_UP","user":{"id":"42","name":"alice"},"object":{"type":"plan","id":"pro"},"extra":{"plan": "pro","seats":3}}`)
		if status != http.StatusCreated {
			t.Fatalf("POST one: %d %s", status, body)
		}
		one := decode[eventlog.Event](t, body)
		if one.ID == "" || one.Timestamp.IsZero() || one.Action != "SIGNED_UP" || one.User.Name != "alice" || string(one.Extra) != `{"plan":"pro","seats":3}` {
			t.Fatalf("stored event = %+v", one)
		}

		// Array in, array out, same order, explicit ids and timestamps kept.
		base := time.Date(2026, 11, 1, 10, 0, 0, 0, time.UTC)
		var batch []string
		for i := range 5 {
			batch = append(batch, fmt.Sprintf(`{"id":"00000000-0000-7000-8000-00000000000%d","timestamp":%q,"action":"VIEWED","user":{"id":"u%d","name":""},"extra":{"n":%d}}`,
				i, base.Add(time.Duration(i)*time.Hour).Format(time.RFC3339), i%2, i))
		}
		status, body = b.do(t, "POST", "/api/v1/events", b.admin, "["+strings.Join(batch, ",")+"]")
		if status != http.StatusCreated {
			t.Fatalf("POST batch: %d %s", status, body)
		}
		got := decode[[]eventlog.Event](t, body)
		if len(got) != 5 {
			t.Fatalf("batch returned %d events", len(got))
		}
		for i, e := range got {
			if want := fmt.Sprintf("00000000-0000-7000-8000-00000000000%d", i); e.ID != want {
				t.Errorf("event %d id = %s, want %s", i, e.ID, want)
			}
		}

		// Retrying an id returns the stored event and stores nothing new.
		status, body = b.do(t, "POST", "/api/v1/events", b.write,
			`{"id":"00000000-0000-7000-8000-000000000001","action":"SOMETHING_ELSE"}`)
		if status != http.StatusCreated {
			t.Fatalf("POST retry: %d %s", status, body)
		}
		if e := decode[eventlog.Event](t, body); e.Action != "VIEWED" || !e.Timestamp.Equal(base.Add(time.Hour)) {
			t.Errorf("retry returned %+v, want the stored VIEWED event", e)
		}

		// List: newest first, filters, cursor pagination.
		status, body = b.do(t, "GET", "/api/v1/events?action=VIEWED&limit=2", b.read, "")
		if status != http.StatusOK {
			t.Fatalf("GET list: %d %s", status, body)
		}
		page := decode[listBody](t, body)
		if len(page.Events) != 2 || page.Events[0].ID != got[4].ID || page.Events[1].ID != got[3].ID || page.NextCursor == nil {
			t.Fatalf("first page = %s", body)
		}
		var ids []string
		for cursor := page.NextCursor; cursor != nil; {
			_, body = b.do(t, "GET", "/api/v1/events?action=VIEWED&limit=2&cursor="+url.QueryEscape(*cursor), b.read, "")
			p := decode[listBody](t, body)
			for _, e := range p.Events {
				ids = append(ids, e.ID)
			}
			cursor = p.NextCursor
		}
		if want := []string{got[2].ID, got[1].ID, got[0].ID}; fmt.Sprint(ids) != fmt.Sprint(want) {
			t.Errorf("later pages = %v, want %v", ids, want)
		}
		for _, c := range []struct {
			query string
			want  int
		}{
			{"", 6},
			{"?user=u1", 2},
			{"?action=VIEWED&action=SIGNED_UP", 6},
			{"?object_type=plan&object_id=pro", 1},
			{"?where=n=3", 1},
			{"?where=plan=pro&where=seats=3", 1},
			{"?q=ALICE", 1},
			{"?since=" + url.QueryEscape(base.Add(2*time.Hour).Format(time.RFC3339)) + "&until=" + url.QueryEscape(base.Add(4*time.Hour).Format(time.RFC3339)), 2},
		} {
			status, body := b.do(t, "GET", "/api/v1/events"+c.query, b.read, "")
			if n := len(decode[listBody](t, body).Events); status != http.StatusOK || n != c.want {
				t.Errorf("GET /api/v1/events%s: %d, %d events, want %d: %s", c.query, status, n, c.want, body)
			}
		}

		// One event; unknown and malformed ids are 404.
		status, body = b.do(t, "GET", "/api/v1/events/"+one.ID, b.read, "")
		if status != http.StatusOK || decode[eventlog.Event](t, body).ID != one.ID {
			t.Errorf("GET one: %d %s", status, body)
		}
		for _, id := range []string{"00000000-0000-7000-8000-0000000000ff", "nope"} {
			status, body = b.do(t, "GET", "/api/v1/events/"+id, b.read, "")
			if status != http.StatusNotFound || decode[errBody](t, body).Error.Code != "not_found" {
				t.Errorf("GET unknown %s: %d %s", id, status, body)
			}
		}

		// Actions, most frequent first.
		status, body = b.do(t, "GET", "/api/v1/actions", b.read, "")
		if want := `{"actions":[{"action":"VIEWED","count":5},{"action":"SIGNED_UP","count":1}]}`; status != http.StatusOK || strings.TrimSpace(body) != want {
			t.Errorf("GET actions: %d %s, want %s", status, body, want)
		}

		// Stats: alice's event is recent, the VIEWED users' are old.
		status, body = b.do(t, "GET", "/api/v1/stats", b.read, "")
		if st := decode[eventlog.Stats](t, body); status != http.StatusOK || st.UsedSeven != 1 || st.UsedThirty != 1 {
			t.Errorf("GET stats: %d %s", status, body)
		}

		// Series with empty buckets.
		q := "interval=hour&action=VIEWED&since=" + url.QueryEscape(base.Add(-time.Hour).Format(time.RFC3339)) + "&until=" + url.QueryEscape(base.Add(7*time.Hour).Format(time.RFC3339))
		status, body = b.do(t, "GET", "/api/v1/series?"+q, b.read, "")
		if status != http.StatusOK {
			t.Fatalf("GET series: %d %s", status, body)
		}
		series := decode[struct {
			Interval string `json:"interval"`
			Buckets  []struct {
				Start time.Time `json:"start"`
				Count int64     `json:"count"`
			} `json:"buckets"`
		}](t, body)
		var counts []int64
		for _, bk := range series.Buckets {
			counts = append(counts, bk.Count)
		}
		if series.Interval != "hour" || fmt.Sprint(counts) != "[0 1 1 1 1 1 0 0]" || !series.Buckets[0].Start.Equal(base.Add(-time.Hour)) {
			t.Errorf("series = %s", body)
		}
	})
}

func TestIngestErrors(t *testing.T) {
	t.Parallel()
	forEachBackend(t, func(t *testing.T, open func(testing.TB) eventlog.Store) {
		b := setup(t, open(t), setupOpts{})
		bigExtra := `{"x":"` + strings.Repeat("a", eventlog.MaxExtraSize) + `"}`
		var tooMany strings.Builder
		tooMany.WriteString("[")
		for i := range 10001 {
			if i > 0 {
				tooMany.WriteString(",")
			}
			tooMany.WriteString(`{"action":"A"}`)
		}
		tooMany.WriteString("]")
		for _, c := range []struct {
			name, body, code, field string
			status, index           int // index -1: none
		}{
			{"malformed JSON", `{"action":`, "invalid", "body", 400, -1},
			{"malformed array", `[{"action":"A"},`, "invalid", "body", 400, -1},
			{"not an object", `"hello"`, "invalid", "body", 400, -1},
			{"empty body", ``, "invalid", "body", 400, -1},
			{"wrong type", `{"action":5}`, "invalid", "action", 400, -1},
			{"wrong user type", `{"action":"A","user":"bob"}`, "invalid", "user", 400, -1},
			{"unknown field", `{"action":"A","colour":"red"}`, "invalid", "colour", 400, -1},
			{"empty action", `{"action":""}`, "invalid", "action", 400, -1},
			{"missing action", `{"extra":{}}`, "invalid", "action", 400, -1},
			{"long action", `{"action":"` + strings.Repeat("A", 129) + `"}`, "invalid", "action", 400, -1},
			{"bad id", `{"id":"123","action":"A"}`, "invalid", "id", 400, -1},
			{"bad timestamp", `{"timestamp":"yesterday","action":"A"}`, "invalid", "timestamp", 400, -1},
			{"extra over 64 KiB", `{"action":"A","extra":` + bigExtra + `}`, "invalid", "extra", 400, -1},
			{"bad event in array", `[{"action":"A"},{"action":"B"},{"action":""}]`, "invalid", "action", 400, 2},
			{"too many events", tooMany.String(), "too_large", "body", 413, -1},
			{"body over 10 MiB", `{"action":"A","extra":"` + strings.Repeat("x", 10<<20) + `"}`, "too_large", "body", 413, -1},
		} {
			status, body := b.do(t, "POST", "/api/v1/events", b.write, c.body)
			e := decode[errBody](t, body)
			gotIndex := -1
			if e.Error.Index != nil {
				gotIndex = *e.Error.Index
			}
			if status != c.status || e.Error.Code != c.code || e.Error.Field != c.field || gotIndex != c.index || e.Error.Message == "" {
				t.Errorf("%s: got %d %s, want %d code %s field %s index %d", c.name, status, body, c.status, c.code, c.field, c.index)
			}
		}
		// The rejected array stored nothing, not even its valid events.
		_, body := b.do(t, "GET", "/api/v1/events", b.read, "")
		if n := len(decode[listBody](t, body).Events); n != 0 {
			t.Errorf("%d events stored after rejected requests, want 0", n)
		}
		_, metrics := b.do(t, "GET", "/metrics", "", "")
		if !strings.Contains(metrics, `eventlog_api_events_rejected_total{reason="invalid"} 14`) || !strings.Contains(metrics, `eventlog_api_events_rejected_total{reason="too_large"} 2`) {
			t.Errorf("rejection metrics missing from /metrics:\n%s", grep(metrics, "rejected"))
		}
	})
}

func TestQueryErrors(t *testing.T) {
	t.Parallel()
	forEachBackend(t, func(t *testing.T, open func(testing.TB) eventlog.Store) {
		b := setup(t, open(t), setupOpts{})
		for _, c := range []struct{ path, field string }{
			{"/api/v1/events?limit=0", "limit"},
			{"/api/v1/events?limit=1001", "limit"},
			{"/api/v1/events?limit=ten", "limit"},
			{"/api/v1/events?cursor=garbage", "cursor"},
			{"/api/v1/events?since=yesterday", "since"},
			{"/api/v1/events?until=2026-13-01", "until"},
			{"/api/v1/events?since=2026-02-01T00:00:00Z&until=2026-01-01T00:00:00Z", "until"},
			{"/api/v1/events?where=novalue", "where"},
			{"/api/v1/events?action=", "action"},
			{"/api/v1/events?user=a&user=b", "user"},
			{"/api/v1/events?colour=red", "colour"},
			{"/api/v1/stream?limit=5", "limit"},
			{"/api/v1/series?interval=week", "interval"},
			{"/api/v1/series?since=soon", "since"},
			{"/api/v1/series?interval=hour&since=2000-01-01T00:00:00Z&until=2026-01-01T00:00:00Z", "since"},
			{"/api/v1/actions?x=1", "x"},
		} {
			status, body := b.do(t, "GET", c.path, b.read, "")
			if e := decode[errBody](t, body); status != http.StatusBadRequest || e.Error.Code != "invalid" || e.Error.Field != c.field {
				t.Errorf("GET %s: %d %s, want 400 naming %s", c.path, status, body, c.field)
			}
		}
	})
}

func TestAuthScopes(t *testing.T) {
	t.Parallel()
	forEachBackend(t, func(t *testing.T, open func(testing.TB) eventlog.Store) {
		b := setup(t, open(t), setupOpts{})
		post := `{"action":"A"}`
		for _, c := range []struct {
			name, method, path, token string
			status                    int
		}{
			{"no token ingest", "POST", "/api/v1/events", "", 401},
			{"no token query", "GET", "/api/v1/events", "", 401},
			{"unknown token", "GET", "/api/v1/actions", "evl_0000", 401},
			{"write may ingest", "POST", "/api/v1/events", b.write, 201},
			{"write may not query", "GET", "/api/v1/events", b.write, 403},
			{"write may not read one", "GET", "/api/v1/events/00000000-0000-7000-8000-000000000000", b.write, 403},
			{"write may not stream", "GET", "/api/v1/stream", b.write, 403},
			{"write may not count", "GET", "/api/v1/stats", b.write, 403},
			{"read may query", "GET", "/api/v1/events", b.read, 200},
			{"read may count", "GET", "/api/v1/actions", b.read, 200},
			{"read may not ingest", "POST", "/api/v1/events", b.read, 403},
			{"admin may ingest", "POST", "/api/v1/events", b.admin, 201},
			{"admin may query", "GET", "/api/v1/series", b.admin, 200},
			{"health needs no token", "GET", "/healthz", "", 200},
			{"readiness needs no token", "GET", "/readyz", "", 200},
		} {
			body := ""
			if c.method == "POST" {
				body = post
			}
			status, resp := b.do(t, c.method, c.path, c.token, body)
			if status != c.status {
				t.Errorf("%s: %d %s, want %d", c.name, status, resp, c.status)
				continue
			}
			want := map[int]string{401: "unauthorized", 403: "forbidden"}[status]
			if want != "" && decode[errBody](t, resp).Error.Code != want {
				t.Errorf("%s: body %s, want code %s", c.name, resp, want)
			}
		}
		// A revoked token is refused at once by this server.
		if err := b.tokens.Revoke(t.Context(), "test-read"); err != nil {
			t.Fatal(err)
		}
		if status, body := b.do(t, "GET", "/api/v1/events", b.read, ""); status != 401 {
			t.Errorf("revoked token: %d %s, want 401", status, body)
		}
	})
}

func TestNoTokensLoopbackOnly(t *testing.T) {
	t.Parallel()
	forEachBackend(t, func(t *testing.T, open func(testing.TB) eventlog.Store) { testNoTokens(t, open) })
}

func testNoTokens(t *testing.T, open func(testing.TB) eventlog.Store) {
	b := setup(t, open(t), setupOpts{noTokens: true})
	if status, body := b.do(t, "POST", "/api/v1/events", "", `{"action":"A"}`); status != 201 {
		t.Fatalf("loopback POST with no tokens: %d %s, want 201", status, body)
	}
	if status, _ := b.do(t, "GET", "/api/v1/events", "", ""); status != 200 {
		t.Fatalf("loopback GET with no tokens: %d, want 200", status)
	}
	// A presented token must still be a real one.
	if status, _ := b.do(t, "GET", "/api/v1/events", "evl_bogus", ""); status != 401 {
		t.Fatalf("bogus token with no tokens: %d, want 401", status)
	}
}

func TestRoutes(t *testing.T) {
	t.Parallel()
	forEachBackend(t, func(t *testing.T, open func(testing.TB) eventlog.Store) { testRoutes(t, open) })
}

func testRoutes(t *testing.T, open func(testing.TB) eventlog.Store) {
	b := setup(t, open(t), setupOpts{})
	for _, c := range []struct {
		method, path string
		status       int
		code         string
	}{
		{"GET", "/api/v1/nothing", 404, "not_found"},
		{"DELETE", "/api/v1/events", 405, "method_not_allowed"},
		{"PUT", "/api/v1/actions", 405, "method_not_allowed"},
	} {
		status, body := b.do(t, c.method, c.path, b.admin, "")
		if status != c.status || decode[errBody](t, body).Error.Code != c.code {
			t.Errorf("%s %s: %d %s, want %d %s", c.method, c.path, status, body, c.status, c.code)
		}
	}
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := client.Get(b.url + "/")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusFound || resp.Header.Get("Location") != "/admin/" {
		t.Errorf("GET /: %d to %q, want 302 to /admin/", resp.StatusCode, resp.Header.Get("Location"))
	}
	if status, body := b.do(t, "GET", "/healthz", "", ""); status != 200 || !strings.Contains(body, `"ok"`) {
		t.Errorf("/healthz: %d %s", status, body)
	}
	b.do(t, "POST", "/api/v1/events", b.write, `[{"action":"A"},{"action":"B"}]`)
	status, metrics := b.do(t, "GET", "/metrics", "", "")
	for _, want := range []string{
		"eventlog_api_events_accepted_total 2",
		`eventlog_api_request_duration_seconds_count{code="201",route="POST /api/v1/events"} 1`,
		"eventlog_api_ingest_batch_size_count 1",
		"eventlog_api_store_errors_total 0",
		"eventlog_api_open_streams 0",
		"eventlog_logger_events_written_total 2",
		"eventlog_logger_batches_total 1",
		"eventlog_logger_batch_size_count 1",
		`eventlog_logger_batch_size_bucket{le="2"} 1`,
		"eventlog_logger_write_duration_seconds_count 1",
		"eventlog_logger_events_queued 0",
	} {
		if status != 200 || !strings.Contains(metrics, want) {
			t.Errorf("/metrics lacks %q", want)
		}
	}
}

func grep(text, word string) string {
	var out []string
	for _, l := range strings.Split(text, "\n") {
		if strings.Contains(l, word) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}

func TestNewRefusesAsyncLogger(t *testing.T) {
	t.Parallel()
	store := openSQLite(t)
	logger, err := eventlog.New(store, &eventlog.Config{Mode: eventlog.Async, ErrorLog: quietLog()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { logger.Close(); store.Close() })
	if _, err := api.New(&api.Config{Logger: logger}); err == nil || !strings.Contains(err.Error(), "Async") {
		t.Errorf("api.New with an Async Logger = %v, want an error naming Async", err)
	}
	if _, err := api.New(nil); err == nil {
		t.Error("api.New(nil) succeeded")
	}
}
