package api

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/eventlog/eventlog"
	"github.com/eventlog/eventlog/auth"
)

// Limits of the API.
const (
	// MaxBodyBytes is the largest request body accepted: 10 MiB.
	MaxBodyBytes = 10 << 20
	// MaxEvents is the most events one POST may carry.
	MaxEvents = 10000
)

// Config configures the API handler. A nil *Config is invalid because a
// Logger is required; every other field has a default.
type Config struct {
	// Logger stores ingested events and feeds the stream. Required. In
	// Sync mode (the default) a 201 means the events are committed; in
	// Spooled mode it means they are in the local spool file. Async mode
	// is refused: a 201 would promise nothing.
	Logger *eventlog.Logger
	// Store answers queries. Defaults to Logger.Store().
	Store eventlog.Store
	// Tokens authenticates requests. When nil, authentication is off and
	// every request is allowed: only for embedding the handler behind
	// your own authentication. When set and no token exists yet, the API
	// answers loopback clients only; once any token exists, every API
	// request needs one.
	Tokens *auth.Tokens
	// Registry receives the API's and the Logger's metrics, served at
	// /metrics. Defaults to a new registry that also has the Go runtime
	// and process collectors.
	Registry *prometheus.Registry
	// Log receives access and error logs. Defaults to slog.Default().
	Log *slog.Logger
	// Now returns the current time for stats and relative times.
	// Defaults to time.Now.
	Now func() time.Time
	// KeepAlive is the interval of keep-alive comments on streams.
	// Defaults to 15 seconds.
	KeepAlive time.Duration
	// StreamBuffer is the number of live events buffered per stream.
	// Defaults to 4096.
	StreamBuffer int
	// Queued says the Logger hands events to a queue (serve --queue)
	// rather than committing them: ingest then answers 202 Accepted, which
	// means the queue acknowledged the events and a worker will store
	// them. Defaults to false (201 Created: committed).
	Queued bool
	// Admin, when set, is mounted at /admin/ (the admin web UI); / redirects
	// there either way.
	Admin http.Handler
}

// Handler serves the API. Create it with New.
type Handler struct {
	queued    bool
	logger    *eventlog.Logger
	store     eventlog.Store
	tokens    *auth.Tokens
	log       *slog.Logger
	now       func() time.Time
	keepAlive time.Duration
	streamBuf int
	metrics   *metrics
	mux       *http.ServeMux

	streamsMu sync.Mutex
	closing   chan struct{}
	closed    bool
}

// New returns the API handler.
func New(cfg *Config) (*Handler, error) {
	if cfg == nil || cfg.Logger == nil {
		return nil, errors.New("api.New: Config.Logger is required")
	}
	if cfg.Logger.Mode() == eventlog.Async {
		return nil, errors.New("api.New: Config.Logger is in Async mode, where Log returns before the event is durable; use Sync or Spooled so that 201 means stored")
	}
	h := &Handler{
		logger:    cfg.Logger,
		store:     cfg.Store,
		tokens:    cfg.Tokens,
		log:       cfg.Log,
		now:       cfg.Now,
		keepAlive: cfg.KeepAlive,
		streamBuf: cfg.StreamBuffer,
		queued:    cfg.Queued,
		closing:   make(chan struct{}),
	}
	if h.store == nil {
		h.store = cfg.Logger.Store()
	}
	if h.log == nil {
		h.log = slog.Default()
	}
	if h.now == nil {
		h.now = time.Now
	}
	if h.keepAlive == 0 {
		h.keepAlive = 15 * time.Second
	}
	if h.keepAlive < 0 {
		return nil, errors.New("api.New: KeepAlive must not be negative")
	}
	if h.streamBuf == 0 {
		h.streamBuf = 4096
	}
	if h.streamBuf < 0 {
		return nil, errors.New("api.New: StreamBuffer must not be negative")
	}
	reg := cfg.Registry
	if reg == nil {
		reg = newDefaultRegistry()
	}
	m, err := newMetrics(reg, cfg.Logger)
	if err != nil {
		return nil, err
	}
	h.metrics = m

	mux := http.NewServeMux()
	mux.Handle("POST /api/v1/events", h.api(auth.Write, h.postEvents))
	mux.Handle("GET /api/v1/events", h.api(auth.Read, h.listEvents))
	mux.Handle("GET /api/v1/events/{id}", h.api(auth.Read, h.getEvent))
	mux.Handle("GET /api/v1/actions", h.api(auth.Read, h.actions))
	mux.Handle("GET /api/v1/stats", h.api(auth.Read, h.stats))
	mux.Handle("GET /api/v1/series", h.api(auth.Read, h.series))
	mux.Handle("GET /api/v1/stream", h.api(auth.Read, h.stream))
	mux.Handle("/api/", h.api("", h.notFound))
	mux.HandleFunc("GET /healthz", h.healthz)
	mux.HandleFunc("GET /readyz", h.readyz)
	mux.Handle("GET /metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
	mux.Handle("GET /{$}", http.RedirectHandler("/admin/", http.StatusFound))
	if cfg.Admin != nil {
		mux.Handle("/admin/", cfg.Admin) // the admin web UI (package admin)
	}
	h.mux = mux
	return h, nil
}

// ServeHTTP implements http.Handler.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	sw := &statusWriter{ResponseWriter: w}
	h.mux.ServeHTTP(sw, r)
	if sw.status == 0 {
		sw.status = http.StatusOK
	}
	if h.log.Enabled(r.Context(), slog.LevelInfo) {
		attrs := []slog.Attr{
			slog.String("method", r.Method),
			slog.String("path", r.URL.Path),
			slog.Int("status", sw.status),
			slog.Int64("bytes", sw.bytes),
			slog.Duration("duration", time.Since(start)),
			slog.String("remote", r.RemoteAddr),
		}
		if sw.tokenName != "" {
			attrs = append(attrs, slog.String("token_name", sw.tokenName)) // the name, never the secret
		}
		h.log.LogAttrs(r.Context(), slog.LevelInfo, "http request", attrs...)
	}
}

// CloseStreams ends every open stream and refuses new ones; Server calls
// it when shutting down, because streams never go idle by themselves.
func (h *Handler) CloseStreams() {
	h.streamsMu.Lock()
	defer h.streamsMu.Unlock()
	if !h.closed {
		h.closed = true
		close(h.closing)
	}
}

// api wraps an API endpoint: authentication, scope check, latency
// metrics by route.
func (h *Handler) api(need auth.Scope, fn func(http.ResponseWriter, *http.Request)) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		sw, _ := w.(*statusWriter)
		var name string
		err := h.authorize(r, need, &name)
		if sw != nil {
			sw.tokenName = name
		}
		if err != nil {
			if need == auth.Write {
				h.metrics.rejected.WithLabelValues(codeOf(err)).Inc()
			}
			if errors.Is(err, auth.ErrUnauthenticated) {
				w.Header().Set("WWW-Authenticate", `Bearer realm="eventlog"`)
			}
			h.writeError(w, r, err)
			return
		}
		fn(w, r)
		if r.Pattern != "GET /api/v1/stream" {
			code := "200"
			if sw != nil && sw.status != 0 {
				code = statusLabel(sw.status)
			}
			h.metrics.latency.WithLabelValues(r.Pattern, code).Observe(time.Since(start).Seconds())
		}
	})
}

// authorize checks the bearer token against need.
func (h *Handler) authorize(r *http.Request, need auth.Scope, name *string) error {
	if h.tokens == nil {
		return nil
	}
	secret, hasBearer := bearer(r)
	if !hasBearer {
		empty, err := h.tokens.Empty(r.Context())
		if err != nil {
			return err
		}
		if empty && isLoopback(r.RemoteAddr) {
			return nil
		}
		if empty {
			return fmt.Errorf("no API token exists yet, so the API answers loopback clients only (create one with `eventlog token create`): %w", auth.ErrUnauthenticated)
		}
		return auth.ErrUnauthenticated
	}
	tok, err := h.tokens.Authenticate(r.Context(), secret)
	if err != nil {
		return err
	}
	*name = tok.Name
	if need != "" && !tok.Scope.Allows(need) {
		return &scopeError{have: tok.Scope, need: need}
	}
	return nil
}

type scopeError struct{ have, need auth.Scope }

func (e *scopeError) Error() string {
	return "a " + string(e.have) + " token may not do this; it needs a " + string(e.need) + " or admin token"
}
func (e *scopeError) Unwrap() error { return auth.ErrForbidden }

func bearer(r *http.Request) (string, bool) {
	v := r.Header.Get("Authorization")
	if len(v) < 7 || !strings.EqualFold(v[:7], "bearer ") {
		return "", false
	}
	return strings.TrimSpace(v[7:]), true
}

func isLoopback(remote string) bool {
	host, _, err := net.SplitHostPort(remote)
	if err != nil {
		host = remote
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

func codeOf(err error) string {
	_, b := classify(err)
	return b.Code
}

func statusLabel(s int) string { return strconv.Itoa(s) }

func (h *Handler) notFound(w http.ResponseWriter, r *http.Request) {
	if _, p := h.mux.Handler(&http.Request{Method: http.MethodGet, URL: r.URL, Host: r.Host}); p != "" && p != "/api/" {
		h.writeError(w, r, errMethod)
		return
	}
	if _, p := h.mux.Handler(&http.Request{Method: http.MethodPost, URL: r.URL, Host: r.Host}); p != "" && p != "/api/" {
		h.writeError(w, r, errMethod)
		return
	}
	h.writeError(w, r, errRouteNotFound)
}

// statusWriter records the status and size of a response for the access
// log; Unwrap lets http.ResponseController reach Flush and deadlines.
type statusWriter struct {
	http.ResponseWriter
	status    int
	bytes     int64
	tokenName string
}

func (w *statusWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	n, err := w.ResponseWriter.Write(b)
	w.bytes += int64(n)
	return n, err
}

func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// Flush lets streams flush through the wrapper.
func (w *statusWriter) Flush() {
	if f, ok := w.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

func appendJSONString(b []byte, s string) []byte {
	q, _ := json.Marshal(s)
	return append(b, q...)
}

func (h *Handler) writeJSON(w http.ResponseWriter, status int, v any) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	if err := enc.Encode(v); err != nil {
		h.log.Error("encoding response", "error", err)
		w.WriteHeader(http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	w.Write(buf.Bytes())
}

func (h *Handler) healthz(w http.ResponseWriter, r *http.Request) {
	h.writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
}

func (h *Handler) readyz(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
	defer cancel()
	if err := h.store.Ping(ctx); err != nil {
		h.log.LogAttrs(r.Context(), slog.LevelWarn, "readiness check failed", slog.String("error", err.Error()))
		h.writeJSON(w, http.StatusServiceUnavailable, map[string]any{"status": "unavailable", "error": map[string]string{"code": CodeUnavailable, "message": "the database is not reachable"}})
		return
	}
	h.writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
}
