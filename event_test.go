package eventlog_test

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/eventlog/eventlog"
)

var testNow = time.Date(2026, 11, 27, 10, 58, 39, 123456789, time.UTC)

// wantField fails unless err is a *ValidationError for field.
func wantField(t *testing.T, err error, field string) {
	t.Helper()
	var ve *eventlog.ValidationError
	if !errors.As(err, &ve) {
		t.Fatalf("error = %v, want a *ValidationError for %q", err, field)
	}
	if ve.Field != field {
		t.Fatalf("error field = %q (%v), want %q", ve.Field, err, field)
	}
	if !errors.Is(err, eventlog.ErrInvalid) {
		t.Fatalf("errors.Is(%v, ErrInvalid) = false", err)
	}
}

func TestNormalizeID(t *testing.T) {
	t.Parallel()
	t.Run("assigned UUIDv7", func(t *testing.T) {
		t.Parallel()
		e := eventlog.Event{Action: "A"}
		if err := e.Normalize(testNow); err != nil {
			t.Fatal(err)
		}
		u, err := uuid.Parse(e.ID)
		if err != nil || u.Version() != 7 {
			t.Fatalf("id %q: version %v, err %v; want a UUIDv7", e.ID, u.Version(), err)
		}
	})
	t.Run("caller UUID of any version lowercased", func(t *testing.T) {
		t.Parallel()
		for _, id := range []string{"6BA7B810-9DAD-11D1-80B4-00C04FD430C8", "F47AC10B-58CC-4372-A567-0E02B2C3D479"} {
			e := eventlog.Event{ID: id, Action: "A"}
			if err := e.Normalize(testNow); err != nil {
				t.Fatal(err)
			}
			if e.ID != strings.ToLower(id) {
				t.Fatalf("id = %q, want %q", e.ID, strings.ToLower(id))
			}
		}
	})
	t.Run("non-UUID rejected", func(t *testing.T) {
		t.Parallel()
		for _, id := range []string{"42", "not-a-uuid", "{f47ac10b-58cc-4372-a567-0e02b2c3d479}", "f47ac10b58cc4372a5670e02b2c3d479"} {
			e := eventlog.Event{ID: id, Action: "A"}
			wantField(t, e.Normalize(testNow), "id")
		}
	})
}

func TestNormalizeTimestamp(t *testing.T) {
	t.Parallel()
	e := eventlog.Event{Action: "A"}
	if err := e.Normalize(testNow); err != nil {
		t.Fatal(err)
	}
	if want := testNow.Truncate(time.Microsecond); !e.Timestamp.Equal(want) || e.Timestamp.Location() != time.UTC {
		t.Fatalf("default timestamp = %v, want %v UTC", e.Timestamp, want)
	}
	paris := time.FixedZone("CET", 3600)
	given := time.Date(2020, 1, 2, 4, 5, 6, 7008009, paris)
	e = eventlog.Event{Action: "A", Timestamp: given}
	if err := e.Normalize(testNow); err != nil {
		t.Fatal(err)
	}
	if want := time.Date(2020, 1, 2, 3, 5, 6, 7008000, time.UTC); e.Timestamp != want {
		t.Fatalf("override = %#v, want %#v (UTC, microseconds)", e.Timestamp, want)
	}
}

func TestNormalizeAction(t *testing.T) {
	t.Parallel()
	for name, action := range map[string]string{
		"empty":        "",
		"129 chars":    strings.Repeat("A", 129),
		"newline":      "CREATED\nWIDGET",
		"tab":          "CREATED\tWIDGET",
		"invalid utf8": "CREATED\xff",
	} {
		e := eventlog.Event{Action: action}
		err := e.Normalize(testNow)
		t.Run(name, func(t *testing.T) { wantField(t, err, "action") })
	}
	e := eventlog.Event{Action: strings.Repeat("é", 128)}
	if err := e.Normalize(testNow); err != nil {
		t.Fatalf("128 characters: %v", err)
	}
}

func TestNormalizeUser(t *testing.T) {
	t.Parallel()
	e := eventlog.Event{Action: "A", User: &eventlog.User{ID: "42", Name: "alice"}}
	if err := e.Normalize(testNow); err != nil || *e.User != (eventlog.User{ID: "42", Name: "alice"}) {
		t.Fatalf("user = %v, err %v", e.User, err)
	}
	e = eventlog.Event{Action: "A", User: &eventlog.User{}}
	if err := e.Normalize(testNow); err != nil || e.User != nil {
		t.Fatalf("anonymous user = %v, err %v; want nil", e.User, err)
	}
	e = eventlog.Event{Action: "A", User: &eventlog.User{Name: "alice"}}
	wantField(t, e.Normalize(testNow), "user.id")
}

func TestNormalizeObject(t *testing.T) {
	t.Parallel()
	e := eventlog.Event{Action: "A", Object: &eventlog.Object{ID: "17"}}
	wantField(t, e.Normalize(testNow), "object.type")
	e = eventlog.Event{Action: "A", Object: &eventlog.Object{Type: "widget"}}
	wantField(t, e.Normalize(testNow), "object.id")
}

func TestNormalizeExtra(t *testing.T) {
	t.Parallel()
	cases := []struct{ in, want string }{
		{"", "{}"},
		{" { \"a\" : [1, 2] ,\n \"b\":\"x y\" } ", `{"a":[1,2],"b":"x y"}`},
		{`{"a":1}`, `{"a":1}`},
		{`[1,"two"]`, `[1,"two"]`},
	}
	for _, c := range cases {
		e := eventlog.Event{Action: "A", Extra: json.RawMessage(c.in)}
		if err := e.Normalize(testNow); err != nil {
			t.Fatalf("extra %q: %v", c.in, err)
		}
		if string(e.Extra) != c.want {
			t.Fatalf("extra %q = %s, want %s", c.in, e.Extra, c.want)
		}
	}
	e := eventlog.Event{Action: "A", Extra: json.RawMessage(`{"a":`)}
	wantField(t, e.Normalize(testNow), "extra")
	big := `{"s":"` + strings.Repeat("x", eventlog.MaxExtraSize) + `"}`
	e = eventlog.Event{Action: "A", Extra: json.RawMessage(big)}
	wantField(t, e.Normalize(testNow), "extra")
}

func TestNormalizeContext(t *testing.T) {
	t.Parallel()
	e := eventlog.Event{Action: "A", Context: &eventlog.RequestContext{}}
	if err := e.Normalize(testNow); err != nil || e.Context != nil {
		t.Fatalf("empty context = %v, err %v; want nil", e.Context, err)
	}
	e = eventlog.Event{Action: "A", Context: &eventlog.RequestContext{Path: "a\x00b"}}
	wantField(t, e.Normalize(testNow), "context.path")
}

const canonical = `{"id":"0190f2a4-8b1c-7d2e-9f3a-4b5c6d7e8f90","timestamp":"2026-11-27T10:58:39.123456Z","action":"CREATED_FOO_WIDGET","user":{"id":"42","name":"alice"},"object":{"type":"widget","id":"17"},"extra":{"title":"Foo"}}`

func canonicalEvent() eventlog.Event {
	return eventlog.Event{
		ID:        "0190f2a4-8b1c-7d2e-9f3a-4b5c6d7e8f90",
		Timestamp: time.Date(2026, 11, 27, 10, 58, 39, 123456000, time.UTC),
		Action:    "CREATED_FOO_WIDGET",
		User:      &eventlog.User{ID: "42", Name: "alice"},
		Object:    &eventlog.Object{Type: "widget", ID: "17"},
		Extra:     json.RawMessage(`{"title":"Foo"}`),
	}
}

func TestMarshalJSONCanonical(t *testing.T) {
	t.Parallel()
	got, err := json.Marshal(canonicalEvent())
	if err != nil {
		t.Fatal(err)
	}
	if string(got) != canonical {
		t.Fatalf("MarshalJSON\n got %s\nwant %s", got, canonical)
	}
	anon := eventlog.Event{ID: "0190f2a4-8b1c-7d2e-9f3a-4b5c6d7e8f90", Timestamp: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC), Action: "A<&>",
		Context: &eventlog.RequestContext{IP: "10.0.0.1", Method: "POST"}}
	got, _ = json.Marshal(anon)
	want := `{"id":"0190f2a4-8b1c-7d2e-9f3a-4b5c6d7e8f90","timestamp":"2026-01-02T03:04:05.000000Z","action":"A\u003c\u0026\u003e","user":null,"object":null,"extra":{},"context":{"ip":"10.0.0.1","method":"POST"}}`
	if string(got) != want {
		t.Fatalf("MarshalJSON\n got %s\nwant %s", got, want)
	}
}

func TestUnmarshalJSON(t *testing.T) {
	t.Parallel()
	var e eventlog.Event
	if err := json.Unmarshal([]byte(canonical), &e); err != nil {
		t.Fatal(err)
	}
	back, _ := json.Marshal(e)
	if string(back) != canonical {
		t.Fatalf("round trip\n got %s\nwant %s", back, canonical)
	}
	for field, doc := range map[string]string{
		"colour":    `{"action":"A","colour":"red"}`,
		"action":    `{"action":17}`,
		"id":        `{"id":5,"action":"A"}`,
		"timestamp": `{"timestamp":"yesterday","action":"A"}`,
		"user":      `{"action":"A","user":{"id":42}}`,
		"object":    `{"action":"A","object":{"type":"w","id":"1","extra":1}}`,
		"context":   `{"action":"A","context":{"ip":1}}`,
	} {
		var e eventlog.Event
		err := json.Unmarshal([]byte(doc), &e)
		t.Run(field, func(t *testing.T) { wantField(t, err, field) })
	}
}

func TestParseEvent(t *testing.T) {
	t.Parallel()
	e, err := eventlog.ParseEvent([]byte(`{"action":"SIGNED_UP","extra":{ "plan" : "pro" }}`), testNow)
	if err != nil {
		t.Fatal(err)
	}
	if e.ID == "" || string(e.Extra) != `{"plan":"pro"}` || !e.Timestamp.Equal(testNow.Truncate(time.Microsecond)) {
		t.Fatalf("ParseEvent = %+v", e)
	}
	_, err = eventlog.ParseEvent([]byte(`{"action":""}`), testNow)
	wantField(t, err, "action")
}

func TestTemplateName(t *testing.T) {
	t.Parallel()
	if got := (eventlog.Event{Action: "CREATED_FOO_WIDGET"}).TemplateName(); got != "eventlog/created_foo_widget.html" {
		t.Fatalf("TemplateName = %q", got)
	}
}
