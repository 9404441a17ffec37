package eventlog_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/google/go-cmp/cmp"

	"github.com/eventlog/eventlog"
)

// FuzzParseEvent feeds arbitrary bytes to the event decoder an HTTP client
// or an import file controls. It must never panic, must refuse with a
// *ValidationError naming a field, must refuse invalid UTF-8, and whatever
// it accepts must marshal to
// canonical JSON that parses back to the same event and the same bytes.
func FuzzParseEvent(f *testing.F) {
	for _, s := range []string{
		`{"action":"SIGNED_UP"}`,
		`{"id":"0190f3a4-7b2c-7d1e-8f00-0123456789ab","timestamp":"2026-11-27T10:58:39.123456Z","action":"CREATED_WIDGET","user":{"id":"42","name":"alice"},"object":{"type":"widget","id":"7"},"extra":{"plan":"pro","n":[1,2.5,null]},"context":{"ip":"192.0.2.1","user_agent":"curl/8","request_id":"r1","trace_id":"t1","method":"POST","path":"/w"}}`,
		`{"action":"A","timestamp":"2026-01-02T15:04:05+02:00","extra":  { "a" : 1 } }`,
		`{"action":"A","user":{"id":"","name":""},"object":null,"context":{}}`,
		`{"action":"A","extra":"just a string"}`,
		`{"action":"A","extra":null}`,
		`{"action":"\u00e9v\u00e9nement <&>"}`,
		`{"action":"A","timestamp":"0000-01-01T00:00:00Z"}`,
		`{"action":"A","timestamp":"9999-12-31T23:59:59.9999999Z"}`,
		`{"action":"A","user":{"id":"1","name":"x","admin":true}}`,
		`{"action":"A","nope":1}`,
		`[{"action":"A"}]`,
		`{"action":1}`,
		`{"action":"A","extra":{"a":"\u0000"}}`,
		"{\"action\":\"A\xff\"}",
		`{"action":"A","id":"{0190f3a4-7b2c-7d1e-8f00-0123456789ab}"}`,
	} {
		f.Add([]byte(s))
	}
	now := time.Date(2026, 12, 6, 12, 0, 0, 0, time.UTC)
	f.Fuzz(func(t *testing.T, data []byte) {
		e, err := eventlog.ParseEvent(data, now)
		if err != nil {
			var ve *eventlog.ValidationError
			if !errors.As(err, &ve) || ve.Field == "" {
				t.Fatalf("ParseEvent(%q) = %v (%T); want a *ValidationError naming a field", data, err, err)
			}
			if !errors.Is(err, eventlog.ErrInvalid) {
				t.Fatalf("ParseEvent(%q) error %v does not wrap ErrInvalid", data, err)
			}
			return
		}
		// Invalid UTF-8 can only sit inside strings of valid JSON, and
		// encoding/json would have replaced it: accepting it would store
		// something other than what was sent.
		if !utf8.Valid(data) {
			t.Fatalf("ParseEvent accepted invalid UTF-8 %q as %+v", data, e)
		}
		// MarshalJSON, not json.Marshal: encoding/json HTML-escapes what a
		// Marshaler returns, so it would rewrite & in extra as \u0026.
		first, err := e.MarshalJSON()
		if err != nil {
			t.Fatalf("marshaling accepted event %+v: %v", e, err)
		}
		if !json.Valid(first) {
			t.Fatalf("MarshalJSON of accepted %q wrote invalid JSON %q", data, first)
		}
		again, err := eventlog.ParseEvent(first, now.Add(time.Hour))
		if err != nil {
			t.Fatalf("canonical form %q of accepted input %q does not parse: %v", first, data, err)
		}
		if diff := cmp.Diff(e, again); diff != "" {
			t.Fatalf("round trip of %q through %q changed the event (-first +again):\n%s", data, first, diff)
		}
		second, _ := again.MarshalJSON()
		if !bytes.Equal(first, second) {
			t.Fatalf("canonical form is not stable:\n%s\n%s", first, second)
		}
	})
}
