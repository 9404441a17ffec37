package natsqueue

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/eventlog/eventlog"
)

// Queue is a connection to JetStream with the stream ensured: what
// `eventlog serve --queue` and `eventlog worker` need, in a few lines.
//
//	q, err := natsqueue.Connect(ctx, "nats://a:4222,nats://b:4222", nil)
//	if err != nil { ... }
//	defer q.Close()
//	err = q.Publisher().Publish(ctx, events)       // ingest: 202 after this
//	cancel, err := q.Subscribe(ctx, hub.Broadcast) // live tail of every node
type Queue struct {
	nc  *nats.Conn
	js  jetstream.JetStream
	cfg *Config
	pub *Publisher
}

// Connect dials the comma-separated NATS server URLs (the client fails
// over between them and reconnects forever), ensures the stream described
// by cfg and returns the Queue. opts are added to (and override) the
// defaults: client name "eventlog", reconnect forever every second.
func Connect(ctx context.Context, urls string, cfg *Config, opts ...nats.Option) (*Queue, error) {
	urls = strings.TrimSpace(urls)
	if urls == "" {
		return nil, errors.New("natsqueue.Connect: queue URL is empty: give nats://host:4222[,nats://host2:4222]")
	}
	if _, err := cfg.withDefaults(); err != nil {
		return nil, err
	}
	base := []nats.Option{
		nats.Name("eventlog"),
		nats.MaxReconnects(-1),
		nats.ReconnectWait(time.Second),
		nats.RetryOnFailedConnect(false),
	}
	nc, err := nats.Connect(urls, append(base, opts...)...)
	if err != nil {
		return nil, fmt.Errorf("natsqueue: connect to %s: %w", RedactURLs(urls), err)
	}
	js, err := jetstream.New(nc)
	if err != nil {
		nc.Close()
		return nil, fmt.Errorf("natsqueue: JetStream on %s: %w", RedactURLs(urls), err)
	}
	q, err := NewQueue(ctx, js, cfg)
	if err != nil {
		nc.Close()
		return nil, err
	}
	q.nc = nc
	return q, nil
}

// NewQueue ensures the stream on an existing JetStream context and
// returns a Queue over it. Close does not close the caller's connection.
func NewQueue(ctx context.Context, js jetstream.JetStream, cfg *Config) (*Queue, error) {
	if _, err := EnsureStream(ctx, js, cfg); err != nil {
		return nil, err
	}
	pub, err := NewPublisher(js, cfg)
	if err != nil {
		return nil, err
	}
	return &Queue{js: js, cfg: cfg, pub: pub}, nil
}

// JetStream returns the JetStream context.
func (q *Queue) JetStream() jetstream.JetStream { return q.js }

// Publisher returns the Queue's publisher.
func (q *Queue) Publisher() *Publisher { return q.pub }

// Logger returns a Logger that publishes through the Queue.
func (q *Queue) Logger() *Logger { return &Logger{pub: q.pub} }

// NewWorker returns a Worker that stores the Queue's events into store.
func (q *Queue) NewWorker(store eventlog.Store) (*Worker, error) {
	return NewWorker(q.js, store, q.cfg)
}

// Subscribe tails the stream (see the package-level Subscribe).
func (q *Queue) Subscribe(ctx context.Context, fn func(eventlog.Event)) (cancel func(), err error) {
	return Subscribe(ctx, q.js, q.cfg, fn)
}

// Close drains the connection opened by Connect: pending publishes and
// acknowledgements are flushed before it closes. It is a no-op for a
// Queue made by NewQueue.
func (q *Queue) Close() error {
	if q.nc == nil {
		return nil
	}
	if err := q.nc.Drain(); err != nil && !errors.Is(err, nats.ErrConnectionClosed) {
		q.nc.Close()
		return fmt.Errorf("natsqueue: drain connection: %w", err)
	}
	// Drain is asynchronous; wait until it has flushed and closed.
	for !q.nc.IsClosed() {
		time.Sleep(10 * time.Millisecond)
	}
	return nil
}

// RedactURLs hides the passwords in a comma-separated list of server
// URLs, for logs and messages.
func RedactURLs(urls string) string {
	parts := strings.Split(urls, ",")
	for i, u := range parts {
		scheme, rest, ok := strings.Cut(strings.TrimSpace(u), "://")
		at := strings.LastIndex(rest, "@")
		if !ok || at < 0 {
			continue
		}
		user, _, hasPass := strings.Cut(rest[:at], ":")
		if hasPass {
			parts[i] = scheme + "://" + user + ":xxxxx" + rest[at:]
		}
	}
	return strings.Join(parts, ",")
}
