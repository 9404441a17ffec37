package cli

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"time"

	"github.com/spf13/cobra"

	"github.com/eventlog/eventlog"
	"github.com/eventlog/eventlog/api"
	"github.com/eventlog/eventlog/auth"
	"github.com/eventlog/eventlog/dial"
)

func init() { addCommand(newServeCmd) }

// serveOptions are the flags of `eventlog serve`.
type serveOptions struct {
	addr            string
	tlsCert         string
	tlsKey          string
	migrate         bool
	logFormat       string
	shutdownTimeout time.Duration
	queue           string   // NATS URLs; see serveQueue in cli/worker.go
	redactKeys      []string // nil: eventlog's defaults; empty: off
	retain          string   // --retain AGE; see retention in cli/prune.go
	retainActions   []string // --retain-action ACTION=AGE
	retainInterval  time.Duration
	checkpointKey   string // --checkpoint-key FILE; see cli/checkpoint.go
	checkpointEvery time.Duration
}

func newServeCmd(e *env) *cobra.Command {
	var o serveOptions
	cmd := &cobra.Command{
		Use:   "serve",
		Short: "Serve the HTTP JSON API (ingest, query, stream, metrics)",
		Long: `serve runs the HTTP API described in docs/api.md: services log events with
POST /api/v1/events, dashboards read them, /metrics exposes Prometheus
metrics.

A new SQLite file gets its schema automatically. A PostgreSQL or MySQL
database with a missing or outdated schema is refused; run 'eventlog migrate'
first or pass --migrate.

Authentication: requests carry 'Authorization: Bearer TOKEN' (create tokens
with 'eventlog token create'). While no token exists, the API answers
loopback clients only and serve prints a warning saying so.

SIGINT or SIGTERM stops the server gracefully: it stops accepting
connections, ends the streams, finishes in-flight requests, flushes the
events they carried and exits 0, within --shutdown-timeout.

Redaction: the values of keys of extra and context named in --redact-keys
(whole names, case-insensitive, at any depth) are stored as "[redacted]".
Without the flag the list is password, passwd, secret, token, api_key,
authorization, cookie, credit_card, ssn; --redact-keys '' turns it off.

Retention: with --retain AGE, serve deletes events older than AGE when it
starts and then every hour, in small batches (see 'eventlog prune');
--retain-action ACTION=AGE gives an action its own age, shorter or longer
(repeatable). Without either flag nothing is deleted.`,
		Example: `  eventlog serve
  eventlog serve --redact-keys password,token,iban
  eventlog serve --retain 400d --retain-action HEARTBEAT=7d --retain-action SIGNED_UP=1000w
  eventlog serve --addr :8443 --tls-cert cert.pem --tls-key key.pem --db postgres://postgres@localhost/app --migrate`,
		Args: exactArgs(),
		RunE: func(cmd *cobra.Command, args []string) error {
			if (o.tlsCert == "") != (o.tlsKey == "") {
				return usageErrorf("--tls-cert and --tls-key must be given together")
			}
			if o.logFormat != "text" && o.logFormat != "json" {
				return usageErrorf("invalid --log-format %q: must be text or json", o.logFormat)
			}
			if o.shutdownTimeout <= 0 {
				return usageErrorf("invalid --shutdown-timeout %v: must be positive", o.shutdownTimeout)
			}
			if cmd.Flags().Changed("redact-keys") && o.redactKeys == nil {
				o.redactKeys = []string{} // --redact-keys '': off
			}
			if _, err := parseRetention(o.retain, o.retainActions); err != nil {
				return err
			}
			ctx := cmd.Context()
			ln, err := net.Listen("tcp", o.addr)
			if err != nil {
				return fmt.Errorf("listening on %s: %w", o.addr, err)
			}
			defer ln.Close()
			return serve(ctx, e, ln, o)
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.addr, "addr", "127.0.0.1:8080", "`host:port` to listen on")
	f.StringVar(&o.tlsCert, "tls-cert", "", "TLS certificate `file` (PEM); serves HTTPS with --tls-key")
	f.StringVar(&o.tlsKey, "tls-key", "", "TLS private key `file` (PEM)")
	f.BoolVar(&o.migrate, "migrate", false, "apply pending schema migrations before serving")
	f.StringVar(&o.logFormat, "log-format", "text", "log format on stderr: text or json")
	f.DurationVar(&o.shutdownTimeout, "shutdown-timeout", 10*time.Second, "longest graceful shutdown before connections are cut")
	f.StringSliceVar(&o.redactKeys, "redact-keys", nil, "store the values of these extra and context `KEYS` (comma-separated, case-insensitive, any depth) as \"[redacted]\"; '' for none (default password,passwd,secret,token,api_key,authorization,cookie,credit_card,ssn)")
	f.StringVar(&o.retain, "retain", "", "delete events older than `AGE` (400d, 52w) at start and hourly")
	f.StringArrayVar(&o.retainActions, "retain-action", nil, "keep events of an action for its own age, `ACTION=AGE` (repeatable)")
	f.StringVar(&o.checkpointKey, "checkpoint-key", "", "verify the hash chain at start and hourly and log the head signed with this Ed25519 `PEM` key (openssl genpkey -algorithm ed25519); see docs/operations.md")
	f.StringVar(&o.queue, "queue", "", "publish ingested events to NATS JetStream at `URLs` (comma-separated) for 'eventlog worker' to store; see docs/scaling.md")
	return cmd
}

// serve runs the API on ln until ctx is done, then shuts down gracefully
// and returns nil. Tests call it with a listener on a free port.
func serve(ctx context.Context, e *env, ln net.Listener, o serveOptions) error {
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
	stopRetention, err := startRetention(ctx, e, store, o, log)
	if err != nil {
		return err
	}
	defer stopRetention()
	stopCheckpoints, err := startCheckpoints(ctx, store, o.checkpointKey, o.checkpointEvery, e.now, log)
	if err != nil {
		return err
	}
	defer stopCheckpoints()
	// --queue (docs/scaling.md): the Logger publishes to JetStream instead
	// of writing, and its subscribers are fed from the stream. Without
	// --queue, queue is nil and its methods change nothing.
	queue, err := openServeQueue(ctx, e, o.queue, log)
	if err != nil {
		return err
	}
	defer queue.Close()
	logger, err := eventlog.New(queue.IngestStore(store), &eventlog.Config{Now: e.now, ErrorLog: log, RedactKeys: o.redactKeys})
	if err != nil {
		return err
	}
	// Closing the Logger flushes the events of requests that finished.
	defer logger.Close()
	if err := queue.Tail(ctx, logger); err != nil {
		return err
	}
	tokens, err := auth.New(store, nil)
	if err != nil {
		return err
	}
	adminUI, err := newAdminHandler(ctx, e, store, logger, log) // the admin web UI, see cli/user.go
	if err != nil {
		return err
	}
	handler, err := api.New(&api.Config{Logger: logger, Tokens: tokens, Log: log, Now: e.now, Admin: adminUI, Registry: queue.Registry(), Queued: queue != nil})
	if err != nil {
		return err
	}
	srv, err := api.NewServer(handler, &api.ServerConfig{
		TLSCertFile: o.tlsCert, TLSKeyFile: o.tlsKey, ShutdownTimeout: o.shutdownTimeout, Log: log,
	})
	if err != nil {
		return err
	}

	addr := ln.Addr().(*net.TCPAddr)
	if !addr.IP.IsLoopback() && o.tlsCert == "" {
		log.Warn("serving plain HTTP on a non-loopback address: tokens and events cross the network unencrypted; use --tls-cert and --tls-key or a TLS proxy", "addr", addr.String())
	}
	if empty, err := tokens.Empty(ctx); err != nil {
		return err
	} else if empty {
		log.Warn("no API token exists, so the API is open to loopback clients only and refuses others; create one with 'eventlog token create --name NAME --scope write|read|admin'")
	}
	scheme := "http"
	if o.tlsCert != "" {
		scheme = "https"
	}
	log.Info("eventlog serving", "url", scheme+"://"+addr.String(), "db", dial.Redact(e.databaseURL()))

	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	log.Info("shutting down: finishing in-flight requests and closing streams")
	if err := srv.Shutdown(context.WithoutCancel(ctx)); err != nil {
		log.Warn("graceful shutdown timed out; open connections were closed", "error", err)
	}
	if err := <-errc; err != nil && !errors.Is(err, net.ErrClosed) {
		return err
	}
	if err := logger.Close(); err != nil {
		return err
	}
	log.Info("stopped")
	return nil
}
