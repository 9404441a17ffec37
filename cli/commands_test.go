package cli

import (
	"encoding/csv"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/eventlog/eventlog"
)

// Three events logged by seed, oldest first, and their canonical JSON.
const (
	id1 = "0193e6a4-0000-7000-8000-000000000001"
	id2 = "0193e6a4-0000-7000-8000-000000000002"
	id3 = "0193e6a4-0000-7000-8000-000000000003"

	json1 = `{"id":"` + id1 + `","timestamp":"2026-12-01T10:00:00.000000Z","action":"SIGNED_UP","user":{"id":"42","name":"alice"},"object":null,"extra":{"plan":"pro"}}`
	json2 = `{"id":"` + id2 + `","timestamp":"2026-12-05T10:00:00.000000Z","action":"CREATED_WIDGET","user":{"id":"42","name":"alice"},"object":{"type":"widget","id":"17"},"extra":{"title":"Foo","n":200},"context":{"ip":"10.0.0.1"}}`
	json3 = `{"id":"` + id3 + `","timestamp":"2026-12-06T11:00:00.000000Z","action":"CREATED_WIDGET","user":null,"object":{"type":"widget","id":"18"},"extra":{}}`
)

// seed logs the three events and checks that log prints each as stored.
func seed(t *testing.T, b *bundle) {
	t.Helper()
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"log", "SIGNED_UP", "--id", id1, "--at", "2026-12-01T11:00:00+01:00", "--user", "42", "--user-name", "alice", "--extra", `{ "plan": "pro" }`}, json1},
		{[]string{"log", "CREATED_WIDGET", "--id", id2, "--at", "2026-12-05T10:00:00Z", "--user", "42", "--user-name", "alice", "--object", "widget:17", "--extra", `{"title":"Foo","n":200}`, "--ip", "10.0.0.1"}, json2},
		{[]string{"log", "CREATED_WIDGET", "--id", id3, "--at", "2026-12-06T11:00:00Z", "--object", "widget:18"}, json3},
	} {
		if got := b.mustRun(t, c.args...); got != c.want+"\n" {
			t.Fatalf("eventlog %s printed\n%s\nwant\n%s", strings.Join(c.args, " "), got, c.want)
		}
	}
}

// migrations counts the SQLite store's migration files and returns the
// highest version, which is what migrate must report.
func migrations(t *testing.T) (count, latest int) {
	t.Helper()
	files, err := filepath.Glob("../sqlitestore/migration/*.sql")
	if err != nil || len(files) == 0 {
		t.Fatalf("no migrations found in ../sqlitestore/migration (%v)", err)
	}
	for _, f := range files {
		var v int
		if _, err := fmt.Sscanf(filepath.Base(f), "%d_", &v); err != nil {
			t.Fatalf("migration %s has no version number", f)
		}
		latest = max(latest, v)
	}
	return len(files), latest
}

func TestMigrate(t *testing.T) {
	t.Parallel()
	b := setup(t)
	count, latest := migrations(t)
	noun := "migrations"
	if count == 1 {
		noun = "migration"
	}
	if got, want := b.mustRun(t, "migrate"), fmt.Sprintf("Created the database: applied %d %s; schema version %d.\n", count, noun, latest); got != want {
		t.Errorf("first migrate printed %q, want %q", got, want)
	}
	if got, want := b.mustRun(t, "migrate"), fmt.Sprintf("The database schema is up to date (version %d).\n", latest); got != want {
		t.Errorf("second migrate printed %q, want %q", got, want)
	}
}

func TestLogDefaults(t *testing.T) {
	t.Parallel()
	b := setup(t)
	var got map[string]any
	out := b.mustRun(t, "log", "SIGNED_IN", "--user", "", "--user-name", "")
	if err := json.Unmarshal([]byte(out), &got); err != nil {
		t.Fatalf("log printed %q: %v", out, err)
	}
	id, _ := got["id"].(string)
	u, err := uuid.Parse(id)
	if err != nil || u.Version() != 7 {
		t.Errorf("id %q is not a UUIDv7 (%v)", id, err)
	}
	// An empty user is anonymous, missing extra is {}, the time is now.
	want := `{"id":"` + id + `","timestamp":"2026-12-06T12:00:00.000000Z","action":"SIGNED_IN","user":null,"object":null,"extra":{}}` + "\n"
	if out != want {
		t.Errorf("log printed\n%s\nwant\n%s", out, want)
	}
}

func TestLogSameIDTwiceKeepsTheStoredEvent(t *testing.T) {
	t.Parallel()
	b := setup(t)
	seed(t, b)
	// A retry with the same id stores nothing and prints the stored event.
	if got := b.mustRun(t, "log", "SOMETHING_ELSE", "--id", id1, "--user", "9"); got != json1+"\n" {
		t.Errorf("retry printed\n%s\nwant the stored event\n%s", got, json1)
	}
	if got := b.mustRun(t, "events", "--format", "jsonl"); got != json3+"\n"+json2+"\n"+json1+"\n" {
		t.Errorf("after the retry the events are\n%s", got)
	}
}

func TestUsageErrorWritesNothing(t *testing.T) {
	t.Parallel()
	b := setup(t)
	seed(t, b)
	for _, args := range [][]string{
		{"log", "A", "--extra", "{"},
		{"log", "A", "--object", "widget"},
		{"log", "A", "--id", "nope"},
		{"log", ""},
	} {
		if r := b.run(t, args...); r.code != ExitUsage {
			t.Errorf("eventlog %s: exit %d, want %d", strings.Join(args, " "), r.code, ExitUsage)
		}
	}
	if got := b.mustRun(t, "events", "--format", "jsonl"); got != json3+"\n"+json2+"\n"+json1+"\n" {
		t.Errorf("after rejected logs the events are\n%s", got)
	}
	if got := b.mustRun(t, "actions", "--format", "jsonl"); got != `{"action":"CREATED_WIDGET","count":2}`+"\n"+`{"action":"SIGNED_UP","count":1}`+"\n" {
		t.Errorf("after rejected logs the actions are\n%s", got)
	}
}

func TestEventsFormats(t *testing.T) {
	t.Parallel()
	b := setup(t)
	seed(t, b)
	next := eventlog.CursorAfter(eventlog.Event{ID: id2, Timestamp: time.Date(2026, 12, 5, 10, 0, 0, 0, time.UTC)}).String()

	t.Run("jsonl", func(t *testing.T) {
		if got, want := b.mustRun(t, "events", "--format", "jsonl"), json3+"\n"+json2+"\n"+json1+"\n"; got != want {
			t.Errorf("got\n%s\nwant\n%s", got, want)
		}
	})
	t.Run("json pages", func(t *testing.T) {
		got := b.mustRun(t, "events", "--format", "json", "--limit", "2")
		if want := `{"events":[` + json3 + "," + json2 + `],"next_cursor":"` + next + `"}` + "\n"; got != want {
			t.Errorf("page 1\n%s\nwant\n%s", got, want)
		}
		var page struct {
			Events     []json.RawMessage `json:"events"`
			NextCursor *string           `json:"next_cursor"`
		}
		if err := json.Unmarshal([]byte(got), &page); err != nil || page.NextCursor == nil {
			t.Fatalf("page 1 does not parse with a cursor: %v", err)
		}
		got = b.mustRun(t, "events", "--format", "json", "--limit", "2", "--cursor", *page.NextCursor)
		if want := `{"events":[` + json1 + `],"next_cursor":null}` + "\n"; got != want {
			t.Errorf("page 2\n%s\nwant\n%s", got, want)
		}
	})
	t.Run("jsonl cursor on stderr", func(t *testing.T) {
		r := b.run(t, "events", "--format", "jsonl", "--limit", "2")
		if r.code != 0 || r.stdout != json3+"\n"+json2+"\n" || r.stderr != "more events: --cursor "+next+"\n" {
			t.Errorf("exit %d\nstdout %s\nstderr %s", r.code, r.stdout, r.stderr)
		}
	})
	t.Run("table", func(t *testing.T) {
		want := "" +
			"TIMESTAMP            ACTION          USER        OBJECT     EXTRA                    ID\n" +
			"2026-12-06 11:00:00  CREATED_WIDGET  -           widget:18  {}                       " + id3 + "\n" +
			"2026-12-05 10:00:00  CREATED_WIDGET  42 (alice)  widget:17  {\"title\":\"Foo\",\"n\":200}  " + id2 + "\n" +
			"2026-12-01 10:00:00  SIGNED_UP       42 (alice)  -          {\"plan\":\"pro\"}           " + id1 + "\n"
		if got := b.mustRun(t, "events"); got != want {
			t.Errorf("got\n%s\nwant\n%s", got, want)
		}
		got := b.mustRun(t, "events", "--limit", "1", "--action", "SIGNED_UP", "--action", "CREATED_WIDGET")
		want = "" +
			"TIMESTAMP            ACTION          USER  OBJECT     EXTRA  ID\n" +
			"2026-12-06 11:00:00  CREATED_WIDGET  -     widget:18  {}     " + id3 + "\n" +
			"more events: --cursor " + eventlog.CursorAfter(eventlog.Event{ID: id3, Timestamp: time.Date(2026, 12, 6, 11, 0, 0, 0, time.UTC)}).String() + "\n"
		if got != want {
			t.Errorf("got\n%s\nwant\n%s", got, want)
		}
		if got := b.mustRun(t, "events", "--action", "NOTHING"); got != "No events.\n" {
			t.Errorf("empty table printed %q", got)
		}
	})
	t.Run("csv", func(t *testing.T) {
		got := b.mustRun(t, "events", "--format", "csv")
		want := "" +
			"id,timestamp,action,user_id,user_name,object_type,object_id,extra,context\n" +
			id3 + ",2026-12-06T11:00:00.000000Z,CREATED_WIDGET,,,widget,18,{},\n" +
			id2 + `,2026-12-05T10:00:00.000000Z,CREATED_WIDGET,42,alice,widget,17,"{""title"":""Foo"",""n"":200}","{""ip"":""10.0.0.1""}"` + "\n" +
			id1 + `,2026-12-01T10:00:00.000000Z,SIGNED_UP,42,alice,,,"{""plan"":""pro""}",` + "\n"
		if got != want {
			t.Errorf("got\n%s\nwant\n%s", got, want)
		}
		recs, err := csv.NewReader(strings.NewReader(got)).ReadAll()
		if err != nil || len(recs) != 4 || recs[2][7] != `{"title":"Foo","n":200}` {
			t.Errorf("csv does not read back: %v %q", err, recs)
		}
	})
}

func TestEventsFilters(t *testing.T) {
	t.Parallel()
	b := setup(t)
	seed(t, b)
	tests := []struct {
		args []string
		want []string
	}{
		{[]string{"--action", "SIGNED_UP"}, []string{json1}},
		{[]string{"--action", "SIGNED_UP", "--action", "CREATED_WIDGET"}, []string{json3, json2, json1}},
		{[]string{"--user", "42"}, []string{json2, json1}},
		{[]string{"--object", "widget"}, []string{json3, json2}},
		{[]string{"--object", "widget:17"}, []string{json2}},
		{[]string{"--since", "2d"}, []string{json3, json2}}, // now is 2026-12-06T12:00Z
		{[]string{"--since", "2026-12-05T10:00:00Z", "--until", "2026-12-06T11:00:00Z"}, []string{json2}},
		{[]string{"--until", "1h"}, []string{json2, json1}},
		{[]string{"-q", "ALICE"}, []string{json2, json1}},
		{[]string{"-q", "foo"}, []string{json2}},
		{[]string{"--where", "n=200"}, []string{json2}},
		{[]string{"--where", `n="200"`}, nil},
		{[]string{"--where", "plan=pro", "--user", "42"}, []string{json1}},
		{[]string{"--user", "nobody"}, nil},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			t.Parallel()
			got := b.mustRun(t, append([]string{"events", "--format", "jsonl"}, tt.args...)...)
			want := ""
			for _, j := range tt.want {
				want += j + "\n"
			}
			if got != want {
				t.Errorf("got\n%s\nwant\n%s", got, want)
			}
		})
	}
}

func TestActions(t *testing.T) {
	t.Parallel()
	b := setup(t)
	if got := b.mustRun(t, "actions"); got != "No events.\n" {
		t.Errorf("actions on an empty log printed %q", got)
	}
	if got := b.mustRun(t, "actions", "--format", "json"); got != `{"actions":[]}`+"\n" {
		t.Errorf("actions --format json on an empty log printed %q", got)
	}
	seed(t, b)
	for _, tt := range []struct{ format, want string }{
		{"table", "ACTION          COUNT\nCREATED_WIDGET      2\nSIGNED_UP           1\n"},
		{"json", `{"actions":[{"action":"CREATED_WIDGET","count":2},{"action":"SIGNED_UP","count":1}]}` + "\n"},
		{"jsonl", `{"action":"CREATED_WIDGET","count":2}` + "\n" + `{"action":"SIGNED_UP","count":1}` + "\n"},
	} {
		if got := b.mustRun(t, "actions", "--format", tt.format); got != tt.want {
			t.Errorf("--format %s printed\n%s\nwant\n%s", tt.format, got, tt.want)
		}
	}
}

func TestStats(t *testing.T) {
	t.Parallel()
	b := setup(t)
	if got := b.mustRun(t, "stats"); got != `{"used_seven":0,"used_thirty":0,"active_seven":0,"active_thirty":0}`+"\n" {
		t.Errorf("stats on an empty log printed %q", got)
	}
	// User 1 was first seen 100 days ago and again today: used and
	// active. User 2 is new today: used, not active. User 3 was last seen
	// 20 days ago: used in 30 days only, and new then.
	day := 24 * time.Hour
	for _, l := range []struct {
		user string
		at   time.Time
	}{
		{"1", testNow.Add(-100 * day)},
		{"1", testNow.Add(-time.Hour)},
		{"2", testNow.Add(-time.Hour)},
		{"3", testNow.Add(-20 * day)},
	} {
		b.mustRun(t, "log", "VISITED", "--user", l.user, "--at", l.at.Format(time.RFC3339))
	}
	if got, want := b.mustRun(t, "stats"), `{"used_seven":2,"used_thirty":3,"active_seven":1,"active_thirty":1}`+"\n"; got != want {
		t.Errorf("stats printed %q, want %q", got, want)
	}
}

func TestForgetUser(t *testing.T) {
	t.Parallel()
	b := setup(t)
	seed(t, b)
	if got := b.mustRun(t, "forget-user", "42"); got != "Forgot user 42 in 2 events.\n" {
		t.Errorf("forget-user printed %q", got)
	}
	if got := b.mustRun(t, "forget-user", "42"); got != "Forgot user 42 in 0 events.\n" {
		t.Errorf("forget-user again printed %q", got)
	}
	// The events are kept, anonymous.
	anon := func(j string) string {
		return strings.Replace(j, `"user":{"id":"42","name":"alice"}`, `"user":null`, 1)
	}
	if got, want := b.mustRun(t, "events", "--format", "jsonl"), json3+"\n"+anon(json2)+"\n"+anon(json1)+"\n"; got != want {
		t.Errorf("after forget-user the events are\n%s\nwant\n%s", got, want)
	}
	if got := b.mustRun(t, "forget-user", "some one"); got != "Forgot user \"some one\" in 0 events.\n" {
		t.Errorf("forget-user of an id with a space printed %q", got)
	}
}

func TestDatabaseFromEnvironment(t *testing.T) {
	t.Parallel()
	b := setup(t)
	vars := map[string]string{"EVENTLOG_DB": b.db}
	if r := runCLI(t, vars, "log", "FROM_ENV", "--id", id1); r.code != 0 {
		t.Fatalf("log with EVENTLOG_DB: exit %d, stderr %q", r.code, r.stderr)
	}
	if _, err := os.Stat(b.path); err != nil {
		t.Fatalf("EVENTLOG_DB was not used: %v", err)
	}
	// --db wins over EVENTLOG_DB.
	other := setup(t)
	r := runCLI(t, vars, "--db", other.db, "events", "--format", "jsonl")
	if r.code != 0 || r.stdout != "" {
		t.Errorf("--db did not win over EVENTLOG_DB: exit %d, stdout %q, stderr %q", r.code, r.stdout, r.stderr)
	}
}
