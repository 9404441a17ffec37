package cli

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/eventlog/eventlog"
	"github.com/eventlog/eventlog/dial"
	"github.com/eventlog/eventlog/natsqueue"
)

// testNATS returns EVENTLOG_TEST_NATS, skipping the test when it is unset,
// or failing it under CI=true.
func testNATS(t *testing.T) string {
	t.Helper()
	url := os.Getenv("EVENTLOG_TEST_NATS")
	if url == "" {
		msg := "EVENTLOG_TEST_NATS is not set; to run the worker test set it, e.g. EVENTLOG_TEST_NATS=nats://127.0.0.1:4222"
		if os.Getenv("CI") == "true" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	return url
}

func TestWorkerUsage(t *testing.T) {
	t.Parallel()
	b := setup(t)
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"worker"}, "--queue is required"},
		{[]string{"worker", "--queue", "nats://127.0.0.1:1", "--batch-size", "0"}, "--batch-size"},
		{[]string{"worker", "--queue", "nats://127.0.0.1:1", "--ack-wait", "0s"}, "--ack-wait"},
		{[]string{"worker", "--queue", "nats://127.0.0.1:1", "--log-format", "xml"}, "--log-format"},
		{[]string{"worker", "--queue", "nats://127.0.0.1:1", "--replicas", "0"}, "--replicas"},
		{[]string{"worker", "--queue", "nats://127.0.0.1:1", "--max-age", "1s"}, "--max-age"},
		{[]string{"worker", "--queue", "nats://127.0.0.1:1", "--max-bytes", "0"}, "--max-bytes"},
	} {
		r := b.run(t, tc.args...)
		if r.code != ExitUsage || !strings.Contains(r.stderr, tc.want) {
			t.Errorf("eventlog %s: exit %d, stderr %q; want exit 2 naming %s", strings.Join(tc.args, " "), r.code, r.stderr, tc.want)
		}
	}
}

func TestWorkerStoresQueuedEventsAndStopsGracefully(t *testing.T) {
	t.Parallel()
	url := testNATS(t)
	b := setup(t)
	var rb [6]byte
	if _, err := rand.Read(rb[:]); err != nil {
		t.Fatal(err)
	}
	name := hex.EncodeToString(rb[:])
	cfg := &natsqueue.Config{Stream: "EVENTLOG_CLI_" + name, Subject: "eventlogcli." + name, Consumer: "w" + name}

	nc, err := nats.Connect(url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close) // after the stream is deleted (cleanups run last-in first-out)
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if _, err := natsqueue.EnsureStream(ctx, js, cfg); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := js.DeleteStream(context.Background(), cfg.Stream); err != nil {
			t.Errorf("deleting stream %s: %v", cfg.Stream, err)
		}
	})
	l, err := natsqueue.NewLogger(js, cfg)
	if err != nil {
		t.Fatal(err)
	}
	batch := make([]eventlog.Event, 100)
	for i := range batch {
		batch[i] = eventlog.Event{Action: "QUEUED", User: &eventlog.User{ID: "u1"}}
	}
	logged, err := l.LogBatch(ctx, batch)
	if err != nil {
		t.Fatal(err)
	}

	// The database exists, with its schema, before the worker opens it.
	store, err := dial.Open(ctx, b.db, dial.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	var stderr lockedBuffer
	e := &env{stdin: strings.NewReader(""), stdout: &lockedBuffer{}, stderr: &stderr, getenv: func(string) string { return "" }, now: func() time.Time { return testNow }}
	wctx, stop := context.WithCancel(ctx)
	defer stop()
	done := make(chan int, 1)
	go func() {
		done <- run(wctx, []string{"--db", b.db, "worker", "--queue", url, "--stream", cfg.Stream, "--subject", cfg.Subject, "--consumer", cfg.Consumer}, e)
	}()
	deadline := time.Now().Add(20 * time.Second)
	var got []eventlog.Event
	for time.Now().Before(deadline) {
		if got, err = store.ReadAfter(ctx, "", 1000); err != nil {
			t.Fatal(err)
		}
		if len(got) >= len(logged) {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	if len(got) != len(logged) {
		t.Fatalf("the store holds %d events, want the %d queued; worker log:\n%s", len(got), len(logged), stderr.String())
	}
	stop() // SIGINT
	select {
	case code := <-done:
		if code != ExitOK {
			t.Errorf("worker exited %d after SIGINT, want 0; stderr:\n%s", code, stderr.String())
		}
	case <-time.After(10 * time.Second):
		t.Fatal("worker did not stop 10s after SIGINT")
	}
	if !strings.Contains(stderr.String(), "worker stopped") {
		t.Errorf("stderr does not report the graceful stop:\n%s", stderr.String())
	}
}

// Two `serve --queue` nodes and one `worker` over one database, on a
// JetStream server of the test's own (so the default stream name is
// safe): an event posted to node A reaches node B's live stream, is
// stored once by the worker, and is then readable through either node.
func TestServeQueueWithWorker(t *testing.T) {
	t.Parallel()
	srv, err := server.NewServer(&server.Options{Host: "127.0.0.1", Port: -1, JetStream: true, StoreDir: t.TempDir(), NoLog: true, NoSigs: true})
	if err != nil {
		t.Fatal(err)
	}
	go srv.Start()
	if !srv.ReadyForConnections(10 * time.Second) {
		t.Fatal("embedded nats-server not ready")
	}
	t.Cleanup(func() { srv.Shutdown(); srv.WaitForShutdown() })
	queue := srv.ClientURL()

	b := setupStore(t)
	urlA, _, _ := startServe(t, b, serveOptions{queue: queue})
	urlB, logsB, _ := startServe(t, b, serveOptions{queue: queue})
	if !strings.Contains(logsB.String(), "ingesting through NATS JetStream") {
		t.Errorf("serve --queue does not say it ingests through the queue:\n%s", logsB.String())
	}

	// Node B's live stream.
	req, _ := http.NewRequest("GET", urlB+"/api/v1/stream", nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	seen := make(chan string, 16)
	go func() {
		sc := bufio.NewScanner(resp.Body)
		for sc.Scan() {
			if line := sc.Text(); strings.HasPrefix(line, "data:") {
				seen <- line
			}
		}
	}()

	status, body := httpDo(t, "POST", urlA+"/api/v1/events", "", `{"action":"QUEUED_ON_A","user":{"id":"u1","name":""}}`)
	if status != 202 {
		t.Fatalf("POST to node A: %d %s; want 202 Accepted (queued, not yet stored)", status, body)
	}
	var posted eventlog.Event
	if err := json.Unmarshal([]byte(body), &posted); err != nil || posted.ID == "" {
		t.Fatalf("POST answered %s, want the event with its id (%v)", body, err)
	}
	select {
	case line := <-seen:
		if !strings.Contains(line, posted.ID) {
			t.Errorf("node B streamed %s, want event %s", line, posted.ID)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("node B's stream did not show the event posted to node A")
	}
	if status, body := httpDo(t, "GET", urlA+"/api/v1/events?action=QUEUED_ON_A", "", ""); status != 200 || strings.Contains(body, posted.ID) {
		t.Errorf("before any worker ran, GET on node A = %d %s; want 200 without the event", status, body)
	}

	var stderr lockedBuffer
	e := &env{stdin: strings.NewReader(""), stdout: &lockedBuffer{}, stderr: &stderr, getenv: func(string) string { return "" }, now: time.Now}
	wctx, stop := context.WithCancel(context.Background())
	done := make(chan int, 1)
	go func() { done <- run(wctx, []string{"--db", b.db, "worker", "--queue", queue}, e) }()
	defer func() {
		stop()
		if code := <-done; code != ExitOK {
			t.Errorf("worker exited %d, want 0; stderr:\n%s", code, stderr.String())
		}
	}()
	deadline := time.Now().Add(20 * time.Second)
	for {
		status, body := httpDo(t, "GET", urlB+"/api/v1/events?action=QUEUED_ON_A", "", "")
		if status == 200 && strings.Count(body, posted.ID) == 1 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the worker did not store the event within 20s: GET on node B = %d %s\nworker:\n%s", status, body, stderr.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
}
