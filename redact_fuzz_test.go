package eventlog_test

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"

	"github.com/eventlog/eventlog"
)

// FuzzRedactJSON: the hand-written scanner behind redaction sees
// client-controlled extra. It must never panic; on valid JSON its output
// must be valid JSON in which every key named like a redacted one, at any
// depth and however it is escaped, holds "[redacted]"; redacting again
// must change no byte; and unchanged input comes back as is.
func FuzzRedactJSON(f *testing.F) {
	for _, s := range []string{
		`{"password":"hunter2","user":{"Token":123,"name":"a"},"list":[{"secret":{"x":[1,2]}}]}`,
		`{"pass\u0077ord":"x","PASSWORD":null,"password_hint":"kept"}`,
		`[{"ssn":"1"}, {"cookie" : true } ]`,
		`{"a":"password","b":{"c":"token"}}`,
		`"password"`, `{"password"}`, `{"password":`, `{}`, `{"k":"\ud800"}`, ` {"token":[[[[]]]]} `,
	} {
		f.Add([]byte(s), "token")
	}
	f.Fuzz(func(t *testing.T, raw []byte, key string) {
		r := eventlog.NewRedactor([]string{key, "password", "secret"})
		out, changed := r.RedactJSON(raw)
		if !changed {
			if !bytes.Equal(out, raw) {
				t.Fatalf("RedactJSON(%q) reported no change but returned %q", raw, out)
			}
		}
		if !json.Valid(raw) {
			return
		}
		if !json.Valid(out) {
			t.Fatalf("RedactJSON(%q) = %q, not valid JSON", raw, out)
		}
		var v any
		if err := json.Unmarshal(out, &v); err != nil {
			t.Fatal(err)
		}
		names := r.Keys()
		var check func(v any)
		check = func(v any) {
			switch x := v.(type) {
			case map[string]any:
				for k, val := range x {
					for _, n := range names {
						if strings.EqualFold(k, n) && val != eventlog.Redacted {
							t.Fatalf("RedactJSON(%q) = %q leaves key %q with value %v", raw, out, k, val)
						}
					}
					check(val)
				}
			case []any:
				for _, e := range x {
					check(e)
				}
			}
		}
		check(v)
		if again, _ := r.RedactJSON(out); !bytes.Equal(again, out) {
			t.Fatalf("redacting %q twice changed it again: %q", out, again)
		}
	})
}
