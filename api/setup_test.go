package api_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/eventlog/eventlog"
	"github.com/eventlog/eventlog/api"
	"github.com/eventlog/eventlog/auth"
	"github.com/eventlog/eventlog/pgstore"
	"github.com/eventlog/eventlog/sqlitestore"
)

// backends are the stores every end-to-end test runs against: a temporary
// SQLite file always, PostgreSQL when EVENTLOG_TEST_POSTGRES is set.
var backends = []struct {
	name string
	open func(t testing.TB) eventlog.Store
}{
	{"sqlite", openSQLite},
	{"postgres", openPostgres},
}

func openSQLite(t testing.TB) eventlog.Store {
	t.Helper()
	st, err := sqlitestore.Open(context.Background(), filepath.Join(t.TempDir(), "events.db"), nil)
	if err != nil {
		t.Fatalf("opening a temporary SQLite store: %v", err)
	}
	return st
}

func openPostgres(t testing.TB) eventlog.Store {
	t.Helper()
	url := os.Getenv("EVENTLOG_TEST_POSTGRES")
	if url == "" {
		msg := "EVENTLOG_TEST_POSTGRES is not set; to run the API tests over PostgreSQL set it, e.g. EVENTLOG_TEST_POSTGRES=postgres://postgres@127.0.0.1:5432/test?sslmode=disable"
		if os.Getenv("CI") == "true" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	var b [6]byte
	rand.Read(b[:])
	schema := "eventlog_api_test_" + hex.EncodeToString(b[:])
	pgExec(t, url, "CREATE SCHEMA "+schema)
	t.Cleanup(func() { pgExec(t, url, "DROP SCHEMA "+schema+" CASCADE") })
	st, err := pgstore.Open(context.Background(), url, &pgstore.Options{Migrate: true, Schema: schema})
	if err != nil {
		t.Fatalf("opening PostgreSQL store: %v", err)
	}
	return st
}

func pgExec(t testing.TB, url, sql string) {
	t.Helper()
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatalf("connecting to PostgreSQL: %v", err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, sql); err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
}

// forEachBackend runs fn as a parallel subtest per store.
func forEachBackend(t *testing.T, fn func(t *testing.T, open func(testing.TB) eventlog.Store)) {
	t.Helper()
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			t.Parallel()
			fn(t, b.open)
		})
	}
}

// bundle is a running server and what a test needs to talk to it.
type bundle struct {
	url    string
	store  eventlog.Store
	logger *eventlog.Logger
	tokens *auth.Tokens
	server *api.Server
	reg    *prometheus.Registry
	// Tokens of each scope, created by setup when withTokens.
	admin, write, read string
}

type setupOpts struct {
	noTokens  bool          // create no token: the API is open to loopback
	keepAlive time.Duration // stream keep-alive
	streamBuf int           // live events buffered per stream
	timeouts  time.Duration // the server's read and write timeouts
}

// setup starts the real server on a free loopback port over store.
func setup(t *testing.T, store eventlog.Store, o setupOpts) *bundle {
	t.Helper()
	ctx := context.Background()
	logger, err := eventlog.New(store, &eventlog.Config{ErrorLog: quietLog()})
	if err != nil {
		t.Fatal(err)
	}
	tokens, err := auth.New(store, nil)
	if err != nil {
		t.Fatal(err)
	}
	b := &bundle{store: store, logger: logger, tokens: tokens, reg: prometheus.NewRegistry()}
	if !o.noTokens {
		for _, x := range []struct {
			dst   *string
			scope auth.Scope
		}{{&b.admin, auth.Admin}, {&b.write, auth.Write}, {&b.read, auth.Read}} {
			if *x.dst, err = tokens.Create(ctx, "test-"+string(x.scope), x.scope); err != nil {
				t.Fatal(err)
			}
		}
	}
	h, err := api.New(&api.Config{Logger: logger, Tokens: tokens, Registry: b.reg, Log: quietLog(), KeepAlive: o.keepAlive, StreamBuffer: o.streamBuf})
	if err != nil {
		t.Fatal(err)
	}
	b.server, err = api.NewServer(h, &api.ServerConfig{Log: quietLog(), ShutdownTimeout: 5 * time.Second, ReadHeaderTimeout: o.timeouts, ReadTimeout: o.timeouts, WriteTimeout: o.timeouts})
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	b.url = "http://" + ln.Addr().String()
	done := make(chan error, 1)
	go func() { done <- b.server.Serve(ln) }()
	t.Cleanup(func() {
		b.server.Shutdown(context.Background())
		if err := <-done; err != nil {
			t.Errorf("Serve: %v", err)
		}
		logger.Close()
		store.Close()
	})
	return b
}

// quietLog discards logs unless -v and EVENTLOG_TEST_LOG are set.
func quietLog() *slog.Logger {
	if os.Getenv("EVENTLOG_TEST_LOG") != "" {
		return slog.New(slog.NewTextHandler(os.Stderr, nil))
	}
	return slog.New(slog.NewTextHandler(io.Discard, nil))
}

// do sends a request with an optional bearer token and returns the
// status and body.
func (b *bundle) do(t testing.TB, method, path, token, body string) (int, string) {
	t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, b.url+path, rd)
	if err != nil {
		t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, string(data)
}
