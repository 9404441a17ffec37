package cli

import (
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/eventlog/eventlog"
)

// exportedActions lists the actions of the stored events, newest first.
func exportedActions(t *testing.T, b *bundle) []string {
	t.Helper()
	var out []string
	for _, line := range strings.Split(strings.TrimSpace(b.mustRun(t, "export")), "\n") {
		if line == "" {
			continue
		}
		var ev eventlog.Event
		if err := ev.UnmarshalJSON([]byte(line)); err != nil {
			t.Fatal(err)
		}
		out = append(out, ev.Action)
	}
	return out
}

func TestPrune(t *testing.T) {
	t.Parallel()
	for _, tb := range tokenBundles {
		t.Run(tb.name, func(t *testing.T) {
			t.Parallel()
			b := tb.setup(t)
			b.mustRun(t, "import", writeFile(t, "e.jsonl", roundTripJSONL))
			all := []string{"FAR_FUTURE", "CREATED_FOO_WIDGET", "TIE", "TIE", "LEAP", "EPOCH"}

			if out := b.mustRun(t, "prune", "--before", "2001-01-01", "--dry-run"); out != "Would delete 2 events older than 2001-01-01T00:00:00.000000Z.\n" {
				t.Fatalf("dry run printed %q", out)
			}
			if got := exportedActions(t, b); !cmp.Equal(got, all) {
				t.Fatalf("a dry run deleted events: %v", got)
			}
			// testNow is 2026-12-06T12:00Z; 8d before is after the TIEs.
			if out := b.mustRun(t, "prune", "--older-than", "8d", "--action", "TIE", "--action", "LEAP", "--batch", "1"); out != "Deleted 3 events older than 2026-11-28T12:00:00.000000Z with action TIE, LEAP.\n" {
				t.Fatalf("prune --older-than --action printed %q", out)
			}
			if out := b.mustRun(t, "prune", "--before", "2026-11-27T10:58:39.123456Z"); out != "Deleted 1 event older than 2026-11-27T10:58:39.123456Z.\n" {
				t.Fatalf("prune --before printed %q", out)
			}
			if got, want := exportedActions(t, b), []string{"FAR_FUTURE", "CREATED_FOO_WIDGET"}; !cmp.Equal(got, want) {
				t.Fatalf("after pruning: %v, want %v", got, want)
			}
			acts := b.mustRun(t, "actions", "--format", "jsonl")
			if strings.Contains(acts, "TIE") || strings.Contains(acts, "EPOCH") || !strings.Contains(acts, "FAR_FUTURE") {
				t.Fatalf("actions after pruning: %s", acts)
			}
		})
	}
}

func TestPruneUsage(t *testing.T) {
	t.Parallel()
	b := setup(t)
	for _, c := range []struct {
		args []string
		msg  string
	}{
		{[]string{"prune"}, "give --before DATE or --older-than AGE"},
		{[]string{"prune", "--before", "2025-01-01", "--older-than", "1d"}, "cannot be used together"},
		{[]string{"prune", "--before", "last year"}, "invalid --before"},
		{[]string{"prune", "--older-than", "0d"}, "invalid --older-than"},
		{[]string{"prune", "--older-than", "1d", "--batch", "0"}, "invalid --batch"},
		{[]string{"prune", "--older-than", "1d", "--action", ""}, "invalid --action"},
	} {
		r := b.run(t, c.args...)
		if r.code != ExitUsage || !strings.Contains(r.stderr, c.msg) {
			t.Errorf("eventlog %s: exit %d, stderr %q; want 2 and %q", strings.Join(c.args, " "), r.code, r.stderr, c.msg)
		}
	}
	b.noFile(t)
}

func TestRetentionQueries(t *testing.T) {
	t.Parallel()
	r, err := parseRetention("400d", []string{"HEARTBEAT=7d", "SIGNED_UP=1000w"})
	if err != nil {
		t.Fatal(err)
	}
	now := testNow
	want := []eventlog.PruneQuery{
		{Before: now.Add(-7 * 24 * time.Hour), Actions: []string{"HEARTBEAT"}},
		{Before: now.Add(-7000 * 24 * time.Hour), Actions: []string{"SIGNED_UP"}},
		{Before: now.Add(-400 * 24 * time.Hour), Except: []string{"HEARTBEAT", "SIGNED_UP"}},
	}
	if d := cmp.Diff(want, r.queries(now)); d != "" {
		t.Fatalf("queries (-want +got):\n%s", d)
	}
	if r, _ := parseRetention("", []string{"X=1d"}); len(r.queries(now)) != 1 {
		t.Fatalf("--retain-action alone must prune only that action: %+v", r.queries(now))
	}
	for _, bad := range []struct {
		all     string
		actions []string
	}{{"forever", nil}, {"0d", nil}, {"", []string{"X"}}, {"", []string{"X=soon"}}, {"", []string{"X=1d", "X=2d"}}, {"", []string{"=1d"}}} {
		if _, err := parseRetention(bad.all, bad.actions); err == nil {
			t.Errorf("parseRetention(%q, %q) accepted", bad.all, bad.actions)
		}
	}
}

// TestServeRetain checks serve applies its policy when it starts.
func TestServeRetain(t *testing.T) {
	t.Parallel()
	b := setupStore(t)
	b.mustRun(t, "import", writeFile(t, "e.jsonl", roundTripJSONL))
	_, logs, stop := startServe(t, b, serveOptions{retain: "9000d", retainActions: []string{"TIE=8d", "LEAP=20000d"}})
	want := []string{"FAR_FUTURE", "CREATED_FOO_WIDGET", "LEAP"}
	var got []string
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		if got = exportedActions(t, b); cmp.Equal(got, want) {
			break
		}
	}
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	if !cmp.Equal(got, want) {
		t.Fatalf("events after serve --retain: %v, want %v; log:\n%s", got, want, logs.String())
	}
	if !strings.Contains(logs.String(), "retention: pruned old events") || !strings.Contains(logs.String(), "deleted=3") {
		t.Errorf("serve did not log the prune:\n%s", logs.String())
	}
	if r := b.run(t, "serve", "--retain", "forever"); r.code != ExitUsage || !strings.Contains(r.stderr, "--retain") {
		t.Errorf("serve --retain forever: %+v", r)
	}
}
