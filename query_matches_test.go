package eventlog_test

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/eventlog/eventlog"
)

func TestQueryMatches(t *testing.T) {
	t.Parallel()
	ts := time.Date(2026, 11, 27, 10, 0, 0, 0, time.UTC)
	e := eventlog.Event{
		ID: "01930000-0000-7000-8000-000000000001", Timestamp: ts, Action: "CREATED_WIDGET",
		User:   &eventlog.User{ID: "42", Name: "Alice"},
		Object: &eventlog.Object{Type: "widget", ID: "17"},
		Extra:  json.RawMessage(`{"status":200,"plan":"pro","ok":true,"gone":null,"code":"200"}`),
	}
	for _, tc := range []struct {
		name string
		q    eventlog.Query
		want bool
	}{
		{"no filter", eventlog.Query{}, true},
		{"action in list", eventlog.Query{Actions: []string{"X", "CREATED_WIDGET"}}, true},
		{"other action", eventlog.Query{Actions: []string{"X"}}, false},
		{"user", eventlog.Query{UserID: "42"}, true},
		{"other user", eventlog.Query{UserID: "4"}, false},
		{"object type and id", eventlog.Query{ObjectType: "widget", ObjectID: "17"}, true},
		{"other object id", eventlog.Query{ObjectType: "widget", ObjectID: "1"}, false},
		{"since is inclusive", eventlog.Query{Since: ts}, true},
		{"until is exclusive", eventlog.Query{Until: ts}, false},
		{"text in user name, any case", eventlog.Query{Text: "aLiCe"}, true},
		{"text in extra", eventlog.Query{Text: "PRO"}, true},
		{"text nowhere", eventlog.Query{Text: "bob"}, false},
		{"where number", eventlog.Query{Where: []eventlog.Where{{Key: "status", Value: 200.0}}}, true},
		{"where number is not the string", eventlog.Query{Where: []eventlog.Where{{Key: "status", Value: "200"}}}, false},
		{"where string", eventlog.Query{Where: []eventlog.Where{{Key: "code", Value: "200"}}}, true},
		{"where bool and null", eventlog.Query{Where: []eventlog.Where{{Key: "ok", Value: true}, {Key: "gone", Value: nil}}}, true},
		{"where missing key is not null", eventlog.Query{Where: []eventlog.Where{{Key: "absent", Value: nil}}}, false},
	} {
		if got := tc.q.Matches(&e); got != tc.want {
			t.Errorf("%s: Matches = %v, want %v", tc.name, got, tc.want)
		}
	}
}
