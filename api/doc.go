// Package api is eventlog's HTTP JSON API: ingest (POST /api/v1/events),
// queries, counts, series, a Server-Sent Events stream, health checks and
// Prometheus metrics, with bearer-token authentication from package auth.
//
// New builds the http.Handler from a nil-able Config; Server runs it with
// production timeouts, TLS and graceful shutdown on a listener the caller
// chooses, so tests start the real server on a free port.
//
// Errors leave the API in one shape,
// {"error":{"code":"…","message":"…","field":"…","index":N}}, mapped from
// eventlog's sentinel and typed errors in one table (errors.go); internal
// errors are logged with log/slog and never shown to the client.
//
// This package must not reach into a store driver: it speaks only to
// eventlog.Logger, eventlog.Store and auth.Tokens.
package api
