package main

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"strings"
	"testing"

	"github.com/eventlog/eventlog"
	"github.com/eventlog/eventlog/sqlitestore"
)

func TestCreateWidgetLogsEvent(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	store, err := sqlitestore.Open(ctx, filepath.Join(t.TempDir(), "events.db"), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	logger, err := eventlog.New(store, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer logger.Close()
	h := newApp(logger)

	post := func(form url.Values) int {
		r := httptest.NewRequest("POST", "/widgets", strings.NewReader(form.Encode()))
		r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		return w.Code
	}
	if code := post(url.Values{"user": {"alice"}, "title": {"Foo"}}); code != http.StatusSeeOther {
		t.Fatalf("valid form answered %d, want 303", code)
	}
	if code := post(url.Values{"user": {"alice"}, "title": {""}}); code != http.StatusUnprocessableEntity {
		t.Fatalf("invalid form answered %d, want 422", code)
	}
	page, err := store.Query(ctx, eventlog.Query{})
	if err != nil {
		t.Fatal(err)
	}
	if len(page.Events) != 1 {
		t.Fatalf("%d events, want 1 (the invalid form logs nothing)", len(page.Events))
	}
	e := page.Events[0]
	if e.Action != "CREATE_WIDGET" || e.User.Name != "alice" || *e.Object != (eventlog.Object{Type: "widget", ID: "1"}) || string(e.Extra) != `{"title":"Foo"}` {
		t.Fatalf("event = %+v", e)
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, httptest.NewRequest("GET", "/", nil))
	if !strings.Contains(w.Body.String(), "#1 Foo") {
		t.Fatalf("list page does not show the widget:\n%s", w.Body.String())
	}
}
