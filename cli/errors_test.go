package cli

import (
	"fmt"
	"strings"
	"testing"
)

func TestUsageErrors(t *testing.T) {
	t.Parallel()
	long := strings.Repeat("x", 1025)
	bigExtra := `{"a":"` + strings.Repeat("x", 64<<10) + `"}`
	tests := []struct {
		name string
		args []string
		want string // the one error line on stderr
	}{
		{"unknown command", []string{"nosuch"}, `eventlog: unknown command "nosuch"`},
		{"unknown help topic", []string{"help", "nosuch"}, `eventlog help: unknown help topic "nosuch"`},
		{"unknown global flag", []string{"--nosuch"}, `eventlog: unknown flag: --nosuch`},
		{"empty db", []string{"--db", "", "stats"}, `eventlog stats: --db must not be empty`},

		{"log no action", []string{"log"}, `eventlog log: missing ACTION`},
		{"log two args", []string{"log", "A", "B"}, `eventlog log: unexpected argument "B"`},
		{"log unknown flag", []string{"log", "A", "--bogus"}, `eventlog log: unknown flag: --bogus`},
		{"log flag without value", []string{"log", "A", "--user"}, `eventlog log: flag needs an argument: --user`},
		{"log empty action", []string{"log", ""}, `eventlog log: invalid ACTION: is required`},
		{"log control char action", []string{"log", "A\tB"}, `eventlog log: invalid ACTION: must not contain control characters`},
		{"log object no colon", []string{"log", "A", "--object", "widget"}, `eventlog log: invalid --object "widget": must be TYPE:ID, like widget:17`},
		{"log object no id", []string{"log", "A", "--object", "widget:"}, `eventlog log: invalid --object "widget:": must be TYPE:ID, like widget:17`},
		{"log bad extra", []string{"log", "A", "--extra", "{"}, `eventlog log: invalid --extra: is not valid JSON`},
		{"log big extra", []string{"log", "A", "--extra", bigExtra}, fmt.Sprintf("eventlog log: invalid --extra: is %d bytes; the limit is 65536 (64 KiB)", len(bigExtra))},
		{"log bad at", []string{"log", "A", "--at", "yesterday"}, `eventlog log: invalid --at "yesterday": must be RFC 3339, like 2026-01-02T15:04:05Z`},
		{"log bad id", []string{"log", "A", "--id", "123"}, `eventlog log: invalid --id: must be a UUID in the form xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx`},
		{"log name without user", []string{"log", "A", "--user-name", "alice"}, `eventlog log: --user-name needs --user: a user is identified by id`},
		{"log long user", []string{"log", "A", "--user", long}, `eventlog log: invalid --user: is 1025 characters long; the limit is 1024`},
		{"log long user name", []string{"log", "A", "--user", "1", "--user-name", long}, `eventlog log: invalid --user-name: is 1025 characters long; the limit is 1024`},
		{"log NUL in ip", []string{"log", "A", "--ip", "1\x002"}, `eventlog log: invalid --ip: must not contain NUL characters`},

		{"events arg", []string{"events", "x"}, `eventlog events: unexpected argument "x"`},
		{"events bad limit", []string{"events", "--limit", "abc"}, `eventlog events: invalid --limit "abc": must be a whole number`},
		{"events zero limit", []string{"events", "--limit", "0"}, `eventlog events: invalid --limit: must be between 1 and 1000`},
		{"events big limit", []string{"events", "--limit", "1001"}, `eventlog events: invalid --limit: must be between 1 and 1000`},
		{"events bad since", []string{"events", "--since", "yesterday"}, `eventlog events: invalid --since: "yesterday" is neither RFC 3339 (2026-01-02T15:04:05Z) nor an age like 7d or 12h`},
		{"events bad until", []string{"events", "--until", "3x"}, `eventlog events: invalid --until: "3x" is neither RFC 3339 (2026-01-02T15:04:05Z) nor an age like 7d or 12h`},
		{"events until before since", []string{"events", "--since", "1d", "--until", "2d"}, `eventlog events: invalid --until: must be after since`},
		{"events bad where", []string{"events", "--where", "plan"}, `eventlog events: invalid --where: "plan" must be KEY=VALUE`},
		{"events where empty key", []string{"events", "--where", "=1"}, `eventlog events: invalid --where: key is empty`},
		{"events bad cursor", []string{"events", "--cursor", "nope"}, `eventlog events: invalid --cursor: is not a cursor returned by this server`},
		{"events bad format", []string{"events", "--format", "xml"}, `eventlog events: invalid --format "xml": must be table, json, jsonl or csv`},
		{"events bad object", []string{"events", "--object", ":7"}, `eventlog events: invalid --object ":7": must be TYPE or TYPE:ID, like widget:17`},
		{"events empty action", []string{"events", "--action", ""}, `eventlog events: invalid --action: is required`},

		{"actions bad format", []string{"actions", "--format", "csv"}, `eventlog actions: invalid --format "csv": must be table, json or jsonl`},
		{"stats arg", []string{"stats", "now"}, `eventlog stats: unexpected argument "now"`},
		{"migrate arg", []string{"migrate", "up"}, `eventlog migrate: unexpected argument "up"`},
		{"forget-user no id", []string{"forget-user"}, `eventlog forget-user: missing ID`},
		{"forget-user empty id", []string{"forget-user", ""}, `eventlog forget-user: invalid ID: must not be empty`},
		{"version arg", []string{"version", "x"}, `eventlog version: unexpected argument "x"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			b := setup(t)
			args := append([]string{"--db", b.db}, tt.args...)
			if tt.args[0] == "--db" {
				args = tt.args
			}
			r := runCLI(t, nil, args...)
			if r.code != ExitUsage {
				t.Errorf("exit code %d, want %d (stderr %q)", r.code, ExitUsage, r.stderr)
			}
			if r.stdout != "" {
				t.Errorf("stdout %q, want nothing", r.stdout)
			}
			lines := strings.Split(strings.TrimSuffix(r.stderr, "\n"), "\n")
			if len(lines) != 2 {
				t.Fatalf("stderr has %d lines, want the error and the hint:\n%s", len(lines), r.stderr)
			}
			if lines[0] != tt.want {
				t.Errorf("error line\n got %q\nwant %q", lines[0], tt.want)
			}
			cmdPath := strings.SplitN(tt.want, ":", 2)[0]
			if hint := "Run '" + cmdPath + " --help' for usage."; lines[1] != hint {
				t.Errorf("hint line %q, want %q", lines[1], hint)
			}
			b.noFile(t)
		})
	}
}

func TestRuntimeErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		db   string
		want string // prefix of the one error line
	}{
		{"unknown scheme", "redis://localhost", `eventlog stats: database URL scheme "redis" is not supported`},
		{"no scheme", "events.db", `eventlog stats: database URL "events.db" has no scheme`},
		// Port 1 on loopback refuses connections: an unreachable server.
		{"postgres unreachable", "postgres://postgres:secret@127.0.0.1:1/test?sslmode=disable&connect_timeout=2", `eventlog stats: `},
		{"mysql unreachable", "mysql://root:secret@127.0.0.1:1/test?timeout=2s", `eventlog stats: `},
		{"sqlite in a missing directory", "sqlite:" + t.TempDir() + "/no/such/dir/events.db", `eventlog stats: `},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r := runCLI(t, nil, "--db", tt.db, "stats")
			if r.code != ExitRuntime {
				t.Errorf("exit code %d, want %d (stderr %q)", r.code, ExitRuntime, r.stderr)
			}
			if r.stdout != "" {
				t.Errorf("stdout %q, want nothing", r.stdout)
			}
			if strings.Count(r.stderr, "\n") != 1 || !strings.HasPrefix(r.stderr, tt.want) {
				t.Errorf("stderr %q, want one line starting %q", r.stderr, tt.want)
			}
			if strings.Contains(r.stderr, "secret") {
				t.Errorf("stderr %q shows the password", r.stderr)
			}
			if strings.Contains(r.stderr, "goroutine ") || strings.Contains(r.stderr, "panic") {
				t.Errorf("stderr %q looks like a stack trace", r.stderr)
			}
		})
	}
}
