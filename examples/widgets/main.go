// Command widgets is a small web application that records what its users
// do with eventlog: a form creates widgets, and the httplog middleware
// logs CREATE_WIDGET each time the form succeeds, as pinax-eventlog's
// EventLogMixin does for a Django CreateView.
//
//	go run ./examples/widgets -addr 127.0.0.1:8080 -db widgets-events.db
//
// Then open http://127.0.0.1:8080/, create a widget, and list the events
// with `eventlog events --db sqlite:widgets-events.db`.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"html/template"
	"log/slog"
	"net/http"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/eventlog/eventlog"
	"github.com/eventlog/eventlog/httplog"
	"github.com/eventlog/eventlog/sqlitestore"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:8080", "listen address")
	db := flag.String("db", "widgets-events.db", "SQLite file for events")
	flag.Parse()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, *addr, *db); err != nil {
		fmt.Fprintln(os.Stderr, "widgets:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, addr, dbPath string) error {
	store, err := sqlitestore.Open(ctx, dbPath, nil)
	if err != nil {
		return err
	}
	defer store.Close()
	logger, err := eventlog.New(store, nil)
	if err != nil {
		return err
	}
	defer logger.Close()

	srv := &http.Server{Addr: addr, Handler: newApp(logger), ReadHeaderTimeout: 10 * time.Second}
	go func() {
		<-ctx.Done()
		shutdown, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		srv.Shutdown(shutdown)
	}()
	slog.Info("widgets listening", "addr", "http://"+addr)
	if err := srv.ListenAndServe(); !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

// app is the widgets application: an in-memory list of widgets behind a
// form. Widgets vanish on restart; the events about them do not.
type app struct {
	mu      sync.Mutex
	widgets []widget
}

type widget struct {
	ID    int
	Title string
}

// EventObject links events to the widget (eventlog.Objecter).
func (w widget) EventObject() eventlog.Object {
	return eventlog.Object{Type: "widget", ID: strconv.Itoa(w.ID)}
}

// newApp returns the application's routes.
func newApp(logger *eventlog.Logger) http.Handler {
	a := &app{}
	logged, err := httplog.New(logger, &httplog.Options{
		User:           currentUser,
		TrustedProxies: []string{"127.0.0.1/32", "::1/128"},
	})
	if err != nil {
		panic(err) // the options above are constants
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /{$}", a.list)
	mux.Handle("POST /widgets", logged.Wrap(httplog.Action{Kind: "CREATE", ObjectType: "widget"}, http.HandlerFunc(a.create)))
	// The eventlog admin UI is mounted here, under /admin/, by the admin
	// package: mux.Handle("/admin/", ...) with the same store.
	return mux
}

// currentUser stands in for the application's authentication: the user
// name typed in the form.
func currentUser(r *http.Request) *eventlog.User {
	name := strings.TrimSpace(r.PostFormValue("user"))
	if name == "" {
		return nil
	}
	return &eventlog.User{ID: name, Name: name}
}

var page = template.Must(template.New("page").Parse(`<!doctype html>
<title>Widgets</title>
<h1>Widgets</h1>
{{with .Error}}<p style="color:#b00">{{.}}</p>{{end}}
<form method="post" action="/widgets">
  <label>Your name <input name="user"></label>
  <label>Title <input name="title" required maxlength="100"></label>
  <button>Create widget</button>
</form>
<ul>{{range .Widgets}}<li>#{{.ID}} {{.Title}}</li>{{else}}<li>No widgets yet.</li>{{end}}</ul>
`))

type pageData struct {
	Widgets []widget
	Error   string
}

func (a *app) render(w http.ResponseWriter, status int, msg string) {
	a.mu.Lock()
	data := pageData{Widgets: append([]widget(nil), a.widgets...), Error: msg}
	a.mu.Unlock()
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	page.Execute(w, data)
}

func (a *app) list(w http.ResponseWriter, r *http.Request) { a.render(w, http.StatusOK, "") }

// create validates the form; an invalid form answers 422, which the
// middleware does not log, and a valid one redirects, which it does.
func (a *app) create(w http.ResponseWriter, r *http.Request) {
	title := strings.TrimSpace(r.PostFormValue("title"))
	if title == "" || len(title) > 100 {
		a.render(w, http.StatusUnprocessableEntity, "A title of 1 to 100 characters is required.")
		return
	}
	a.mu.Lock()
	wd := widget{ID: len(a.widgets) + 1, Title: title}
	a.widgets = append(a.widgets, wd)
	a.mu.Unlock()
	httplog.SetObject(r.Context(), wd.EventObject())
	httplog.SetExtra(r.Context(), eventlog.Extra{"title": title})
	http.Redirect(w, r, "/", http.StatusSeeOther)
}
