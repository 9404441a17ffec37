package admin

import (
	"html"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/eventlog/eventlog"
)

// TestSearchWindow pins the bounded free-text search: each request
// searches the newest window holding at most SearchBudget events by the
// rollups, says where it stopped, and its Older link searches on from
// there until the oldest event, so every match is found exactly once.
func TestSearchWindow(t *testing.T) {
	t.Parallel()
	clock := time.Date(2026, 6, 15, 12, 30, 0, 0, time.UTC)
	at := func(s string) time.Time {
		ts, err := time.Parse(time.RFC3339, s)
		if err != nil {
			t.Fatal(err)
		}
		return ts
	}
	mk := func(id int, ts, action, extra string) eventlog.Event {
		e := ev(id, action, 0, "", "", "", extra)
		e.Timestamp = at(ts)
		return e
	}
	events := []eventlog.Event{
		mk(1, "2026-06-15T12:10:00Z", "PAID", `{"note":"needle"}`),
		mk(2, "2026-06-15T12:05:00Z", "PAID", `{"note":"hay"}`),
		mk(3, "2026-06-15T07:00:00Z", "PAID", `{"note":"needle"}`),
		mk(4, "2026-06-15T06:30:00Z", "PAID", `{"note":"hay"}`),
		mk(5, "2026-06-12T10:00:00Z", "PAID", `{"note":"needle"}`),
		mk(6, "2026-05-01T10:00:00Z", "SHIPPED", `{"note":"needle"}`),
		mk(7, "2024-01-01T10:00:00Z", "PAID", `{"note":"needle"}`),
	}
	b := setup(t, setupOpts{events: events, cfg: func(c *Config) {
		c.SearchBudget = 3
		c.Now = func() time.Time { return clock }
	}})

	// Page 1: hours 13:00 back to 07:00 hold events 1-3; 06:00 would
	// make four.
	body := b.page(t, "events?q=needle")
	wantRows(t, "page 1", body, 1, 3)
	wantSearchedFrom(t, "page 1", body, "2026-06-15T07:00:00Z")
	older := olderLink(t, "page 1", body)

	// Page 2: events 4-6 fill the budget; event 7's day is split by
	// hours and the window stops at the hour after it.
	body = b.page(t, older)
	wantRows(t, "page 2", body, 5, 6)
	wantSearchedFrom(t, "page 2", body, "2024-01-01T11:00:00Z")
	if !strings.Contains(body, `rel="prev"`) {
		t.Error("page 2 has no Newer link")
	}
	older = olderLink(t, "page 2", body)

	// Page 3 reaches the oldest event: no bound, no notice, no Older.
	body = b.page(t, older)
	wantRows(t, "page 3", body, 7)
	if strings.Contains(body, `id="searched-from"`) || strings.Contains(body, `rel="next"`) {
		t.Error("page 3 searched everything left but still offers to search older")
	}

	// With an action filter the window counts only that action's events:
	// SHIPPED has one, so one request searches everything.
	body = b.page(t, "events?q=needle&action=SHIPPED")
	wantRows(t, "action=SHIPPED", body, 6)
	if strings.Contains(body, `id="searched-from"`) {
		t.Error("q with action=SHIPPED was bounded though the action has one event")
	}

	// A date range that the window covers is searched whole.
	body = b.page(t, "events?q=needle&range=custom&since=2026-06-12&until=2026-06-12")
	wantRows(t, "one day", body, 5)
	if strings.Contains(body, `id="searched-from"`) {
		t.Error("q over a day holding one event was bounded")
	}

	// A page that fills up inside its window continues from its last row.
	b2 := setup(t, setupOpts{events: events, cfg: func(c *Config) {
		c.SearchBudget = 3
		c.PageSize = 1
		c.Now = func() time.Time { return clock }
	}})
	body = b2.page(t, "events?q=needle")
	wantRows(t, "page size 1", body, 1)
	if strings.Contains(body, `id="searched-from"`) {
		t.Error("a full page says the search stopped early")
	}
	body = b2.page(t, olderLink(t, "page size 1", body))
	wantRows(t, "page size 1, older", body, 3)
}

// TestSearchNotWindowedByUser: a user or object id filter bounds the
// search through its index, so it is not windowed.
func TestSearchNotWindowedByUser(t *testing.T) {
	t.Parallel()
	b := setup(t, setupOpts{events: fixture(), cfg: func(c *Config) { c.SearchBudget = 1 }})
	body := b.page(t, "events?q=widget&user=bob")
	wantRows(t, "q=widget&user=bob", body, 3, 4)
	if strings.Contains(body, `id="searched-from"`) {
		t.Error("a search with a user filter was windowed")
	}
	// Without it, a budget of one event bounds the search to the newest
	// hour holding events (event 6, which has no "widget").
	body = b.page(t, "events?q=widget")
	wantRows(t, "q=widget", body)
	if !strings.Contains(body, `id="searched-from"`) {
		t.Error("a search over more events than the budget was not bounded")
	}
}

func TestSearchBudgetValidated(t *testing.T) {
	t.Parallel()
	_, err := newHandler(&Config{Store: newTestStore(t), Authorize: func(*http.Request) bool { return true }, SearchBudget: -1})
	if err == nil || !strings.Contains(err.Error(), "SearchBudget") {
		t.Errorf("SearchBudget -1: error %v, want one naming SearchBudget", err)
	}
}

func wantRows(t *testing.T, what, body string, ids ...int) {
	t.Helper()
	var want []string
	for _, n := range ids {
		want = append(want, idOf(n))
	}
	if got := rowIDs(body); strings.Join(got, " ") != strings.Join(want, " ") {
		t.Errorf("%s:\n got %v\nwant %v", what, got, want)
	}
}

func wantSearchedFrom(t *testing.T, what, body, from string) {
	t.Helper()
	if !strings.Contains(body, `id="searched-from">Searched back to <time datetime="`+from+`"`) {
		t.Errorf("%s: no notice that the search stopped at %s", what, from)
	}
}

// olderLink returns the page's Older link relative to the admin.
func olderLink(t *testing.T, what, body string) string {
	t.Helper()
	m := olderRe.FindStringSubmatch(body)
	if m == nil {
		t.Fatalf("%s: no Older link", what)
	}
	return strings.TrimPrefix(html.UnescapeString(m[1]), "/admin/")
}
