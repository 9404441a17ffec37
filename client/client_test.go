package client_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/eventlog/eventlog"
	"github.com/eventlog/eventlog/api"
	"github.com/eventlog/eventlog/auth"
	"github.com/eventlog/eventlog/client"
	"github.com/eventlog/eventlog/pgstore"
	"github.com/eventlog/eventlog/sqlitestore"
)

func openStore(t *testing.T, backend string) eventlog.Store {
	t.Helper()
	ctx := context.Background()
	if backend == "sqlite" {
		st, err := sqlitestore.Open(ctx, filepath.Join(t.TempDir(), "events.db"), nil)
		if err != nil {
			t.Fatalf("opening a temporary SQLite store: %v", err)
		}
		return st
	}
	url := os.Getenv("EVENTLOG_TEST_POSTGRES")
	if url == "" {
		msg := "EVENTLOG_TEST_POSTGRES is not set; to run the client tests over PostgreSQL set it, e.g. EVENTLOG_TEST_POSTGRES=postgres://postgres@127.0.0.1:5432/test?sslmode=disable"
		if os.Getenv("CI") == "true" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	var b [6]byte
	rand.Read(b[:])
	schema := "eventlog_client_test_" + hex.EncodeToString(b[:])
	exec := func(sql string) {
		conn, err := pgx.Connect(ctx, url)
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close(ctx)
		if _, err := conn.Exec(ctx, sql); err != nil {
			t.Fatalf("%s: %v", sql, err)
		}
	}
	exec("CREATE SCHEMA " + schema)
	t.Cleanup(func() { exec("DROP SCHEMA " + schema + " CASCADE") })
	st, err := pgstore.Open(ctx, url, &pgstore.Options{Migrate: true, Schema: schema})
	if err != nil {
		t.Fatal(err)
	}
	return st
}

type bundle struct {
	url                 string
	admin, write, read  string
	adminC, writeC, rdC *client.Client
}

// setup starts the real server on a free port and returns clients with
// a token of each scope.
func setup(t *testing.T, backend string) *bundle {
	t.Helper()
	store := openStore(t, backend)
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	logger, err := eventlog.New(store, &eventlog.Config{ErrorLog: quiet})
	if err != nil {
		t.Fatal(err)
	}
	tokens, err := auth.New(store, nil)
	if err != nil {
		t.Fatal(err)
	}
	b := &bundle{}
	for _, x := range []struct {
		dst   *string
		scope auth.Scope
	}{{&b.admin, auth.Admin}, {&b.write, auth.Write}, {&b.read, auth.Read}} {
		if *x.dst, err = tokens.Create(context.Background(), string(x.scope), x.scope); err != nil {
			t.Fatal(err)
		}
	}
	h, err := api.New(&api.Config{Logger: logger, Tokens: tokens, Log: quiet})
	if err != nil {
		t.Fatal(err)
	}
	srv, err := api.NewServer(h, nil)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go srv.Serve(ln)
	t.Cleanup(func() {
		srv.Shutdown(context.Background())
		logger.Close()
		store.Close()
	})
	b.url = "http://" + ln.Addr().String()
	b.adminC = client.New(b.url, b.admin, nil)
	b.writeC = client.New(b.url, b.write, nil)
	b.rdC = client.New(b.url, b.read, nil)
	return b
}

func forEachBackend(t *testing.T, fn func(t *testing.T, backend string)) {
	for _, backend := range []string{"sqlite", "postgres"} {
		t.Run(backend, func(t *testing.T) {
			t.Parallel()
			fn(t, backend)
		})
	}
}

func TestClientRoundTrip(t *testing.T) {
	t.Parallel()
	forEachBackend(t, func(t *testing.T, backend string) {
		b := setup(t, backend)
		ctx := context.Background()
		e, err := b.writeC.Log(ctx, "SIGNED_UP", eventlog.User{ID: "42", Name: "alice"}, eventlog.Extra{"plan": "pro"})
		if err != nil {
			t.Fatal(err)
		}
		if e.ID == "" || e.Timestamp.IsZero() || e.User.ID != "42" || string(e.Extra) != `{"plan":"pro"}` {
			t.Fatalf("Log returned %+v", e)
		}
		if time.Since(e.Timestamp) > time.Minute {
			t.Errorf("server did not assign the timestamp: %v", e.Timestamp)
		}
		again, err := b.writeC.LogEvent(ctx, eventlog.Event{ID: e.ID, Action: "OTHER"})
		if err != nil || again.Action != "SIGNED_UP" {
			t.Fatalf("retry with the same id = %+v, %v; want the stored event", again, err)
		}
		base := time.Date(2026, 10, 1, 0, 0, 0, 0, time.UTC)
		batch := []eventlog.Event{
			{Action: "VIEWED", Timestamp: base},
			{Action: "VIEWED", Timestamp: base.Add(24 * time.Hour), Object: &eventlog.Object{Type: "doc", ID: "7"}},
		}
		stored, err := b.adminC.LogBatch(ctx, batch)
		if err != nil || len(stored) != 2 || !stored[1].Timestamp.Equal(base.Add(24*time.Hour)) {
			t.Fatalf("LogBatch = %+v, %v", stored, err)
		}

		got, err := b.rdC.Get(ctx, e.ID)
		if err != nil || got.ID != e.ID {
			t.Fatalf("Get = %+v, %v", got, err)
		}
		page, err := b.rdC.Query(ctx, eventlog.Query{Actions: []string{"VIEWED"}, Limit: 1})
		if err != nil || len(page.Events) != 1 || page.Events[0].ID != stored[1].ID || page.Next == nil {
			t.Fatalf("Query page 1 = %+v, %v", page, err)
		}
		page, err = b.rdC.Query(ctx, eventlog.Query{Actions: []string{"VIEWED"}, Limit: 1, After: page.Next})
		if err != nil || len(page.Events) != 1 || page.Events[0].ID != stored[0].ID {
			t.Fatalf("Query page 2 = %+v, %v", page, err)
		}
		page, err = b.rdC.Query(ctx, eventlog.Query{ObjectType: "doc", Where: nil, Since: base.Add(time.Hour)})
		if err != nil || len(page.Events) != 1 {
			t.Fatalf("Query by object and since = %+v, %v", page, err)
		}
		acts, err := b.rdC.Actions(ctx)
		if err != nil || len(acts) != 2 || acts[0] != (eventlog.ActionCount{Action: "VIEWED", Count: 2}) {
			t.Fatalf("Actions = %+v, %v", acts, err)
		}
		st, err := b.rdC.Stats(ctx)
		if err != nil || st.UsedSeven != 1 {
			t.Fatalf("Stats = %+v, %v", st, err)
		}
		buckets, err := b.rdC.Series(ctx, eventlog.SeriesQuery{Interval: eventlog.Day, Since: base.Add(-24 * time.Hour), Until: base.Add(72 * time.Hour), Actions: []string{"VIEWED"}})
		if err != nil || len(buckets) != 4 || buckets[0].Count != 0 || buckets[1].Count != 1 || buckets[2].Count != 1 || buckets[3].Count != 0 {
			t.Fatalf("Series = %+v, %v", buckets, err)
		}
		if err := b.rdC.Ping(ctx); err != nil {
			t.Fatalf("Ping: %v", err)
		}
	})
}

func TestClientErrors(t *testing.T) {
	t.Parallel()
	forEachBackend(t, func(t *testing.T, backend string) {
		b := setup(t, backend)
		ctx := context.Background()
		var ce *client.Error

		_, err := b.writeC.Log(ctx, "")
		if !errors.As(err, &ce) || ce.Status != 400 || ce.Code != "invalid" || ce.Field != "action" || ce.Index != -1 || !errors.Is(err, eventlog.ErrInvalid) {
			t.Errorf("empty action: %#v", err)
		}
		_, err = b.writeC.LogBatch(ctx, []eventlog.Event{{Action: "OK"}, {Action: "BAD\x01"}})
		if !errors.As(err, &ce) || ce.Index != 1 || ce.Field != "action" {
			t.Errorf("bad batch: %#v", err)
		}
		_, err = b.rdC.Get(ctx, "00000000-0000-7000-8000-000000000000")
		if !errors.As(err, &ce) || ce.Status != 404 || !errors.Is(err, eventlog.ErrNotFound) {
			t.Errorf("unknown id: %#v", err)
		}
		_, err = b.rdC.Log(ctx, "A")
		if !errors.As(err, &ce) || ce.Status != 403 || ce.Code != "forbidden" {
			t.Errorf("read token ingesting: %#v", err)
		}
		_, err = client.New(b.url, "evl_wrong", nil).Actions(ctx)
		if !errors.As(err, &ce) || ce.Status != 401 || ce.Code != "unauthorized" {
			t.Errorf("wrong token: %#v", err)
		}
		_, err = b.rdC.Query(ctx, eventlog.Query{Limit: 5000})
		if !errors.As(err, &ce) || ce.Field != "limit" {
			t.Errorf("bad limit: %#v", err)
		}
	})
}

// TestRemoteLogger uses the client as a Logger's store: concurrent Log
// calls are group-committed into POSTs and all arrive.
func TestRemoteLogger(t *testing.T) {
	t.Parallel()
	forEachBackend(t, func(t *testing.T, backend string) {
		b := setup(t, backend)
		ctx := context.Background()
		remote, err := eventlog.New(b.writeC.Store(), nil)
		if err != nil {
			t.Fatal(err)
		}
		var wg sync.WaitGroup
		for i := range 50 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				if _, err := remote.Log(ctx, "REMOTE", eventlog.Extra{"i": i}); err != nil {
					t.Error(err)
				}
			}()
		}
		wg.Wait()
		if err := remote.Close(); err != nil {
			t.Fatal(err)
		}
		acts, err := b.rdC.Actions(ctx)
		if err != nil || len(acts) != 1 || acts[0].Count != 50 {
			t.Fatalf("after 50 remote Logs, actions = %+v, %v", acts, err)
		}
		if _, err := b.writeC.Store().ReadAfter(ctx, "", 1); !errors.Is(err, eventlog.ErrNotSupported) {
			t.Errorf("ReadAfter through the client = %v, want ErrNotSupported", err)
		}
	})
}
