package cli

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/eventlog/eventlog"
)

// roundTripJSONL is a file of events exercising every field: users with
// and without names, objects, every context field, unicode, escapes,
// numbers in unusual forms, nesting, microsecond and far timestamps,
// and equal timestamps ordered by id. Lines are in canonical form and
// newest first, as export writes them.
var roundTripJSONL = strings.Join([]string{
	`{"id":"01890000-0000-7000-8000-00000000000a","timestamp":"2099-12-31T23:59:59.999999Z","action":"FAR_FUTURE","user":null,"object":null,"extra":{}}`,
	`{"id":"01890000-0000-7000-8000-000000000009","timestamp":"2026-11-27T10:58:39.123456Z","action":"CREATED_FOO_WIDGET","user":{"id":"42","name":"Zoë \"the\" \u003cadmin\u003e \u0026 co"},"object":{"type":"widgets.widget","id":"17:a/b"},"extra":{"title":"Foo ✓ 日本語 🎉","nested":{"list":[1,-2.5e-3,1E+21,true,null,{"deep":["x\ny\t\\\"z\""]}]},"html":"\u003cb\u003e","sep":"\u2028"},"context":{"ip":"2001:db8::1","user_agent":"Mozilla/5.0 (X11; Linux)","request_id":"req-1","trace_id":"4bf92f3577b34da6a3ce929d0e0e4736","method":"POST","path":"/widgets?q=a\u0026b=c"}}`,
	`{"id":"01890000-0000-7000-8000-000000000008","timestamp":"2026-11-27T10:58:39.123456Z","action":"TIE","user":{"id":"u-1","name":""},"object":null,"extra":{"n":12345678901234567890}}`,
	`{"id":"01890000-0000-7000-8000-000000000007","timestamp":"2026-11-27T10:58:39.123456Z","action":"TIE","user":null,"object":{"type":"t","id":"1"},"extra":[1,"two",{"three":3}]}`,
	`{"id":"01890000-0000-7000-8000-000000000006","timestamp":"2000-02-29T00:00:00.000001Z","action":"LEAP","user":{"id":"7","name":"ünïcödé"},"object":null,"extra":"just a string","context":{"ip":"10.0.0.1"}}`,
	`{"id":"01890000-0000-7000-8000-000000000005","timestamp":"1970-01-01T00:00:00.000001Z","action":"EPOCH","user":null,"object":null,"extra":0}`,
}, "\n") + "\n"

func writeFile(t *testing.T, name, content string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// TestExportImportRoundTripAcrossStores imports a file into SQLite, then
// moves it SQLite -> PostgreSQL -> MariaDB through export and import, and
// checks every export is the original file byte for byte. The export
// reads two events per page to go through the cursors.
func TestExportImportRoundTripAcrossStores(t *testing.T) {
	t.Parallel()
	chain := []struct {
		name  string
		setup func(t *testing.T) *bundle
	}{
		{"sqlite", setupStore},
		{"postgres", tokenBundles[1].setup},
		{"mysql", tokenBundles[2].setup},
	}
	data := roundTripJSONL
	for _, c := range chain {
		b := c.setup(t)
		file := writeFile(t, "events.jsonl", data)
		if got := b.mustRun(t, "import", file); got != "Read 6 events: 6 stored, 0 already present.\n" {
			t.Fatalf("%s: import printed %q", c.name, got)
		}
		out := b.mustRun(t, "export", "--page-size", "2")
		if out != roundTripJSONL {
			t.Fatalf("%s: export differs from the original file:\n got %s\nwant %s", c.name, out, roundTripJSONL)
		}
		if got := b.mustRun(t, "import", file); got != "Read 6 events: 0 stored, 6 already present.\n" {
			t.Fatalf("%s: re-import printed %q", c.name, got)
		}
		data = out
	}
}

func TestExportFiltersAndFile(t *testing.T) {
	t.Parallel()
	b := setupStore(t)
	b.mustRun(t, "import", writeFile(t, "e.jsonl", roundTripJSONL))
	out := b.mustRun(t, "export", "--action", "TIE", "--page-size", "1")
	if n := strings.Count(out, "\n"); n != 2 || !strings.Contains(out, "000000000008") || !strings.Contains(out, "000000000007") {
		t.Fatalf("export --action TIE = %q", out)
	}
	if out := b.mustRun(t, "export", "--since", "2026-01-01T00:00:00Z", "--until", "2027-01-01T00:00:00Z", "--user", "42"); strings.Count(out, "\n") != 1 || !strings.Contains(out, "CREATED_FOO_WIDGET") {
		t.Fatalf("export --since --until --user = %q", out)
	}
	path := filepath.Join(t.TempDir(), "out.jsonl")
	r := b.run(t, "export", "-o", path)
	if r.code != 0 || r.stdout != "" || r.stderr != "Exported 6 events to "+path+".\n" {
		t.Fatalf("export -o: %+v", r)
	}
	if data, err := os.ReadFile(path); err != nil || string(data) != roundTripJSONL {
		t.Fatalf("export -o wrote %q (%v)", data, err)
	}
	for _, c := range []struct{ args []string }{
		{[]string{"export", "--format", "table"}},
		{[]string{"export", "--page-size", "0"}},
		{[]string{"export", "--since", "yesterday"}},
		{[]string{"export", "--object", ":1"}},
	} {
		if r := b.run(t, c.args...); r.code != ExitUsage {
			t.Errorf("eventlog %s: exit %d, want 2; stderr %q", strings.Join(c.args, " "), r.code, r.stderr)
		}
	}
}

// TestExportCSV checks the file a spreadsheet opens: a UTF-8 byte-order
// mark, the header, one record per event with extra and context as JSON.
func TestExportCSV(t *testing.T) {
	t.Parallel()
	b := setupStore(t)
	b.mustRun(t, "import", writeFile(t, "e.jsonl", roundTripJSONL))
	out := b.mustRun(t, "export", "--format", "csv", "--page-size", "4")
	if !strings.HasPrefix(out, "\ufeffid,timestamp,action,") {
		t.Fatalf("csv does not start with the BOM and the header: %q", out[:min(40, len(out))])
	}
	recs, err := csv.NewReader(strings.NewReader(strings.TrimPrefix(out, "\ufeff"))).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if len(recs) != 7 {
		t.Fatalf("csv has %d records, want header + 6", len(recs))
	}
	lines := strings.Split(strings.TrimSpace(roundTripJSONL), "\n")
	for i, rec := range recs[1:] {
		var want eventlog.Event
		if err := json.Unmarshal([]byte(lines[i]), &want); err != nil {
			t.Fatal(err)
		}
		if rec[0] != want.ID || rec[1] != eventlog.FormatTime(want.Timestamp) || rec[2] != want.Action || rec[7] != string(want.Extra) {
			t.Errorf("record %d = %q, want event %s", i, rec, lines[i])
		}
		if want.User != nil && (rec[3] != want.User.ID || rec[4] != want.User.Name) {
			t.Errorf("record %d user = %q %q", i, rec[3], rec[4])
		}
		if want.Context != nil {
			var rc eventlog.RequestContext
			if err := json.Unmarshal([]byte(rec[8]), &rc); err != nil || rc != *want.Context {
				t.Errorf("record %d context = %q (%v)", i, rec[8], err)
			}
		}
	}
	if out := b.mustRun(t, "export", "--format", "csv", "--no-bom"); !strings.HasPrefix(out, "id,timestamp") {
		t.Fatalf("--no-bom output starts %q", out[:10])
	}
}

// TestImportBadLine checks a bad line names its number, that nothing of
// its batch is stored while the batches before it are, and that fixing
// the line and importing again completes the file.
func TestImportBadLine(t *testing.T) {
	t.Parallel()
	b := setupStore(t)
	lines := strings.Split(strings.TrimSpace(roundTripJSONL), "\n")
	bad := append([]string{}, lines...)
	bad[3] = `{"id":"01890000-0000-7000-8000-000000000007","action":"TIE","extra":{"x":}}`
	path := writeFile(t, "bad.jsonl", strings.Join(bad, "\n")+"\n")
	r := b.run(t, "import", "--batch", "3", path)
	if r.code != ExitRuntime || !strings.Contains(r.stderr, "line 4: ") || !strings.Contains(r.stderr, "nothing of lines 4–4 was stored, 3 events of earlier lines were") {
		t.Fatalf("import of a bad 4th line: %+v", r)
	}
	if r.stdout != "Read 3 events: 3 stored, 0 already present.\n" {
		t.Fatalf("counts after the failure: %q", r.stdout)
	}
	bad[3] = lines[3]
	bad[4] = `{"action":"X","unknown":1}`
	os.WriteFile(path, []byte(strings.Join(bad, "\n")+"\n"), 0o600)
	r = b.run(t, "import", "--batch", "3", path)
	if r.code != ExitRuntime || !strings.Contains(r.stderr, "line 5: invalid unknown") || !strings.Contains(r.stderr, "nothing of lines 4–5 was stored") {
		t.Fatalf("import of a bad 5th line: %+v", r)
	}
	if got := strings.Count(b.mustRun(t, "export"), "\n"); got != 3 {
		t.Fatalf("%d events stored, want the 3 of the first batch only", got)
	}
	bad[4] = lines[4]
	os.WriteFile(path, []byte(strings.Join(bad, "\n")+"\n\n"), 0o600)
	if got := b.mustRun(t, "import", "--batch", "3", path); got != "Read 6 events: 3 stored, 3 already present.\n" {
		t.Fatalf("import after the fix: %q", got)
	}
	if r := b.run(t, "import", filepath.Join(t.TempDir(), "missing.jsonl")); r.code != ExitUsage {
		t.Fatalf("import of a missing file: %+v", r)
	}
	if r := b.run(t, "import"); r.code != ExitUsage || !strings.Contains(r.stderr, "missing FILE") {
		t.Fatalf("import without FILE: %+v", r)
	}
}

func TestImportStdinRedacts(t *testing.T) {
	t.Parallel()
	b := setupStore(t)
	var stdout, stderr bytes.Buffer
	e := &env{
		stdin:  strings.NewReader("\ufeff" + `{"action":"SIGNED_IN","extra":{"Password":"x","pin":1}}` + "\n"),
		stdout: &stdout, stderr: &stderr,
		getenv: func(string) string { return "" },
		now:    func() time.Time { return testNow },
	}
	if code := run(context.Background(), []string{"--db", b.db, "import", "-"}, e); code != 0 || stdout.String() != "Read 1 event: 1 stored, 0 already present.\n" {
		t.Fatalf("import -: exit %d, %q %q", code, stdout.String(), stderr.String())
	}
	out := b.mustRun(t, "export")
	if !strings.Contains(out, `"extra":{"Password":"[redacted]","pin":1}`) || !strings.Contains(out, `"timestamp":"2026-12-06T12:00:00.000000Z"`) {
		t.Fatalf("stored %s", out)
	}
}
