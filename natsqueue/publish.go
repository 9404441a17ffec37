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

// Publisher publishes normalized events to the stream. It is safe for
// concurrent use.
type Publisher struct {
	js  jetstream.JetStream
	cfg Config
	m   *publishMetrics
}

// NewPublisher returns a Publisher for the stream described by cfg. It
// does not create the stream; call EnsureStream once at start-up.
func NewPublisher(js jetstream.JetStream, cfg *Config) (*Publisher, error) {
	if js == nil {
		return nil, errors.New("natsqueue.NewPublisher: js is nil")
	}
	c, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	return &Publisher{js: js, cfg: c, m: newPublishMetrics(c.Registerer)}, nil
}

// Publish publishes events, which must already be normalized
// (Event.Normalize or eventlog.Logger.Prepare: the id and timestamp
// set), one message per event with the Nats-Msg-Id header set to the
// event id. It returns only after JetStream acknowledged every event;
// on an error some events may have been acknowledged and others not, and
// publishing the same events again is safe: JetStream drops ids it saw
// within DuplicateWindow and the store skips ids it already holds.
func (p *Publisher) Publish(ctx context.Context, events []eventlog.Event) error {
	if len(events) == 0 {
		return nil
	}
	for i := range events {
		if events[i].ID == "" {
			return eventlog.AtIndex(&eventlog.ValidationError{Field: "id", Message: "is empty: normalize events before publishing"}, i)
		}
		if events[i].Timestamp.IsZero() {
			return eventlog.AtIndex(&eventlog.ValidationError{Field: "timestamp", Message: "is zero: normalize events before publishing"}, i)
		}
	}
	start := time.Now()
	var err error
	if len(events) == 1 {
		err = p.publishOne(ctx, events[0])
	} else {
		err = p.publishMany(ctx, events)
	}
	if err != nil {
		return err
	}
	p.m.latency.Observe(time.Since(start).Seconds())
	p.m.published.Add(float64(len(events)))
	return nil
}

func (p *Publisher) msg(e eventlog.Event) *nats.Msg {
	return &nats.Msg{Subject: p.cfg.subjectFor(e.Action), Data: e.AppendJSON(make([]byte, 0, 192+len(e.Extra)))}
}

func (p *Publisher) publishOne(ctx context.Context, e eventlog.Event) error {
	ack, err := p.js.PublishMsg(ctx, p.msg(e), jetstream.WithMsgID(e.ID), jetstream.WithExpectStream(p.cfg.Stream))
	if err != nil {
		p.m.failed.Inc()
		return fmt.Errorf("natsqueue: publish event %s: %w", e.ID, err)
	}
	if ack.Duplicate {
		p.m.duplicates.Inc()
	}
	return nil
}

// publishMany publishes asynchronously, so a batch costs about one round
// trip rather than one per event, then waits for every acknowledgement.
func (p *Publisher) publishMany(ctx context.Context, events []eventlog.Event) error {
	futures := make([]jetstream.PubAckFuture, 0, len(events))
	for i := 0; i < len(events); {
		f, err := p.js.PublishMsgAsync(p.msg(events[i]), jetstream.WithMsgID(events[i].ID), jetstream.WithExpectStream(p.cfg.Stream))
		if errors.Is(err, jetstream.ErrTooManyStalledMsgs) {
			// The connection's async window is full (many concurrent
			// publishers): wait for our own acks, then go on.
			if werr := p.wait(ctx, events, futures); werr != nil {
				return werr
			}
			futures = futures[:0]
			events = events[i:]
			i = 0
			continue
		}
		if err != nil {
			p.m.failed.Add(float64(len(events) - i))
			return fmt.Errorf("natsqueue: publish event %d (%s): %w", i, events[i].ID, err)
		}
		futures = append(futures, f)
		i++
	}
	return p.wait(ctx, events, futures)
}

// wait waits for the acks of futures, which belong to events[:len(futures)].
func (p *Publisher) wait(ctx context.Context, events []eventlog.Event, futures []jetstream.PubAckFuture) error {
	var errs []error
	for i, f := range futures {
		select {
		case ack := <-f.Ok():
			if ack.Duplicate {
				p.m.duplicates.Inc()
			}
		case err := <-f.Err():
			p.m.failed.Inc()
			errs = append(errs, fmt.Errorf("event %s: %w", events[i].ID, err))
		case <-ctx.Done():
			p.m.failed.Add(float64(len(futures) - i))
			return fmt.Errorf("natsqueue: waiting for JetStream to acknowledge %d events: %w", len(futures)-i, ctx.Err())
		}
	}
	if len(errs) > 0 {
		return fmt.Errorf("natsqueue: JetStream did not acknowledge %d of %d events: %w", len(errs), len(futures), errors.Join(errs...))
	}
	return nil
}
