package pgstore_test

import (
	"context"
	"log"
	"os"

	"github.com/eventlog/eventlog"
	"github.com/eventlog/eventlog/pgstore"
)

// Log an event in the same transaction as the application's own write:
// both commit, or neither does. (Not run by go test: it needs a database.)
func ExampleStore_Outbox() {
	ctx := context.Background()
	store, err := pgstore.Open(ctx, os.Getenv("DATABASE_URL"), &pgstore.Options{Migrate: true})
	if err != nil {
		log.Fatal(err)
	}
	defer store.Close()
	logger, err := eventlog.New(store, nil)
	if err != nil {
		log.Fatal(err)
	}
	defer logger.Close()

	tx, err := store.Pool().Begin(ctx)
	if err != nil {
		log.Fatal(err)
	}
	if _, err := tx.Exec(ctx, `UPDATE widgets SET title = $1 WHERE id = $2`, "Foo", 42); err != nil {
		log.Fatal(err)
	}
	ob := store.Outbox(logger, tx)
	if _, err := ob.Log(ctx, "UPDATED_WIDGET", eventlog.User{ID: "7", Name: "Ada"},
		&eventlog.Object{Type: "widget", ID: "42"}, eventlog.Extra{"title": "Foo"}); err != nil {
		ob.Rollback()
		log.Fatal(err)
	}
	if err := ob.Commit(); err != nil { // subscribers hear of the event only now
		log.Fatal(err)
	}
}
