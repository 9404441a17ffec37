package natsqueue

import (
	"context"
	"errors"
	"fmt"
	"runtime/debug"
	"sync"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/eventlog/eventlog"
)

// Subscribe calls fn, on a goroutine of its own, with each event
// published to the stream from now on by any node: the live tail of a
// multi-node deployment. It reads the stream through an ordered
// consumer that delivers new messages only, so events arrive in stream
// order without gaps or repeats (an event published twice within the
// duplicate window is in the stream, and delivered, once).
//
// An event is delivered when JetStream has accepted it, which is
// usually a few milliseconds before a worker has stored it. Delivery
// never blocks the stream: up to Config.TailBuffer events wait for a slow
// fn, and further events are dropped for this subscription, counted and
// logged. A panic in fn is recovered and logged. cancel stops delivery
// and waits for fn to return; cancelling ctx also stops delivery.
//
// It needs a stream with limits or interest retention; JetStream allows
// no second consumer on a work-queue stream.
func Subscribe(ctx context.Context, js jetstream.JetStream, cfg *Config, fn func(eventlog.Event)) (cancel func(), err error) {
	if js == nil {
		return nil, errors.New("natsqueue.Subscribe: js is nil")
	}
	if fn == nil {
		return nil, errors.New("natsqueue.Subscribe: fn is nil")
	}
	c, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	cons, err := js.OrderedConsumer(ctx, c.Stream, jetstream.OrderedConsumerConfig{
		FilterSubjects: []string{c.filter()},
		DeliverPolicy:  jetstream.DeliverNewPolicy,
	})
	if err != nil {
		return nil, fmt.Errorf("natsqueue: tail stream %s: %w", c.Stream, err)
	}
	t := &tail{ch: make(chan eventlog.Event, c.TailBuffer), fn: fn, cfg: &c, m: newTailMetrics(c.Registerer), done: make(chan struct{})}
	cc, err := cons.Consume(t.receive)
	if err != nil {
		return nil, fmt.Errorf("natsqueue: tail stream %s: %w", c.Stream, err)
	}
	go t.run()
	var once sync.Once
	stop := func() {
		once.Do(func() {
			cc.Stop()
			<-cc.Closed()
			t.close()
		})
	}
	go func() {
		select {
		case <-ctx.Done():
			stop()
		case <-t.done:
		}
	}()
	return stop, nil
}

type tail struct {
	ch   chan eventlog.Event
	fn   func(eventlog.Event)
	cfg  *Config
	m    *tailMetrics
	done chan struct{}

	mu     sync.Mutex // guards closed against a send after close
	closed bool
}

func (t *tail) receive(m jetstream.Msg) {
	e, err := eventlog.ParseEvent(m.Data(), t.cfg.Now())
	if err != nil {
		t.cfg.ErrorLog.Warn("natsqueue: live tail skipped a message that is not a valid event", "subject", m.Subject(), "err", err)
		return
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.closed {
		return
	}
	select {
	case t.ch <- e:
	default:
		t.m.dropped.Inc()
		t.cfg.ErrorLog.Warn("natsqueue: live tail subscriber is too slow; event dropped for it", "event_id", e.ID)
	}
}

func (t *tail) close() {
	t.mu.Lock()
	if !t.closed {
		t.closed = true
		close(t.ch)
	}
	t.mu.Unlock()
	<-t.done
}

func (t *tail) run() {
	defer close(t.done)
	for e := range t.ch {
		t.call(e)
	}
}

func (t *tail) call(e eventlog.Event) {
	defer func() {
		if r := recover(); r != nil {
			t.cfg.ErrorLog.Error("natsqueue: live tail subscriber panicked", "event_id", e.ID, "panic", fmt.Sprint(r), "stack", string(debug.Stack()))
		}
	}()
	t.fn(e)
}
