package eventlog_test

import (
	"errors"
	"testing"
	"time"

	"github.com/eventlog/eventlog"
)

// TestExtraTextEveryStoreAccepts: extra that encoding/json accepts but
// PostgreSQL's json type refuses (invalid UTF-8, unpaired surrogate
// escapes) is a validation error naming extra on every store, not a store
// failure on one of them; paired escapes and plain text stay accepted.
func TestExtraTextEveryStoreAccepts(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 12, 6, 12, 0, 0, 0, time.UTC)
	for _, c := range []struct {
		extra string
		ok    bool
	}{
		{`{"k":"caf\u00e9 \ud83d\ude00 \\ud800 \"\ud800\udc00"}`, true},
		{`{"k":"` + "\xff" + `"}`, false},
		{`{"k":"\ud800"}`, false},
		{`{"k":"\udc00"}`, false},
		{`{"k":"\ud800x"}`, false},
		{`{"k":"\ud800\u0041"}`, false},
		{`{"k":"\ud800\ud800\udc00"}`, false},
		{`["\ud800"]`, false},
	} {
		_, err := eventlog.ParseEvent([]byte(`{"action":"A","extra":`+c.extra+`}`), now)
		if c.ok && err != nil {
			t.Errorf("extra %s: %v, want accepted", c.extra, err)
		}
		var ve *eventlog.ValidationError
		if !c.ok && (!errors.As(err, &ve) || ve.Field != "extra") {
			t.Errorf("extra %s: error %v, want a ValidationError naming extra", c.extra, err)
		}
	}
}

// TestInvalidUTF8IsRefused: encoding/json replaces invalid UTF-8 with
// U+FFFD, which would store an event different from the one sent; every
// field refuses it instead, naming itself.
func TestInvalidUTF8IsRefused(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 12, 6, 12, 0, 0, 0, time.UTC)
	for field, body := range map[string]string{
		"action":  "{\"action\":\"A\xff\"}",
		"user":    "{\"action\":\"A\",\"user\":{\"id\":\"1\",\"name\":\"\xc3\x28\"}}",
		"object":  "{\"action\":\"A\",\"object\":{\"type\":\"\xe2\x82\",\"id\":\"1\"}}",
		"context": "{\"action\":\"A\",\"context\":{\"path\":\"/\xff\"}}",
		"extra":   "{\"action\":\"A\",\"extra\":[\"\xff\"]}",
	} {
		_, err := eventlog.ParseEvent([]byte(body), now)
		var ve *eventlog.ValidationError
		if !errors.As(err, &ve) || ve.Field != field {
			t.Errorf("%q: error %v, want a ValidationError naming %s", body, err, field)
		}
	}
}
