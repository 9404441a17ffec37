package api_test

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"

	"github.com/eventlog/eventlog"
	"github.com/eventlog/eventlog/api"
	"github.com/eventlog/eventlog/sqlitestore"
)

// fuzzHandler is the real handler over a SQLite file with authentication
// off, so fuzzed requests reach the parsers.
func fuzzHandler(f *testing.F) *api.Handler {
	f.Helper()
	st, err := sqlitestore.Open(context.Background(), filepath.Join(f.TempDir(), "fuzz.db"), &sqlitestore.Options{Synchronous: "NORMAL"})
	if err != nil {
		f.Fatal(err)
	}
	logger, err := eventlog.New(st, &eventlog.Config{ErrorLog: quietLog()})
	if err != nil {
		f.Fatal(err)
	}
	h, err := api.New(&api.Config{Logger: logger, Log: quietLog()})
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() {
		logger.Close()
		st.Close()
	})
	return h
}

// errorBody decodes an error answer and checks it is the documented shape.
func errorBody(t *testing.T, status int, body []byte) api.ErrorBody {
	t.Helper()
	var out struct {
		Error api.ErrorBody `json:"error"`
	}
	if err := json.Unmarshal(body, &out); err != nil || out.Error.Code == "" || out.Error.Message == "" {
		t.Fatalf("status %d with a body that is not an API error: %q (%v)", status, body, err)
	}
	return out.Error
}

// FuzzPostEvents sends arbitrary bodies to POST /api/v1/events: a single
// event or a batch. The server must answer 201 with one stored event per
// event sent, or 400/413 with an error naming the field, and never 500.
func FuzzPostEvents(f *testing.F) {
	for _, s := range []string{
		`{"action":"SIGNED_UP","user":{"id":"1","name":"a"}}`,
		`[{"action":"A"},{"action":"B","extra":{"x":[1,2]}}]`,
		`[{"action":"A","id":"0190f3a4-7b2c-7d1e-8f00-0123456789ab"},{"action":"A","id":"0190f3a4-7b2c-7d1e-8f00-0123456789ab"}]`,
		`[]`, `[1]`, `[{"action":""}]`, `[{"action":"A"},]`, `[[[[[[[[[[]]]]]]]]]]`, `{"action":"A","extra":[[[[[[[[1]]]]]]]]}`,
		`"SIGNED_UP"`, ``, `   `, `null`, `{"action":"A"} {"action":"B"}`, "[{\"action\":\"\xff\"}]",
	} {
		f.Add([]byte(s))
	}
	h := fuzzHandler(f)
	f.Fuzz(func(t *testing.T, body []byte) {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest(http.MethodPost, "/api/v1/events", bytes.NewReader(body)))
		switch rec.Code {
		case http.StatusCreated:
			trimmed := bytes.TrimSpace(body)
			if trimmed[0] == '{' {
				var e eventlog.Event
				if err := json.Unmarshal(rec.Body.Bytes(), &e); err != nil {
					t.Fatalf("201 for %q with a body that is not an event: %q (%v)", body, rec.Body, err)
				}
				return
			}
			var sent []json.RawMessage
			if err := json.Unmarshal(trimmed, &sent); err != nil {
				t.Fatalf("201 for %q, which is not a JSON array: %v", body, err)
			}
			var stored []eventlog.Event
			if err := json.Unmarshal(rec.Body.Bytes(), &stored); err != nil {
				t.Fatalf("201 for %q with a body that is not an array of events: %q (%v)", body, rec.Body, err)
			}
			if len(stored) != len(sent) {
				t.Fatalf("201 for %d events answered %d", len(sent), len(stored))
			}
		case http.StatusBadRequest:
			if e := errorBody(t, rec.Code, rec.Body.Bytes()); e.Field == "" || !strings.HasPrefix(e.Message, e.Field) {
				t.Fatalf("400 for %q does not name the field first: %+v", body, e)
			}
		case http.StatusRequestEntityTooLarge:
			errorBody(t, rec.Code, rec.Body.Bytes())
		default:
			t.Fatalf("POST %q answered %d: %s", body, rec.Code, rec.Body)
		}
	})
}

// FuzzQueryParams sends arbitrary query strings to the read endpoints.
// Every answer is 200 with the documented JSON, or 400 naming the bad
// parameter; never 500.
func FuzzQueryParams(f *testing.F) {
	for _, s := range []string{
		"action=A&action=B&user=1&object_type=widget&object_id=7&since=7d&until=2030-01-01T00:00:00Z&q=fox&where=plan%3Dpro&limit=10",
		"limit=0", "limit=1001", "limit=-1", "limit=1e3", "cursor=abc", "since=1y", "since=2w&until=3w",
		"where=%3D1", "where=k%3D%22x", "nope=1", "user=a&user=b", "q=%00", "q=%ff", "action=", "%zz",
		"interval=hour&since=2d&until=1d", "interval=week&since=1d&until=0s", "interval=day&since=9999w&until=0s",
	} {
		f.Add("/api/v1/events", s)
		f.Add("/api/v1/series", s)
	}
	f.Add("/api/v1/actions", "")
	f.Add("/api/v1/stats", "x=1")
	h := fuzzHandler(f)
	f.Fuzz(func(t *testing.T, path, rawQuery string) {
		switch path {
		case "/api/v1/events", "/api/v1/series", "/api/v1/actions", "/api/v1/stats":
		default:
			return // the routes themselves are not what is fuzzed
		}
		req := httptest.NewRequest(http.MethodGet, "/", nil)
		req.URL.Path, req.URL.RawQuery = path, rawQuery
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		switch rec.Code {
		case http.StatusOK:
			if !json.Valid(rec.Body.Bytes()) {
				t.Fatalf("GET %s?%s answered 200 with invalid JSON %q", path, rawQuery, rec.Body)
			}
		case http.StatusBadRequest:
			if e := errorBody(t, rec.Code, rec.Body.Bytes()); e.Field == "" {
				t.Fatalf("GET %s?%s: 400 names no field: %+v", path, rawQuery, e)
			}
		default:
			t.Fatalf("GET %s?%s answered %d: %s", path, rawQuery, rec.Code, rec.Body)
		}
	})
}
