package mysqlstore_test

import (
	"context"
	"encoding/json"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/eventlog/eventlog"
)

// These tests pin what is specific to MySQL/MariaDB: text that a JSON
// column or a _ci collation would change, and fields longer than an
// InnoDB index key.

func insertNormalized(t *testing.T, s eventlog.Store, events ...eventlog.Event) []eventlog.Event {
	t.Helper()
	now := time.Date(2026, 11, 27, 10, 58, 39, 123456789, time.UTC)
	for i := range events {
		if err := events[i].Normalize(now); err != nil {
			t.Fatalf("event %d: %v", i, err)
		}
	}
	stored, _, err := s.Insert(context.Background(), events)
	if err != nil {
		t.Fatal(err)
	}
	return stored
}

func queryIDs(t *testing.T, s eventlog.Store, q eventlog.Query) []string {
	t.Helper()
	p, err := s.Query(context.Background(), q)
	if err != nil {
		t.Fatalf("Query(%+v): %v", q, err)
	}
	ids := []string{}
	for _, e := range p.Events {
		ids = append(ids, e.Action)
	}
	slices.Sort(ids)
	return ids
}

func TestExtraIsByteExact(t *testing.T) {
	t.Parallel()
	s := newStore(t)
	extras := []string{
		`{"z":1,"a":2,"m":{"y":true,"b":null}}`, // key order MySQL's JSON type would sort
		`{"big":9007199254740993,"neg":-12345678901234567890,"f":1.50,"e":1E+2}`,
		`{"s":"caf\u00e9 \ud83d\ude00 \/ \"q\"","raw":"café 😀"}`,
		`[1,"two",{"three":3}]`,
		`"just a string"`,
		`null`,
		`{"dup":1,"dup":2}`,
	}
	for _, x := range extras {
		stored := insertNormalized(t, s, eventlog.Event{Action: "EXTRA", Extra: json.RawMessage(x)})
		got, err := s.Get(context.Background(), stored[0].ID)
		if err != nil {
			t.Fatal(err)
		}
		if string(got.Extra) != x {
			t.Errorf("extra came back as %s, want %s byte for byte", got.Extra, x)
		}
	}
}

func TestExactMatchIsExact(t *testing.T) {
	t.Parallel()
	s := newStore(t)
	long := strings.Repeat("😀", eventlog.MaxFieldLen) // 4 KiB: longer than any InnoDB key
	longOther := strings.Repeat("😀", eventlog.MaxFieldLen-1) + "x"
	insertNormalized(t, s,
		eventlog.Event{Action: "UPPER", User: &eventlog.User{ID: "Alice"}, Object: &eventlog.Object{Type: "Doc", ID: "É1"}},
		eventlog.Event{Action: "LOWER", User: &eventlog.User{ID: "alice"}, Object: &eventlog.Object{Type: "doc", ID: "e1"}},
		eventlog.Event{Action: "SPACE", User: &eventlog.User{ID: "alice "}, Object: &eventlog.Object{Type: "doc ", ID: "e1 "}},
		eventlog.Event{Action: "LONG", User: &eventlog.User{ID: long, Name: long}, Object: &eventlog.Object{Type: long, ID: long}},
		eventlog.Event{Action: "LONG_OTHER", User: &eventlog.User{ID: longOther}, Object: &eventlog.Object{Type: long, ID: longOther}},
	)
	cases := []struct {
		q    eventlog.Query
		want []string
	}{
		{eventlog.Query{UserID: "alice"}, []string{"LOWER"}},
		{eventlog.Query{UserID: "Alice"}, []string{"UPPER"}},
		{eventlog.Query{UserID: "alice "}, []string{"SPACE"}}, // PAD SPACE collations would match "alice" too
		{eventlog.Query{ObjectType: "doc"}, []string{"LOWER"}},
		{eventlog.Query{ObjectID: "e1"}, []string{"LOWER"}},
		{eventlog.Query{ObjectType: "Doc", ObjectID: "É1"}, []string{"UPPER"}},
		{eventlog.Query{UserID: long}, []string{"LONG"}},
		{eventlog.Query{UserID: longOther}, []string{"LONG_OTHER"}},
		{eventlog.Query{ObjectType: long}, []string{"LONG", "LONG_OTHER"}},
		{eventlog.Query{ObjectType: long, ObjectID: longOther}, []string{"LONG_OTHER"}},
		{eventlog.Query{Actions: []string{"lower"}}, []string{}},
	}
	for _, c := range cases {
		if got := queryIDs(t, s, c.q); !slices.Equal(got, c.want) {
			t.Errorf("Query(user %.10q, type %.10q, id %.10q, actions %v) = %v, want %v", c.q.UserID, c.q.ObjectType, c.q.ObjectID, c.q.Actions, got, c.want)
		}
	}
	insertNormalized(t, s, eventlog.Event{Action: "PAD"}, eventlog.Event{Action: "PAD "}, eventlog.Event{Action: "PAD "})
	actions, err := s.Actions(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if i := slices.IndexFunc(actions, func(a eventlog.ActionCount) bool { return a.Action == "PAD " }); i != 0 || actions[0].Count != 2 {
		t.Errorf("Actions = %v, want \"PAD \" first with 2 events, apart from \"PAD\"", actions)
	}
	if got := queryIDs(t, s, eventlog.Query{Actions: []string{"PAD"}}); !slices.Equal(got, []string{"PAD"}) {
		t.Errorf("Query(action PAD) = %q, want only PAD", got)
	}

	n, err := s.ForgetUser(context.Background(), long)
	if err != nil || n != 1 {
		t.Fatalf("ForgetUser(long id) = %d, %v; want 1, nil", n, err)
	}
	if got := queryIDs(t, s, eventlog.Query{UserID: longOther}); !slices.Equal(got, []string{"LONG_OTHER"}) {
		t.Errorf("after forgetting the long id, the other long id finds %v", got)
	}
}

func TestTextAndWhere(t *testing.T) {
	t.Parallel()
	s := newStore(t)
	insertNormalized(t, s,
		eventlog.Event{Action: "BANG", Extra: json.RawMessage(`{"note":"wow!% done"}`)},
		eventlog.Event{Action: "NUMBERS", Extra: json.RawMessage(`{"n":1E+2,"big":9007199254740993,"flag":false,"nil":null}`)},
		eventlog.Event{Action: "STRINGS", Extra: json.RawMessage(`{"n":"100","flag":"false","nil":"null","s":"Caf\u00e9","pad":"a "}`)},
	)
	cases := []struct {
		q    eventlog.Query
		want []string
	}{
		{eventlog.Query{Text: "WOW!%"}, []string{"BANG"}},
		{eventlog.Query{Text: "!"}, []string{"BANG"}},
		{eventlog.Query{Text: "w_w"}, []string{}},
		{eventlog.Query{Where: []eventlog.Where{{Key: "n", Value: 100.0}}}, []string{"NUMBERS"}},
		{eventlog.Query{Where: []eventlog.Where{{Key: "n", Value: "100"}}}, []string{"STRINGS"}},
		{eventlog.Query{Where: []eventlog.Where{{Key: "big", Value: 9007199254740992.0}}}, []string{"NUMBERS"}},
		{eventlog.Query{Where: []eventlog.Where{{Key: "flag", Value: false}}}, []string{"NUMBERS"}},
		{eventlog.Query{Where: []eventlog.Where{{Key: "flag", Value: "false"}}}, []string{"STRINGS"}},
		{eventlog.Query{Where: []eventlog.Where{{Key: "nil", Value: nil}}}, []string{"NUMBERS"}},
		{eventlog.Query{Where: []eventlog.Where{{Key: "s", Value: "Café"}}}, []string{"STRINGS"}},
		{eventlog.Query{Where: []eventlog.Where{{Key: "s", Value: "café"}}}, []string{}},
		{eventlog.Query{Where: []eventlog.Where{{Key: "missing", Value: nil}}}, []string{}},
		{eventlog.Query{Where: []eventlog.Where{{Key: "pad", Value: "a"}}}, []string{}},
		{eventlog.Query{Where: []eventlog.Where{{Key: "pad", Value: "a "}}}, []string{"STRINGS"}},
	}
	for _, c := range cases {
		if got := queryIDs(t, s, c.q); !slices.Equal(got, c.want) {
			t.Errorf("Query(text %q, where %v) = %v, want %v", c.q.Text, c.q.Where, got, c.want)
		}
	}
}
