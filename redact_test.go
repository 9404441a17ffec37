package eventlog_test

import (
	"context"
	"database/sql"
	"encoding/json"
	"testing"

	"github.com/eventlog/eventlog"
)

func TestRedactJSON(t *testing.T) {
	t.Parallel()
	r := eventlog.NewRedactor(eventlog.DefaultRedactKeys())
	tests := []struct {
		name, in, want string
	}{
		{"top level", `{"user":"alice","password":"hunter2"}`, `{"user":"alice","password":"[redacted]"}`},
		{"case-insensitive", `{"Password":"a","API_KEY":1,"Authorization":"Bearer x"}`, `{"Password":"[redacted]","API_KEY":"[redacted]","Authorization":"[redacted]"}`},
		{"nested objects", `{"a":{"b":{"c":{"token":"t","keep":true}}}}`, `{"a":{"b":{"c":{"token":"[redacted]","keep":true}}}}`},
		{"inside arrays", `{"cards":[{"credit_card":"4111","last4":"1111"},{"ssn":123456789}],"n":[1,2]}`, `{"cards":[{"credit_card":"[redacted]","last4":"1111"},{"ssn":"[redacted]"}],"n":[1,2]}`},
		{"top-level array", `[{"secret":"s"},[{"cookie":"c"}]]`, `[{"secret":"[redacted]"},[{"cookie":"[redacted]"}]]`},
		{"object value redacted whole", `{"secret":{"token":"x","y":[1]},"z":0}`, `{"secret":"[redacted]","z":0}`},
		{"array value redacted whole", `{"passwd":["a","b"]}`, `{"passwd":"[redacted]"}`},
		{"null and numbers", `{"token":null,"x":1.50e3}`, `{"token":"[redacted]","x":1.50e3}`},
		{"escaped key", `{"pass\u0077ord":"p","\u0061":"keep"}`, `{"pass\u0077ord":"[redacted]","\u0061":"keep"}`},
		{"key text in a value is not a key", `{"note":"my password is \"token\"","list":["password"]}`, `{"note":"my password is \"token\"","list":["password"]}`},
		{"whole names only", `{"password_hint":"x","my_token":"y"}`, `{"password_hint":"x","my_token":"y"}`},
		{"whitespace kept", "{ \"a\" : [ 1 , 2 ] , \"token\" : \"x\" }", "{ \"a\" : [ 1 , 2 ] , \"token\" : \"[redacted]\" }"},
		{"odd formatting kept", `{"u":"\u00e9\/","n":1E+2,"secret":"s"}`, `{"u":"\u00e9\/","n":1E+2,"secret":"[redacted]"}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, changed := r.RedactJSON([]byte(tt.in))
			if string(got) != tt.want {
				t.Fatalf("RedactJSON(%s)\n got %s\nwant %s", tt.in, got, tt.want)
			}
			if changed != (tt.in != tt.want) {
				t.Fatalf("RedactJSON(%s) changed = %v", tt.in, changed)
			}
			if !json.Valid(got) {
				t.Fatalf("RedactJSON(%s) = %s, not valid JSON", tt.in, got)
			}
		})
	}
}

// TestRedactDeep redacts a key nested far deeper than any real payload.
func TestRedactDeep(t *testing.T) {
	t.Parallel()
	const depth = 500
	in, want := "", ""
	for range depth {
		in += `{"a":[`
		want += `{"a":[`
	}
	in += `{"token":"x"}`
	want += `{"token":"[redacted]"}`
	for range depth {
		in += `]}`
		want += `]}`
	}
	got, changed := eventlog.NewRedactor([]string{"TOKEN"}).RedactJSON([]byte(in))
	if !changed || string(got) != want {
		t.Fatalf("a token %d levels deep was not redacted: changed=%v", depth, changed)
	}
}

func TestRedactorNoMatchIsSameBytesWithoutAllocating(t *testing.T) {
	r := eventlog.NewRedactor(eventlog.DefaultRedactKeys())
	in := []byte(`{"title":"Foo","items":[{"sku":"A1","qty":2}],"meta":{"ok":true}}`)
	got, changed := r.RedactJSON(in)
	if changed || &got[0] != &in[0] {
		t.Fatalf("extra without a sensitive key was rewritten: %s", got)
	}
	if raceEnabled {
		return
	}
	if n := testing.AllocsPerRun(100, func() { r.RedactJSON(in) }); n != 0 {
		t.Fatalf("RedactJSON without a match: %v allocations, want 0", n)
	}
}

func TestNewRedactorEmptyIsOff(t *testing.T) {
	t.Parallel()
	if r := eventlog.NewRedactor(nil); r != nil {
		t.Fatalf("NewRedactor(nil) = %v, want nil", r.Keys())
	}
	if r := eventlog.NewRedactor([]string{"", " "}); r != nil {
		t.Fatalf("NewRedactor of blank names = %v, want nil", r.Keys())
	}
	var off *eventlog.Redactor
	e := eventlog.Event{Extra: json.RawMessage(`{"password":"p"}`)}
	if off.RedactEvent(&e) || string(e.Extra) != `{"password":"p"}` {
		t.Fatalf("a nil Redactor changed the event: %s", e.Extra)
	}
}

// TestLoggerRedacts checks every write path of the Logger redacts before
// the store (or the caller's transaction) sees the event.
func TestLoggerRedacts(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	extra := json.RawMessage(`{"login":{"user":"alice","Password":"hunter2"},"headers":[{"Cookie":"sid=1"}],"note":"keep"}`)
	want := `{"login":{"user":"alice","Password":"[redacted]"},"headers":[{"Cookie":"[redacted]"}],"note":"keep"}`

	check := func(t *testing.T, s eventlog.Store, id string) {
		t.Helper()
		got, err := s.Get(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		if string(got.Extra) != want {
			t.Fatalf("stored extra %s, want %s", got.Extra, want)
		}
	}
	t.Run("sync", func(t *testing.T) {
		t.Parallel()
		b := setup(t, nil)
		e, err := b.logger.LogEvent(ctx, eventlog.Event{Action: "SIGNED_IN", Extra: extra})
		if err != nil {
			t.Fatal(err)
		}
		if string(e.Extra) != want {
			t.Fatalf("returned extra %s, want %s", e.Extra, want)
		}
		check(t, b.store, e.ID)
	})
	t.Run("batch", func(t *testing.T) {
		t.Parallel()
		b := setup(t, nil)
		evs, err := b.logger.LogBatch(ctx, []eventlog.Event{{Action: "A", Extra: extra}, {Action: "B", Extra: json.RawMessage(`{"x":1}`)}})
		if err != nil {
			t.Fatal(err)
		}
		check(t, b.store, evs[0].ID)
		if got, _ := b.store.Get(ctx, evs[1].ID); string(got.Extra) != `{"x":1}` {
			t.Fatalf("an event without secrets changed: %s", got.Extra)
		}
	})
	t.Run("async", func(t *testing.T) {
		t.Parallel()
		b := setup(t, &eventlog.Config{Mode: eventlog.Async})
		e, err := b.logger.LogEvent(ctx, eventlog.Event{Action: "A", Extra: extra})
		if err != nil {
			t.Fatal(err)
		}
		if err := b.logger.Close(); err != nil {
			t.Fatal(err)
		}
		check(t, b.store, e.ID)
	})
	t.Run("spooled", func(t *testing.T) {
		t.Parallel()
		b := setup(t, &eventlog.Config{Mode: eventlog.Spooled, SpoolDir: t.TempDir()})
		e, err := b.logger.LogEvent(ctx, eventlog.Event{Action: "A", Extra: extra})
		if err != nil {
			t.Fatal(err)
		}
		if err := b.logger.Close(); err != nil {
			t.Fatal(err)
		}
		check(t, b.store, e.ID)
	})
	t.Run("outbox", func(t *testing.T) {
		t.Parallel()
		b := setup(t, nil)
		db := b.store.(eventlog.SQLStore).SQLDB()
		tx, err := db.BeginTx(ctx, &sql.TxOptions{})
		if err != nil {
			t.Fatal(err)
		}
		ob, err := b.logger.OutboxSQL(tx)
		if err != nil {
			t.Fatal(err)
		}
		e, err := ob.LogEvent(ctx, eventlog.Event{Action: "A", Extra: extra})
		if err != nil {
			t.Fatal(err)
		}
		if err := ob.Commit(); err != nil {
			t.Fatal(err)
		}
		check(t, b.store, e.ID)
	})
	t.Run("subscribers see the redacted event", func(t *testing.T) {
		t.Parallel()
		b := setup(t, nil)
		sub, cancel := b.logger.SubscribeChan(1)
		defer cancel()
		if _, err := b.logger.LogEvent(ctx, eventlog.Event{Action: "A", Extra: extra}); err != nil {
			t.Fatal(err)
		}
		got := <-sub
		if string(got.Extra) != want {
			t.Fatalf("subscriber got %s, want %s", got.Extra, want)
		}
	})
}

func TestLoggerRedactKeysConfig(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	extra := json.RawMessage(`{"password":"p","pin":"1234"}`)
	rc := eventlog.RequestContext{IP: "10.0.0.1", Path: "/login", UserAgent: "curl"}

	custom := setup(t, &eventlog.Config{RedactKeys: []string{"PIN", "ip"}})
	e, err := custom.logger.LogEvent(ctx, eventlog.Event{Action: "A", Extra: extra, Context: &rc})
	if err != nil {
		t.Fatal(err)
	}
	if string(e.Extra) != `{"password":"p","pin":"[redacted]"}` {
		t.Fatalf("custom keys: extra %s", e.Extra)
	}
	if e.Context.IP != eventlog.Redacted || e.Context.Path != "/login" || e.Context.UserAgent != "curl" {
		t.Fatalf("custom keys: context %+v", *e.Context)
	}
	if rc.IP != "10.0.0.1" {
		t.Fatalf("the caller's RequestContext was modified: %+v", rc)
	}
	stored, err := custom.store.Get(ctx, e.ID)
	if err != nil {
		t.Fatal(err)
	}
	if stored.Context == nil || stored.Context.IP != eventlog.Redacted {
		t.Fatalf("stored context %+v, want the ip redacted", stored.Context)
	}

	off := setup(t, &eventlog.Config{RedactKeys: []string{}})
	e, err = off.logger.LogEvent(ctx, eventlog.Event{Action: "A", Extra: extra})
	if err != nil {
		t.Fatal(err)
	}
	if string(e.Extra) != string(extra) {
		t.Fatalf("RedactKeys: []string{} should turn redaction off, got %s", e.Extra)
	}

	// Prepare, which the queue publisher uses, redacts too.
	def := setup(t, nil)
	p := eventlog.Event{Action: "A", Extra: extra}
	if err := def.logger.Prepare(ctx, &p); err != nil {
		t.Fatal(err)
	}
	if string(p.Extra) != `{"password":"[redacted]","pin":"1234"}` {
		t.Fatalf("Prepare: extra %s", p.Extra)
	}
}
