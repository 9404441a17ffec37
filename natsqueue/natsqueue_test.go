package natsqueue_test

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/eventlog/eventlog"
	"github.com/eventlog/eventlog/natsqueue"
)

func TestConfigDefaultsAndValidation(t *testing.T) {
	t.Parallel()
	sc, err := natsqueue.StreamConfig(nil)
	if err != nil {
		t.Fatal(err)
	}
	if sc.Name != "EVENTLOG" || len(sc.Subjects) != 1 || sc.Subjects[0] != "eventlog.events.>" ||
		sc.Retention != jetstream.LimitsPolicy || sc.Replicas != 1 || sc.MaxAge != 7*24*time.Hour ||
		sc.Duplicates != 2*time.Minute || sc.Storage != jetstream.FileStorage {
		t.Errorf("default stream config = %+v", sc)
	}
	for _, tc := range []struct {
		cfg   natsqueue.Config
		field string
	}{
		{natsqueue.Config{Stream: "a.b"}, "Stream"},
		{natsqueue.Config{Subject: "events.*"}, "Subject"},
		{natsqueue.Config{Replicas: 7}, "Replicas"},
		{natsqueue.Config{BatchSize: -1}, "BatchSize"},
		{natsqueue.Config{BatchSize: 100, MaxAckPending: 10}, "MaxAckPending"},
		{natsqueue.Config{MaxAge: time.Minute}, "DuplicateWindow"},
		{natsqueue.Config{NakDelay: time.Minute, MaxNakDelay: time.Second}, "MaxNakDelay"},
		{natsqueue.Config{Consumer: "a b"}, "Consumer"},
		{natsqueue.Config{TailBuffer: -1}, "TailBuffer"},
	} {
		_, err := natsqueue.StreamConfig(&tc.cfg)
		if err == nil || !strings.Contains(err.Error(), tc.field) {
			t.Errorf("StreamConfig(%+v) = %v, want an error naming %s", tc.cfg, err, tc.field)
		}
	}
}

func TestPublishReturnsAfterAck(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := context.Background()
	pub, err := natsqueue.NewPublisher(b.js, b.cfg)
	if err != nil {
		t.Fatal(err)
	}
	one := events(t, 1, "SINGLE")
	many := events(t, 300, "MANY")
	if err := pub.Publish(ctx, one); err != nil {
		t.Fatal(err)
	}
	if err := pub.Publish(ctx, many); err != nil {
		t.Fatal(err)
	}
	// Acknowledged means stored in the stream: no waiting needed.
	s, err := b.js.Stream(ctx, b.cfg.Stream)
	if err != nil {
		t.Fatal(err)
	}
	info, err := s.Info(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if info.State.Msgs != 301 {
		t.Errorf("stream holds %d messages right after Publish returned, want 301", info.State.Msgs)
	}
	m, err := s.GetLastMsgForSubject(ctx, b.cfg.Subject+".SINGLE")
	if err != nil {
		t.Fatal(err)
	}
	if got := m.Header.Get(jetstream.MsgIDHeader); got != one[0].ID {
		t.Errorf("Nats-Msg-Id = %q, want the event id %q", got, one[0].ID)
	}
	if got := metric(t, b.reg, "eventlog_queue_published_total"); got != 301 {
		t.Errorf("eventlog_queue_published_total = %v, want 301", got)
	}
	if got := metric(t, b.reg, "eventlog_queue_publish_seconds"); got != 2 {
		t.Errorf("publish latency observations = %v, want 2 (one per call)", got)
	}

	// Without a stream nobody acknowledges: Publish must fail, not
	// pretend.
	noStream := *b.cfg
	noStream.Stream, noStream.Subject = "EVENTLOG_MISSING_"+randomName(), "eventlogmissing."+randomName()
	noStream.Registerer = prometheus.NewRegistry()
	lost, err := natsqueue.NewPublisher(b.js, &noStream)
	if err != nil {
		t.Fatal(err)
	}
	tctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	if err := lost.Publish(tctx, events(t, 1, "X")); err == nil {
		t.Error("Publish of one event to a missing stream succeeded")
	}
	if err := lost.Publish(tctx, events(t, 3, "X")); err == nil {
		t.Error("Publish of a batch to a missing stream succeeded")
	}

	// Events that were not normalized are refused, naming the field.
	err = pub.Publish(ctx, []eventlog.Event{many[0], {Action: "RAW"}})
	var ve *eventlog.ValidationError
	if !errors.As(err, &ve) || ve.Field != "id" || ve.Index != 1 {
		t.Errorf("Publish of an unnormalized event = %v, want a ValidationError for id at index 1", err)
	}
}

func TestLoggerPublishesPreparedEvents(t *testing.T) {
	t.Parallel()
	b := setup(t)
	l, err := natsqueue.NewLogger(b.js, b.cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx := eventlog.ContextWithUser(context.Background(), eventlog.User{ID: "42", Name: "Ada"})
	ctx = eventlog.ContextWithRequest(ctx, eventlog.RequestContext{RequestID: "req-1"})
	e, err := l.Log(ctx, "CREATED_FOO_WIDGET", eventlog.Object{Type: "widget", ID: "7"}, eventlog.Extra{"title": "Foo"})
	if err != nil {
		t.Fatal(err)
	}
	if e.ID == "" || e.Timestamp.IsZero() || e.User == nil || e.User.ID != "42" || e.Context == nil || e.Context.RequestID != "req-1" {
		t.Errorf("Log returned %+v, want id, timestamp, user and request context filled", e)
	}
	batch, err := l.LogBatch(ctx, []eventlog.Event{{Action: "A"}, {Action: "B", User: &eventlog.User{ID: "9"}}})
	if err != nil {
		t.Fatal(err)
	}
	if batch[0].User.ID != "42" || batch[1].User.ID != "9" {
		t.Errorf("LogBatch users = %v, %v; want 42 from ctx and 9 as given", batch[0].User, batch[1].User)
	}
	_, err = l.LogBatch(ctx, []eventlog.Event{{Action: "OK"}, {Action: ""}})
	var ve *eventlog.ValidationError
	if !errors.As(err, &ve) || ve.Field != "action" || ve.Index != 1 {
		t.Errorf("LogBatch with an empty action = %v, want a ValidationError for action at index 1", err)
	}

	// What was acknowledged reaches the store unchanged.
	w, err := natsqueue.NewWorker(b.js, b.store, b.cfg)
	if err != nil {
		t.Fatal(err)
	}
	runWorker(t, w)
	waitStored(t, b.store, 3, 10*time.Second)
	got, err := b.store.Get(context.Background(), e.ID)
	if err != nil {
		t.Fatal(err)
	}
	if string(got.AppendJSON(nil)) != string(e.AppendJSON(nil)) {
		t.Errorf("stored %s\nlogged %s", got.AppendJSON(nil), e.AppendJSON(nil))
	}
}

func TestWorkerStoresEachEventOnce(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := context.Background()
	pub, err := natsqueue.NewPublisher(b.js, b.cfg)
	if err != nil {
		t.Fatal(err)
	}
	want := events(t, 2000, "STORED_ONCE")
	var wg sync.WaitGroup
	for i := 0; i < len(want); i += 250 {
		wg.Go(func() {
			if err := pub.Publish(ctx, want[i:i+250]); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	// A client that retries a publish it thinks failed: JetStream drops
	// the repeat within the duplicate window.
	if err := pub.Publish(ctx, want[:100]); err != nil {
		t.Fatal(err)
	}
	if got := metric(t, b.reg, "eventlog_queue_publish_duplicates_total"); got != 100 {
		t.Errorf("publish duplicates = %v, want 100", got)
	}
	w, err := natsqueue.NewWorker(b.js, b.store, b.cfg)
	if err != nil {
		t.Fatal(err)
	}
	stop := runWorker(t, w)
	ids := waitStored(t, b.store, len(want), 20*time.Second)
	stop()
	checkExactlyOnce(t, ids, want)
	if got := metric(t, b.reg, "eventlog_queue_stored_total"); got != 2000 {
		t.Errorf("eventlog_queue_stored_total = %v, want 2000", got)
	}
	undelivered, unacked, err := w.Pending(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if undelivered != 0 || unacked != 0 {
		t.Errorf("after a graceful stop the consumer has %d undelivered and %d unacknowledged messages, want 0 and 0", undelivered, unacked)
	}
}

func TestDuplicateIDStoredOnce(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := context.Background()
	want := events(t, 10, "DUP")
	// Five were stored before (say, by a worker that crashed before its
	// ack) and the dedupe window has passed: JetStream takes them again,
	// and the store must skip them.
	if _, _, err := b.store.Insert(ctx, want[:5]); err != nil {
		t.Fatal(err)
	}
	pub, err := natsqueue.NewPublisher(b.js, b.cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := pub.Publish(ctx, want); err != nil {
		t.Fatal(err)
	}
	w, err := natsqueue.NewWorker(b.js, b.store, b.cfg)
	if err != nil {
		t.Fatal(err)
	}
	runWorker(t, w)
	ids := waitStored(t, b.store, 10, 10*time.Second)
	checkExactlyOnce(t, ids, want)
	deadline := time.Now().Add(5 * time.Second)
	for metric(t, b.reg, "eventlog_queue_store_duplicates_total") != 5 && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	if got := metric(t, b.reg, "eventlog_queue_store_duplicates_total"); got != 5 {
		t.Errorf("store duplicates = %v, want 5", got)
	}
}

func TestTwoWorkersShareWork(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := context.Background()
	cfg := *b.cfg
	cfg.BatchSize = 20
	want := events(t, 3000, "SHARED")
	pub, err := natsqueue.NewPublisher(b.js, &cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := pub.Publish(ctx, want); err != nil {
		t.Fatal(err)
	}
	regs := [2]*prometheus.Registry{prometheus.NewRegistry(), prometheus.NewRegistry()}
	for _, reg := range regs {
		c := cfg
		c.Registerer = reg
		w, err := natsqueue.NewWorker(b.js, b.store, &c)
		if err != nil {
			t.Fatal(err)
		}
		runWorker(t, w)
	}
	ids := waitStored(t, b.store, len(want), 30*time.Second)
	checkExactlyOnce(t, ids, want)
	a, c := metric(t, regs[0], "eventlog_queue_stored_total"), metric(t, regs[1], "eventlog_queue_stored_total")
	if a == 0 || c == 0 || a+c != 3000 {
		t.Errorf("workers stored %v and %v events, want both > 0 and 3000 in all", a, c)
	}
}

func TestWorkerKilledMidBatchIsRedeliveredAndStoredOnce(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := context.Background()
	want := events(t, 500, "KILLED")
	pub, err := natsqueue.NewPublisher(b.js, b.cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := pub.Publish(ctx, want); err != nil {
		t.Fatal(err)
	}
	cfg := *b.cfg
	cfg.BatchSize = 100

	// Worker 1 "dies" twice: it takes a batch and never answers (killed
	// before commit), then commits a batch and hangs before acknowledging
	// it (killed after commit). Neither batch is acknowledged.
	cons, err := b.js.CreateOrUpdateConsumer(ctx, cfg.Stream, jetstream.ConsumerConfig{
		Durable: cfg.Consumer, AckPolicy: jetstream.AckExplicitPolicy, AckWait: cfg.AckWait,
		MaxDeliver: -1, FilterSubject: cfg.Subject + ".>", MaxAckPending: 8 * cfg.BatchSize,
	})
	if err != nil {
		t.Fatal(err)
	}
	batch, err := cons.Fetch(cfg.BatchSize, jetstream.FetchMaxWait(2*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	taken := 0
	for range batch.Messages() {
		taken++
	}
	if taken != cfg.BatchSize {
		t.Fatalf("the dying worker took %d messages, want %d", taken, cfg.BatchSize)
	}
	hung := make(chan struct{})
	release := make(chan struct{})
	dying := &faultyStore{Store: b.store}
	var once sync.Once
	dying.afterCommit = func() {
		once.Do(func() { close(hung) })
		<-release
	}
	c1 := cfg
	c1.Registerer = prometheus.NewRegistry()
	w1, err := natsqueue.NewWorker(b.js, dying, &c1)
	if err != nil {
		t.Fatal(err)
	}
	ctx1, cancel1 := context.WithCancel(ctx)
	done1 := make(chan error, 1)
	go func() { done1 <- w1.Run(ctx1) }()
	t.Cleanup(func() {
		cancel1()
		close(release)
		<-done1
	})
	select {
	case <-hung:
	case <-time.After(10 * time.Second):
		t.Fatal("the dying worker never committed a batch")
	}

	// Worker 2 gets everything, including both unacknowledged batches
	// after AckWait.
	c2 := cfg
	c2.Registerer = prometheus.NewRegistry()
	w2, err := natsqueue.NewWorker(b.js, b.store, &c2)
	if err != nil {
		t.Fatal(err)
	}
	runWorker(t, w2)
	ids := waitStored(t, b.store, len(want), 30*time.Second)
	checkExactlyOnce(t, ids, want)
	deadline := time.Now().Add(3 * cfg.AckWait)
	for metric(t, c2.Registerer.(*prometheus.Registry), "eventlog_queue_store_duplicates_total") < float64(cfg.BatchSize) && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
	}
	reg2 := c2.Registerer.(*prometheus.Registry)
	if got := metric(t, reg2, "eventlog_queue_redeliveries_total"); got < float64(2*cfg.BatchSize) {
		t.Errorf("worker 2 saw %v redeliveries, want at least %d (both unacknowledged batches)", got, 2*cfg.BatchSize)
	}
	if got := metric(t, reg2, "eventlog_queue_store_duplicates_total"); got < float64(cfg.BatchSize) {
		t.Errorf("worker 2 skipped %v already-stored events, want at least %d (the batch committed before the crash)", got, cfg.BatchSize)
	}
}

func TestStoreOutageLosesNothing(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := context.Background()
	store := &faultyStore{Store: b.store}
	store.failing.Store(true)
	w, err := natsqueue.NewWorker(b.js, store, b.cfg)
	if err != nil {
		t.Fatal(err)
	}
	runWorker(t, w)
	want := events(t, 1000, "DURING_OUTAGE")
	pub, err := natsqueue.NewPublisher(b.js, b.cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := pub.Publish(ctx, want); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for metric(t, b.reg, "eventlog_queue_store_errors_total") < 3 && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	if got := metric(t, b.reg, "eventlog_queue_store_errors_total"); got < 3 {
		t.Fatalf("store errors = %v, want the worker to have retried at least 3 times", got)
	}
	if n := len(storedIDs(t, b.store)); n != 0 {
		t.Fatalf("store holds %d events during the outage", n)
	}
	store.failing.Store(false)
	ids := waitStored(t, b.store, len(want), 20*time.Second)
	checkExactlyOnce(t, ids, want)
}

func TestPoisonMessageIsTerminated(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := context.Background()
	if _, err := b.js.Publish(ctx, b.cfg.Subject+".GARBAGE", []byte(`{"action": 42}`)); err != nil {
		t.Fatal(err)
	}
	want := events(t, 3, "GOOD")
	pub, err := natsqueue.NewPublisher(b.js, b.cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := pub.Publish(ctx, want); err != nil {
		t.Fatal(err)
	}
	w, err := natsqueue.NewWorker(b.js, b.store, b.cfg)
	if err != nil {
		t.Fatal(err)
	}
	runWorker(t, w)
	checkExactlyOnce(t, waitStored(t, b.store, 3, 10*time.Second), want)
	deadline := time.Now().Add(5 * time.Second)
	for {
		undelivered, unacked, err := w.Pending(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if undelivered == 0 && unacked == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("consumer still has %d undelivered and %d unacknowledged messages: the poison message is being retried", undelivered, unacked)
		}
		time.Sleep(50 * time.Millisecond)
	}
	if got := metric(t, b.reg, "eventlog_queue_poison_total"); got != 1 {
		t.Errorf("poison messages = %v, want 1", got)
	}
}

func TestSubscribeSeesEveryPublisher(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := context.Background()
	var mu sync.Mutex
	seen := map[string]int{}
	cancel, err := natsqueue.Subscribe(ctx, b.js, b.cfg, func(e eventlog.Event) {
		mu.Lock()
		seen[e.ID]++
		mu.Unlock()
	})
	if err != nil {
		t.Fatal(err)
	}
	defer cancel()
	// Two ingest nodes, each with its own connection.
	var want []eventlog.Event
	for node := range 2 {
		_, js := connect(t, natsURL)
		pub, err := natsqueue.NewPublisher(js, b.cfg)
		if err != nil {
			t.Fatal(err)
		}
		evs := events(t, 50, []string{"NODE_A", "NODE_B"}[node])
		if err := pub.Publish(ctx, evs); err != nil {
			t.Fatal(err)
		}
		want = append(want, evs...)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		mu.Lock()
		n := len(seen)
		mu.Unlock()
		if n >= len(want) || time.Now().After(deadline) {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	cancel()
	mu.Lock()
	defer mu.Unlock()
	for _, e := range want {
		if seen[e.ID] != 1 {
			t.Errorf("the tail saw event %s (%s) %d times, want once", e.ID, e.Action, seen[e.ID])
		}
	}
	if len(seen) != len(want) {
		t.Errorf("the tail saw %d events, want %d", len(seen), len(want))
	}
}

func TestEnsureStreamKeepStream(t *testing.T) {
	t.Parallel()
	b := setup(t) // the stream exists with MaxAge 1h
	ctx := context.Background()
	maxAge := func() time.Duration {
		s, err := b.js.Stream(ctx, b.cfg.Stream)
		if err != nil {
			t.Fatal(err)
		}
		info, err := s.Info(ctx)
		if err != nil {
			t.Fatal(err)
		}
		return info.Config.MaxAge
	}
	c := *b.cfg
	c.MaxAge, c.KeepStream = 2*time.Hour, true
	if _, err := natsqueue.EnsureStream(ctx, b.js, &c); err != nil {
		t.Fatal(err)
	}
	if got := maxAge(); got != time.Hour {
		t.Errorf("with KeepStream the existing stream's MaxAge became %s, want it kept at 1h", got)
	}
	c.KeepStream = false
	if _, err := natsqueue.EnsureStream(ctx, b.js, &c); err != nil {
		t.Fatal(err)
	}
	if got := maxAge(); got != 2*time.Hour {
		t.Errorf("without KeepStream MaxAge = %s, want it updated to 2h", got)
	}
	// A worker's KeepStream still creates a missing stream.
	c.Stream, c.Subject = "EVENTLOG_TEST_NEW_"+randomName(), "eventlogtestnew."+randomName()
	c.KeepStream = true
	if _, err := natsqueue.EnsureStream(ctx, b.js, &c); err != nil {
		t.Fatal(err)
	}
	if err := b.js.DeleteStream(ctx, c.Stream); err != nil {
		t.Errorf("the stream KeepStream should have created is missing: %v", err)
	}
}

// One event the database refuses must not hold back its batch: the
// others are stored, it is retried until the database takes it.
func TestRefusedEventDoesNotBlockItsBatch(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := context.Background()
	want := events(t, 50, "BATCHED")
	store := &faultyStore{Store: b.store}
	store.refused.Store(want[17].ID)
	pub, err := natsqueue.NewPublisher(b.js, b.cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := pub.Publish(ctx, want); err != nil {
		t.Fatal(err)
	}
	w, err := natsqueue.NewWorker(b.js, store, b.cfg)
	if err != nil {
		t.Fatal(err)
	}
	runWorker(t, w)
	ids := waitStored(t, b.store, len(want)-1, 10*time.Second)
	if ids[want[17].ID] != 0 {
		t.Fatal("the refused event was stored")
	}
	time.Sleep(300 * time.Millisecond) // a few redeliveries of the refused one
	if n := len(storedIDs(t, b.store)); n != len(want)-1 {
		t.Fatalf("store holds %d events while one is refused, want %d", n, len(want)-1)
	}
	store.refused.Store("")
	checkExactlyOnce(t, waitStored(t, b.store, len(want), 10*time.Second), want)
}
