package natsqueue

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/eventlog/eventlog"
)

// Worker moves events from the stream into a store. Run it in as many
// processes as the store can absorb: all workers with the same
// Config.Consumer share one durable pull consumer, and JetStream hands
// each message to one of them at a time.
//
// For each batch a worker decodes the messages, writes the events with
// one Store.Insert (one transaction) and acknowledges the messages after
// the commit. So:
//
//   - a worker that dies before acknowledging leaves its messages to be
//     redelivered after Config.AckWait, and the store skips the ids it
//     already committed: each event is stored once;
//   - when the store fails, the messages are negatively acknowledged with
//     a growing delay (Config.NakDelay doubling up to MaxNakDelay) and
//     wait in the stream: nothing is acknowledged that is not stored;
//   - a message that is not a valid event can never succeed: it is
//     terminated (never redelivered) and logged.
type Worker struct {
	js    jetstream.JetStream
	store eventlog.Store
	cfg   Config
	m     *workerMetrics
}

// NewWorker returns a Worker that stores the events of the stream
// described by cfg into store. The stream must exist (EnsureStream); the
// durable consumer is created or updated by Run. The caller keeps
// ownership of store and of the connection behind js.
func NewWorker(js jetstream.JetStream, store eventlog.Store, cfg *Config) (*Worker, error) {
	if js == nil {
		return nil, errors.New("natsqueue.NewWorker: js is nil")
	}
	if store == nil {
		return nil, errors.New("natsqueue.NewWorker: store is nil")
	}
	c, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	return &Worker{js: js, store: store, cfg: c, m: newWorkerMetrics(c.Registerer)}, nil
}

// Run stores batches until ctx is cancelled. When it is, Run finishes the
// batch in hand (stores and acknowledges it), flushes the
// acknowledgements to the server and returns nil. It returns an error
// only when the consumer cannot be created.
func (w *Worker) Run(ctx context.Context) error {
	cons, err := w.js.CreateOrUpdateConsumer(ctx, w.cfg.Stream, w.cfg.consumerConfig())
	if err != nil {
		if ctx.Err() != nil {
			return nil
		}
		return fmt.Errorf("natsqueue: create consumer %s on stream %s: %w", w.cfg.Consumer, w.cfg.Stream, err)
	}
	// The batch in hand is finished even after ctx is cancelled.
	work := context.WithoutCancel(ctx)
	defer func() {
		if err := w.js.Conn().Flush(); err != nil {
			w.cfg.ErrorLog.Warn("natsqueue: flushing acknowledgements", "err", err)
		}
	}()
	for ctx.Err() == nil {
		msgs, err := w.fetch(cons)
		if err != nil {
			w.cfg.ErrorLog.Warn("natsqueue: fetch failed; retrying", "consumer", w.cfg.Consumer, "err", err)
			sleep(ctx, w.cfg.FetchWait)
			if errors.Is(err, jetstream.ErrConsumerNotFound) || errors.Is(err, jetstream.ErrConsumerDeleted) {
				// Someone deleted the consumer (or the stream was
				// recreated): make it again rather than fail forever.
				if c, err := w.js.CreateOrUpdateConsumer(ctx, w.cfg.Stream, w.cfg.consumerConfig()); err == nil {
					cons = c
				}
			}
			continue
		}
		if len(msgs) > 0 {
			w.process(work, msgs)
		}
	}
	return nil
}

// fetch returns the messages available now, up to BatchSize; when none
// are, it waits up to FetchWait for the first one and returns it with
// whatever arrived meanwhile. So a busy worker writes full batches and an
// idle one stores an event as soon as it arrives.
func (w *Worker) fetch(cons jetstream.Consumer) ([]jetstream.Msg, error) {
	b, err := cons.FetchNoWait(w.cfg.BatchSize)
	if err != nil {
		return nil, err
	}
	// Messages in hand are processed even when the fetch also reports an
	// error: dropping them would only delay them by AckWait.
	if msgs := drain(b, nil); len(msgs) > 0 {
		return msgs, nil
	}
	if err := ignoreTimeout(b.Error()); err != nil {
		return nil, err
	}
	b, err = cons.Fetch(1, jetstream.FetchMaxWait(w.cfg.FetchWait))
	if err != nil {
		return nil, err
	}
	msgs := drain(b, nil)
	if len(msgs) == 0 {
		return nil, ignoreTimeout(b.Error())
	}
	if w.cfg.BatchSize > 1 {
		if b, err := cons.FetchNoWait(w.cfg.BatchSize - 1); err == nil {
			msgs = drain(b, msgs)
		}
	}
	return msgs, nil
}

func drain(b jetstream.MessageBatch, msgs []jetstream.Msg) []jetstream.Msg {
	for m := range b.Messages() {
		msgs = append(msgs, m)
	}
	return msgs
}

func ignoreTimeout(err error) error {
	if errors.Is(err, nats.ErrTimeout) || errors.Is(err, jetstream.ErrNoMessages) || errors.Is(err, context.DeadlineExceeded) {
		return nil
	}
	return err
}

// process stores one batch and settles every message in it: ack after
// commit, Nak with delay on a store error, Term for poison.
func (w *Worker) process(ctx context.Context, msgs []jetstream.Msg) {
	now := w.cfg.Now()
	events := make([]eventlog.Event, 0, len(msgs))
	kept := msgs[:0]
	var lastPending uint64
	havePending := false
	for _, m := range msgs {
		if meta, err := m.Metadata(); err == nil {
			if meta.NumDelivered > 1 {
				w.m.redelivered.Inc()
			}
			lastPending, havePending = meta.NumPending, true
		}
		e, err := eventlog.ParseEvent(m.Data(), now)
		if err != nil {
			w.m.poison.Inc()
			w.cfg.ErrorLog.Error("natsqueue: terminating a message that is not a valid event", "subject", m.Subject(), "err", err, "data", truncate(m.Data(), 256))
			// Term rather than TermWithReason: servers before 2.10.4
			// ignore the latter and would redeliver forever.
			if err := m.Term(); err != nil {
				w.cfg.ErrorLog.Warn("natsqueue: term failed", "err", err)
			}
			continue
		}
		events = append(events, e)
		kept = append(kept, m)
	}
	if havePending {
		w.m.pending.Set(float64(lastPending))
	}
	if len(events) == 0 {
		return
	}
	w.m.batchSize.Observe(float64(len(events)))
	err := w.insert(ctx, events)
	if err == nil {
		w.ack(kept)
		return
	}
	w.m.storeErrors.Inc()
	w.cfg.ErrorLog.Warn("natsqueue: storing a batch failed; it will be redelivered", "events", len(events), "err", err)
	// One event the database refuses must not hold back the others: if
	// the store answers, store them one by one.
	if len(events) > 1 && w.ping(ctx) == nil {
		for i := range events {
			if err := w.insert(ctx, events[i:i+1]); err != nil {
				w.cfg.ErrorLog.Warn("natsqueue: storing an event failed; it will be redelivered", "event_id", events[i].ID, "err", err)
				w.nak(kept[i])
				continue
			}
			w.ack(kept[i : i+1])
		}
		return
	}
	for _, m := range kept {
		w.nak(m)
	}
}

func (w *Worker) ping(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, min(w.cfg.AckWait, 5*time.Second))
	defer cancel()
	return w.store.Ping(ctx)
}

func (w *Worker) insert(ctx context.Context, events []eventlog.Event) error {
	ctx, cancel := context.WithTimeout(ctx, w.cfg.AckWait)
	defer cancel()
	start := time.Now()
	_, inserted, err := w.store.Insert(ctx, events)
	if err != nil {
		return err
	}
	w.m.storeSeconds.Observe(time.Since(start).Seconds())
	n := 0
	for _, ok := range inserted {
		if ok {
			n++
		}
	}
	w.m.stored.Add(float64(n))
	w.m.duplicates.Add(float64(len(events) - n))
	return nil
}

func (w *Worker) ack(msgs []jetstream.Msg) {
	for _, m := range msgs {
		if err := m.Ack(); err != nil {
			// Stored but not acknowledged: it comes back after AckWait
			// and the store skips it.
			w.cfg.ErrorLog.Warn("natsqueue: ack failed", "err", err)
		}
	}
}

func (w *Worker) nak(m jetstream.Msg) {
	n := uint64(1)
	if meta, err := m.Metadata(); err == nil {
		n = meta.NumDelivered
	}
	if err := m.NakWithDelay(w.backoff(n)); err != nil {
		w.cfg.ErrorLog.Warn("natsqueue: nak failed; the message returns after AckWait", "err", err)
	}
}

// backoff is the redelivery delay after the n-th failed delivery.
func (w *Worker) backoff(n uint64) time.Duration {
	d := w.cfg.NakDelay
	for i := uint64(1); i < n && d < w.cfg.MaxNakDelay; i++ {
		d *= 2
	}
	return min(d, w.cfg.MaxNakDelay)
}

// Pending returns the consumer's lag: messages in the stream not yet
// delivered to a worker, and messages delivered but not yet
// acknowledged.
func (w *Worker) Pending(ctx context.Context) (undelivered uint64, unacked int, err error) {
	cons, err := w.js.Consumer(ctx, w.cfg.Stream, w.cfg.Consumer)
	if err != nil {
		return 0, 0, fmt.Errorf("natsqueue: consumer %s: %w", w.cfg.Consumer, err)
	}
	info, err := cons.Info(ctx)
	if err != nil {
		return 0, 0, fmt.Errorf("natsqueue: consumer %s info: %w", w.cfg.Consumer, err)
	}
	return info.NumPending, info.NumAckPending, nil
}

func sleep(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
	case <-ctx.Done():
	}
}

func truncate(b []byte, n int) string {
	if len(b) <= n {
		return string(b)
	}
	return string(b[:n]) + "…"
}
