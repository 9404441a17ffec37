package gen

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/eventlog/eventlog"
)

func sample(t *testing.T, cfg *Config, n int) []eventlog.Event {
	t.Helper()
	g, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	out := make([]eventlog.Event, n)
	g.Fill(out)
	return out
}

// canonical renders events in their canonical JSON form, one per line:
// an exact comparison that stays fast for thousands of events.
func canonical(events []eventlog.Event) string {
	var b []byte
	for _, e := range events {
		b = e.AppendJSON(b)
		b = append(b, '\n')
	}
	return string(b)
}

func TestDeterministic(t *testing.T) {
	t.Parallel()
	a := sample(t, &Config{Seed: 42}, 500)
	b := sample(t, &Config{Seed: 42}, 500)
	if d := cmp.Diff(canonical(a), canonical(b)); d != "" {
		t.Fatalf("same seed, different events (-a +b):\n%s", d)
	}
	c := sample(t, &Config{Seed: 43}, 500)
	if canonical(a) == canonical(c) {
		t.Fatal("different seeds gave the same events")
	}
}

func TestEventsAreNormalizedAndRealistic(t *testing.T) {
	t.Parallel()
	cfg := &Config{Events: 20000, Users: 1000}
	events := sample(t, cfg, 20000)
	end := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	start := end.Add(-365 * 24 * time.Hour)
	actions := map[string]int{}
	users := map[string]int{}
	ids := map[string]bool{}
	anonymous := 0
	for i, e := range events {
		before := e
		before.Extra = append(json.RawMessage(nil), e.Extra...)
		if err := e.Normalize(end); err != nil {
			t.Fatalf("event %d does not normalize: %v", i, err)
		}
		if canonical([]eventlog.Event{before}) != canonical([]eventlog.Event{e}) {
			t.Fatalf("event %d changed when normalized (-gen +normalized):\n%s", i, cmp.Diff(before, e))
		}
		if n := len(e.Extra); n < 100 || n > 400 {
			t.Errorf("event %d: extra is %d bytes, want 100–400: %s", i, n, e.Extra)
		}
		var obj map[string]any
		if err := json.Unmarshal(e.Extra, &obj); err != nil || obj["status"] == nil {
			t.Errorf("event %d: extra %s is not an object with status: %v", i, e.Extra, err)
		}
		if e.Timestamp.Before(start) || e.Timestamp.After(end) {
			t.Errorf("event %d: timestamp %v outside [%v, %v]", i, e.Timestamp, start, end)
		}
		if ids[e.ID] {
			t.Fatalf("event %d: id %s repeated", i, e.ID)
		}
		ids[e.ID] = true
		actions[e.Action]++
		if e.User == nil {
			anonymous++
		} else {
			users[e.User.ID]++
		}
	}
	if len(actions) > 100 || len(actions) < 50 {
		t.Errorf("%d distinct actions in 20000 events, want 50–100", len(actions))
	}
	if len(users) > 1000 {
		t.Errorf("%d distinct users, want at most 1000", len(users))
	}
	// Zipf: the top action and user dominate the tail.
	if actions[ActionName(0)] < 10*actions[ActionName(60)] {
		t.Errorf("top action %d events vs rank 60 %d: not skewed", actions[ActionName(0)], actions[ActionName(60)])
	}
	if users[UserID(0)] < 10*users[UserID(500)] {
		t.Errorf("top user %d events vs rank 500 %d: not skewed", users[UserID(0)], users[UserID(500)])
	}
	if anonymous < 1500 || anonymous > 2500 {
		t.Errorf("%d anonymous events of 20000, want about a tenth", anonymous)
	}
}

func TestBatchesCoverTheTotalInOneBuffer(t *testing.T) {
	t.Parallel()
	g, err := New(&Config{Events: 2500})
	if err != nil {
		t.Fatal(err)
	}
	want := sample(t, &Config{Events: 2500}, 2500)
	var got []eventlog.Event
	var first *eventlog.Event
	for batch := range g.Batches(1000) {
		if first == nil {
			first = &batch[0]
		} else if &batch[0] != first {
			t.Fatal("Batches allocated a new buffer; memory must stay constant")
		}
		got = append(got, batch...)
	}
	if d := cmp.Diff(canonical(want), canonical(got)); d != "" {
		t.Fatalf("Batches differs from Fill (-want +got):\n%s", d)
	}
	last := got[len(got)-1].Timestamp
	if end := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC); end.Sub(last) > 365*24*time.Hour/2500 {
		t.Errorf("last event at %v, want within one step of %v", last, end)
	}
}

func TestNewRejectsBadConfig(t *testing.T) {
	t.Parallel()
	for _, c := range []Config{{Events: -1}, {Actions: -1}, {Users: -5}, {Span: -time.Hour}} {
		if _, err := New(&c); err == nil {
			t.Errorf("New(%+v) succeeded", c)
		}
	}
}

func BenchmarkNext(b *testing.B) {
	g, err := New(nil)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		_ = g.Next()
	}
}
