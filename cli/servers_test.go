package cli

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"

	_ "github.com/jackc/pgx/v5/stdlib" // registers "pgx" for the schema set-up below

	"github.com/eventlog/eventlog/mysqlstore"
)

// serverURL returns the database URL in env var name, skipping the test
// when it is unset (failing it under CI=true, where a missing database
// must not pass silently).
func serverURL(t *testing.T, name, example string) string {
	t.Helper()
	u := os.Getenv(name)
	if u == "" {
		if os.Getenv("CI") == "true" {
			t.Fatalf("%s is not set; CI must run the database tests", name)
		}
		t.Skipf("set %s=%s to run the command against this database", name, example)
	}
	return u
}

func uniqueName(t *testing.T) string {
	t.Helper()
	b := make([]byte, 6)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return "eventlog_cli_" + hex.EncodeToString(b)
}

// postgresBundle is a bundle on a fresh PostgreSQL schema, dropped when the
// test ends; the URL selects it with search_path.
func postgresBundle(t *testing.T) *bundle {
	t.Helper()
	base := serverURL(t, "EVENTLOG_TEST_POSTGRES", "postgres://postgres@127.0.0.1:5432/test?sslmode=disable")
	admin, err := sql.Open("pgx", base)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { admin.Close() })
	name := uniqueName(t)
	if _, err := admin.ExecContext(context.Background(), "CREATE SCHEMA "+name); err != nil {
		t.Fatalf("creating schema: %v", err)
	}
	t.Cleanup(func() {
		if _, err := admin.ExecContext(context.Background(), "DROP SCHEMA "+name+" CASCADE"); err != nil {
			t.Errorf("dropping schema %s: %v", name, err)
		}
	})
	u, err := url.Parse(base)
	if err != nil {
		t.Fatal(err)
	}
	q := u.Query()
	q.Set("search_path", name)
	u.RawQuery = q.Encode()
	return &bundle{db: u.String()}
}

// mysqlBundle is a bundle on a fresh MySQL/MariaDB database, dropped when
// the test ends.
func mysqlBundle(t *testing.T) *bundle {
	t.Helper()
	base := serverURL(t, "EVENTLOG_TEST_MYSQL", "mysql://root@127.0.0.1:3306/test")
	cfg, err := mysqlstore.ParseURL(base)
	if err != nil {
		t.Fatal(err)
	}
	admin, err := sql.Open("mysql", cfg.FormatDSN())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { admin.Close() })
	name := uniqueName(t)
	if _, err := admin.ExecContext(context.Background(), "CREATE DATABASE "+name+" CHARACTER SET utf8mb4 COLLATE utf8mb4_bin"); err != nil {
		t.Fatalf("creating database: %v", err)
	}
	t.Cleanup(func() {
		if _, err := admin.ExecContext(context.Background(), "DROP DATABASE IF EXISTS "+name); err != nil {
			t.Errorf("dropping database %s: %v", name, err)
		}
	})
	u, err := url.Parse(base)
	if err != nil {
		t.Fatal(err)
	}
	u.Path = "/" + name
	return &bundle{db: u.String()}
}

// latestMigration is the highest version among a store's migration files.
func latestMigration(t *testing.T, dir string) int {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(dir, "*.sql"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no migrations found in %s (%v)", dir, err)
	}
	latest := 0
	for _, f := range files {
		var v int
		if _, err := fmt.Sscanf(filepath.Base(f), "%d_", &v); err != nil {
			t.Fatalf("migration %s has no version number", f)
		}
		latest = max(latest, v)
	}
	return latest
}

// TestServerStores runs the commands against PostgreSQL and MySQL: an
// unmigrated database is refused with a hint, migrate creates the schema
// and the commands then print exactly what they print on SQLite.
func TestServerStores(t *testing.T) {
	t.Parallel()
	for _, s := range []struct {
		name       string
		newBundle  func(*testing.T) *bundle
		migrations string
	}{
		{"postgres", postgresBundle, "../pgstore/migration"},
		{"mysql", mysqlBundle, "../mysqlstore/migration"},
	} {
		t.Run(s.name, func(t *testing.T) {
			t.Parallel()
			b := s.newBundle(t)
			r := b.run(t, "stats")
			if r.code != ExitRuntime || !strings.Contains(r.stderr, "run `eventlog migrate`") || strings.Count(r.stderr, "\n") != 1 {
				t.Errorf("stats before migrate: exit %d, stderr %q; want exit 1 and a hint to migrate", r.code, r.stderr)
			}
			latest := latestMigration(t, s.migrations)
			if got, want := b.mustRun(t, "migrate"), fmt.Sprintf("Migrated the database to schema version %d.\n", latest); got != want {
				t.Errorf("first migrate printed %q, want %q", got, want)
			}
			if got, want := b.mustRun(t, "migrate"), fmt.Sprintf("The database schema is up to date (version %d).\n", latest); got != want {
				t.Errorf("second migrate printed %q, want %q", got, want)
			}
			seed(t, b)
			if got, want := b.mustRun(t, "events", "--format", "jsonl"), json3+"\n"+json2+"\n"+json1+"\n"; got != want {
				t.Errorf("events printed\n%s\nwant\n%s", got, want)
			}
			if got, want := b.mustRun(t, "events", "--format", "jsonl", "--where", "n=200", "-q", "FOO"), json2+"\n"; got != want {
				t.Errorf("filtered events printed\n%s\nwant\n%s", got, want)
			}
			if got, want := b.mustRun(t, "actions", "--format", "jsonl"), `{"action":"CREATED_WIDGET","count":2}`+"\n"+`{"action":"SIGNED_UP","count":1}`+"\n"; got != want {
				t.Errorf("actions printed\n%s\nwant\n%s", got, want)
			}
			if got := b.mustRun(t, "forget-user", "42"); got != "Forgot user 42 in 2 events.\n" {
				t.Errorf("forget-user printed %q", got)
			}
		})
	}
}
