package natsqueue_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/nats-io/nats-server/v2/server"

	"github.com/eventlog/eventlog"
	"github.com/eventlog/eventlog/natsqueue"
	"github.com/eventlog/eventlog/sqlitestore"
)

// An application logs through the queue; a worker stores what JetStream
// acknowledged. In production the two run in different processes and
// the worker is `eventlog worker`.
func Example() {
	dir, _ := os.MkdirTemp("", "natsqueue-example-")
	defer os.RemoveAll(dir)
	srv := exampleServer(dir) // nats-server -js on a free port
	defer srv.Shutdown()
	ctx := context.Background()

	q, err := natsqueue.Connect(ctx, srv.ClientURL(), nil)
	if err != nil {
		fmt.Println(err)
		return
	}
	defer q.Close()

	// The application side: returns once JetStream has the event.
	e, err := q.Logger().Log(ctx, "CREATED_FOO_WIDGET",
		eventlog.User{ID: "42", Name: "ada"}, eventlog.Extra{"title": "Foo"})
	if err != nil {
		fmt.Println(err)
		return
	}

	// The worker side: store batches, ack after commit.
	store, err := sqlitestore.Open(ctx, filepath.Join(dir, "events.db"), nil)
	if err != nil {
		fmt.Println(err)
		return
	}
	defer store.Close()
	w, err := q.NewWorker(store)
	if err != nil {
		fmt.Println(err)
		return
	}
	wctx, stop := context.WithCancel(ctx)
	done := make(chan error)
	go func() { done <- w.Run(wctx) }()
	for {
		if got, err := store.Get(ctx, e.ID); err == nil {
			fmt.Println("stored", got.Action, "by", got.User.Name, string(got.Extra))
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	stop()
	fmt.Println("worker stopped:", <-done)
	// Output:
	// stored CREATED_FOO_WIDGET by ada {"title":"Foo"}
	// worker stopped: <nil>
}

func exampleServer(dir string) *server.Server {
	s, err := startServer(&server.Options{StoreDir: dir})
	if err != nil {
		panic(err)
	}
	return s
}
