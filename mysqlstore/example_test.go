package mysqlstore_test

import (
	"context"
	"fmt"
	"log"

	"github.com/eventlog/eventlog"
	"github.com/eventlog/eventlog/mysqlstore"
)

// Open a MariaDB or MySQL database, create the schema on first use, and
// log an event inside the application's own transaction. (No Output
// line: the example needs a database server, so go test only compiles it.)
func ExampleOpen() {
	ctx := context.Background()
	store, err := mysqlstore.Open(ctx, "mariadb://app:secret@127.0.0.1:3306/app", &mysqlstore.Options{Migrate: true})
	if err != nil {
		log.Fatal(err)
	}
	defer store.Close()
	logger, err := eventlog.New(store, nil)
	if err != nil {
		log.Fatal(err)
	}
	defer logger.Close()

	tx, err := store.SQLDB().BeginTx(ctx, nil)
	if err != nil {
		log.Fatal(err)
	}
	ob, err := logger.OutboxSQL(tx)
	if err != nil {
		log.Fatal(err)
	}
	// ... the application's own writes with tx ...
	e, err := ob.Log(ctx, "CREATED_FOO_WIDGET", eventlog.User{ID: "42", Name: "Ada"}, eventlog.Extra{"title": "Foo"})
	if err != nil {
		_ = ob.Rollback()
		log.Fatal(err)
	}
	if err := ob.Commit(); err != nil {
		log.Fatal(err)
	}
	fmt.Println("logged", e.Action)
}
