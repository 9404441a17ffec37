package mysqlstore_test

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"net/url"
	"os"
	"testing"

	"github.com/go-sql-driver/mysql"

	"github.com/eventlog/eventlog/mysqlstore"
)

// testURL returns EVENTLOG_TEST_MYSQL, skipping the test when it is unset
// (failing it under CI=true, where a missing database must not pass
// silently).
func testURL(tb testing.TB) string {
	tb.Helper()
	u := os.Getenv("EVENTLOG_TEST_MYSQL")
	if u == "" {
		if os.Getenv("CI") == "true" {
			tb.Fatal("EVENTLOG_TEST_MYSQL is not set; CI must run the MySQL store tests")
		}
		tb.Skip("set EVENTLOG_TEST_MYSQL=mysql://root@127.0.0.1:3306/test to run the MySQL/MariaDB store tests")
	}
	return u
}

// freshDatabase creates a uniquely named database, drops it when the test
// ends, and returns its URL.
func freshDatabase(tb testing.TB) string {
	tb.Helper()
	base := testURL(tb)
	cfg, err := mysqlstore.ParseURL(base)
	if err != nil {
		tb.Fatal(err)
	}
	conn, err := mysql.NewConnector(cfg)
	if err != nil {
		tb.Fatal(err)
	}
	admin := sql.OpenDB(conn)
	tb.Cleanup(func() { admin.Close() })
	b := make([]byte, 6)
	if _, err := rand.Read(b); err != nil {
		tb.Fatal(err)
	}
	name := "eventlog_test_" + hex.EncodeToString(b)
	ctx := context.Background()
	if _, err := admin.ExecContext(ctx, "CREATE DATABASE "+name+" CHARACTER SET utf8mb4 COLLATE utf8mb4_bin"); err != nil {
		tb.Fatalf("creating test database: %v", err)
	}
	tb.Cleanup(func() {
		if _, err := admin.ExecContext(context.Background(), "DROP DATABASE IF EXISTS "+name); err != nil {
			tb.Errorf("dropping test database %s: %v", name, err)
		}
	})
	u, err := url.Parse(base)
	if err != nil {
		tb.Fatal(err)
	}
	u.Path = "/" + name
	return u.String()
}

// newStore opens a migrated store on a fresh database.
func newStore(tb testing.TB) *mysqlstore.Store {
	tb.Helper()
	s, err := mysqlstore.Open(context.Background(), freshDatabase(tb), &mysqlstore.Options{Migrate: true})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { s.Close() })
	return s
}
