package natsqueue_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/eventlog/eventlog"
	"github.com/eventlog/eventlog/natsqueue"
	"github.com/eventlog/eventlog/pgstore"
	"github.com/eventlog/eventlog/sqlitestore"
)

// natsURL is EVENTLOG_TEST_NATS when set (CI sets it to the machine's
// server), else an embedded JetStream server started by TestMain, so the
// tests always run against a real JetStream.
var natsURL string

func TestMain(m *testing.M) {
	natsURL = os.Getenv("EVENTLOG_TEST_NATS")
	var srv *server.Server
	if natsURL == "" {
		dir, err := os.MkdirTemp("", "natsqueue-js-")
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		srv, err = startServer(&server.Options{StoreDir: dir})
		if err != nil {
			fmt.Fprintln(os.Stderr, "embedded nats-server:", err)
			os.Exit(1)
		}
		natsURL = srv.ClientURL()
		defer os.RemoveAll(dir)
	}
	code := m.Run()
	if srv != nil {
		srv.Shutdown()
		srv.WaitForShutdown()
	}
	os.Exit(code)
}

// startServer starts an embedded JetStream server on a random loopback
// port unless opts says otherwise.
func startServer(opts *server.Options) (*server.Server, error) {
	opts.JetStream = true
	if opts.Host == "" {
		opts.Host = "127.0.0.1"
	}
	if opts.Port == 0 {
		opts.Port = -1
	}
	opts.NoLog, opts.NoSigs = true, true
	s, err := server.NewServer(opts)
	if err != nil {
		return nil, err
	}
	go s.Start()
	if !s.ReadyForConnections(10 * time.Second) {
		s.Shutdown()
		return nil, errors.New("not ready after 10s")
	}
	return s, nil
}

func randomName() string {
	var b [6]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic(err)
	}
	return hex.EncodeToString(b[:])
}

// bundle is what a test gets from setup: a connection, JetStream, a
// config naming a stream of its own, the registry the metrics go to, and
// a migrated store in a fresh database.
type bundle struct {
	nc    *nats.Conn
	js    jetstream.JetStream
	cfg   *natsqueue.Config
	reg   *prometheus.Registry
	store eventlog.Store
}

func setup(t testing.TB) *bundle {
	t.Helper()
	ctx := context.Background()
	name := randomName()
	cfg := &natsqueue.Config{
		Stream:      "EVENTLOG_TEST_" + name,
		Subject:     "eventlogtest." + name,
		Consumer:    "worker-" + name,
		FetchWait:   100 * time.Millisecond,
		AckWait:     2 * time.Second,
		NakDelay:    50 * time.Millisecond,
		MaxNakDelay: 200 * time.Millisecond,
		MaxAge:      time.Hour,
		Registerer:  prometheus.NewRegistry(),
	}
	nc, js := connect(t, natsURL)
	if _, err := natsqueue.EnsureStream(ctx, js, cfg); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := js.DeleteStream(context.Background(), cfg.Stream); err != nil {
			t.Errorf("deleting stream %s: %v", cfg.Stream, err)
		}
	})
	return &bundle{nc: nc, js: js, cfg: cfg, reg: cfg.Registerer.(*prometheus.Registry), store: newStore(t)}
}

func connect(t testing.TB, url string) (*nats.Conn, jetstream.JetStream) {
	t.Helper()
	nc, err := nats.Connect(url, nats.MaxReconnects(-1), nats.ReconnectWait(100*time.Millisecond))
	if err != nil {
		t.Fatalf("connecting to NATS at %s: %v", url, err)
	}
	t.Cleanup(nc.Close)
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	return nc, js
}

// newStore opens a migrated store for one test: PostgreSQL in a fresh
// schema, dropped at cleanup, when EVENTLOG_TEST_POSTGRES is set (CI sets
// it), else a SQLite file in t.TempDir(), so the tests always run on a
// real database.
func newStore(t testing.TB) eventlog.Store {
	t.Helper()
	ctx := context.Background()
	url := os.Getenv("EVENTLOG_TEST_POSTGRES")
	if url == "" {
		s, err := sqlitestore.Open(ctx, filepath.Join(t.TempDir(), "events.db"), nil)
		if err != nil {
			t.Fatalf("sqlitestore.Open: %v", err)
		}
		t.Cleanup(func() { s.Close() })
		return s
	}
	schema := "eventlog_natsqueue_" + randomName()
	pgExec(t, url, "CREATE SCHEMA "+schema)
	t.Cleanup(func() { pgExec(t, url, "DROP SCHEMA "+schema+" CASCADE") })
	s, err := pgstore.Open(ctx, url, &pgstore.Options{Migrate: true, Schema: schema})
	if err != nil {
		t.Fatalf("pgstore.Open: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	return s
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

// events returns n normalized events with distinct ids.
func events(t testing.TB, n int, action string) []eventlog.Event {
	t.Helper()
	now := time.Now()
	out := make([]eventlog.Event, n)
	for i := range out {
		out[i] = eventlog.Event{
			Action: action,
			User:   &eventlog.User{ID: fmt.Sprint("u", i%7), Name: "User"},
			Extra:  []byte(fmt.Sprintf(`{"i":%d}`, i)),
		}
		if err := out[i].Normalize(now); err != nil {
			t.Fatal(err)
		}
	}
	return out
}

// storedIDs reads every stored event in write order and returns how many
// times each id is stored.
func storedIDs(t testing.TB, s eventlog.Store) map[string]int {
	t.Helper()
	ids := map[string]int{}
	after := ""
	for {
		page, err := s.ReadAfter(context.Background(), after, 1000)
		if err != nil {
			t.Fatalf("ReadAfter(%q): %v", after, err)
		}
		for _, e := range page {
			ids[e.ID]++
		}
		if len(page) < 1000 {
			return ids
		}
		after = page[len(page)-1].ID
	}
}

// waitStored waits until the store holds n events and fails otherwise.
func waitStored(t testing.TB, s eventlog.Store, n int, within time.Duration) map[string]int {
	t.Helper()
	deadline := time.Now().Add(within)
	for {
		ids := storedIDs(t, s)
		if len(ids) >= n || time.Now().After(deadline) {
			if len(ids) != n {
				t.Fatalf("store holds %d events after %s, want %d", len(ids), within, n)
			}
			return ids
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// checkExactlyOnce fails unless every event of want is stored exactly
// once and nothing else is stored.
func checkExactlyOnce(t testing.TB, ids map[string]int, want []eventlog.Event) {
	t.Helper()
	if len(ids) != len(want) {
		t.Errorf("store holds %d distinct events, want %d", len(ids), len(want))
	}
	for _, e := range want {
		if n := ids[e.ID]; n != 1 {
			t.Errorf("event %s stored %d times, want once", e.ID, n)
		}
	}
}

// runWorker runs w until the test ends (or stop is called) and checks
// that Run returned nil.
func runWorker(t testing.TB, w *natsqueue.Worker) (stop func()) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- w.Run(ctx) }()
	var once sync.Once
	stop = func() {
		once.Do(func() {
			cancel()
			select {
			case err := <-done:
				if err != nil {
					t.Errorf("Worker.Run: %v", err)
				}
			case <-time.After(10 * time.Second):
				t.Errorf("Worker.Run did not return 10s after its context was cancelled")
			}
		})
	}
	t.Cleanup(stop)
	return stop
}

// metric returns the value of a counter or gauge, or the sample count of
// a histogram, gathered from reg.
func metric(t testing.TB, reg *prometheus.Registry, name string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
		m := mf.GetMetric()[0]
		switch {
		case m.Counter != nil:
			return m.GetCounter().GetValue()
		case m.Gauge != nil:
			return m.GetGauge().GetValue()
		case m.Histogram != nil:
			return float64(m.GetHistogram().GetSampleCount())
		}
	}
	t.Fatalf("metric %s is not registered", name)
	return 0
}

// faultyStore wraps a real store and injects the failures the worker must
// survive: a database that refuses writes for a while, or a worker that
// hangs after its commit and before its acknowledgement.
type faultyStore struct {
	eventlog.Store
	failing atomic.Bool
	// refused, when set, is an event id the database rejects: any batch
	// holding it fails, as with a constraint the data breaks.
	refused atomic.Value
	// afterCommit, when set, runs after a successful Insert.
	afterCommit func()
}

func (s *faultyStore) Insert(ctx context.Context, events []eventlog.Event) ([]eventlog.Event, []bool, error) {
	if s.failing.Load() {
		return nil, nil, errors.New("injected fault: database unavailable")
	}
	if id, _ := s.refused.Load().(string); id != "" {
		for _, e := range events {
			if e.ID == id {
				return nil, nil, fmt.Errorf("injected fault: event %s violates a constraint", id)
			}
		}
	}
	stored, inserted, err := s.Store.Insert(ctx, events)
	if err == nil && s.afterCommit != nil {
		s.afterCommit()
	}
	return stored, inserted, err
}

func (s *faultyStore) Ping(ctx context.Context) error {
	if s.failing.Load() {
		return errors.New("injected fault: database unavailable")
	}
	return s.Store.Ping(ctx)
}
