package auth_test

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"errors"
	"net/url"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	_ "github.com/go-sql-driver/mysql"
	"github.com/jackc/pgx/v5"

	"github.com/eventlog/eventlog"
	"github.com/eventlog/eventlog/auth"
	"github.com/eventlog/eventlog/mysqlstore"
	"github.com/eventlog/eventlog/pgstore"
	"github.com/eventlog/eventlog/sqlitestore"
)

// stores opens each database the tests run on: SQLite always,
// PostgreSQL and MySQL when their environment variables are set.
var stores = []struct {
	name string
	open func(t *testing.T) eventlog.Store
}{
	{"sqlite", func(t *testing.T) eventlog.Store {
		st, err := sqlitestore.Open(context.Background(), filepath.Join(t.TempDir(), "events.db"), nil)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { st.Close() })
		return st
	}},
	{"postgres", func(t *testing.T) eventlog.Store {
		url := envURL(t, "EVENTLOG_TEST_POSTGRES", "postgres://postgres@127.0.0.1:5432/test?sslmode=disable")
		schema := "eventlog_auth_test_" + randomHex(t)
		pgExec(t, url, "CREATE SCHEMA "+schema)
		t.Cleanup(func() { pgExec(t, url, "DROP SCHEMA "+schema+" CASCADE") })
		st, err := pgstore.Open(context.Background(), url, &pgstore.Options{Migrate: true, Schema: schema})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { st.Close() })
		return st
	}},
	{"mysql", func(t *testing.T) eventlog.Store {
		base := envURL(t, "EVENTLOG_TEST_MYSQL", "mysql://root@127.0.0.1:3306/test")
		cfg, err := mysqlstore.ParseURL(base)
		if err != nil {
			t.Fatal(err)
		}
		admin, err := sql.Open("mysql", cfg.FormatDSN())
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { admin.Close() })
		name := "eventlog_auth_test_" + randomHex(t)
		if _, err := admin.Exec("CREATE DATABASE " + name + " CHARACTER SET utf8mb4 COLLATE utf8mb4_bin"); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { admin.Exec("DROP DATABASE IF EXISTS " + name) })
		u, err := url.Parse(base)
		if err != nil {
			t.Fatal(err)
		}
		u.Path = "/" + name
		st, err := mysqlstore.Open(context.Background(), u.String(), &mysqlstore.Options{Migrate: true})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { st.Close() })
		return st
	}},
}

func envURL(t *testing.T, name, example string) string {
	t.Helper()
	u := os.Getenv(name)
	if u == "" {
		if os.Getenv("CI") == "true" {
			t.Fatalf("%s is not set; CI must run the database tests", name)
		}
		t.Skipf("%s is not set; to run the token tests on this database set it, e.g. %s=%s", name, name, example)
	}
	return u
}

func randomHex(t *testing.T) string {
	var b [6]byte
	if _, err := rand.Read(b[:]); err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(b[:])
}

func pgExec(t *testing.T, url, sql string) {
	t.Helper()
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, sql); err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
}

// clock is a settable time source.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

func TestTokens(t *testing.T) {
	t.Parallel()
	for _, s := range stores {
		t.Run(s.name, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			store := s.open(t)
			clk := &clock{t: time.Date(2026, 12, 6, 12, 0, 0, 0, time.UTC)}
			tokens, err := auth.New(store, &auth.Config{Now: clk.now})
			if err != nil {
				t.Fatal(err)
			}
			if empty, err := tokens.Empty(ctx); err != nil || !empty {
				t.Fatalf("Empty on a new database = %v, %v", empty, err)
			}
			secret, err := tokens.Create(ctx, "svc-a", auth.Write)
			if err != nil {
				t.Fatal(err)
			}
			if len(secret) != len(auth.TokenPrefix)+64 {
				t.Errorf("secret %q has the wrong length", secret)
			}
			clk.add(time.Minute)
			if _, err := tokens.Create(ctx, "svc-b", auth.Admin); err != nil {
				t.Fatal(err)
			}
			if _, err := tokens.Create(ctx, "svc-a", auth.Read); !errors.Is(err, auth.ErrNameTaken) {
				t.Errorf("duplicate name: %v, want ErrNameTaken", err)
			}
			if _, err := tokens.Create(ctx, "x", "root"); !errors.Is(err, eventlog.ErrInvalid) {
				t.Errorf("bad scope: %v, want ErrInvalid", err)
			}

			// Only the hash is stored.
			var hash string
			q := "SELECT hash FROM eventlog_tokens WHERE name = ?"
			if ss := store.(eventlog.SQLStore); ss.Dialect() == "postgres" {
				q = "SELECT hash FROM eventlog_tokens WHERE name = $1"
			}
			if err := store.(eventlog.SQLStore).SQLDB().QueryRowContext(ctx, q, "svc-a").Scan(&hash); err != nil {
				t.Fatal(err)
			}
			if sum := sha256.Sum256([]byte(secret)); hash != hex.EncodeToString(sum[:]) {
				t.Errorf("stored hash %q is not the hex SHA-256 of the token", hash)
			}

			list := must(tokens.List(ctx))
			if len(list) != 2 || list[0].Name != "svc-a" || list[0].Scope != auth.Write || !list[0].CreatedAt.Equal(clk.now().Add(-time.Minute)) || list[1].Name != "svc-b" {
				t.Errorf("List = %+v", list)
			}
			tok, err := tokens.Authenticate(ctx, secret)
			if err != nil || tok.Name != "svc-a" || tok.Scope != auth.Write {
				t.Errorf("Authenticate = %+v, %v", tok, err)
			}
			for _, bad := range []string{"", "evl_", secret[:len(secret)-1], secret + "0"} {
				if _, err := tokens.Authenticate(ctx, bad); !errors.Is(err, auth.ErrUnauthenticated) {
					t.Errorf("Authenticate(%q) = %v, want ErrUnauthenticated", bad, err)
				}
			}

			// Another process (another Tokens) revokes: this one notices
			// once its cache is older than the TTL.
			other, _ := auth.New(store, nil)
			if err := other.Revoke(ctx, "svc-a"); err != nil {
				t.Fatal(err)
			}
			if err := other.Revoke(ctx, "svc-a"); !errors.Is(err, eventlog.ErrNotFound) {
				t.Errorf("revoking twice: %v, want ErrNotFound", err)
			}
			if _, err := tokens.Authenticate(ctx, secret); err != nil {
				t.Errorf("within the cache TTL the token should still pass: %v", err)
			}
			clk.add(3 * time.Second)
			if _, err := tokens.Authenticate(ctx, secret); !errors.Is(err, auth.ErrUnauthenticated) {
				t.Errorf("after the cache TTL a revoked token = %v, want ErrUnauthenticated", err)
			}
		})
	}
}

func TestScopes(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		have, need auth.Scope
		ok         bool
	}{
		{auth.Write, auth.Write, true}, {auth.Write, auth.Read, false},
		{auth.Read, auth.Read, true}, {auth.Read, auth.Write, false},
		{auth.Admin, auth.Read, true}, {auth.Admin, auth.Write, true},
	} {
		if got := c.have.Allows(c.need); got != c.ok {
			t.Errorf("%s.Allows(%s) = %v", c.have, c.need, got)
		}
	}
	for _, s := range []string{"write", "read", "admin"} {
		if _, err := auth.ParseScope(s); err != nil {
			t.Errorf("ParseScope(%q): %v", s, err)
		}
	}
	for _, s := range []string{"", "Admin", "root"} {
		if _, err := auth.ParseScope(s); err == nil {
			t.Errorf("ParseScope(%q) accepted", s)
		}
	}
	for _, n := range []string{"", "has space", "tab\tname", string(make([]byte, 65))} {
		if err := auth.CheckName(n); err == nil {
			t.Errorf("CheckName(%q) accepted", n)
		}
	}
}

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}
