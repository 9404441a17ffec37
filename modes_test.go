package eventlog_test

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/eventlog/eventlog"
	"github.com/eventlog/eventlog/spool"
)

func TestSyncReturnsAfterCommit(t *testing.T) {
	t.Parallel()
	slow := &slowStore{Store: newStore(t), d: 5 * time.Millisecond}
	b := setupOn(t, slow, nil)
	for range 5 {
		e, err := b.logger.Log(context.Background(), "A")
		if err != nil {
			t.Fatal(err)
		}
		if _, err := b.store.Get(context.Background(), e.ID); err != nil {
			t.Fatalf("event not stored when Log returned: %v", err)
		}
	}
}

func TestAsyncFlushStoresEverything(t *testing.T) {
	t.Parallel()
	gate := newGateStore(newStore(t))
	b := setupOn(t, gate, &eventlog.Config{Mode: eventlog.Async, FlushInterval: time.Hour, MaxBatch: 100})
	received := make(chan eventlog.Event, 2000)
	b.logger.Subscribe(func(e eventlog.Event) {
		// Subscribers fire after the commit in every mode.
		if _, err := b.store.Get(context.Background(), e.ID); err != nil {
			t.Errorf("subscriber saw %s before it was stored: %v", e.ID, err)
		}
		received <- e
	})
	ctx := context.Background()
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for range 125 {
				if _, err := b.logger.Log(ctx, "A"); err != nil {
					t.Error(err)
				}
			}
		})
	}
	wg.Wait()
	if ids := storedIDs(t, b.store); len(ids) != 0 {
		t.Fatalf("%d events stored while the store was held: Log should not wait for it", len(ids))
	}
	if q := b.logger.Metrics().Queued; q != 1000 {
		t.Fatalf("Queued = %d, want 1000", q)
	}
	gate.release()
	if err := b.logger.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	if ids := storedIDs(t, b.store); len(ids) != 1000 {
		t.Fatalf("stored %d events after Flush, want 1000", len(ids))
	}
	m := b.logger.Metrics()
	if m.Written != 1000 || m.Queued != 0 || m.Batches < 10 {
		t.Fatalf("metrics after Flush = %+v, want 1000 written in batches of at most 100", m)
	}
	for range 1000 {
		select {
		case <-received:
		case <-time.After(5 * time.Second):
			t.Fatal("subscriber did not receive every event")
		}
	}
}

func TestAsyncWritesByInterval(t *testing.T) {
	t.Parallel()
	b := setup(t, &eventlog.Config{Mode: eventlog.Async, FlushInterval: 5 * time.Millisecond})
	events, cancel := b.logger.SubscribeChan(1)
	defer cancel()
	e, err := b.logger.Log(context.Background(), "A")
	if err != nil {
		t.Fatal(err)
	}
	select {
	case got := <-events: // no Flush: the interval wrote the partial batch
		if got.ID != e.ID {
			t.Fatalf("stored %s, want %s", got.ID, e.ID)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("a lone event was not written within the flush interval")
	}
}

func TestAsyncCloseFlushes(t *testing.T) {
	t.Parallel()
	store := newStore(t)
	l, err := eventlog.New(store, &eventlog.Config{Mode: eventlog.Async, FlushInterval: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	for range 300 {
		if _, err := l.Log(context.Background(), "A"); err != nil {
			t.Fatal(err)
		}
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	if ids := storedIDs(t, store); len(ids) != 300 {
		t.Fatalf("stored %d events after Close, want 300", len(ids))
	}
}

func TestFailingStoreLosesNothing(t *testing.T) {
	t.Parallel()
	for _, mode := range []eventlog.Mode{eventlog.Async, eventlog.Spooled} {
		t.Run(mode.String(), func(t *testing.T) {
			t.Parallel()
			flaky := &flakyStore{Store: newStore(t)}
			flaky.failures.Store(6)
			b := setupOn(t, flaky, &eventlog.Config{
				Mode: mode, SpoolDir: t.TempDir(), SpoolSync: spool.SyncNever,
				FlushInterval: time.Millisecond, MaxBatch: 50, MaxRetryDelay: 20 * time.Millisecond,
				ErrorLog: discardLog(),
			})
			ctx := context.Background()
			want := map[string]bool{}
			for range 500 {
				e, err := b.logger.Log(ctx, "A")
				if err != nil {
					t.Fatal(err)
				}
				want[e.ID] = true
			}
			if err := b.logger.Flush(ctx); err != nil {
				t.Fatal(err)
			}
			ids := storedIDs(t, b.store)
			for id := range want {
				if ids[id] != 1 {
					t.Fatalf("event %s stored %d times, want once", id, ids[id])
				}
			}
			if m := b.logger.Metrics(); m.Retries != 6 || m.Written != 500 || m.Failed != 0 {
				t.Fatalf("metrics = %+v, want 6 retries, 500 written, 0 failed", m)
			}
		})
	}
}

// heldLogger returns an Async or Spooled Logger over a store held shut,
// with the background writer parked in Insert holding one event, so the
// buffer below it holds exactly bufferSize more.
func heldLogger(t *testing.T, cfg eventlog.Config) (bundle, *gateStore) {
	t.Helper()
	gate := newGateStore(newStore(t))
	cfg.MaxBatch, cfg.FlushInterval = 1, time.Millisecond
	b := setupOn(t, gate, &cfg)
	t.Cleanup(gate.release) // runs before the Logger's Close
	if _, err := b.logger.Log(context.Background(), "FIRST"); err != nil {
		t.Fatal(err)
	}
	<-gate.entered
	return b, gate
}

func TestWhenFull(t *testing.T) {
	t.Parallel()
	t.Run("block", func(t *testing.T) {
		t.Parallel()
		b, gate := heldLogger(t, eventlog.Config{Mode: eventlog.Async, BufferSize: 4})
		ctx := context.Background()
		for range 4 {
			if _, err := b.logger.Log(ctx, "A"); err != nil {
				t.Fatal(err)
			}
		}
		short, cancel := context.WithTimeout(ctx, 20*time.Millisecond)
		defer cancel()
		if _, err := b.logger.Log(short, "A"); !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("Log on a full buffer = %v, want to block until the deadline", err)
		}
		unblocked := make(chan error)
		go func() { _, err := b.logger.Log(ctx, "LAST"); unblocked <- err }()
		select {
		case err := <-unblocked:
			t.Fatalf("Log returned %v while the buffer was full", err)
		case <-time.After(20 * time.Millisecond):
		}
		go func() {
			for range gate.entered {
			}
		}()
		gate.release()
		if err := <-unblocked; err != nil {
			t.Fatal(err)
		}
		if err := b.logger.Flush(ctx); err != nil {
			t.Fatal(err)
		}
		if ids := storedIDs(t, b.store); len(ids) != 6 {
			t.Fatalf("stored %d, want 6 (FIRST, 4, LAST)", len(ids))
		}
	})
	t.Run("drop", func(t *testing.T) {
		t.Parallel()
		b, gate := heldLogger(t, eventlog.Config{Mode: eventlog.Async, BufferSize: 4, WhenFull: eventlog.DropWhenFull})
		for range 20 {
			if _, err := b.logger.Log(context.Background(), "A"); err != nil {
				t.Fatalf("Log with DropWhenFull = %v, want nil", err)
			}
		}
		if d := b.logger.Metrics().Dropped; d != 16 {
			t.Fatalf("Dropped = %d, want 16", d)
		}
		go func() {
			for range gate.entered {
			}
		}()
		gate.release()
		if err := b.logger.Flush(context.Background()); err != nil {
			t.Fatal(err)
		}
		if ids := storedIDs(t, b.store); len(ids) != 5 {
			t.Fatalf("stored %d, want 5 (FIRST and 4 buffered)", len(ids))
		}
	})
	t.Run("error", func(t *testing.T) {
		t.Parallel()
		b, _ := heldLogger(t, eventlog.Config{Mode: eventlog.Async, BufferSize: 4, WhenFull: eventlog.ErrorWhenFull})
		for i := range 6 {
			_, err := b.logger.Log(context.Background(), "A")
			if i < 4 && err != nil {
				t.Fatalf("Log %d: %v", i, err)
			}
			if i >= 4 && !errors.Is(err, eventlog.ErrBufferFull) {
				t.Fatalf("Log %d on a full buffer = %v, want ErrBufferFull", i, err)
			}
		}
	})
	t.Run("spool full", func(t *testing.T) {
		t.Parallel()
		var full atomic.Int64
		b, _ := heldLogger(t, eventlog.Config{
			Mode: eventlog.Spooled, SpoolDir: t.TempDir(), SpoolSync: spool.SyncNever,
			SpoolMaxBytes: 2000, WhenFull: eventlog.ErrorWhenFull,
			OnSpoolFull: func(bytes, max int64) { full.Store(bytes) },
		})
		var err error
		accepted := 0
		for err == nil {
			if _, err = b.logger.Log(context.Background(), "A"); err == nil {
				accepted++
			}
		}
		if !errors.Is(err, eventlog.ErrBufferFull) {
			t.Fatalf("Log on a full spool = %v, want ErrBufferFull", err)
		}
		m := b.logger.Metrics()
		if full.Load() == 0 || m.SpoolBytes > 2000 || m.SpoolBytes < 1500 || m.SpoolMaxBytes != 2000 {
			t.Fatalf("OnSpoolFull saw %d bytes; metrics %d of %d; want a nearly full 2000-byte spool", full.Load(), m.SpoolBytes, m.SpoolMaxBytes)
		}
		t.Logf("%d events accepted before the 2000-byte spool was full", accepted)
	})
}

func TestSpoolReplaysAfterAbandonedClose(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	store := newStore(t)
	gate := newGateStore(store)
	l, err := eventlog.New(gate, &eventlog.Config{Mode: eventlog.Spooled, SpoolDir: dir, SpoolSync: spool.SyncNever})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	var want []string
	for range 50 {
		e, err := l.Log(ctx, "A")
		if err != nil {
			t.Fatal(err)
		}
		want = append(want, e.ID)
	}
	short, cancel := context.WithTimeout(ctx, 50*time.Millisecond)
	defer cancel()
	go func() {
		<-short.Done()
		time.Sleep(10 * time.Millisecond)
		gate.release() // the held Insert finishes after the Logger gave up
	}()
	if err := l.CloseContext(short); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("CloseContext on a held store = %v, want DeadlineExceeded", err)
	}

	// A new Logger on the same spool stores what the first one could not,
	// and what it did store is not stored twice.
	b := setupOn(t, store, &eventlog.Config{Mode: eventlog.Spooled, SpoolDir: dir})
	if err := b.logger.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	ids := storedIDs(t, store)
	if len(ids) != len(want) {
		t.Fatalf("stored %d events after replay, want %d", len(ids), len(want))
	}
	for _, id := range want {
		if ids[id] != 1 {
			t.Fatalf("event %s stored %d times, want once", id, ids[id])
		}
	}
	if err := b.logger.Close(); err != nil {
		t.Fatal(err)
	}
	if m, _ := spoolFiles(dir); len(m) != 0 {
		t.Fatalf("spool segments left after everything was stored: %v", m)
	}
}

func TestCloseWakesBlockedLog(t *testing.T) {
	t.Parallel()
	b, _ := heldLogger(t, eventlog.Config{Mode: eventlog.Async, BufferSize: 1, ErrorLog: discardLog()})
	if _, err := b.logger.Log(context.Background(), "A"); err != nil {
		t.Fatal(err)
	}
	blocked := make(chan error)
	go func() { _, err := b.logger.Log(context.Background(), "B"); blocked <- err }()
	time.Sleep(10 * time.Millisecond)
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	closed := make(chan error)
	go func() { closed <- b.logger.CloseContext(ctx) }()
	if err := <-blocked; !errors.Is(err, eventlog.ErrClosed) {
		t.Fatalf("Log blocked on a full buffer during Close = %v, want ErrClosed", err)
	}
	select {
	case err := <-closed:
		// The store is held shut: the queued events cannot be written.
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("CloseContext = %v, want DeadlineExceeded", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("CloseContext did not honour its context")
	}
	if m := b.logger.Metrics(); m.Failed != 2 || m.Queued != 0 {
		t.Fatalf("metrics = Failed %d, Queued %d; want the 2 unwritten events failed", m.Failed, m.Queued)
	}
}
