package cli

import (
	"context"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/eventlog/eventlog"
	"github.com/eventlog/eventlog/dial"
)

func TestVerify(t *testing.T) {
	t.Parallel()
	for _, tb := range tokenBundles {
		t.Run(tb.name, func(t *testing.T) {
			t.Parallel()
			b := tb.setup(t)
			if out := b.mustRun(t, "verify"); out != "verified 0 events; nothing stored yet\n" {
				t.Fatalf("verify on an empty store printed %q", out)
			}
			b.mustRun(t, "import", writeFile(t, "e.jsonl", roundTripJSONL))
			okLine := regexp.MustCompile(`^verified (\d+) events; head ([0-9a-f]{64})\n$`)
			out := b.mustRun(t, "verify")
			m := okLine.FindStringSubmatch(out)
			if m == nil || m[1] != "6" {
				t.Fatalf("verify printed %q, want 6 events and a head", out)
			}
			head := m[2]

			// Erasing a user and pruning keep the chain and its head.
			b.mustRun(t, "forget-user", "42")
			b.mustRun(t, "prune", "--before", "2001-01-01")
			if out := b.mustRun(t, "verify"); out != "verified 4 events; head "+head+"\n" {
				t.Fatalf("after forget-user and prune, verify printed %q, want 4 events and head %s", out, head)
			}

			ctx := context.Background()
			st, err := dial.Open(ctx, b.db, dial.Options{})
			if err != nil {
				t.Fatal(err)
			}
			defer st.Close()
			db := st.(eventlog.SQLStore).SQLDB()
			const id = "01890000-0000-7000-8000-000000000008"
			var seq int64
			if err := db.QueryRowContext(ctx, `SELECT seq FROM eventlog_events WHERE id = '`+id+`'`).Scan(&seq); err != nil {
				t.Fatal(err)
			}
			if _, err := db.ExecContext(ctx, `UPDATE eventlog_events SET extra = '{"n":1}' WHERE id = '`+id+`'`); err != nil {
				t.Fatal(err)
			}
			r := b.run(t, "verify")
			want := "eventlog verify: event seq " + strconv.FormatInt(seq, 10) + " id " + id + ": modified: "
			if r.code != ExitRuntime || r.stdout != "" || !strings.HasPrefix(r.stderr, want) || strings.Count(r.stderr, "\n") != 1 {
				t.Fatalf("verify after editing extra: exit %d, stdout %q, stderr %q; want exit 1 and one line starting %q", r.code, r.stdout, r.stderr, want)
			}
		})
	}
}
