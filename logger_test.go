package eventlog_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/eventlog/eventlog"
)

type widget struct{ id int }

func (w widget) EventObject() eventlog.Object {
	return eventlog.Object{Type: "widget", ID: fmt.Sprint(w.id)}
}

func TestLogArguments(t *testing.T) {
	t.Parallel()
	b := setup(t, nil)
	ctx := context.Background()
	at := time.Date(2026, 11, 27, 10, 58, 39, 123456789, time.UTC)
	const id = "0190f2a4-8b1c-7d2e-9f3a-4b5c6d7e8f90"
	e, err := b.logger.Log(ctx, "CREATED_FOO_WIDGET",
		eventlog.User{ID: "42", Name: "alice"}, widget{17}, eventlog.Extra{"title": "Foo"}, at,
		eventlog.RequestContext{IP: "10.0.0.1"}, eventlog.ID(id))
	if err != nil {
		t.Fatal(err)
	}
	want := eventlog.Event{
		ID: id, Timestamp: at.Truncate(time.Microsecond), Action: "CREATED_FOO_WIDGET",
		User: &eventlog.User{ID: "42", Name: "alice"}, Object: &eventlog.Object{Type: "widget", ID: "17"},
		Extra: json.RawMessage(`{"title":"Foo"}`), Context: &eventlog.RequestContext{IP: "10.0.0.1"},
	}
	if diff := cmp.Diff(want, e); diff != "" {
		t.Fatalf("Log returned (-want +got):\n%s", diff)
	}
	got, err := b.store.Get(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Fatalf("stored (-want +got):\n%s", diff)
	}

	// The other spellings of the same arguments.
	e, err = b.logger.Log(ctx, "A", &eventlog.User{ID: "7"}, &eventlog.Object{Type: "t", ID: "1"},
		json.RawMessage(`{"n": 1}`), &eventlog.RequestContext{Method: "GET"})
	if err != nil {
		t.Fatal(err)
	}
	if e.User.ID != "7" || e.Object.Type != "t" || string(e.Extra) != `{"n":1}` || e.Context.Method != "GET" {
		t.Fatalf("Log with pointers = %+v", e)
	}
	e, err = b.logger.Log(ctx, "A", map[string]any{"k": "v"}, eventlog.Object{Type: "t", ID: "2"}, nil)
	if err != nil || string(e.Extra) != `{"k":"v"}` || e.User != nil {
		t.Fatalf("Log with map = %+v, %v", e, err)
	}

	_, err = b.logger.Log(ctx, "A", 42)
	wantField(t, err, "args")
	_, err = b.logger.Log(ctx, "A", eventlog.Extra{"f": func() {}})
	wantField(t, err, "extra")
	_, err = b.logger.Log(ctx, "")
	wantField(t, err, "action")
}

func TestLogUserAndRequestFromContext(t *testing.T) {
	t.Parallel()
	b := setup(t, nil)
	ctx := eventlog.ContextWithUser(context.Background(), eventlog.User{ID: "42", Name: "alice"})
	ctx = eventlog.ContextWithRequest(ctx, eventlog.RequestContext{RequestID: "r1"})
	e, err := b.logger.Log(ctx, "VIEWED")
	if err != nil {
		t.Fatal(err)
	}
	if e.User == nil || e.User.ID != "42" || e.Context == nil || e.Context.RequestID != "r1" {
		t.Fatalf("event = %+v, want user 42 and request r1 from ctx", e)
	}
	e, err = b.logger.Log(ctx, "VIEWED", eventlog.User{ID: "7"})
	if err != nil || e.User.ID != "7" {
		t.Fatalf("explicit user = %+v, %v; want 7 over the user in ctx", e.User, err)
	}
}

func TestSubscribeReceivesStoredEvents(t *testing.T) {
	t.Parallel()
	b := setup(t, nil)
	ctx := context.Background()
	events, cancel := b.logger.SubscribeChan(10)
	e, err := b.logger.Log(ctx, "A")
	if err != nil {
		t.Fatal(err)
	}
	// Logging the same id again stores nothing and notifies no one.
	if _, err := b.logger.Log(ctx, "A", eventlog.ID(e.ID)); err != nil {
		t.Fatal(err)
	}
	if _, err := b.logger.Log(ctx, "B"); err != nil {
		t.Fatal(err)
	}
	got := []string{(<-events).Action, (<-events).Action}
	if diff := cmp.Diff([]string{"A", "B"}, got); diff != "" {
		t.Fatalf("received (-want +got):\n%s", diff)
	}
	cancel()
	if _, ok := <-events; ok {
		t.Fatal("channel still open after cancel")
	}
	if _, err := b.logger.Log(ctx, "C"); err != nil {
		t.Fatal(err)
	}
}

func TestSubscriberPanicIsRecovered(t *testing.T) {
	t.Parallel()
	var logBuf syncBuffer
	b := setup(t, &eventlog.Config{ErrorLog: slog.New(slog.NewTextHandler(&logBuf, nil))})
	var mu sync.Mutex
	var panicked, healthy []string
	all := make(chan struct{})
	b.logger.Subscribe(func(e eventlog.Event) {
		mu.Lock()
		panicked = append(panicked, e.Action)
		mu.Unlock()
		if e.Action == "BOOM" {
			panic("subscriber bug")
		}
	})
	cancel := b.logger.Subscribe(func(e eventlog.Event) {
		mu.Lock()
		healthy = append(healthy, e.Action)
		n := len(healthy)
		mu.Unlock()
		if n == 2 {
			close(all)
		}
	})
	for _, a := range []string{"BOOM", "AFTER"} {
		if _, err := b.logger.Log(context.Background(), a); err != nil {
			t.Fatal(err)
		}
	}
	<-all
	cancel()
	b.logger.Close() // waits for the panicking subscriber to finish
	mu.Lock()
	defer mu.Unlock()
	if diff := cmp.Diff([]string{"BOOM", "AFTER"}, panicked); diff != "" {
		t.Fatalf("panicking subscriber received (-want +got):\n%s", diff)
	}
	if !strings.Contains(logBuf.String(), "subscriber bug") {
		t.Fatalf("panic not logged; error log: %q", logBuf.String())
	}
}

func TestSlowSubscriberNeverBlocksLog(t *testing.T) {
	t.Parallel()
	b := setup(t, nil)
	_, cancel := b.logger.SubscribeChan(1) // never read
	defer cancel()
	stuck := make(chan struct{})
	defer close(stuck)
	b.logger.Subscribe(func(eventlog.Event) { <-stuck })
	ctx, stop := context.WithTimeout(context.Background(), 10*time.Second)
	defer stop()
	for i := range 20 {
		if _, err := b.logger.Log(ctx, "A"); err != nil {
			t.Fatalf("Log %d: %v", i, err)
		}
	}
	// The channel keeps 1 and drops 19; the stuck callback holds 1 in
	// hand and its default buffer of 1024 takes the rest.
	if got := b.logger.Metrics().SubscriberDrops; got != 19 {
		t.Fatalf("SubscriberDrops = %d, want 19", got)
	}
}

func TestGroupCommit(t *testing.T) {
	t.Parallel()
	slow := &slowStore{Store: newStore(t), d: 2 * time.Millisecond}
	b := setupOn(t, slow, nil)
	const n = 200
	var wg sync.WaitGroup
	results := make([]eventlog.Event, n)
	errs := make([]error, n)
	for i := range n {
		wg.Go(func() {
			results[i], errs[i] = b.logger.Log(context.Background(), "A", eventlog.Extra{"i": i})
		})
	}
	wg.Wait()
	seen := map[string]bool{}
	for i, e := range results {
		if errs[i] != nil {
			t.Fatalf("Log %d: %v", i, errs[i])
		}
		if string(e.Extra) != fmt.Sprintf(`{"i":%d}`, i) {
			t.Fatalf("call %d got the event %s of another call", i, e.Extra)
		}
		seen[e.ID] = true
	}
	if len(seen) != n {
		t.Fatalf("%d distinct ids for %d calls", len(seen), n)
	}
	if ids := storedIDs(t, b.store); len(ids) != n {
		t.Fatalf("stored %d events, want %d", len(ids), n)
	}
	m := b.logger.Metrics()
	if m.Batches >= n || slow.inserts.Load() >= n {
		t.Fatalf("%d batches (%d inserts) for %d concurrent calls: no group commit", m.Batches, slow.inserts.Load(), n)
	}
	if m.Written != n || m.BatchSize.Count != uint64(m.Batches) || m.BatchSize.Sum != n {
		t.Fatalf("metrics = %+v", m)
	}
	t.Logf("%d concurrent calls in %d transactions", n, m.Batches)
}

func TestLogBatchIsAtomic(t *testing.T) {
	t.Parallel()
	for _, mode := range []eventlog.Mode{eventlog.Sync, eventlog.Async} {
		t.Run(mode.String(), func(t *testing.T) {
			t.Parallel()
			b := setup(t, &eventlog.Config{Mode: mode, FlushInterval: time.Millisecond})
			ctx := context.Background()
			_, err := b.logger.LogBatch(ctx, []eventlog.Event{{Action: "A"}, {Action: "B"}, {Action: "C", User: &eventlog.User{Name: "x"}}})
			var ve *eventlog.ValidationError
			if !errors.As(err, &ve) || ve.Index != 2 || ve.Field != "user.id" {
				t.Fatalf("LogBatch error = %v, want user.id at index 2", err)
			}
			got, err := b.logger.LogBatch(ctx, []eventlog.Event{{Action: "A"}, {Action: "B"}})
			if err != nil || len(got) != 2 || got[0].ID == "" {
				t.Fatalf("LogBatch = %v, %v", got, err)
			}
			if err := b.logger.Flush(ctx); err != nil {
				t.Fatal(err)
			}
			if ids := storedIDs(t, b.store); len(ids) != 2 || ids[got[0].ID] != 1 || ids[got[1].ID] != 1 {
				t.Fatalf("stored %v, want exactly the 2 events of the good batch", ids)
			}
		})
	}
}

// TestDefaultLogger is not parallel: it swaps the package's default.
func TestDefaultLogger(t *testing.T) {
	prev := eventlog.Default()
	defer eventlog.SetDefault(prev)
	eventlog.SetDefault(nil)
	if _, err := eventlog.Log(context.Background(), "A"); !errors.Is(err, eventlog.ErrNoDefault) {
		t.Fatalf("Log without default = %v, want ErrNoDefault", err)
	}
	b := setup(t, nil)
	eventlog.SetDefault(b.logger)
	e, err := eventlog.Log(context.Background(), "SIGNED_UP", eventlog.User{ID: "1"})
	if err != nil {
		t.Fatal(err)
	}
	e2, err := eventlog.LogEvent(context.Background(), eventlog.Event{Action: "B"})
	if err != nil {
		t.Fatal(err)
	}
	if ids := storedIDs(t, b.store); ids[e.ID] != 1 || ids[e2.ID] != 1 {
		t.Fatalf("stored %v, want %s and %s", ids, e.ID, e2.ID)
	}
}

func TestClosedLogger(t *testing.T) {
	t.Parallel()
	for _, mode := range []eventlog.Mode{eventlog.Sync, eventlog.Async} {
		b := setup(t, &eventlog.Config{Mode: mode})
		if err := b.logger.Close(); err != nil {
			t.Fatal(err)
		}
		if _, err := b.logger.Log(context.Background(), "A"); !errors.Is(err, eventlog.ErrClosed) {
			t.Fatalf("%v: Log after Close = %v, want ErrClosed", mode, err)
		}
		if err := b.logger.Close(); err != nil {
			t.Fatalf("second Close: %v", err)
		}
	}
}

func TestConfigValidated(t *testing.T) {
	t.Parallel()
	s := newStore(t)
	for name, cfg := range map[string]eventlog.Config{
		"MaxBatch":      {MaxBatch: -1},
		"BufferSize":    {BufferSize: -5},
		"Mode":          {Mode: 7},
		"WhenFull":      {WhenFull: 9},
		"SpoolDir":      {Mode: eventlog.Spooled},
		"FlushInterval": {FlushInterval: -time.Second},
	} {
		_, err := eventlog.New(s, &cfg)
		if err == nil || !strings.Contains(err.Error(), name) {
			t.Errorf("New with bad %s: error %v, want one naming %s", name, err, name)
		}
	}
	if _, err := eventlog.New(nil, nil); err == nil {
		t.Error("New(nil store) succeeded")
	}
}

// TestLogAllocs keeps the async hot path cheap: validation and queueing
// only, the store held so the background writer allocates nothing
// meanwhile. Not parallel: AllocsPerRun counts the whole process.
func TestLogAllocs(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector adds allocations")
	}
	gate := newGateStore(newStore(t))
	b := setupOn(t, gate, &eventlog.Config{Mode: eventlog.Async, BufferSize: 4096, MaxBatch: 1})
	defer gate.release()
	ctx := context.Background()
	if _, err := b.logger.LogEvent(ctx, eventlog.Event{Action: "WARM"}); err != nil {
		t.Fatal(err)
	}
	<-gate.entered // the writer is parked in Insert
	e := eventlog.Event{Action: "CREATED_FOO_WIDGET", Extra: json.RawMessage(`{"title":"Foo"}`)}
	allocs := testing.AllocsPerRun(1000, func() {
		if _, err := b.logger.LogEvent(ctx, e); err != nil {
			t.Fatal(err)
		}
	})
	if allocs > 3 {
		t.Fatalf("LogEvent in Async mode: %v allocations per call, want <= 3", allocs)
	}
	t.Logf("%v allocations per async LogEvent", allocs)
}

// syncBuffer is a bytes.Buffer safe for a log handler and a test.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}
