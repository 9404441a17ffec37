package api_test

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"

	"github.com/eventlog/eventlog"
	"github.com/eventlog/eventlog/sqlitestore"
)

// brokenActions is a real SQLite store whose Actions fails the way a
// database can, with details that must not reach the client.
type brokenActions struct{ *sqlitestore.Store }

func (brokenActions) Actions(context.Context) ([]eventlog.ActionCount, error) {
	return nil, errors.New("disk I/O error at /var/lib/secret/path")
}

// TestInternalAndUnavailable covers the 500 and 503 answers: a store
// failure is logged, counted and answered without details; a closed
// Logger or an unreachable database is 503.
func TestInternalAndUnavailable(t *testing.T) {
	t.Parallel()
	store := brokenActions{openSQLite(t).(*sqlitestore.Store)}
	b := setup(t, store, setupOpts{})

	status, body := b.do(t, "GET", "/api/v1/actions", b.read, "")
	if e := decode[errBody](t, body); status != http.StatusInternalServerError || e.Error.Code != "internal" || strings.Contains(body, "secret") {
		t.Errorf("store failure: %d %s, want 500 internal without details", status, body)
	}
	if _, metrics := b.do(t, "GET", "/metrics", "", ""); !strings.Contains(metrics, "eventlog_api_store_errors_total 1") {
		t.Errorf("store error not counted:\n%s", grep(metrics, "store_errors"))
	}

	b.logger.Close()
	status, body = b.do(t, "POST", "/api/v1/events", b.write, `{"action":"TOO_LATE"}`)
	if e := decode[errBody](t, body); status != http.StatusServiceUnavailable || e.Error.Code != "unavailable" {
		t.Errorf("POST after the Logger closed: %d %s, want 503 unavailable", status, body)
	}

	store.Close()
	status, body = b.do(t, "GET", "/readyz", "", "")
	if status != http.StatusServiceUnavailable || !strings.Contains(body, "unavailable") {
		t.Errorf("/readyz with the database closed: %d %s, want 503", status, body)
	}
	if status, _ := b.do(t, "GET", "/healthz", "", ""); status != http.StatusOK {
		t.Errorf("/healthz with the database closed: %d, want 200 (the process is up)", status)
	}
}
