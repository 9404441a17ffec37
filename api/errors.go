package api

import (
	"context"
	"database/sql/driver"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"strings"
	"syscall"

	"github.com/eventlog/eventlog"
	"github.com/eventlog/eventlog/auth"
)

// Error codes of the API's error body.
const (
	CodeInvalid          = "invalid"
	CodeNotFound         = "not_found"
	CodeUnauthorized     = "unauthorized"
	CodeForbidden        = "forbidden"
	CodeTooLarge         = "too_large"
	CodeMethodNotAllowed = "method_not_allowed"
	CodeUnavailable      = "unavailable"
	CodeInternal         = "internal"
)

// Errors of the HTTP layer itself, mapped in errorTable like eventlog's.
var (
	errTooLarge      = errors.New("request body is larger than the limit")
	errTooMany       = errors.New("too many events in one request")
	errRouteNotFound = errors.New("no such endpoint")
	errMethod        = errors.New("method not allowed on this endpoint")
)

// errorTable maps errors to statuses and codes: the first entry that
// errors.Is matches wins. Anything else is a 500 whose details are logged,
// never sent.
var errorTable = []struct {
	err    error
	status int
	code   string
	public bool // the error's own text is safe to show
}{
	{eventlog.ErrInvalid, http.StatusBadRequest, CodeInvalid, true},
	{eventlog.ErrNotFound, http.StatusNotFound, CodeNotFound, false},
	{errRouteNotFound, http.StatusNotFound, CodeNotFound, true},
	{errMethod, http.StatusMethodNotAllowed, CodeMethodNotAllowed, true},
	{auth.ErrUnauthenticated, http.StatusUnauthorized, CodeUnauthorized, true},
	{auth.ErrForbidden, http.StatusForbidden, CodeForbidden, true},
	{errTooLarge, http.StatusRequestEntityTooLarge, CodeTooLarge, true},
	{errTooMany, http.StatusRequestEntityTooLarge, CodeTooLarge, true},
	{eventlog.ErrClosed, http.StatusServiceUnavailable, CodeUnavailable, false},
	{eventlog.ErrBufferFull, http.StatusServiceUnavailable, CodeUnavailable, false},
	{context.DeadlineExceeded, http.StatusServiceUnavailable, CodeUnavailable, false},
}

// ErrorBody is the JSON body of every error response, under "error".
type ErrorBody struct {
	Code    string `json:"code"`
	Message string `json:"message"`
	Field   string `json:"field,omitempty"`
	Index   *int   `json:"index,omitempty"`
}

// fieldError is a public error naming a field, for HTTP-level checks.
type fieldError struct {
	field, msg string
	err        error
}

func (e *fieldError) Error() string { return e.field + ": " + e.msg }
func (e *fieldError) Unwrap() error { return e.err }

// classify returns the status and the body for err.
func classify(err error) (int, ErrorBody) {
	for _, m := range errorTable {
		if !errors.Is(err, m.err) {
			continue
		}
		body := ErrorBody{Code: m.code, Message: http.StatusText(m.status)}
		var ve *eventlog.ValidationError
		var fe *fieldError
		switch {
		case errors.As(err, &ve):
			body.Field, body.Message = ve.Field, ve.Field+" "+ve.Message
			if ve.Index >= 0 {
				i := ve.Index
				body.Index = &i
			}
		case errors.As(err, &fe):
			body.Field, body.Message = fe.field, fe.field+" "+fe.msg
		case m.public:
			body.Message = err.Error()
		case m.err == eventlog.ErrNotFound:
			body.Message = "not found"
		case m.status == http.StatusServiceUnavailable:
			body.Message = "the server is shutting down or overloaded; retry later"
		}
		return m.status, body
	}
	if databaseUnreachable(err) {
		return http.StatusServiceUnavailable, ErrorBody{Code: CodeUnavailable, Message: "the database is unavailable; retry later with the same event ids"}
	}
	return http.StatusInternalServerError, ErrorBody{Code: CodeInternal, Message: "internal error; see the server log"}
}

// databaseUnreachable reports whether err says the database could not be
// reached or went away (down, restarting, connection refused or reset),
// as opposed to refusing the request: the client should retry. It looks
// only at stdlib error types and the SQLSTATE that pgx errors carry, so
// the API imports no driver.
func databaseUnreachable(err error) bool {
	if errors.Is(err, driver.ErrBadConn) || errors.Is(err, syscall.ECONNREFUSED) ||
		errors.Is(err, syscall.ECONNRESET) || errors.Is(err, io.ErrUnexpectedEOF) {
		return true
	}
	var ne net.Error
	if errors.As(err, &ne) {
		return true
	}
	var st interface{ SQLState() string }
	if errors.As(err, &st) {
		// Class 08: connection exception; 57P01–57P03: admin shutdown,
		// crash shutdown, cannot connect now.
		code := st.SQLState()
		return strings.HasPrefix(code, "08") || code == "57P01" || code == "57P02" || code == "57P03"
	}
	return false
}

// writeError answers with err's status and body, logs internal errors
// and counts store failures.
func (h *Handler) writeError(w http.ResponseWriter, r *http.Request, err error) {
	status, body := classify(err)
	if r.Context().Err() != nil && errors.Is(err, r.Context().Err()) {
		// The client went away; nobody reads the answer and the server
		// did nothing wrong. (An event it sent may still be committed.)
		status, body = http.StatusServiceUnavailable, ErrorBody{Code: CodeUnavailable, Message: "the request was canceled"}
	} else if status >= 500 {
		h.log.LogAttrs(r.Context(), slog.LevelError, "request failed",
			slog.String("method", r.Method), slog.String("path", r.URL.Path), slog.String("error", err.Error()))
		if status == http.StatusInternalServerError {
			h.metrics.storeErrors.Inc()
		}
	}
	b := make([]byte, 0, 128)
	b = append(b, `{"error":{"code":`...)
	b = strconv.AppendQuote(b, body.Code)
	b = append(b, `,"message":`...)
	b = appendJSONString(b, body.Message)
	if body.Field != "" {
		b = append(b, `,"field":`...)
		b = appendJSONString(b, body.Field)
	}
	if body.Index != nil {
		b = append(b, `,"index":`...)
		b = strconv.AppendInt(b, int64(*body.Index), 10)
	}
	b = append(b, "}}\n"...)
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	w.Write(b)
}
