package sqlitestore_test

import (
	"context"
	"fmt"
	"log"
	"os"
	"path/filepath"
	"time"

	"github.com/eventlog/eventlog"
	"github.com/eventlog/eventlog/sqlitestore"
)

// Open a file, log through a Logger, and read the events back.
func ExampleOpen() {
	dir, err := os.MkdirTemp("", "eventlog-example")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)

	ctx := context.Background()
	store, err := sqlitestore.Open(ctx, filepath.Join(dir, "events.db"), nil)
	if err != nil {
		log.Fatal(err)
	}
	defer store.Close()
	logger, err := eventlog.New(store, nil)
	if err != nil {
		log.Fatal(err)
	}
	defer logger.Close()

	at := time.Date(2026, 11, 27, 10, 58, 39, 0, time.UTC)
	user := eventlog.User{ID: "42", Name: "Ada"}
	if _, err := logger.Log(ctx, "SIGNED_UP", user, at); err != nil {
		log.Fatal(err)
	}
	if _, err := logger.Log(ctx, "CREATED_FOO_WIDGET", user, eventlog.Object{Type: "widget", ID: "7"},
		eventlog.Extra{"title": "Foo"}, at.Add(time.Minute)); err != nil {
		log.Fatal(err)
	}

	page, err := store.Query(ctx, eventlog.Query{UserID: "42", Limit: 10})
	if err != nil {
		log.Fatal(err)
	}
	for _, e := range page.Events {
		fmt.Println(eventlog.FormatTime(e.Timestamp), e.Action, string(e.Extra))
	}
	// Output:
	// 2026-11-27T10:59:39.000000Z CREATED_FOO_WIDGET {"title":"Foo"}
	// 2026-11-27T10:58:39.000000Z SIGNED_UP {}
}
