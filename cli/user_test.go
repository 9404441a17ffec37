package cli

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"
)

// runStdin runs eventlog against b's database with stdin.
func (b *bundle) runStdin(t *testing.T, stdin string, args ...string) result {
	t.Helper()
	var stdout, stderr bytes.Buffer
	e := &env{
		stdin:  strings.NewReader(stdin),
		stdout: &stdout, stderr: &stderr,
		getenv: func(string) string { return "" },
		now:    func() time.Time { return testNow },
	}
	code := run(context.Background(), append([]string{"--db", b.db}, args...), e)
	return result{code: code, stdout: stdout.String(), stderr: stderr.String()}
}

func TestUserCommands(t *testing.T) {
	t.Parallel()
	b := setupStore(t)
	if r := b.runStdin(t, "first-password\n", "user", "create", "alice", "--password-stdin"); r.code != 0 || !strings.Contains(r.stderr, "created admin user alice") {
		t.Fatalf("user create: exit %d, stderr %q", r.code, r.stderr)
	}
	if r := b.runStdin(t, "other-password\n", "user", "create", "alice", "--password-stdin"); r.code != ExitUsage || !strings.Contains(r.stderr, `"alice" already exists`) {
		t.Errorf("duplicate create: exit %d, stderr %q", r.code, r.stderr)
	}
	if r := b.runStdin(t, "short\n", "user", "create", "bob", "--password-stdin"); r.code != ExitUsage || !strings.Contains(r.stderr, "password") {
		t.Errorf("short password: exit %d, stderr %q", r.code, r.stderr)
	}
	if r := b.runStdin(t, "", "user", "create", "bob"); r.code != ExitUsage || !strings.Contains(r.stderr, "--password-stdin") {
		t.Errorf("no terminal and no --password-stdin: exit %d, stderr %q", r.code, r.stderr)
	}
	if r := b.runStdin(t, "", "user", "create", "bad name", "--password-stdin"); r.code != ExitUsage || !strings.Contains(r.stderr, "NAME") {
		t.Errorf("bad name: exit %d, stderr %q", r.code, r.stderr)
	}
	r := b.runStdin(t, "", "user", "list")
	if r.code != 0 || !strings.Contains(r.stdout, "alice") || strings.Contains(r.stdout, "bob") {
		t.Errorf("user list: exit %d, stdout %q", r.code, r.stdout)
	}
	if r := b.runStdin(t, "second-password", "user", "passwd", "alice", "--password-stdin"); r.code != 0 {
		t.Errorf("user passwd: exit %d, stderr %q", r.code, r.stderr)
	}
	if r := b.runStdin(t, "second-password\n", "user", "passwd", "nobody", "--password-stdin"); r.code != ExitRuntime || !strings.Contains(r.stderr, `no admin user is named "nobody"`) {
		t.Errorf("passwd of an unknown user: exit %d, stderr %q", r.code, r.stderr)
	}
	if r := b.runStdin(t, "", "user", "delete", "alice"); r.code != 0 {
		t.Errorf("user delete: exit %d, stderr %q", r.code, r.stderr)
	}
	if r := b.runStdin(t, "", "user", "delete", "alice"); r.code != ExitRuntime {
		t.Errorf("second delete: exit %d, stderr %q", r.code, r.stderr)
	}
}
