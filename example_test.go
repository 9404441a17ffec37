package eventlog_test

import (
	"context"
	"fmt"
	"log"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/eventlog/eventlog"
	"github.com/eventlog/eventlog/sqlitestore"
)

// openExampleStore opens a SQLite store in a fresh temporary directory.
func openExampleStore() (eventlog.Store, func()) {
	dir, err := os.MkdirTemp("", "eventlog-example")
	if err != nil {
		log.Fatal(err)
	}
	store, err := sqlitestore.Open(context.Background(), filepath.Join(dir, "events.db"), nil)
	if err != nil {
		log.Fatal(err)
	}
	return store, func() { store.Close(); os.RemoveAll(dir) }
}

// Log an event the way pinax's log(user=..., action=..., obj=...,
// extra=...) does, then read it back.
func Example() {
	store, cleanup := openExampleStore()
	defer cleanup()
	logger, err := eventlog.New(store, nil)
	if err != nil {
		log.Fatal(err)
	}
	defer logger.Close()

	ctx := context.Background()
	_, err = logger.Log(ctx, "CREATED_FOO_WIDGET",
		eventlog.User{ID: "42", Name: "alice"},
		eventlog.Object{Type: "widget", ID: "17"},
		eventlog.Extra{"title": "Foo"},
	)
	if err != nil {
		log.Fatal(err)
	}

	page, err := store.Query(ctx, eventlog.Query{Actions: []string{"CREATED_FOO_WIDGET"}})
	if err != nil {
		log.Fatal(err)
	}
	for _, e := range page.Events {
		fmt.Println(e.Action, e.User.Name, e.Object.Type, e.Object.ID, string(e.Extra), e.TemplateName())
	}
	// Output:
	// CREATED_FOO_WIDGET alice widget 17 {"title":"Foo"} eventlog/created_foo_widget.html
}

// The package-level Log uses the Logger set with SetDefault, and the
// user in the context when the call names none.
func ExampleLog() {
	store, cleanup := openExampleStore()
	defer cleanup()
	logger, err := eventlog.New(store, nil)
	if err != nil {
		log.Fatal(err)
	}
	defer logger.Close()
	eventlog.SetDefault(logger)
	defer eventlog.SetDefault(nil)

	ctx := eventlog.ContextWithUser(context.Background(), eventlog.User{ID: "7", Name: "bob"})
	e, err := eventlog.Log(ctx, "SIGNED_UP", eventlog.Extra{"plan": "pro"})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(e.Action, e.User.Name, string(e.Extra))
	// Output: SIGNED_UP bob {"plan":"pro"}
}

// Subscribers receive each event after it is stored, like pinax's
// event_logged signal.
func ExampleLogger_Subscribe() {
	store, cleanup := openExampleStore()
	defer cleanup()
	logger, err := eventlog.New(store, nil)
	if err != nil {
		log.Fatal(err)
	}

	done := make(chan struct{})
	cancel := logger.Subscribe(func(e eventlog.Event) {
		fmt.Println("stored:", e.Action)
		close(done)
	})
	defer cancel()
	if _, err := logger.Log(context.Background(), "PASSWORD_CHANGED"); err != nil {
		log.Fatal(err)
	}
	<-done
	logger.Close()
	// Output: stored: PASSWORD_CHANGED
}

// Page through events newest first with the opaque cursor.
func ExampleCursor() {
	store, cleanup := openExampleStore()
	defer cleanup()
	logger, err := eventlog.New(store, nil)
	if err != nil {
		log.Fatal(err)
	}
	defer logger.Close()
	ctx := context.Background()
	start := time.Date(2026, 11, 27, 10, 0, 0, 0, time.UTC)
	for i := range 5 {
		if _, err := logger.Log(ctx, "VIEWED", start.Add(time.Duration(i)*time.Minute), eventlog.Extra{"n": i}); err != nil {
			log.Fatal(err)
		}
	}
	q := eventlog.Query{Limit: 2}
	for {
		page, err := store.Query(ctx, q)
		if err != nil {
			log.Fatal(err)
		}
		var line []string
		for _, e := range page.Events {
			line = append(line, string(e.Extra))
		}
		fmt.Println(strings.Join(line, " "))
		if page.Next == nil {
			break
		}
		// page.Next.String() is what an API hands to the client.
		q.After, err = eventlog.ParseCursor(page.Next.String())
		if err != nil {
			log.Fatal(err)
		}
	}
	// Output:
	// {"n":4} {"n":3}
	// {"n":2} {"n":1}
	// {"n":0}
}

// Async mode returns before the event is stored; Flush waits for
// everything logged so far.
func ExampleLogger_Flush() {
	store, cleanup := openExampleStore()
	defer cleanup()
	logger, err := eventlog.New(store, &eventlog.Config{Mode: eventlog.Async})
	if err != nil {
		log.Fatal(err)
	}
	defer logger.Close()
	ctx := context.Background()
	for range 1000 {
		if _, err := logger.Log(ctx, "PAGE_VIEWED"); err != nil {
			log.Fatal(err)
		}
	}
	if err := logger.Flush(ctx); err != nil {
		log.Fatal(err)
	}
	actions, err := store.Actions(ctx)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(actions[0].Action, actions[0].Count)
	// Output: PAGE_VIEWED 1000
}

// Spooled mode writes each event to a local file before Log returns, so an
// accepted event survives a crash; the next Logger on the same directory
// stores what is left.
func ExampleSpooled() {
	store, cleanup := openExampleStore()
	defer cleanup()
	spoolDir, err := os.MkdirTemp("", "eventlog-spool")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(spoolDir)
	logger, err := eventlog.New(store, &eventlog.Config{Mode: eventlog.Spooled, SpoolDir: spoolDir})
	if err != nil {
		log.Fatal(err)
	}
	if _, err := logger.Log(context.Background(), "ORDER_PLACED", eventlog.Extra{"total": 42}); err != nil {
		log.Fatal(err)
	}
	if err := logger.Close(); err != nil { // flushes
		log.Fatal(err)
	}
	e, err := store.Query(context.Background(), eventlog.Query{})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(e.Events[0].Action, string(e.Events[0].Extra))
	// Output: ORDER_PLACED {"total":42}
}
