package client_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"

	"github.com/eventlog/eventlog"
	"github.com/eventlog/eventlog/api"
	"github.com/eventlog/eventlog/auth"
	"github.com/eventlog/eventlog/client"
	"github.com/eventlog/eventlog/sqlitestore"
)

// startExampleServer runs an API server over a temporary SQLite file, as
// `eventlog serve` would, and returns its URL, an admin token and a stop
// function.
func startExampleServer() (url, token string, stop func()) {
	ctx := context.Background()
	dir, _ := os.MkdirTemp("", "eventlog-example")
	store, err := sqlitestore.Open(ctx, filepath.Join(dir, "events.db"), nil)
	if err != nil {
		panic(err)
	}
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	logger, _ := eventlog.New(store, &eventlog.Config{ErrorLog: quiet})
	tokens, _ := auth.New(store, nil)
	token, _ = tokens.Create(ctx, "example", auth.Admin)
	h, _ := api.New(&api.Config{Logger: logger, Tokens: tokens, Log: quiet})
	srv, _ := api.NewServer(h, nil)
	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	go srv.Serve(ln)
	return "http://" + ln.Addr().String(), token, func() {
		srv.Shutdown(ctx)
		logger.Close()
		store.Close()
		os.RemoveAll(dir)
	}
}

func Example() {
	url, token, stop := startExampleServer()
	defer stop()
	ctx := context.Background()

	c := client.New(url, token, nil)
	e, err := c.Log(ctx, "SIGNED_UP", eventlog.User{ID: "42", Name: "alice"}, eventlog.Extra{"plan": "pro"})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(e.Action, e.User.Name, string(e.Extra))

	page, _ := c.Query(ctx, eventlog.Query{UserID: "42"})
	fmt.Println(len(page.Events), "event of user 42")

	_, err = c.Log(ctx, "")
	var apiErr *client.Error
	if errors.As(err, &apiErr) {
		fmt.Println(apiErr.Status, apiErr.Code, apiErr.Field, errors.Is(err, eventlog.ErrInvalid))
	}
	// Output:
	// SIGNED_UP alice {"plan":"pro"}
	// 1 event of user 42
	// 400 invalid action true
}

// A Logger over the client's Store logs remotely with the same API as a
// local one; concurrent calls are sent together.
func ExampleClient_Store() {
	url, token, stop := startExampleServer()
	defer stop()
	ctx := context.Background()

	logger, _ := eventlog.New(client.New(url, token, nil).Store(), nil)
	defer logger.Close()
	e, err := logger.Log(ctx, "INVOICE_PAID", eventlog.Object{Type: "invoice", ID: "2026-0042"})
	fmt.Println(e.Action, e.Object.ID, err)
	// Output:
	// INVOICE_PAID 2026-0042 <nil>
}
