package sqlitestore

import (
	"encoding/json"
	"testing"

	"github.com/eventlog/eventlog"
)

// TestAppendContextJSON checks the hand-written encoder against
// encoding/json, which wrote the stored context before.
func TestAppendContextJSON(t *testing.T) {
	t.Parallel()
	for _, c := range []eventlog.RequestContext{
		{IP: "10.0.0.1"},
		{UserAgent: "Mozilla/5.0 (X11) \"quoted\" back\\slash", Path: "/a?b=<c>&d"},
		{RequestID: "tab\tnew\nline\rcr\x01\x1f", TraceID: "ünïcödé €", Method: "GET"},
		{Path: "line\u2028sep\u2029para", IP: "bad\xffutf8"},
		{IP: "1", UserAgent: "2", RequestID: "3", TraceID: "4", Method: "5", Path: "6"},
	} {
		want, err := json.Marshal(c)
		if err != nil {
			t.Fatal(err)
		}
		if got := appendContextJSON(nil, &c); string(got) != string(want) {
			t.Errorf("appendContextJSON(%+v) = %s, want %s", c, got, want)
		}
	}
}
