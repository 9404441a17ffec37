package storetest

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/google/uuid"

	"github.com/eventlog/eventlog"
)

// base is the fixed "now" of the fixtures, so expected results never
// depend on the clock.
var base = time.Date(2026, 3, 10, 12, 0, 0, 0, time.UTC)

// roundTripEvents are events whose every field must come back exactly.
func roundTripEvents() []eventlog.Event {
	ts := base.Add(-90 * time.Minute).Add(123456 * time.Microsecond)
	ev := func(action string, extra string) eventlog.Event {
		return eventlog.Event{ID: uuid.NewString(), Timestamp: ts, Action: action, Extra: json.RawMessage(extra)}
	}
	var out []eventlog.Event
	e := ev("CREATED_FOO_WIDGET", `{"title":"Foo","n":1,"big":9007199254740993,"neg":-12345678901234567890,"f":1.5e-7,"ok":true,"none":null}`)
	e.User = &eventlog.User{ID: "42", Name: "Ada Lovelace"}
	e.Object = &eventlog.Object{Type: "widget", ID: "foo-1"}
	e.Context = &eventlog.RequestContext{IP: "203.0.113.7", UserAgent: "Mozilla/5.0 (X11)", RequestID: "req-1", TraceID: "trace-1", Method: "POST", Path: "/widgets"}
	out = append(out, e)
	e = ev("ünïcödé_äction", `{"text":"日本語 ✓ emoji 🎉","nested":{"a":[1,{"b":"c"}],"d":{}},"esc":"quote\" backslash\\ tab\t"}`)
	e.User = &eventlog.User{ID: "üser-1", Name: "Jürgen Müller"}
	e.Object = &eventlog.Object{Type: "straße", ID: "ø-9"}
	out = append(out, e)
	out = append(out, ev("EMPTY_EXTRA", `{}`))
	out = append(out, ev("NULL_EXTRA", `null`))
	out = append(out, ev("ARRAY_EXTRA", `[1,"two",3.25,[],{}]`))
	out = append(out, ev("STRING_EXTRA", `"just a string"`))
	out = append(out, ev("NUMBER_EXTRA", `18446744073709551617`))
	e = ev("USER_ONLY", `{"k":"v"}`)
	e.User = &eventlog.User{ID: "u-no-name"}
	out = append(out, e)
	e = ev("OBJECT_ONLY", `{}`)
	e.Object = &eventlog.Object{Type: "order", ID: "00042"}
	e.Context = &eventlog.RequestContext{RequestID: "only-request-id"}
	out = append(out, e)
	e = ev("ANCIENT", `{}`)
	e.Timestamp = time.Date(1, 1, 1, 0, 0, 0, 1000, time.UTC)
	out = append(out, e)
	e = ev("FAR_FUTURE", `{}`)
	e.Timestamp = time.Date(9999, 12, 31, 23, 59, 59, 999999000, time.UTC)
	out = append(out, e)
	return out
}

// Fixture vocabulary: small, so filters hit several events each, and
// holding the traps every store must handle (LIKE metacharacters, JSON
// values of different types that print alike).
var (
	fixtureActions = []string{"SIGNED_UP", "LOGGED_IN", "CREATED_WIDGET", "DELETED_WIDGET", "PAID_50%_OFF", "A_B_TEST", "AXB_TEST"}
	fixtureUsers   = []*eventlog.User{
		nil,
		{ID: "alice", Name: "Alice Smith"},
		{ID: "bob", Name: "Bob"},
		{ID: "jürgen", Name: "Jürgen Müller"},
		{ID: "50%", Name: "Percent"},
		{ID: "carol", Name: "Carol_Ann"},
	}
	fixtureObjects = []*eventlog.Object{
		nil,
		{Type: "widget", ID: "1"},
		{Type: "widget", ID: "2"},
		{Type: "order", ID: "1"},
		{Type: "Widget", ID: "10"},
	}
	fixtureExtras = []string{
		`{}`,
		`{"status":200}`,
		`{"status":"200"}`,
		`{"status":200.0}`,
		`{"status":200.5}`,
		`{"plan":"pro","status":404}`,
		`{"plan":"Pro","status":200}`,
		`{"flag":true}`,
		`{"flag":false}`,
		`{"flag":1}`,
		`{"k":null}`,
		`{"k":"null"}`,
		`{"note":"50% off"}`,
		`{"note":"500 off"}`,
		`{"code":"a_b"}`,
		`{"code":"axb"}`,
		`{"nested":{"status":200}}`,
		`[{"status":200}]`,
		`"status"`,
		`null`,
		`{"big":9007199254740993,"plan":"pro"}`,
		`{"word":"Straße","status":200,"plan":"pro"}`,
	}
)

// queryFixture returns deterministic events spread over about four days
// before base, with runs of equal timestamps so the id tie-break matters.
func queryFixture(n int) []eventlog.Event {
	r := rand.New(rand.NewPCG(7, 11))
	out := make([]eventlog.Event, 0, n)
	ts := base
	for i := 0; i < n; i++ {
		if i%4 != 0 { // every fourth event shares the previous timestamp
			ts = ts.Add(-time.Duration(r.IntN(90*60)+1) * time.Second).Add(-time.Duration(r.IntN(1000)) * time.Microsecond)
		}
		e := eventlog.Event{
			ID:        uuid.NewString(),
			Timestamp: ts,
			Action:    fixtureActions[r.IntN(len(fixtureActions))],
			User:      fixtureUsers[r.IntN(len(fixtureUsers))],
			Object:    fixtureObjects[r.IntN(len(fixtureObjects))],
			Extra:     json.RawMessage(fixtureExtras[i%len(fixtureExtras)]),
		}
		if i%5 == 0 {
			e.Context = &eventlog.RequestContext{IP: fmt.Sprintf("10.0.0.%d", i%250), Path: "/p"}
		}
		out = append(out, e)
	}
	return out
}
