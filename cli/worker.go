package cli

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/spf13/cobra"

	"github.com/eventlog/eventlog"
	"github.com/eventlog/eventlog/dial"
	"github.com/eventlog/eventlog/natsqueue"
)

func init() { addCommand(newWorkerCmd) }

// workerOptions are the flags of `eventlog worker`.
type workerOptions struct {
	queue       string
	migrate     bool
	stream      string
	subject     string
	consumer    string
	batchSize   int
	ackWait     time.Duration
	replicas    int
	maxAge      time.Duration
	maxBytes    int64
	update      bool
	metricsAddr string
	logFormat   string
}

func newWorkerCmd(e *env) *cobra.Command {
	var o workerOptions
	cmd := &cobra.Command{
		Use:   "worker",
		Short: "Store events from a NATS JetStream queue into the database",
		Long: `worker moves events from a NATS JetStream stream, where 'eventlog serve
--queue' nodes and applications publish them, into the database given by
--db. Run as many workers as the database can absorb: they share one durable
consumer and JetStream hands each event to one of them at a time.

Each batch (up to --batch-size events) is written in one transaction and
acknowledged after the commit. A worker that dies before acknowledging
leaves its batch to be redelivered after --ack-wait, and the store skips
event ids it already holds, so each event is stored exactly once. While the
database is down the worker backs off and the events wait in JetStream. A
message that is not a valid event is terminated and logged.

The stream is created when it does not exist, with --replicas, --max-age and
--max-bytes (see docs/scaling.md); an existing stream's settings are left
unchanged unless --update-stream is given. In a 3-node JetStream cluster
run one worker with --replicas 3 --update-stream once, so an acknowledged
event survives the loss of a node.

SIGINT or SIGTERM stops the worker gracefully: it finishes the batch in
hand, acknowledges it and exits 0.`,
		Example: `  eventlog worker --queue nats://127.0.0.1:4222 --db postgres://postgres@localhost/app
  eventlog worker --queue nats://n1:4222,nats://n2:4222,nats://n3:4222 --db postgres://db/app --metrics-addr :9464
  eventlog worker --queue nats://n1:4222,nats://n2:4222,nats://n3:4222 --db postgres://db/app --replicas 3 --update-stream`,
		Args: exactArgs(),
		RunE: func(cmd *cobra.Command, args []string) error {
			if o.queue == "" {
				o.queue = e.getenv("EVENTLOG_QUEUE")
			}
			if o.queue == "" {
				return usageErrorf("--queue is required: give the NATS servers, e.g. --queue nats://127.0.0.1:4222 (env EVENTLOG_QUEUE)")
			}
			if o.batchSize < 1 {
				return usageErrorf("invalid --batch-size %d: must be positive", o.batchSize)
			}
			if o.ackWait <= 0 {
				return usageErrorf("invalid --ack-wait %v: must be positive", o.ackWait)
			}
			if o.logFormat != "text" && o.logFormat != "json" {
				return usageErrorf("invalid --log-format %q: must be text or json", o.logFormat)
			}
			if o.replicas < 1 || o.replicas > 5 {
				return usageErrorf("invalid --replicas %d: must be between 1 and 5", o.replicas)
			}
			if o.maxAge < natsqueue.DefaultDuplicateWindow {
				return usageErrorf("invalid --max-age %v: must be at least the %v duplicate window", o.maxAge, natsqueue.DefaultDuplicateWindow)
			}
			if o.maxBytes == 0 || o.maxBytes < -1 {
				return usageErrorf("invalid --max-bytes %d: must be positive, or -1 for no limit", o.maxBytes)
			}
			return runWorker(cmd.Context(), e, o)
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.queue, "queue", "", "NATS server `URLs`, comma-separated (env EVENTLOG_QUEUE)")
	f.BoolVar(&o.migrate, "migrate", false, "apply pending schema migrations before starting")
	f.StringVar(&o.stream, "stream", natsqueue.DefaultStream, "JetStream stream `name`")
	f.StringVar(&o.subject, "subject", natsqueue.DefaultSubject, "subject `prefix` the events are published under")
	f.StringVar(&o.consumer, "consumer", natsqueue.DefaultConsumer, "durable consumer `name` the workers share")
	f.IntVar(&o.batchSize, "batch-size", natsqueue.DefaultBatchSize, "most events stored in one transaction")
	f.DurationVar(&o.ackWait, "ack-wait", natsqueue.DefaultAckWait, "how long JetStream waits for an acknowledgement before redelivering")
	f.IntVar(&o.replicas, "replicas", natsqueue.DefaultReplicas, "copies of the stream in a JetStream cluster (3 in a 3-node cluster)")
	f.DurationVar(&o.maxAge, "max-age", natsqueue.DefaultMaxAge, "how long the stream keeps an event")
	f.Int64Var(&o.maxBytes, "max-bytes", -1, "largest stream size in bytes, oldest events discarded beyond it (-1: no limit)")
	f.BoolVar(&o.update, "update-stream", false, "apply --replicas, --max-age and --max-bytes to an existing stream")
	f.StringVar(&o.metricsAddr, "metrics-addr", "", "serve Prometheus metrics on `host:port`/metrics (off when empty)")
	f.StringVar(&o.logFormat, "log-format", "text", "log format on stderr: text or json")
	return cmd
}

// runWorker stores events until ctx is done, then finishes the batch in
// hand and returns nil.
func runWorker(ctx context.Context, e *env, o workerOptions) error {
	var h slog.Handler
	if o.logFormat == "json" {
		h = slog.NewJSONHandler(e.stderr, nil)
	} else {
		h = slog.NewTextHandler(e.stderr, nil)
	}
	log := slog.New(h)

	store, err := e.openStore(ctx, o.migrate)
	if err != nil {
		return err
	}
	defer store.Close()

	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	cfg := &natsqueue.Config{
		Stream:     o.stream,
		Subject:    o.subject,
		Consumer:   o.consumer,
		BatchSize:  o.batchSize,
		AckWait:    o.ackWait,
		Replicas:   o.replicas,
		MaxAge:     o.maxAge,
		MaxBytes:   o.maxBytes,
		KeepStream: !o.update,
		Registerer: reg,
		ErrorLog:   log,
		Now:        e.now,
	}
	q, err := natsqueue.Connect(ctx, o.queue, cfg)
	if err != nil {
		return err
	}
	defer q.Close()
	w, err := q.NewWorker(store)
	if err != nil {
		return err
	}

	if o.metricsAddr != "" {
		ln, err := net.Listen("tcp", o.metricsAddr)
		if err != nil {
			return fmt.Errorf("listening on --metrics-addr %s: %w", o.metricsAddr, err)
		}
		mux := http.NewServeMux()
		mux.Handle("GET /metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{Registry: reg}))
		srv := &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
		go func() {
			if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
				log.Error("metrics server stopped", "error", err)
			}
		}()
		defer srv.Close()
		log.Info("serving metrics", "url", "http://"+ln.Addr().String()+"/metrics")
	}

	log.Info("eventlog worker started", "queue", natsqueue.RedactURLs(o.queue), "stream", o.stream, "consumer", o.consumer, "db", dial.Redact(e.databaseURL()))
	if err := w.Run(ctx); err != nil {
		return err
	}
	log.Info("worker stopped: the last batch is stored and acknowledged")
	return nil
}

// serveQueue is what `eventlog serve --queue` adds to serve: a JetStream
// connection through which the Logger publishes instead of writing, and a
// tail of the stream that feeds the Logger's subscribers (the API's
// /api/v1/stream and the admin's live tail) with events from every node.
// A nil *serveQueue (no --queue) changes nothing.
type serveQueue struct {
	q          *natsqueue.Queue
	reg        *prometheus.Registry
	cancelTail func()
}

// openServeQueue connects to the NATS servers in urls and ensures the
// stream; it returns nil when urls is empty.
func openServeQueue(ctx context.Context, e *env, urls string, log *slog.Logger) (*serveQueue, error) {
	if urls == "" {
		return nil, nil
	}
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	// KeepStream: the stream's settings are the workers' (--replicas,
	// --update-stream); serve only creates it, with defaults, if missing.
	q, err := natsqueue.Connect(ctx, urls, &natsqueue.Config{KeepStream: true, Registerer: reg, ErrorLog: log, Now: e.now})
	if err != nil {
		return nil, err
	}
	log.Info("ingesting through NATS JetStream: events are stored by 'eventlog worker'", "queue", natsqueue.RedactURLs(urls), "stream", natsqueue.DefaultStream)
	return &serveQueue{q: q, reg: reg}, nil
}

// IngestStore returns the store the Logger writes to: store itself
// without a queue, else one whose Insert publishes to JetStream.
func (s *serveQueue) IngestStore(store eventlog.Store) eventlog.Store {
	if s == nil {
		return store
	}
	return s.q.IngestStore(store)
}

// Tail feeds l's subscribers from the stream.
func (s *serveQueue) Tail(ctx context.Context, l *eventlog.Logger) error {
	if s == nil {
		return nil
	}
	cancel, err := s.q.Subscribe(ctx, func(ev eventlog.Event) { l.Notify(ev) })
	if err != nil {
		return err
	}
	s.cancelTail = cancel
	return nil
}

// Registry returns the registry holding the queue's metrics for the API to
// serve, or nil (the API's default) without a queue.
func (s *serveQueue) Registry() *prometheus.Registry {
	if s == nil {
		return nil
	}
	return s.reg
}

// Close stops the tail and drains the connection.
func (s *serveQueue) Close() {
	if s == nil {
		return
	}
	if s.cancelTail != nil {
		s.cancelTail()
	}
	s.q.Close()
}
