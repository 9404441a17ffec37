package admin

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"net/url"
	"os"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/eventlog/eventlog/mysqlstore"
	"github.com/eventlog/eventlog/pgstore"
)

// envURL returns the database URL in env, skipping the test when it is
// unset, or failing it under CI=true where a missing database must not
// pass silently.
func envURL(t testing.TB, env, example string) string {
	t.Helper()
	u := os.Getenv(env)
	if u == "" {
		msg := env + " is not set; to run this test set it, e.g. " + env + "=" + example
		if os.Getenv("CI") == "true" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	return u
}

func uniqueName() string {
	b := make([]byte, 6)
	rand.Read(b)
	return "eventlog_admin_test_" + hex.EncodeToString(b)
}

// pgTestStore opens a migrated PostgreSQL store in a fresh schema,
// dropped when the test ends.
func pgTestStore(t testing.TB) *pgstore.Store {
	t.Helper()
	u := envURL(t, "EVENTLOG_TEST_POSTGRES", "postgres://postgres@127.0.0.1:5432/test?sslmode=disable")
	ctx := context.Background()
	schema := uniqueName()
	pgExec := func(q string) {
		conn, err := pgx.Connect(ctx, u)
		if err != nil {
			t.Fatalf("connecting to PostgreSQL: %v", err)
		}
		defer conn.Close(ctx)
		if _, err := conn.Exec(ctx, q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	pgExec("CREATE SCHEMA " + schema)
	t.Cleanup(func() { pgExec("DROP SCHEMA " + schema + " CASCADE") })
	s, err := pgstore.Open(ctx, u, &pgstore.Options{Migrate: true, Schema: schema})
	if err != nil {
		t.Fatalf("pgstore.Open: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// mysqlTestStore opens a migrated MySQL/MariaDB store in a fresh
// database, dropped when the test ends.
func mysqlTestStore(t testing.TB) *mysqlstore.Store {
	t.Helper()
	base := envURL(t, "EVENTLOG_TEST_MYSQL", "mysql://root@127.0.0.1:3306/test")
	cfg, err := mysqlstore.ParseURL(base)
	if err != nil {
		t.Fatal(err)
	}
	db, err := sql.Open("mysql", cfg.FormatDSN())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	name := uniqueName()
	ctx := context.Background()
	if _, err := db.ExecContext(ctx, "CREATE DATABASE "+name+" CHARACTER SET utf8mb4 COLLATE utf8mb4_bin"); err != nil {
		t.Fatalf("creating test database: %v", err)
	}
	t.Cleanup(func() { db.ExecContext(context.Background(), "DROP DATABASE IF EXISTS "+name) })
	u, err := url.Parse(base)
	if err != nil {
		t.Fatal(err)
	}
	u.Path = "/" + name
	s, err := mysqlstore.Open(ctx, u.String(), &mysqlstore.Options{Migrate: true})
	if err != nil {
		t.Fatalf("mysqlstore.Open: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}
