package httplog_test

import (
	"context"
	"fmt"
	"log"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"

	"github.com/eventlog/eventlog"
	"github.com/eventlog/eventlog/httplog"
	"github.com/eventlog/eventlog/sqlitestore"
)

// Wrap a handler that creates widgets: a successful POST logs
// CREATE_WIDGET with the object and extra the handler attached, and the
// request's metadata.
func Example() {
	dir, _ := os.MkdirTemp("", "httplog-example")
	defer os.RemoveAll(dir)
	store, err := sqlitestore.Open(context.Background(), filepath.Join(dir, "events.db"), nil)
	if err != nil {
		log.Fatal(err)
	}
	defer store.Close()
	logger, err := eventlog.New(store, nil)
	if err != nil {
		log.Fatal(err)
	}
	defer logger.Close()

	m, err := httplog.New(logger, &httplog.Options{
		User: func(r *http.Request) *eventlog.User { return &eventlog.User{ID: "42", Name: "alice"} },
	})
	if err != nil {
		log.Fatal(err)
	}
	create := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		httplog.SetObject(r.Context(), eventlog.Object{Type: "widget", ID: "17"})
		httplog.SetExtra(r.Context(), eventlog.Extra{"title": "Foo"})
		http.Redirect(w, r, "/widgets/17", http.StatusSeeOther)
	})
	h := m.Wrap(httplog.Action{Kind: "CREATE", ObjectType: "widget"}, create)

	r := httptest.NewRequest("POST", "/widgets", nil)
	r.Header.Set("X-Request-ID", "req-1")
	h.ServeHTTP(httptest.NewRecorder(), r)

	page, err := store.Query(context.Background(), eventlog.Query{})
	if err != nil {
		log.Fatal(err)
	}
	e := page.Events[0]
	fmt.Println(e.Action, e.User.Name, e.Object.Type, e.Object.ID, string(e.Extra))
	fmt.Println(e.Context.Method, e.Context.Path, e.Context.RequestID, e.Context.IP)
	// Output:
	// CREATE_WIDGET alice widget 17 {"title":"Foo"}
	// POST /widgets req-1 192.0.2.1
}
