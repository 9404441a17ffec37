package eventlog_test

import (
	"errors"
	"strconv"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/eventlog/eventlog"
)

// mustInvalid fails unless err is a *ValidationError for field that wraps
// ErrInvalid.
func mustInvalid(t *testing.T, what string, err error, field string) {
	t.Helper()
	var ve *eventlog.ValidationError
	if !errors.As(err, &ve) || !errors.Is(err, eventlog.ErrInvalid) {
		t.Fatalf("%s: error %v (%T) is not a *ValidationError wrapping ErrInvalid", what, err, err)
	}
	if ve.Field != field {
		t.Fatalf("%s: error names field %q, want %q", what, ve.Field, field)
	}
}

// FuzzCursor: any text a client sends as ?cursor= either decodes to a
// cursor whose text form decodes to the same cursor, or is refused naming
// the field "cursor".
func FuzzCursor(f *testing.F) {
	for _, c := range []eventlog.Cursor{
		{Timestamp: time.Date(2026, 11, 27, 10, 58, 39, 123456000, time.UTC), ID: "0190f3a4-7b2c-7d1e-8f00-0123456789ab"},
		{Timestamp: time.Date(1, 1, 1, 0, 0, 0, 0, time.UTC), ID: "00000000-0000-0000-0000-000000000000"},
		{Timestamp: time.Date(9999, 12, 31, 23, 59, 59, 999999000, time.UTC), ID: "FFFFFFFF-FFFF-FFFF-FFFF-FFFFFFFFFFFF"},
	} {
		f.Add(c.String())
	}
	f.Add("")
	f.Add("not a cursor")
	f.Add("MTc2NDI0MTExOTEyMzQ1Ng")
	f.Fuzz(func(t *testing.T, s string) {
		c, err := eventlog.ParseCursor(s)
		if err != nil {
			mustInvalid(t, "ParseCursor("+strconv.Quote(s)+")", err, "cursor")
			return
		}
		if c.Timestamp.Location() != time.UTC || c.Timestamp.Nanosecond()%1000 != 0 {
			t.Fatalf("ParseCursor(%q) timestamp %v is not UTC microseconds", s, c.Timestamp)
		}
		again, err := eventlog.ParseCursor(c.String())
		if err != nil {
			t.Fatalf("cursor %+v from %q: its text %q does not parse: %v", c, s, c.String(), err)
		}
		if diff := cmp.Diff(c, again); diff != "" {
			t.Fatalf("cursor round trip of %q changed it (-first +again):\n%s", s, diff)
		}
	})
}

// FuzzParseWhere: --where and ?where= text either parses to a filter that
// Query.Normalize accepts and whose String form parses back to the same
// filter, or is refused naming the field "where".
func FuzzParseWhere(f *testing.F) {
	for _, s := range []string{
		"plan=pro", "status=200", `status="200"`, "ok=true", "ok=false", "gone=null",
		"n=-1.5e3", "n=1e400", "n=-", "n=0x10", `s="a\"b"`, `s="unterminated`, "s=", "=v", "novalue",
		"k=v=w", "k= 1", "k=\xff", "k\xff=v", `k"=v`, "k\x00=v", "n=01", "n=-0",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		w, err := eventlog.ParseWhere(s)
		if err != nil {
			mustInvalid(t, "ParseWhere("+strconv.Quote(s)+")", err, "where")
			return
		}
		q := eventlog.Query{Where: []eventlog.Where{w}}
		if err := q.Normalize(); err != nil {
			t.Fatalf("ParseWhere(%q) = %#v, which Query.Normalize refuses: %v", s, w, err)
		}
		text := w.String()
		again, err := eventlog.ParseWhere(text)
		if err != nil {
			t.Fatalf("ParseWhere(%q) = %#v, whose String %q does not parse: %v", s, w, text, err)
		}
		if diff := cmp.Diff(w, again); diff != "" {
			t.Fatalf("ParseWhere(%q) -> String %q -> ParseWhere changed the filter (-first +again):\n%s", s, text, diff)
		}
	})
}

// FuzzParseTime covers ?since=, ?until=, --since and --older-than: RFC 3339
// or an age. An accepted time is UTC and formats back to itself; an
// accepted age is non-negative, bounded, and written back as a number and
// a unit it parses to the same duration.
func FuzzParseTime(f *testing.F) {
	for _, s := range []string{
		"2026-01-02T15:04:05Z", "2026-01-02T15:04:05.123456789+05:30", "0001-01-01T00:00:00Z",
		"90s", "15m", "12h", "7d", "2w", "0s", "-1d", "+3h", "1y", "d", "", "99999999999999999w", "10400w",
	} {
		f.Add(s)
	}
	now := time.Date(2026, 12, 6, 12, 0, 0, 0, time.UTC)
	f.Fuzz(func(t *testing.T, s string) {
		tm, err := eventlog.ParseTime("since", s, now)
		if err != nil {
			mustInvalid(t, "ParseTime("+strconv.Quote(s)+")", err, "since")
		} else {
			if tm.Location() != time.UTC {
				t.Fatalf("ParseTime(%q) = %v, not UTC", s, tm)
			}
			back, err := eventlog.ParseTime("since", tm.Format(time.RFC3339Nano), now)
			if err != nil || !back.Equal(tm) {
				t.Fatalf("ParseTime(%q) = %v does not round-trip through RFC 3339: %v, %v", s, tm, back, err)
			}
		}

		d, err := eventlog.ParseAge(s)
		if err != nil {
			mustInvalid(t, "ParseAge("+strconv.Quote(s)+")", err, "age")
			return
		}
		if d < 0 || d > 200*365*24*time.Hour {
			t.Fatalf("ParseAge(%q) = %v, outside [0, 200 years]", s, d)
		}
		unit := s[len(s)-1:]
		per := map[string]time.Duration{"s": time.Second, "m": time.Minute, "h": time.Hour, "d": 24 * time.Hour, "w": 7 * 24 * time.Hour}[unit]
		text := strconv.FormatInt(int64(d/per), 10) + unit
		if again, err := eventlog.ParseAge(text); err != nil || again != d {
			t.Fatalf("ParseAge(%q) = %v, but %q parses to %v, %v", s, d, text, again, err)
		}
		if got, err := eventlog.ParseTime("since", s, now); err == nil && !got.Equal(now.Add(-d)) && s != got.Format(time.RFC3339Nano) {
			t.Fatalf("ParseTime(%q) = %v, want now - %v", s, got, d)
		}
	})
}
