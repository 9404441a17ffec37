package natsqueue

import (
	"context"
	"errors"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/eventlog/eventlog"
)

// Logger logs events through the queue: it validates and fills defaults
// exactly like eventlog.Logger (the user and request metadata in ctx,
// a UUIDv7 id, the timestamp now) and returns once JetStream has
// acknowledged the event. A worker stores it shortly after; the event
// returned carries the id and timestamp it will be stored with.
//
// Unlike eventlog.Logger it has no subscribers: tail the stream with
// Subscribe to see events from every node.
type Logger struct {
	pub *Publisher
}

// NewLogger returns a Logger that publishes to the stream described by
// cfg. It does not create the stream; call EnsureStream once at start-up.
func NewLogger(js jetstream.JetStream, cfg *Config) (*Logger, error) {
	p, err := NewPublisher(js, cfg)
	if err != nil {
		return nil, err
	}
	return &Logger{pub: p}, nil
}

// Publisher returns the Publisher the Logger writes through.
func (l *Logger) Publisher() *Publisher { return l.pub }

// Log publishes one event built from the same arguments as
// eventlog.Logger.Log and returns it.
func (l *Logger) Log(ctx context.Context, action string, args ...any) (eventlog.Event, error) {
	e, err := eventlog.NewEvent(action, args...)
	if err != nil {
		return eventlog.Event{}, err
	}
	return l.LogEvent(ctx, e)
}

// LogEvent validates e, publishes it and returns it as it will be stored.
func (l *Logger) LogEvent(ctx context.Context, e eventlog.Event) (eventlog.Event, error) {
	if err := l.Prepare(ctx, &e); err != nil {
		return eventlog.Event{}, err
	}
	if err := l.pub.Publish(ctx, []eventlog.Event{e}); err != nil {
		return eventlog.Event{}, err
	}
	return e, nil
}

// LogBatch validates every event and publishes them together; a bad
// event fails the batch before anything is published, with a
// *eventlog.ValidationError whose Index names it. Unlike
// eventlog.Logger.LogBatch the batch is not atomic in the store: a
// worker may store it across two transactions, but every event returned
// is acknowledged and will be stored.
func (l *Logger) LogBatch(ctx context.Context, events []eventlog.Event) ([]eventlog.Event, error) {
	if len(events) == 0 {
		return nil, nil
	}
	batch := make([]eventlog.Event, len(events))
	copy(batch, events)
	for i := range batch {
		if err := l.Prepare(ctx, &batch[i]); err != nil {
			return nil, eventlog.AtIndex(err, i)
		}
	}
	if err := l.pub.Publish(ctx, batch); err != nil {
		return nil, err
	}
	return batch, nil
}

// Prepare validates e and fills its defaults as Log would, without
// publishing it.
func (l *Logger) Prepare(ctx context.Context, e *eventlog.Event) error {
	if e == nil {
		return errors.New("natsqueue: Prepare: event is nil")
	}
	if e.User == nil {
		if u, ok := eventlog.UserFromContext(ctx); ok {
			e.User = &u
		}
	}
	if e.Context == nil {
		if rc, ok := eventlog.RequestFromContext(ctx); ok {
			e.Context = &rc
		}
	}
	return e.Normalize(l.pub.cfg.Now())
}
