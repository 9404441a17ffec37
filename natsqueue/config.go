package natsqueue

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"
)

// Defaults used by a nil *Config or a zero field.
const (
	DefaultStream          = "EVENTLOG"
	DefaultSubject         = "eventlog.events"
	DefaultReplicas        = 1
	DefaultMaxAge          = 7 * 24 * time.Hour
	DefaultDuplicateWindow = 2 * time.Minute
	DefaultConsumer        = "eventlog-worker"
	DefaultBatchSize       = 500
	DefaultFetchWait       = time.Second
	DefaultAckWait         = 30 * time.Second
	DefaultNakDelay        = time.Second
	DefaultMaxNakDelay     = time.Minute
)

// Config configures the stream, the publisher, the worker and the live
// tail. A nil *Config means all defaults. Every process that touches the
// stream (ingest nodes and workers) should use the same stream settings,
// because EnsureStream updates the stream to the settings it is given.
type Config struct {
	// Stream is the JetStream stream name. Defaults to "EVENTLOG".
	Stream string
	// Subject is the subject prefix: the stream captures Subject+".>"
	// and each event is published on Subject+"."+its action (characters
	// other than letters, digits, '_' and '-' become '_'), so a consumer
	// can filter by action. Defaults to "eventlog.events".
	Subject string
	// Retention is the stream's retention policy. Defaults to
	// jetstream.LimitsPolicy: messages stay for MaxAge whether or not a
	// worker has stored them, so a live tail (an ordered consumer) can
	// read the same stream, a lost database can be refilled by replaying
	// the stream, and a new consumer can be added at any time. Work-queue
	// retention deletes each message once a worker acknowledges it and
	// saves disk, but JetStream then allows no second consumer on the
	// subjects, so Subscribe fails.
	Retention jetstream.RetentionPolicy
	// Storage is where the stream keeps messages. Defaults to
	// jetstream.FileStorage (survives a server restart).
	Storage jetstream.StorageType
	// Replicas is the number of copies of the stream in a JetStream
	// cluster. Defaults to 1; use 3 in a 3-node cluster so an
	// acknowledged event survives the loss of one node.
	Replicas int
	// MaxAge is how long the stream keeps a message. Defaults to 7 days.
	MaxAge time.Duration
	// MaxBytes bounds the stream's size; the oldest messages are
	// discarded beyond it. Defaults to no limit (-1).
	MaxBytes int64
	// DuplicateWindow is how long JetStream remembers a message id to
	// drop a second publish of the same event. Defaults to 2 minutes.
	DuplicateWindow time.Duration
	// KeepStream makes EnsureStream create a missing stream but leave an
	// existing one as it is. Workers set it, so the stream's settings
	// are owned by the ingest nodes (or an operator) and a worker started
	// with defaults never changes, say, a cluster's Replicas back to 1.
	// Defaults to false: EnsureStream updates the stream to this Config.
	KeepStream bool

	// Consumer is the durable consumer that workers share. Defaults to
	// "eventlog-worker".
	Consumer string
	// BatchSize is the most messages a worker fetches and stores in one
	// transaction. Defaults to 500.
	BatchSize int
	// FetchWait is how long an idle worker waits for a message before
	// fetching again; it bounds how long a stopping worker takes to
	// notice. Defaults to 1 second.
	FetchWait time.Duration
	// AckWait is how long JetStream waits for a worker's acknowledgement
	// before redelivering a message to another worker. It must exceed the
	// time one batch takes to store. Defaults to 30 seconds.
	AckWait time.Duration
	// MaxAckPending bounds the messages delivered to all workers and not
	// yet acknowledged. Defaults to 8 × BatchSize.
	MaxAckPending int
	// NakDelay is the redelivery delay after the first failed store;
	// each further failure of the same message doubles it, up to
	// MaxNakDelay. Defaults to 1 second.
	NakDelay time.Duration
	// MaxNakDelay caps the redelivery delay. Defaults to 1 minute.
	MaxNakDelay time.Duration

	// TailBuffer is the number of events buffered per live-tail
	// subscription before further events are dropped for it.
	// Defaults to 1024.
	TailBuffer int

	// Registerer receives the package's prometheus metrics (publish
	// latency, consumer pending, redeliveries, batch sizes, ...).
	// Defaults to none: the metrics are kept but not exported.
	Registerer prometheus.Registerer
	// ErrorLog receives poison messages, store errors and dropped
	// tail events. Defaults to slog.Default().
	ErrorLog *slog.Logger
	// Now returns the current time for default timestamps.
	// Defaults to time.Now.
	Now func() time.Time
}

// withDefaults returns a copy of cfg with every zero field set to its
// default, or an error naming the first bad field.
func (cfg *Config) withDefaults() (Config, error) {
	var c Config
	if cfg != nil {
		c = *cfg
	}
	if c.Stream == "" {
		c.Stream = DefaultStream
	}
	if strings.ContainsAny(c.Stream, ". *>\t\r\n") {
		return c, fmt.Errorf("natsqueue: Stream %q must not contain '.', '*', '>' or whitespace", c.Stream)
	}
	if c.Subject == "" {
		c.Subject = DefaultSubject
	}
	if strings.ContainsAny(c.Subject, "*> \t\r\n") || strings.HasPrefix(c.Subject, ".") || strings.HasSuffix(c.Subject, ".") {
		return c, fmt.Errorf("natsqueue: Subject %q must be a literal subject without wildcards or whitespace", c.Subject)
	}
	if c.Replicas == 0 {
		c.Replicas = DefaultReplicas
	}
	if c.Replicas < 1 || c.Replicas > 5 {
		return c, fmt.Errorf("natsqueue: Replicas %d must be between 1 and 5", c.Replicas)
	}
	if c.MaxAge == 0 {
		c.MaxAge = DefaultMaxAge
	}
	if c.MaxBytes == 0 {
		c.MaxBytes = -1
	}
	if c.DuplicateWindow == 0 {
		c.DuplicateWindow = DefaultDuplicateWindow
	}
	if c.DuplicateWindow > c.MaxAge {
		return c, fmt.Errorf("natsqueue: DuplicateWindow %s must not exceed MaxAge %s", c.DuplicateWindow, c.MaxAge)
	}
	if c.Consumer == "" {
		c.Consumer = DefaultConsumer
	}
	if strings.ContainsAny(c.Consumer, ". *>\t\r\n") {
		return c, fmt.Errorf("natsqueue: Consumer %q must not contain '.', '*', '>' or whitespace", c.Consumer)
	}
	if c.BatchSize == 0 {
		c.BatchSize = DefaultBatchSize
	}
	if c.BatchSize < 1 {
		return c, fmt.Errorf("natsqueue: BatchSize %d must be positive", c.BatchSize)
	}
	if c.FetchWait == 0 {
		c.FetchWait = DefaultFetchWait
	}
	if c.AckWait == 0 {
		c.AckWait = DefaultAckWait
	}
	if c.MaxAckPending == 0 {
		c.MaxAckPending = 8 * c.BatchSize
	}
	if c.MaxAckPending < c.BatchSize {
		return c, fmt.Errorf("natsqueue: MaxAckPending %d must be at least BatchSize %d", c.MaxAckPending, c.BatchSize)
	}
	if c.NakDelay == 0 {
		c.NakDelay = DefaultNakDelay
	}
	if c.MaxNakDelay == 0 {
		c.MaxNakDelay = DefaultMaxNakDelay
	}
	if c.MaxNakDelay < c.NakDelay {
		return c, fmt.Errorf("natsqueue: MaxNakDelay %s must not be less than NakDelay %s", c.MaxNakDelay, c.NakDelay)
	}
	for _, d := range [...]struct {
		name string
		v    time.Duration
	}{{"MaxAge", c.MaxAge}, {"DuplicateWindow", c.DuplicateWindow}, {"FetchWait", c.FetchWait}, {"AckWait", c.AckWait}, {"NakDelay", c.NakDelay}} {
		if d.v < 0 {
			return c, fmt.Errorf("natsqueue: %s %s must be positive", d.name, d.v)
		}
	}
	if c.TailBuffer == 0 {
		c.TailBuffer = 1024
	}
	if c.TailBuffer < 1 {
		return c, fmt.Errorf("natsqueue: TailBuffer %d must be positive", c.TailBuffer)
	}
	if c.ErrorLog == nil {
		c.ErrorLog = slog.Default()
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	return c, nil
}

// filter is the subject filter matching every event.
func (c *Config) filter() string { return c.Subject + ".>" }

// subjectFor returns the subject an event with this action is published
// on: the action with anything but letters, digits, '_' and '-' replaced
// by '_', since '.', '*', '>' and whitespace are special in subjects.
func (c *Config) subjectFor(action string) string {
	b := make([]byte, 0, len(c.Subject)+1+len(action))
	b = append(b, c.Subject...)
	b = append(b, '.')
	for i := 0; i < len(action); i++ {
		ch := action[i]
		switch {
		case ch >= 'A' && ch <= 'Z', ch >= 'a' && ch <= 'z', ch >= '0' && ch <= '9', ch == '_', ch == '-':
			b = append(b, ch)
		default:
			b = append(b, '_')
		}
	}
	return string(b)
}

// StreamConfig returns the JetStream stream configuration EnsureStream
// applies for cfg.
func StreamConfig(cfg *Config) (jetstream.StreamConfig, error) {
	c, err := cfg.withDefaults()
	if err != nil {
		return jetstream.StreamConfig{}, err
	}
	return c.streamConfig(), nil
}

func (c *Config) streamConfig() jetstream.StreamConfig {
	return jetstream.StreamConfig{
		Name:        c.Stream,
		Description: "eventlog events, published by ingest nodes and stored by workers",
		Subjects:    []string{c.filter()},
		Retention:   c.Retention,
		Storage:     c.Storage,
		Replicas:    c.Replicas,
		MaxAge:      c.MaxAge,
		MaxBytes:    c.MaxBytes,
		Duplicates:  c.DuplicateWindow,
		Discard:     jetstream.DiscardOld,
	}
}

func (c *Config) consumerConfig() jetstream.ConsumerConfig {
	return jetstream.ConsumerConfig{
		Durable:       c.Consumer,
		Description:   "eventlog workers: store events, ack after commit",
		AckPolicy:     jetstream.AckExplicitPolicy,
		AckWait:       c.AckWait,
		MaxDeliver:    -1, // a store outage must never drop an event; poison is terminated instead
		MaxAckPending: c.MaxAckPending,
		FilterSubject: c.filter(),
		DeliverPolicy: jetstream.DeliverAllPolicy,
	}
}

// EnsureStream creates the stream described by cfg, or updates an
// existing one to it (unless cfg.KeepStream), and returns it.
func EnsureStream(ctx context.Context, js jetstream.JetStream, cfg *Config) (jetstream.Stream, error) {
	c, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	if c.KeepStream {
		s, err := js.Stream(ctx, c.Stream)
		if err == nil {
			return s, nil
		}
		if !errors.Is(err, jetstream.ErrStreamNotFound) {
			return nil, fmt.Errorf("natsqueue: look up stream %s: %w", c.Stream, err)
		}
	}
	s, err := js.CreateOrUpdateStream(ctx, c.streamConfig())
	if err != nil {
		return nil, fmt.Errorf("natsqueue: create or update stream %s: %w", c.Stream, err)
	}
	return s, nil
}
