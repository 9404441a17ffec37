package eventlog_test

import (
	"encoding/json"
	"errors"
	"testing"
	"time"

	"github.com/eventlog/eventlog"
)

func TestNormalizeRejectsLoneSurrogates(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		extra string
		ok    bool
	}{
		{`{"a":"\ud83d\ude00"}`, true},  // a pair: 😀
		{`{"a":"\\ud800"}`, true},       // an escaped backslash, then text
		{`{"a":"\u00e9\u4e2d"}`, true},  // ordinary escapes
		{`{"a":"\ud800"}`, false},       // high alone
		{`{"a":"\ude00x"}`, false},      // low alone
		{`{"a":"\ud800\u0041"}`, false}, // high then not a low
		{`{"\udbff":1}`, false},         // in a key
	} {
		e := eventlog.Event{Action: "A", Extra: json.RawMessage(tc.extra)}
		err := e.Normalize(time.Now())
		if tc.ok && err != nil {
			t.Errorf("%s: unexpected error %v", tc.extra, err)
		}
		if !tc.ok {
			var ve *eventlog.ValidationError
			if !errors.As(err, &ve) || ve.Field != "extra" {
				t.Errorf("%s: got %v, want a validation error on extra", tc.extra, err)
			}
		}
	}
}
