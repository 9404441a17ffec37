package cli

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"os"
	"strings"
	"testing"
	"time"

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
	defer nc.Close()
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if _, err := natsqueue.EnsureStream(ctx, js, cfg); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { js.DeleteStream(context.Background(), cfg.Stream) })
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

	var stderr lockedBuffer
	e := &env{stdin: strings.NewReader(""), stdout: &lockedBuffer{}, stderr: &stderr, getenv: func(string) string { return "" }, now: func() time.Time { return testNow }}
	wctx, stop := context.WithCancel(ctx)
	done := make(chan int, 1)
	go func() {
		done <- run(wctx, []string{"--db", b.db, "worker", "--queue", url, "--stream", cfg.Stream, "--subject", cfg.Subject, "--consumer", cfg.Consumer}, e)
	}()

	store, err := dial.Open(ctx, b.db, dial.Options{})
	deadline := time.Now().Add(20 * time.Second)
	for err != nil && time.Now().Before(deadline) { // the worker creates the file
		time.Sleep(50 * time.Millisecond)
		store, err = dial.Open(ctx, b.db, dial.Options{})
	}
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
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
		t.Fatalf("the store holds %d events, want the %d queued", len(got), len(logged))
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
