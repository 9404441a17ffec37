package httplog_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"

	"github.com/eventlog/eventlog"
	"github.com/eventlog/eventlog/httplog"
	"github.com/eventlog/eventlog/sqlitestore"
)

type bundle struct {
	m     *httplog.Middleware
	store eventlog.Store
}

func setup(t *testing.T, opts *httplog.Options) bundle {
	t.Helper()
	ctx := context.Background()
	store, err := sqlitestore.Open(ctx, filepath.Join(t.TempDir(), "events.db"), &sqlitestore.Options{Synchronous: "NORMAL"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	l, err := eventlog.New(store, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	m, err := httplog.New(l, opts)
	if err != nil {
		t.Fatal(err)
	}
	return bundle{m: m, store: store}
}

// events returns everything stored, newest first.
func (b bundle) events(t *testing.T) []eventlog.Event {
	t.Helper()
	q := eventlog.Query{Limit: eventlog.MaxLimit}
	page, err := b.store.Query(context.Background(), q)
	if err != nil {
		t.Fatal(err)
	}
	return page.Events
}

func (b bundle) serve(h http.Handler, r *http.Request) *httptest.ResponseRecorder {
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	return w
}

func status(code int) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(code) })
}

var createWidget = httplog.Action{Kind: "CREATE", ObjectType: "widget"}

func TestLogsOnlyOnSuccess(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		method string
		code   int
		logged bool
	}{
		{"POST", 201, true},
		{"POST", 200, true},
		{"GET", 204, true},
		{"POST", 303, true}, // a form that redirects after success
		{"POST", 302, true},
		{"GET", 302, false}, // a redirect to a login page is no success
		{"POST", 400, false},
		{"POST", 403, false},
		{"POST", 500, false},
	} {
		b := setup(t, nil)
		b.serve(b.m.Wrap(createWidget, status(c.code)), httptest.NewRequest(c.method, "/widgets", nil))
		if got := len(b.events(t)); (got == 1) != c.logged || got > 1 {
			t.Errorf("%s answered %d: %d events, want logged=%v", c.method, c.code, got, c.logged)
		}
	}
}

func TestImplicit200AndPanic(t *testing.T) {
	t.Parallel()
	b := setup(t, nil)
	write := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.Write([]byte("ok")) })
	b.serve(b.m.Wrap(createWidget, write), httptest.NewRequest("GET", "/", nil))
	nothing := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {})
	b.serve(b.m.Wrap(createWidget, nothing), httptest.NewRequest("GET", "/", nil))
	if n := len(b.events(t)); n != 2 {
		t.Fatalf("%d events for two handlers answering 200 implicitly, want 2", n)
	}
	panics := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { panic(http.ErrAbortHandler) })
	func() {
		defer func() { recover() }()
		b.serve(b.m.Wrap(createWidget, panics), httptest.NewRequest("POST", "/", nil))
	}()
	if n := len(b.events(t)); n != 2 {
		t.Fatalf("a panicking handler logged an event")
	}
}

func TestActionNames(t *testing.T) {
	t.Parallel()
	if got := createWidget.String(); got != "CREATE_WIDGET" {
		t.Fatalf("Kind+ObjectType = %q, want CREATE_WIDGET", got)
	}
	if got := (httplog.Action{Name: "SIGNED_UP", Kind: "X", ObjectType: "y"}).String(); got != "SIGNED_UP" {
		t.Fatalf("Name = %q, want SIGNED_UP", got)
	}
	b := setup(t, nil)
	for _, bad := range []httplog.Action{{Kind: "CREATE"}, {Name: "BAD\nNAME"}} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("Wrap(%+v) did not panic", bad)
				}
			}()
			b.m.Wrap(bad, status(200))
		}()
	}
}

func TestHandlerAttachesObjectAndExtra(t *testing.T) {
	t.Parallel()
	alice := &eventlog.User{ID: "42", Name: "alice"}
	b := setup(t, &httplog.Options{User: func(r *http.Request) *eventlog.User {
		if r.Header.Get("Authorization") != "" {
			return alice
		}
		return nil
	}})
	var ctxUser eventlog.User
	h := b.m.Wrap(createWidget, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctxUser, _ = eventlog.UserFromContext(r.Context())
		httplog.SetObject(r.Context(), eventlog.Object{Type: "widget", ID: "17"})
		if err := httplog.SetExtra(r.Context(), eventlog.Extra{"title": "Foo"}); err != nil {
			t.Error(err)
		}
		w.WriteHeader(http.StatusCreated)
	}))
	r := httptest.NewRequest("POST", "/widgets", nil)
	r.Header.Set("Authorization", "Bearer x")
	b.serve(h, r)
	ev := b.events(t)
	if len(ev) != 1 {
		t.Fatalf("%d events, want 1", len(ev))
	}
	e := ev[0]
	if e.Action != "CREATE_WIDGET" || *e.User != *alice || *e.Object != (eventlog.Object{Type: "widget", ID: "17"}) || string(e.Extra) != `{"title":"Foo"}` {
		t.Fatalf("event = %+v", e)
	}
	if ctxUser != *alice {
		t.Fatalf("handler's context user = %+v, want alice (so its own Log calls get her)", ctxUser)
	}

	// SetObjectID uses the action's object type; an unauthenticated
	// request has no user; SetExtra refuses what JSON cannot encode.
	h = b.m.Wrap(createWidget, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		httplog.SetObjectID(r.Context(), "18")
		if err := httplog.SetExtra(r.Context(), func() {}); err == nil {
			t.Error("SetExtra(func) succeeded")
		}
	}))
	b.serve(h, httptest.NewRequest("POST", "/widgets", nil))
	e = b.events(t)[0]
	if e.User != nil || e.Object == nil || *e.Object != (eventlog.Object{Type: "widget", ID: "18"}) || string(e.Extra) != "{}" {
		t.Fatalf("event = %+v, want widget 18, no user, extra {}", e)
	}
}

func TestSkip(t *testing.T) {
	t.Parallel()
	b := setup(t, nil)
	b.serve(b.m.Wrap(createWidget, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		httplog.Skip(r.Context())
	})), httptest.NewRequest("POST", "/", nil))
	if n := len(b.events(t)); n != 0 {
		t.Fatalf("%d events after Skip, want 0", n)
	}
	// Outside a wrapped handler the helpers do nothing.
	httplog.SetObject(context.Background(), eventlog.Object{Type: "t", ID: "1"})
	httplog.Skip(context.Background())
}

func TestRequestContext(t *testing.T) {
	t.Parallel()
	b := setup(t, nil)
	r := httptest.NewRequest("POST", "/widgets/new?x=1", nil)
	r.RemoteAddr = "203.0.113.7:51234"
	r.Header.Set("User-Agent", "curl/8.5")
	r.Header.Set("X-Request-ID", "req-123")
	r.Header.Set("Traceparent", "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01")
	w := b.serve(b.m.Wrap(createWidget, status(201)), r)
	want := eventlog.RequestContext{IP: "203.0.113.7", UserAgent: "curl/8.5", RequestID: "req-123",
		TraceID: "4bf92f3577b34da6a3ce929d0e0e4736", Method: "POST", Path: "/widgets/new"}
	if got := b.events(t)[0].Context; got == nil || *got != want {
		t.Fatalf("context = %+v, want %+v", got, want)
	}
	if got := w.Header().Get("X-Request-ID"); got != "req-123" {
		t.Fatalf("response X-Request-ID = %q, want req-123", got)
	}

	// No or a bad request id: one is generated and echoed.
	r = httptest.NewRequest("POST", "/", nil)
	r.Header.Set("X-Request-ID", "has space")
	w = b.serve(b.m.Wrap(createWidget, status(201)), r)
	gen := b.events(t)[0].Context.RequestID
	if len(gen) != 36 || w.Header().Get("X-Request-ID") != gen {
		t.Fatalf("generated request id %q, echoed %q", gen, w.Header().Get("X-Request-ID"))
	}
}

func TestRequestIDHeaderOption(t *testing.T) {
	t.Parallel()
	b := setup(t, &httplog.Options{RequestIDHeader: "X-Correlation-ID"})
	r := httptest.NewRequest("POST", "/", nil)
	r.Header.Set("X-Correlation-ID", "corr-9")
	b.serve(b.m.Wrap(createWidget, status(201)), r)
	if got := b.events(t)[0].Context.RequestID; got != "corr-9" {
		t.Fatalf("request id = %q, want corr-9", got)
	}
}

func TestTraceID(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{
		"00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01":       "4bf92f3577b34da6a3ce929d0e0e4736",
		"01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-extra": "4bf92f3577b34da6a3ce929d0e0e4736",
		"": "",
		"00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01":   "",
		"00-00000000000000000000000000000000-00f067aa0ba902b7-01":   "",
		"00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01":   "",
		"ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01":   "",
		"00-4bf92f3577b34da6a3ce929d0e0e473-00f067aa0ba902b7-01":    "",
		"00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-x": "",
	} {
		if got := httplog.TraceID(in); got != want {
			t.Errorf("TraceID(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestClientIP(t *testing.T) {
	t.Parallel()
	m, err := httplog.New(newLoggerForIP(t), &httplog.Options{TrustedProxies: []string{"10.0.0.0/8", "192.168.1.1", "2001:db8::/32"}})
	if err != nil {
		t.Fatal(err)
	}
	untrusting, _ := httplog.New(newLoggerForIP(t), nil)
	for _, c := range []struct {
		name, remote, xff, fwd, want string
		m                            *httplog.Middleware
	}{
		{"no proxy", "203.0.113.7:1234", "", "", "203.0.113.7", m},
		{"untrusted peer's header ignored", "203.0.113.7:1234", "1.2.3.4", "", "203.0.113.7", m},
		{"no trusted proxies configured", "10.0.0.1:1234", "1.2.3.4", "", "10.0.0.1", untrusting},
		{"one trusted proxy", "10.0.0.1:1234", "198.51.100.9", "", "198.51.100.9", m},
		{"first untrusted hop from the right", "10.0.0.1:1234", "6.6.6.6, 198.51.100.9, 10.2.3.4", "", "198.51.100.9", m},
		{"spoofed left part ignored", "192.168.1.1:80", "1.1.1.1,198.51.100.9", "", "198.51.100.9", m},
		{"all hops trusted", "10.0.0.1:1234", "10.9.9.9", "", "10.9.9.9", m},
		{"garbage hop stops the walk", "10.0.0.1:1234", "198.51.100.9, nonsense", "", "10.0.0.1", m},
		{"Forwarded preferred", "10.0.0.1:1234", "5.5.5.5", `for=198.51.100.9;proto=https, for="10.1.1.1:8080"`, "198.51.100.9", m},
		{"Forwarded IPv6", "[2001:db8::1]:443", "", `For="[2001:db8:cafe::17]:4711", for="[2606:4700::1]"`, "2606:4700::1", m},
		{"IPv4-mapped peer", "[::ffff:10.0.0.1]:80", "198.51.100.9", "", "198.51.100.9", m},
	} {
		r := httptest.NewRequest("GET", "/", nil)
		r.RemoteAddr = c.remote
		if c.xff != "" {
			r.Header.Set("X-Forwarded-For", c.xff)
		}
		if c.fwd != "" {
			r.Header.Set("Forwarded", c.fwd)
		}
		if got := c.m.ClientIP(r); got != c.want {
			t.Errorf("%s: ClientIP = %q, want %q", c.name, got, c.want)
		}
	}
	_, err = httplog.New(newLoggerForIP(t), &httplog.Options{TrustedProxies: []string{"10.0.0.0/33"}})
	if err == nil || !strings.Contains(err.Error(), "TrustedProxies") {
		t.Fatalf("bad CIDR: error %v, want one naming TrustedProxies", err)
	}
}

func newLoggerForIP(t *testing.T) *eventlog.Logger {
	t.Helper()
	b := setup(t, nil)
	l, err := eventlog.New(b.store, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	return l
}
