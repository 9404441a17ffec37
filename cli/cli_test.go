package cli

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// testNow is the clock of every test run, so relative times, default
// timestamps and stats are exact.
var testNow = time.Date(2026, 12, 6, 12, 0, 0, 0, time.UTC)

type result struct {
	code           int
	stdout, stderr string
}

// runCLI runs the command in-process with the test clock and an
// environment holding only vars.
func runCLI(t *testing.T, vars map[string]string, args ...string) result {
	t.Helper()
	var stdout, stderr bytes.Buffer
	e := &env{
		stdin:  strings.NewReader(""),
		stdout: &stdout, stderr: &stderr,
		getenv: func(k string) string { return vars[k] },
		now:    func() time.Time { return testNow },
	}
	code := run(context.Background(), args, e)
	return result{code: code, stdout: stdout.String(), stderr: stderr.String()}
}

// bundle is a fresh SQLite database for one test.
type bundle struct {
	path string // file path
	db   string // --db URL
}

func setup(t *testing.T) *bundle {
	t.Helper()
	path := filepath.Join(t.TempDir(), "events.db")
	return &bundle{path: path, db: "sqlite:" + path}
}

// run runs eventlog against the bundle's database.
func (b *bundle) run(t *testing.T, args ...string) result {
	t.Helper()
	return runCLI(t, nil, append([]string{"--db", b.db}, args...)...)
}

// mustRun runs a command that must succeed silently on stderr.
func (b *bundle) mustRun(t *testing.T, args ...string) string {
	t.Helper()
	r := b.run(t, args...)
	if r.code != 0 || r.stderr != "" {
		t.Fatalf("eventlog %s: exit %d, stderr %q", strings.Join(args, " "), r.code, r.stderr)
	}
	return r.stdout
}

// setupStore is setup for tests that need the store itself: its database
// exists, with the schema.
func setupStore(t *testing.T) *bundle {
	t.Helper()
	b := setup(t)
	b.mustRun(t, "migrate")
	return b
}

// noFile fails unless the bundle's database file does not exist: a usage
// error must not even create it.
func (b *bundle) noFile(t *testing.T) {
	t.Helper()
	if _, err := os.Stat(b.path); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("database file %s exists after a usage error (stat: %v)", b.path, err)
	}
}
