package api_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"

	"github.com/eventlog/eventlog"
	"github.com/eventlog/eventlog/api"
	"github.com/eventlog/eventlog/auth"
	"github.com/eventlog/eventlog/sqlitestore"
)

// Serving the API from a program: a Logger over a store, tokens in the
// same database, the handler, and a Server on a listener of your choice.
func Example() {
	ctx := context.Background()
	dir, _ := os.MkdirTemp("", "eventlog-api-example")
	defer os.RemoveAll(dir)
	store, _ := sqlitestore.Open(ctx, filepath.Join(dir, "events.db"), nil)
	defer store.Close()
	logger, _ := eventlog.New(store, nil)
	tokens, _ := auth.New(store, nil)
	token, _ := tokens.Create(ctx, "billing", auth.Write)

	h, err := api.New(&api.Config{Logger: logger, Tokens: tokens, Log: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		fmt.Println(err)
		return
	}
	srv, _ := api.NewServer(h, nil)
	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	go srv.Serve(ln)

	req, _ := http.NewRequest("POST", "http://"+ln.Addr().String()+"/api/v1/events", strings.NewReader(`{"action":"INVOICE_PAID","extra":{"amount":42}}`))
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		fmt.Println(err)
		return
	}
	resp.Body.Close()
	fmt.Println(resp.Status)

	// Stop accepting, end streams, finish in-flight requests; then flush.
	srv.Shutdown(ctx)
	logger.Close()
	// Output:
	// 201 Created
}
