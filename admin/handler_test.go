package admin

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"html"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"testing/fstest"
	"time"

	"github.com/eventlog/eventlog"
)

// testStore is the store the handler tests run on.
type testStore interface {
	eventlog.Store
	eventlog.SQLStore
}

// bundle is what setup returns: a running admin with a logged-in client.
type bundle struct {
	store    testStore
	logger   *eventlog.Logger
	accounts *Accounts
	handler  *Handler
	server   *httptest.Server
	client   *http.Client // logged in as alice
	base     string       // server URL + "/admin/"
}

type setupOpts struct {
	cfg    func(*Config)
	events []eventlog.Event
}

const alicePassword = "alice-password"

func setup(t *testing.T, o setupOpts) *bundle {
	t.Helper()
	store := newTestStore(t)
	logger, err := eventlog.New(store, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { logger.Close() })
	if len(o.events) > 0 {
		if _, err := logger.LogBatch(context.Background(), o.events); err != nil {
			t.Fatalf("seeding events: %v", err)
		}
	}
	accounts, err := NewAccounts(store)
	if err != nil {
		t.Fatal(err)
	}
	if err := accounts.CreateUser(context.Background(), "alice", alicePassword); err != nil {
		t.Fatal(err)
	}
	cfg := &Config{Store: store, Logger: logger, Accounts: accounts}
	if o.cfg != nil {
		o.cfg(cfg)
	}
	h, err := newHandler(cfg)
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.Handle(h.base, h)
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	b := &bundle{store: store, logger: logger, accounts: accounts, handler: h, server: srv, base: srv.URL + h.base}
	if cfg.Authorize == nil {
		b.client = b.login(t, "alice", alicePassword)
	} else {
		b.client = srv.Client()
	}
	return b
}

// newClient returns a client with its own cookies that does not follow
// redirects, so tests see them.
func (b *bundle) newClient() *http.Client {
	jar, _ := cookiejar.New(nil)
	return &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}

var csrfRe = regexp.MustCompile(`name="csrf" value="([^"]+)"`)

// login logs a new client in through the login form.
func (b *bundle) login(t *testing.T, name, password string) *http.Client {
	t.Helper()
	c := b.newClient()
	res := b.postLogin(t, c, name, password)
	if res.StatusCode != http.StatusSeeOther {
		t.Fatalf("login as %s: status %d, want 303", name, res.StatusCode)
	}
	return c
}

func (b *bundle) postLogin(t *testing.T, c *http.Client, name, password string) *http.Response {
	t.Helper()
	_, body := get(t, c, b.base+"login")
	m := csrfRe.FindStringSubmatch(body)
	if m == nil {
		t.Fatal("the login form has no CSRF token")
	}
	res, err := c.PostForm(b.base+"login", url.Values{"name": {name}, "password": {password}, "csrf": {html.UnescapeString(m[1])}})
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, res.Body)
	res.Body.Close()
	return res
}

func get(t *testing.T, c *http.Client, u string) (*http.Response, string) {
	t.Helper()
	res, err := c.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	body, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	return res, string(body)
}

// page GETs path under the admin as the logged-in client and wants 200.
func (b *bundle) page(t *testing.T, path string) string {
	t.Helper()
	res, body := get(t, b.client, b.base+path)
	if res.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: status %d, want 200\n%s", path, res.StatusCode, body)
	}
	return body
}

var now = time.Now().UTC()

// ev builds an event at now minus ago.
func ev(id int, action string, ago time.Duration, user, otype, oid, extra string) eventlog.Event {
	e := eventlog.Event{ID: fmt.Sprintf("00000000-0000-7000-8000-%012d", id), Action: action, Timestamp: now.Add(-ago), Extra: json.RawMessage(extra)}
	if user != "" {
		e.User = &eventlog.User{ID: user, Name: strings.ToUpper(user[:1]) + user[1:]}
	}
	if otype != "" {
		e.Object = &eventlog.Object{Type: otype, ID: oid}
	}
	return e
}

func idOf(n int) string { return fmt.Sprintf("00000000-0000-7000-8000-%012d", n) }

// fixture is a small, varied set of events for the filter tests.
func fixture() []eventlog.Event {
	return []eventlog.Event{
		ev(1, "SIGNED_UP", 1*time.Hour, "alice", "", "", `{"plan":"pro"}`),
		ev(2, "CREATED_WIDGET", 2*time.Hour, "alice", "widget", "7", `{"name":"Foo","size":3}`),
		ev(3, "CREATED_WIDGET", 3*24*time.Hour, "bob", "widget", "8", `{"name":"Bar","size":"3"}`),
		ev(4, "DELETED_WIDGET", 20*24*time.Hour, "bob", "widget", "7", `{}`),
		ev(5, "LOGGED_IN", 400*24*time.Hour, "carol", "", "", `{"via":"sso"}`),
		ev(6, "PAID", 10*time.Minute, "", "order", "42", `{"amount":12.5,"note":"needle in a haystack"}`),
	}
}

func TestNoPageWithoutLogin(t *testing.T) {
	t.Parallel()
	b := setup(t, setupOpts{events: fixture()})
	anon := b.newClient()
	for _, p := range []string{"", "events", "events?action=PAID", "events/" + idOf(1), "user?id=alice", "object?type=widget&id=7", "dashboard", "live"} {
		res, _ := get(t, anon, b.base+p)
		if res.StatusCode != http.StatusSeeOther || !strings.HasPrefix(res.Header.Get("Location"), "/admin/login?next=") {
			t.Errorf("GET %s without login: %d to %q, want 303 to the login page", p, res.StatusCode, res.Header.Get("Location"))
		}
	}
	// After logging in, the user is back where they were going.
	res, _ := get(t, anon, b.base+"events?action=PAID")
	if loc := res.Header.Get("Location"); loc != "/admin/login?next="+url.QueryEscape("/admin/events?action=PAID") {
		t.Errorf("redirect to %q does not carry the page as next", loc)
	}
	c := b.newClient()
	_, body := get(t, c, b.base+"login?next="+url.QueryEscape("/admin/events?action=PAID"))
	form := url.Values{"name": {"alice"}, "password": {alicePassword}, "next": {"/admin/events?action=PAID"}, "csrf": {html.UnescapeString(csrfRe.FindStringSubmatch(body)[1])}}
	res, err := c.PostForm(b.base+"login", form)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if loc := res.Header.Get("Location"); loc != "/admin/events?action=PAID" {
		t.Errorf("after login: redirected to %q, want the page asked for", loc)
	}
	// A next outside the admin is ignored (no open redirect).
	form.Set("next", "//evil.example/")
	_, body = get(t, c, b.base+"login")
	form.Set("csrf", html.UnescapeString(csrfRe.FindStringSubmatch(body)[1]))
	if res, err = c.PostForm(b.base+"login", form); err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if loc := res.Header.Get("Location"); loc != "/admin/" {
		t.Errorf("next=//evil.example/: redirected to %q, want /admin/", loc)
	}
	for _, p := range []string{"dashboard.json", "export.csv", "export.jsonl", "live/stream"} {
		res, body := get(t, anon, b.base+p)
		if res.StatusCode != http.StatusUnauthorized || strings.Contains(body, "SIGNED_UP") {
			t.Errorf("GET %s without login: %d, want 401 and no data", p, res.StatusCode)
		}
	}
	// A forged or tampered session cookie is no login either.
	u, _ := url.Parse(b.base)
	anon.Jar.SetCookies(u, []*http.Cookie{{Name: sessionCookie, Value: "YWxpY2U.99999999999.nonce.c2ln"}})
	if res, _ := get(t, anon, b.base+"events"); res.StatusCode != http.StatusSeeOther {
		t.Errorf("forged session: status %d, want 303 to login", res.StatusCode)
	}
	// Assets are public: the login page needs its stylesheet.
	if res, _ := get(t, anon, b.base+"assets/admin.css"); res.StatusCode != http.StatusOK {
		t.Errorf("assets/admin.css: status %d", res.StatusCode)
	}
}

func TestLoginLogout(t *testing.T) {
	t.Parallel()
	b := setup(t, setupOpts{})
	c := b.newClient()
	if res := b.postLogin(t, c, "alice", "wrong-password"); res.StatusCode != http.StatusUnauthorized {
		t.Errorf("wrong password: status %d, want 401", res.StatusCode)
	}
	if res := b.postLogin(t, c, "nobody", alicePassword); res.StatusCode != http.StatusUnauthorized {
		t.Errorf("unknown user: status %d, want 401", res.StatusCode)
	}
	res := b.postLogin(t, c, "alice", alicePassword)
	if res.StatusCode != http.StatusSeeOther {
		t.Fatalf("login: status %d", res.StatusCode)
	}
	var cookie *http.Cookie
	for _, ck := range res.Cookies() {
		if ck.Name == sessionCookie {
			cookie = ck
		}
	}
	if cookie == nil || !cookie.HttpOnly || cookie.SameSite != http.SameSiteLaxMode || cookie.Path != "/admin/" {
		t.Fatalf("session cookie %+v: want HttpOnly, SameSite=Lax, Path /admin/", cookie)
	}
	body := b.pageWith(t, c, "events")
	if !strings.Contains(body, "Log out") {
		t.Fatal("logged-in page has no logout button")
	}
	// Logout is a POST that needs the CSRF token.
	res, err := c.PostForm(b.base+"logout", url.Values{})
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusForbidden {
		t.Errorf("logout without CSRF token: status %d, want 403", res.StatusCode)
	}
	res, err = c.PostForm(b.base+"logout", url.Values{"csrf": {"forged"}})
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusForbidden {
		t.Errorf("logout with a wrong CSRF token: status %d, want 403", res.StatusCode)
	}
	token := html.UnescapeString(csrfRe.FindStringSubmatch(body)[1])
	res, err = c.PostForm(b.base+"logout", url.Values{"csrf": {token}})
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusSeeOther {
		t.Errorf("logout: status %d, want 303", res.StatusCode)
	}
	if res, _ := get(t, c, b.base+"events"); res.StatusCode != http.StatusSeeOther {
		t.Errorf("after logout: status %d, want 303 to login", res.StatusCode)
	}
}

func (b *bundle) pageWith(t *testing.T, c *http.Client, path string) string {
	t.Helper()
	res, body := get(t, c, b.base+path)
	if res.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: status %d", path, res.StatusCode)
	}
	return body
}

func TestLoginNeedsCSRFToken(t *testing.T) {
	t.Parallel()
	b := setup(t, setupOpts{})
	c := b.newClient()
	get(t, c, b.base+"login") // has the nonce cookie, but sends no token
	res, err := c.PostForm(b.base+"login", url.Values{"name": {"alice"}, "password": {alicePassword}})
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusForbidden {
		t.Errorf("login without CSRF token: status %d, want 403", res.StatusCode)
	}
	// A cross-site form post is refused outright.
	req, _ := http.NewRequest("POST", b.base+"login", strings.NewReader("name=alice"))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Sec-Fetch-Site", "cross-site")
	res, err = c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusForbidden {
		t.Errorf("cross-site POST: status %d, want 403", res.StatusCode)
	}
}

func TestSessionEndsWithPasswordChange(t *testing.T) {
	t.Parallel()
	b := setup(t, setupOpts{})
	b.page(t, "events")
	if err := b.accounts.SetPassword(context.Background(), "alice", "another-password"); err != nil {
		t.Fatal(err)
	}
	if res, _ := get(t, b.client, b.base+"events"); res.StatusCode != http.StatusSeeOther {
		t.Errorf("session after password change: status %d, want 303 to login", res.StatusCode)
	}
}

func TestLoginThrottling(t *testing.T) {
	t.Parallel()
	clock := now
	b := setup(t, setupOpts{cfg: func(c *Config) {
		c.LoginFailures = 3
		c.LoginWindow = time.Minute
		c.Now = func() time.Time { return clock }
	}})
	// Drive the handler directly to choose the client address.
	try := func(ip, name, password string) int {
		req := httptest.NewRequest("GET", "/admin/login", nil)
		req.RemoteAddr = ip + ":1234"
		rec := httptest.NewRecorder()
		b.handler.ServeHTTP(rec, req)
		m := csrfRe.FindStringSubmatch(rec.Body.String())
		form := url.Values{"name": {name}, "password": {password}, "csrf": {html.UnescapeString(m[1])}}
		req = httptest.NewRequest("POST", "/admin/login", strings.NewReader(form.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.RemoteAddr = ip + ":1234"
		for _, c := range rec.Result().Cookies() {
			req.AddCookie(c)
		}
		rec = httptest.NewRecorder()
		b.handler.ServeHTTP(rec, req)
		return rec.Code
	}
	for i := 0; i < 3; i++ {
		if code := try("192.0.2.1", "alice", "guess"); code != http.StatusUnauthorized {
			t.Fatalf("failure %d: status %d, want 401", i+1, code)
		}
	}
	if code := try("192.0.2.1", "alice", alicePassword); code != http.StatusTooManyRequests {
		t.Errorf("right password after 3 failures: status %d, want 429", code)
	}
	// Per user: another address guessing alice's password is refused too.
	if code := try("198.51.100.9", "alice", alicePassword); code != http.StatusTooManyRequests {
		t.Errorf("alice from another address: status %d, want 429", code)
	}
	// Per address: the same address may not turn to another user.
	if err := b.accounts.CreateUser(context.Background(), "bob", "bob-password"); err != nil {
		t.Fatal(err)
	}
	if code := try("192.0.2.1", "bob", "bob-password"); code != http.StatusTooManyRequests {
		t.Errorf("bob from the throttled address: status %d, want 429", code)
	}
	if code := try("203.0.113.5", "bob", "bob-password"); code != http.StatusSeeOther {
		t.Errorf("bob from a fresh address: status %d, want 303", code)
	}
	clock = clock.Add(61 * time.Second)
	if code := try("192.0.2.1", "alice", alicePassword); code != http.StatusSeeOther {
		t.Errorf("after the window: status %d, want 303", code)
	}
}

// rowIDs returns the event ids a page links to, in order.
var rowRe = regexp.MustCompile(`<td class="ts"><a href="/admin/events/([0-9a-f-]{36})"`)

func rowIDs(body string) []string {
	var out []string
	for _, m := range rowRe.FindAllStringSubmatch(body, -1) {
		out = append(out, m[1])
	}
	return out
}

func TestEventFilters(t *testing.T) {
	t.Parallel()
	b := setup(t, setupOpts{events: fixture()})
	yearStart := time.Date(now.Year(), 1, 1, 0, 0, 0, 0, time.UTC)
	thisYear := []int{6, 1, 2, 3, 4}
	if now.Add(-20 * 24 * time.Hour).Before(yearStart) {
		thisYear = []int{6, 1, 2, 3}
	}
	today := []int{}
	for _, e := range []struct {
		n   int
		ago time.Duration
	}{{6, 10 * time.Minute}, {1, time.Hour}, {2, 2 * time.Hour}} {
		if !now.Add(-e.ago).Before(now.Truncate(24 * time.Hour)) {
			today = append(today, e.n)
		}
	}
	custom := now.Add(-3 * 24 * time.Hour).Format(time.DateOnly)
	for _, tc := range []struct {
		query string
		want  []int
		chip  string
	}{
		{"", []int{6, 1, 2, 3, 4, 5}, ""},
		{"action=CREATED_WIDGET", []int{2, 3}, "CREATED_WIDGET"},
		{"action=CREATED_WIDGET&action=PAID", []int{6, 2, 3}, "PAID"},
		{"user=bob", []int{3, 4}, "bob"},
		{"otype=widget", []int{2, 3, 4}, "widget"},
		{"otype=widget&oid=7", []int{2, 4}, "7"},
		{"where=name%3DFoo", []int{2}, "name=Foo"},
		{"where=size%3D3", []int{2}, "size=3"},
		{"where=size%3D%223%22", []int{3}, "size=&#34;3&#34;"},
		{"q=haystack", []int{6}, "haystack"},
		{"q=BAR", []int{3}, "BAR"},
		{"range=today", today, "Today"},
		{"range=7d", []int{6, 1, 2, 3}, "Last 7 days"},
		{"range=30d", []int{6, 1, 2, 3, 4}, "Last 30 days"},
		{"range=year", thisYear, "This year"},
		{"range=custom&since=" + custom + "&until=" + custom, []int{3}, custom},
		{"user=alice&action=CREATED_WIDGET&range=7d", []int{2}, "alice"},
		{"range=7d&since=" + custom + "&until=" + custom, []int{3}, custom}, // typed dates replace a quick range
	} {
		body := b.page(t, "events?"+tc.query)
		var want []string
		for _, n := range tc.want {
			want = append(want, idOf(n))
		}
		if got := rowIDs(body); strings.Join(got, " ") != strings.Join(want, " ") {
			t.Errorf("events?%s:\n got %v\nwant %v", tc.query, got, want)
		}
		if tc.chip != "" && !strings.Contains(body, `<ul class="chips"`) {
			t.Errorf("events?%s: no filter chips", tc.query)
		} else if tc.chip != "" && !strings.Contains(body[strings.Index(body, `<ul class="chips"`):], tc.chip) {
			t.Errorf("events?%s: chips do not show %q", tc.query, tc.chip)
		}
	}
	// The sidebar lists actions with their counts, and a chip's link
	// removes just its condition.
	body := b.page(t, "events?action=CREATED_WIDGET&user=alice")
	if !strings.Contains(body, `<span>CREATED_WIDGET</span> <span class="count">2</span>`) {
		t.Error("sidebar does not show CREATED_WIDGET with count 2")
	}
	if !strings.Contains(body, `href="/admin/events?user=alice" aria-label="Remove filter action CREATED_WIDGET"`) {
		t.Error("the action chip's remove link is not events?user=alice")
	}
	// A bad filter names the parameter and shows no rows.
	res, body := get(t, b.client, b.base+"events?where=novalue")
	if res.StatusCode != http.StatusBadRequest || !strings.Contains(body, "invalid where") {
		t.Errorf("bad where: status %d, want 400 naming where", res.StatusCode)
	}
	res, body = get(t, b.client, b.base+"events?range=custom&since=yesterday")
	if res.StatusCode != http.StatusBadRequest || !strings.Contains(body, "invalid since") {
		t.Errorf("bad since: status %d, want 400 naming since", res.StatusCode)
	}
}

func TestPagination(t *testing.T) {
	t.Parallel()
	var events []eventlog.Event
	for i := 1; i <= 23; i++ {
		events = append(events, ev(i, "TICK", time.Duration(i)*time.Minute, "alice", "", "", `{}`))
	}
	// Two events at the same instant: the id breaks the tie.
	events = append(events, ev(24, "TICK", 30*time.Minute, "alice", "", "", `{}`), ev(25, "TICK", 30*time.Minute, "alice", "", "", `{}`))
	b := setup(t, setupOpts{events: events, cfg: func(c *Config) { c.PageSize = 10 }})
	var all []string
	var pages []string
	next := "events?action=TICK"
	pagerOlder := regexp.MustCompile(`<a rel="next" href="([^"]+)"`)
	pagerNewer := regexp.MustCompile(`<a rel="prev" href="([^"]+)"`)
	for next != "" {
		body := b.page(t, next)
		ids := rowIDs(body)
		pages = append(pages, strings.Join(ids, " "))
		all = append(all, ids...)
		next = ""
		if m := pagerOlder.FindStringSubmatch(body); m != nil {
			next = strings.TrimPrefix(html.UnescapeString(m[1]), "/admin/")
			if !strings.Contains(next, "action=TICK") {
				t.Fatalf("older link %q loses the filter", next)
			}
		}
		if len(pages) > 5 {
			t.Fatal("pagination does not end")
		}
	}
	if len(all) != 25 || len(pages) != 3 {
		t.Fatalf("walked %d events in %d pages, want 25 in 3", len(all), len(pages))
	}
	seen := map[string]bool{}
	for _, id := range all {
		if seen[id] {
			t.Fatalf("event %s shown twice", id)
		}
		seen[id] = true
	}
	// Newer walks back through the same pages.
	body := b.page(t, strings.TrimPrefix(html.UnescapeString(pagerOlder.FindStringSubmatch(b.page(t, "events?action=TICK"))[1]), "/admin/"))
	body = b.page(t, strings.TrimPrefix(html.UnescapeString(pagerOlder.FindStringSubmatch(body)[1]), "/admin/"))
	for i := 2; i >= 0; i-- {
		if got := strings.Join(rowIDs(body), " "); got != pages[i] {
			t.Fatalf("newer walk, page %d:\n got %s\nwant %s", i+1, got, pages[i])
		}
		m := pagerNewer.FindStringSubmatch(body)
		if i == 0 {
			if m != nil {
				t.Error("the first page has a newer link")
			}
			break
		}
		body = b.page(t, strings.TrimPrefix(html.UnescapeString(m[1]), "/admin/"))
	}
	if strings.Contains(b.page(t, "events?action=TICK"), "OFFSET") {
		t.Error("page mentions OFFSET")
	}
}

// hostile is an event whose every field tries to inject markup.
func hostile() eventlog.Event {
	e := ev(99, `<script>alert("a")</script>`, time.Minute, `"><img src=x onerror=alert(1)>`, `<b>type`, `'id'&"x"`,
		`{"<script>":"</script><script>alert(2)</script>","q":"\"'`+"`"+`","u":"日本語 ✓ 🎉 \u202e"}`)
	e.User.Name = `<svg onload=alert(3)>`
	return e
}

func TestHostileEventsAreEscaped(t *testing.T) {
	t.Parallel()
	e := hostile()
	b := setup(t, setupOpts{events: []eventlog.Event{e}})
	pages := []string{
		"events",
		"events?q=" + url.QueryEscape("<script>"),
		"events?action=" + url.QueryEscape(e.Action),
		"events/" + e.ID,
		"user?id=" + url.QueryEscape(e.User.ID),
		"object?type=" + url.QueryEscape(e.Object.Type) + "&id=" + url.QueryEscape(e.Object.ID),
		"dashboard",
		"live?q=" + url.QueryEscape(`<script>`),
	}
	for _, p := range pages {
		body := b.page(t, p)
		for _, bad := range []string{"<script>alert", "<img src=x", "<svg onload", "<b>type", "</script><script>"} {
			if strings.Contains(body, bad) {
				t.Errorf("%s: contains unescaped %q", p, bad)
			}
		}
		if strings.Count(body, "<script") != 3 { // htmx, uPlot and admin.js, nothing else
			t.Errorf("%s: %d script tags, want the 3 vendored ones", p, strings.Count(body, "<script"))
		}
	}
	detail := b.page(t, "events/"+e.ID)
	for _, want := range []string{"&lt;script&gt;alert(&#34;a&#34;)&lt;/script&gt;", "&lt;svg onload=alert(3)&gt;", "日本語 ✓ 🎉"} {
		if !strings.Contains(detail, want) {
			t.Errorf("detail page lacks the escaped %q", want)
		}
	}
	// Export and the live tail carry it as data, JSON-escaped.
	jsonl := b.page(t, "export.jsonl")
	if !strings.Contains(jsonl, `\u003cscript\u003e`) {
		t.Errorf("JSONL export does not escape <: %s", jsonl)
	}
}

func TestEventDetailAndTemplates(t *testing.T) {
	t.Parallel()
	fsys := fstest.MapFS{
		"eventlog/created_widget.html": {Data: []byte(`<b>{{.User.Name}}</b> created widget {{.Data.name}}`)},
	}
	e := ev(1, "CREATED_WIDGET", time.Minute, "alice", "widget", "7", `{"name":"<Foo>","size":3}`)
	e.Context = &eventlog.RequestContext{IP: "203.0.113.7", Method: "POST", Path: "/widgets"}
	other := ev(2, "DELETED_WIDGET", 2*time.Minute, "bob", "widget", "7", `{}`)
	b := setup(t, setupOpts{events: []eventlog.Event{e, other}, cfg: func(c *Config) { c.Templates = fsys }})
	body := b.page(t, "events/"+e.ID)
	for _, want := range []string{
		"<b>Alice</b> created widget &lt;Foo&gt;",                             // the host template, escaped by html/template
		"{\n  &#34;name&#34;: &#34;&lt;Foo&gt;&#34;,\n  &#34;size&#34;: 3\n}", // extra pretty-printed
		e.ID, "203.0.113.7", "/widgets",
		`href="/admin/user?id=alice"`, `href="/admin/object?type=widget&amp;id=7"`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("detail page lacks %q", want)
		}
	}
	// Without a template: a default sentence.
	body = b.page(t, "events/"+other.ID)
	if !strings.Contains(body, "Bob deleted widget <q>7</q>") {
		t.Error("detail page lacks the default sentence")
	}
	res, _ := get(t, b.client, b.base+"events/"+idOf(404))
	if res.StatusCode != http.StatusNotFound {
		t.Errorf("unknown event: status %d, want 404", res.StatusCode)
	}
}

func TestTimelines(t *testing.T) {
	t.Parallel()
	b := setup(t, setupOpts{events: fixture()})
	body := b.page(t, "user?id=bob")
	if got := rowIDsTimeline(body); strings.Join(got, " ") != idOf(3)+" "+idOf(4) {
		t.Errorf("bob's timeline: %v", got)
	}
	if !strings.Contains(body, "Bob created widget <q>8</q>") {
		t.Error("user timeline lacks its sentences")
	}
	body = b.page(t, "object?type=widget&id=7")
	if got := rowIDsTimeline(body); strings.Join(got, " ") != idOf(2)+" "+idOf(4) {
		t.Errorf("widget 7's timeline: %v", got)
	}
	if res, body := get(t, b.client, b.base+"user"); res.StatusCode != http.StatusBadRequest || !strings.Contains(body, "invalid id") {
		t.Errorf("user timeline without id: status %d, want 400 naming id", res.StatusCode)
	}
}

var tlRe = regexp.MustCompile(`<a class="ts" href="/admin/events/([0-9a-f-]{36})"`)

func rowIDsTimeline(body string) []string {
	var out []string
	for _, m := range tlRe.FindAllStringSubmatch(body, -1) {
		out = append(out, m[1])
	}
	return out
}

func TestDashboard(t *testing.T) {
	t.Parallel()
	b := setup(t, setupOpts{events: fixture()})
	body := b.page(t, "dashboard")
	for _, want := range []string{`<span class="stat">2</span> users in the last 7 days`, `<span class="stat">2</span> users in the last 30 days`, `id="chart-events"`, `data-url="/admin/dashboard.json?range=30d"`} {
		if !strings.Contains(body, want) {
			t.Errorf("dashboard lacks %q", want)
		}
	}
	var d dashboardData
	if err := json.Unmarshal([]byte(b.page(t, "dashboard.json?range=7d")), &d); err != nil {
		t.Fatal(err)
	}
	if len(d.Days) != 7 || len(d.Active) != 7 {
		t.Fatalf("7-day dashboard has %d days and %d active-user points", len(d.Days), len(d.Active))
	}
	sums := map[string]int64{}
	for _, s := range d.Series {
		for _, c := range s.Counts {
			sums[s.Action] += c
		}
	}
	if sums["CREATED_WIDGET"] != 2 || sums["SIGNED_UP"] != 1 || sums["PAID"] != 1 || sums["DELETED_WIDGET"] != 0 {
		t.Errorf("7-day series sums %v: want CREATED_WIDGET 2, SIGNED_UP 1, PAID 1", sums)
	}
	var active int64
	for _, c := range d.Active {
		active += c
	}
	if active < 2 || active > 3 { // alice (one or two days, by the clock) and bob
		t.Errorf("daily active users sum %d, want 2 or 3", active)
	}
}

func TestExport(t *testing.T) {
	t.Parallel()
	var events []eventlog.Event
	for i := 1; i <= 2300; i++ { // more than two export pages
		a := "EVEN"
		if i%2 == 1 {
			a = "ODD"
		}
		events = append(events, ev(i, a, time.Duration(i)*time.Second, "alice", "", "", fmt.Sprintf(`{"i":%d}`, i)))
	}
	events = append(events, ev(9999, "=cmd|' /C calc'!A0", time.Hour, "@sum", "", "", `{}`))
	b := setup(t, setupOpts{events: events})
	res, body := get(t, b.client, b.base+"export.jsonl?action=ODD")
	if ct := res.Header.Get("Content-Type"); ct != "application/x-ndjson" {
		t.Errorf("JSONL content type %q", ct)
	}
	lines := strings.Split(strings.TrimSuffix(body, "\n"), "\n")
	if len(lines) != 1150 {
		t.Fatalf("JSONL export of ODD has %d lines, want 1150", len(lines))
	}
	for i, l := range lines {
		e, err := eventlog.ParseEvent([]byte(l), now)
		if err != nil || e.Action != "ODD" || e.ID != idOf(2*i+1) {
			t.Fatalf("line %d: %s (%v)", i, l, err)
		}
	}
	res, body = get(t, b.client, b.base+"export.csv")
	if !strings.HasPrefix(res.Header.Get("Content-Disposition"), "attachment;") {
		t.Errorf("CSV Content-Disposition %q", res.Header.Get("Content-Disposition"))
	}
	sc := bufio.NewScanner(strings.NewReader(body))
	n := 0
	for sc.Scan() {
		n++
	}
	if n != 2302 || !strings.HasPrefix(body, "id,timestamp,action,user_id,user_name,object_type,object_id,extra\n") {
		t.Errorf("CSV export has %d lines (want header + 2301)", n)
	}
	if !strings.Contains(body, `'=cmd|' /C calc'!A0,'@sum`) {
		t.Error("CSV export does not defuse formula cells")
	}
}

func TestLiveTail(t *testing.T) {
	t.Parallel()
	b := setup(t, setupOpts{})
	body := b.page(t, "live?action=PAID,REFUNDED")
	if !strings.Contains(body, `data-stream="/admin/live/stream?action=PAID&amp;action=REFUNDED"`) {
		t.Fatalf("live page does not point at the filtered stream")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, "GET", b.base+"live/stream?action=PAID&q=big", nil)
	res, err := b.client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusOK || res.Header.Get("Content-Type") != "text/event-stream" {
		t.Fatalf("stream: status %d, type %q", res.StatusCode, res.Header.Get("Content-Type"))
	}
	rd := bufio.NewReader(res.Body)
	rd.ReadString('\n') // the opening comment: the subscription is live
	for _, e := range []eventlog.Event{
		ev(1, "SIGNED_UP", 0, "alice", "", "", `{"size":"big"}`),
		ev(2, "PAID", 0, "alice", "", "", `{"size":"small"}`),
		ev(3, "PAID", 0, "alice", "", "", `{"size":"big","x":"<script>"}`),
	} {
		if _, err := b.logger.LogEvent(ctx, e); err != nil {
			t.Fatal(err)
		}
	}
	var got liveEvent
	for {
		line, err := rd.ReadString('\n')
		if err != nil {
			t.Fatalf("reading the stream: %v", err)
		}
		if data, ok := strings.CutPrefix(line, "data: "); ok {
			if strings.Contains(data, "<script>") {
				t.Error("stream data carries a raw <script>")
			}
			if err := json.Unmarshal([]byte(data), &got); err != nil {
				t.Fatal(err)
			}
			break
		}
	}
	if got.ID != idOf(3) || got.Action != "PAID" || got.URL != "/admin/events/"+idOf(3) {
		t.Errorf("first streamed event %+v, want event 3 (the only PAID with big)", got)
	}
}

func TestAuthorizeHook(t *testing.T) {
	t.Parallel()
	b := setup(t, setupOpts{events: fixture(), cfg: func(c *Config) {
		c.Accounts = nil
		c.Authorize = func(r *http.Request) bool { return r.Header.Get("X-Staff") == "yes" }
	}})
	for _, p := range []string{"events", "dashboard.json", "export.csv"} {
		res, _ := get(t, b.client, b.base+p)
		if res.StatusCode != http.StatusForbidden {
			t.Errorf("GET %s refused by Authorize: status %d, want 403", p, res.StatusCode)
		}
		req, _ := http.NewRequest("GET", b.base+p, nil)
		req.Header.Set("X-Staff", "yes")
		res, err := b.client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if res.StatusCode != http.StatusOK {
			t.Errorf("GET %s allowed by Authorize: status %d, want 200", p, res.StatusCode)
		}
	}
	if res, _ := get(t, b.client, b.base+"login"); res.StatusCode != http.StatusNotFound {
		t.Errorf("login page under Authorize: status %d, want 404", res.StatusCode)
	}
}

func TestMountUnderStripPrefix(t *testing.T) {
	t.Parallel()
	store := newTestStore(t)
	h, err := New(&Config{Store: store, BasePath: "/ops/log/", Authorize: func(*http.Request) bool { return true }})
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.Handle("/ops/log/", http.StripPrefix("/ops/log", h))
	srv := httptest.NewServer(mux)
	defer srv.Close()
	res, body := get(t, srv.Client(), srv.URL+"/ops/log/events")
	if res.StatusCode != http.StatusOK || !strings.Contains(body, `href="/ops/log/assets/admin.css"`) || !strings.Contains(body, `href="/ops/log/dashboard"`) {
		t.Errorf("mounted under /ops/log/: status %d; links must be under the base path", res.StatusCode)
	}
	if csp := res.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "script-src 'self'") || strings.Contains(csp, "unsafe-inline") {
		t.Errorf("Content-Security-Policy %q", csp)
	}
	if res, _ := get(t, srv.Client(), srv.URL+"/ops/log/assets/htmx.min.js"); res.StatusCode != http.StatusOK {
		t.Errorf("asset under the prefix: status %d", res.StatusCode)
	}
	if _, err := New(&Config{Store: store, BasePath: "admin"}); err == nil || !strings.Contains(err.Error(), "Accounts") {
		t.Errorf("New without Accounts or Authorize: %v", err)
	}
	if _, err := New(&Config{Store: store, BasePath: "admin", Authorize: func(*http.Request) bool { return true }}); err == nil || !strings.Contains(err.Error(), "BasePath") {
		t.Errorf("New with a bad BasePath: %v", err)
	}
}

func TestLiveTailEndsOnShutdown(t *testing.T) {
	t.Parallel()
	b := setup(t, setupOpts{})
	req, _ := http.NewRequest("GET", b.base+"live/stream", nil)
	res, err := b.client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	bufio.NewReader(res.Body).ReadString('\n') // the stream is open
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	start := time.Now()
	if err := b.server.Config.Shutdown(ctx); err != nil {
		t.Fatalf("Shutdown with an open live tail: %v", err)
	}
	if d := time.Since(start); d > 3*time.Second {
		t.Errorf("Shutdown took %v: the live tail held it", d)
	}
}
