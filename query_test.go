package eventlog_test

import (
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/eventlog/eventlog"
)

func TestParseWhere(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]eventlog.Where{
		"status=200":     {Key: "status", Value: 200.0},
		`status="200"`:   {Key: "status", Value: "200"},
		"plan=pro":       {Key: "plan", Value: "pro"},
		"ok=true":        {Key: "ok", Value: true},
		"ok=false":       {Key: "ok", Value: false},
		"gone=null":      {Key: "gone", Value: nil},
		"v=-1.5":         {Key: "v", Value: -1.5},
		"v=1.2.3":        {Key: "v", Value: "1.2.3"},
		"note=a=b":       {Key: "note", Value: "a=b"},
		"empty=":         {Key: "empty", Value: ""},
		`q="say \"hi\""`: {Key: "q", Value: `say "hi"`},
	} {
		got, err := eventlog.ParseWhere(in)
		if err != nil {
			t.Fatalf("ParseWhere(%q): %v", in, err)
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Fatalf("ParseWhere(%q) (-want +got):\n%s", in, diff)
		}
		back, err := eventlog.ParseWhere(got.String())
		if err != nil || !cmp.Equal(back, got) {
			t.Fatalf("ParseWhere(%q.String() = %q) = %v, %v; want %v", in, got.String(), back, err, got)
		}
	}
	for _, in := range []string{"novalue", "=x", `a"b=1`, "a\\b=1", `k="unterminated\"`} {
		_, err := eventlog.ParseWhere(in)
		wantField(t, err, "where")
	}
}

func TestParseTime(t *testing.T) {
	t.Parallel()
	got, err := eventlog.ParseTime("since", "2026-01-02T15:04:05+01:00", testNow)
	if err != nil || got != time.Date(2026, 1, 2, 14, 4, 5, 0, time.UTC) {
		t.Fatalf("RFC 3339 = %v, %v", got, err)
	}
	got, err = eventlog.ParseTime("since", "7d", testNow)
	if err != nil || !got.Equal(testNow.Add(-7*24*time.Hour)) {
		t.Fatalf("7d = %v, %v", got, err)
	}
	_, err = eventlog.ParseTime("until", "last tuesday", testNow)
	wantField(t, err, "until")
}

func TestParseAge(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]time.Duration{
		"90s": 90 * time.Second, "15m": 15 * time.Minute, "12h": 12 * time.Hour,
		"7d": 7 * 24 * time.Hour, "2w": 14 * 24 * time.Hour, "0s": 0,
	} {
		if got, err := eventlog.ParseAge(in); err != nil || got != want {
			t.Fatalf("ParseAge(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	for _, in := range []string{"", "d", "7", "7y", "-1d", "1.5h", "99999999w"} {
		_, err := eventlog.ParseAge(in)
		wantField(t, err, "age")
	}
}

func TestCursor(t *testing.T) {
	t.Parallel()
	c := eventlog.Cursor{Timestamp: time.Date(2026, 11, 27, 10, 58, 39, 123456000, time.UTC), ID: "0190f2a4-8b1c-7d2e-9f3a-4b5c6d7e8f90"}
	text, err := c.MarshalText()
	if err != nil {
		t.Fatal(err)
	}
	if strings.ContainsAny(string(text), "+/=") {
		t.Fatalf("cursor %q is not URL-safe", text)
	}
	back, err := eventlog.ParseCursor(string(text))
	if err != nil || *back != c {
		t.Fatalf("round trip = %v, %v; want %v", back, err, c)
	}
	if got := eventlog.CursorAfter(canonicalEvent()); *got != c {
		t.Fatalf("CursorAfter = %v, want %v", got, c)
	}
	for _, garbage := range []string{"", "!!!", "bm90LWEtY3Vyc29y", c.String()[:10], "MTIzNDU2Lm5vdC1hLXV1aWQ"} {
		_, err := eventlog.ParseCursor(garbage)
		wantField(t, err, "cursor")
	}
}

func TestQueryNormalize(t *testing.T) {
	t.Parallel()
	q := eventlog.Query{Since: time.Date(2026, 1, 1, 0, 0, 0, 1999, time.FixedZone("X", 3600))}
	if err := q.Normalize(); err != nil {
		t.Fatal(err)
	}
	if q.Limit != eventlog.DefaultLimit || q.Since != time.Date(2025, 12, 31, 23, 0, 0, 1000, time.UTC) {
		t.Fatalf("normalized = %+v", q)
	}
	for field, bad := range map[string]eventlog.Query{
		"limit":  {Limit: eventlog.MaxLimit + 1},
		"action": {Actions: []string{""}},
		"where":  {Where: []eventlog.Where{{Key: "a", Value: 3}}},
		"until":  {Since: testNow, Until: testNow},
		"user":   {UserID: "a\x00"},
	} {
		err := bad.Normalize()
		t.Run(field, func(t *testing.T) { wantField(t, err, field) })
	}
}

func TestSeriesQueryNormalize(t *testing.T) {
	t.Parallel()
	q := eventlog.SeriesQuery{Interval: eventlog.Hour, Since: testNow, Until: testNow.Add(90 * time.Minute)}
	if err := q.Normalize(); err != nil {
		t.Fatal(err)
	}
	if want := time.Date(2026, 11, 27, 10, 0, 0, 0, time.UTC); q.Since != want {
		t.Fatalf("Since = %v, want %v", q.Since, want)
	}
	if want := time.Date(2026, 11, 27, 13, 0, 0, 0, time.UTC); q.Until != want {
		t.Fatalf("Until = %v, want %v", q.Until, want)
	}
	d := eventlog.SeriesQuery{Since: testNow, Until: testNow}
	if err := d.Normalize(); err != nil || d.Interval != eventlog.Day || d.Until.Sub(d.Since) != 24*time.Hour {
		t.Fatalf("day default = %+v, %v", d, err)
	}
	for field, bad := range map[string]eventlog.SeriesQuery{
		"interval": {Interval: "week", Since: testNow, Until: testNow},
		"since":    {Until: testNow},
		"until":    {Since: testNow},
		"action":   {Since: testNow, Until: testNow, Actions: []string{"A\n"}},
	} {
		err := bad.Normalize()
		t.Run(field, func(t *testing.T) { wantField(t, err, field) })
	}
	far := eventlog.SeriesQuery{Interval: eventlog.Hour, Since: testNow.Add(-2 * 365 * 24 * time.Hour), Until: testNow}
	wantField(t, far.Normalize(), "since")
}

func TestFillSeries(t *testing.T) {
	t.Parallel()
	q := eventlog.SeriesQuery{Interval: eventlog.Day, Since: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC), Until: time.Date(2026, 1, 4, 0, 0, 0, 0, time.UTC)}
	got := eventlog.FillSeries(q, map[int64]int64{q.Since.Add(24 * time.Hour).Unix(): 5})
	want := []eventlog.Bucket{{Start: q.Since, Count: 0}, {Start: q.Since.Add(24 * time.Hour), Count: 5}, {Start: q.Since.Add(48 * time.Hour), Count: 0}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Fatalf("FillSeries (-want +got):\n%s", diff)
	}
}
