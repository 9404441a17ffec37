package mysqlstore_test

import (
	"context"
	"errors"
	"testing"

	"github.com/eventlog/eventlog"
	"github.com/eventlog/eventlog/internal/migrate"
	"github.com/eventlog/eventlog/mysqlstore"
)

func TestParseURL(t *testing.T) {
	t.Parallel()
	cfg, err := mysqlstore.ParseURL("mariadb://bob:s%3Acret@db.example:3307/events?timeout=5s&tls=skip-verify")
	if err != nil {
		t.Fatal(err)
	}
	if cfg.User != "bob" || cfg.Passwd != "s:cret" || cfg.Addr != "db.example:3307" || cfg.DBName != "events" {
		t.Errorf("user/pass/addr/db = %q/%q/%q/%q", cfg.User, cfg.Passwd, cfg.Addr, cfg.DBName)
	}
	if !cfg.ParseTime || cfg.Loc.String() != "UTC" || cfg.Collation != "utf8mb4_general_ci" || cfg.Timeout.Seconds() != 5 || cfg.TLSConfig != "skip-verify" {
		t.Errorf("parseTime=%v loc=%v collation=%q timeout=%v tls=%q", cfg.ParseTime, cfg.Loc, cfg.Collation, cfg.Timeout, cfg.TLSConfig)
	}
	def, err := mysqlstore.ParseURL("mysql://root@localhost/test")
	if err != nil {
		t.Fatal(err)
	}
	if def.Addr != "localhost:3306" {
		t.Errorf("default port: addr = %q, want localhost:3306", def.Addr)
	}
	for _, bad := range []string{"mysql://root@localhost", "mysql://root@localhost/a/b", "postgres://x@y/z", "mysql://root@localhost/db?timeout=banana"} {
		if _, err := mysqlstore.ParseURL(bad); err == nil {
			t.Errorf("ParseURL(%q) succeeded, want an error", bad)
		}
	}
}

func TestMigrations(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	u := freshDatabase(t)

	if _, err := mysqlstore.Open(ctx, u, nil); !errors.Is(err, eventlog.ErrSchemaOutdated) {
		t.Fatalf("Open on an empty database without Migrate: err = %v, want ErrSchemaOutdated", err)
	}
	s, err := mysqlstore.Open(ctx, u, &mysqlstore.Options{Migrate: true})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if n, err := s.Migrate(ctx); err != nil || n != 0 {
		t.Fatalf("second Migrate = %d, %v; want 0, nil", n, err)
	}
	s2, err := mysqlstore.Open(ctx, u, nil)
	if err != nil {
		t.Fatalf("Open on a migrated database without Migrate: %v", err)
	}
	s2.Close()
	for _, table := range []string{"eventlog_events", "eventlog_action_hours", "eventlog_actors", "eventlog_user_days", "eventlog_tokens", "eventlog_admins", "eventlog_settings"} {
		var n int
		if err := s.SQLDB().QueryRowContext(ctx, "SELECT COUNT(*) FROM "+table).Scan(&n); err != nil {
			t.Errorf("table %s: %v", table, err)
		}
	}

	// A newer eventlog migrated this database: refuse it and leave it be.
	db := s.SQLDB()
	if _, err := db.ExecContext(ctx, "INSERT INTO "+migrate.Table+" (version_id, is_applied) VALUES (999, 1)"); err != nil {
		t.Fatal(err)
	}
	if _, err := mysqlstore.Open(ctx, u, &mysqlstore.Options{Migrate: true}); !errors.Is(err, eventlog.ErrSchemaTooNew) {
		t.Fatalf("Open with Migrate on a newer schema: err = %v, want ErrSchemaTooNew", err)
	}
	if _, err := mysqlstore.Open(ctx, u, nil); !errors.Is(err, eventlog.ErrSchemaTooNew) {
		t.Fatalf("Open on a newer schema: err = %v, want ErrSchemaTooNew", err)
	}
	v, err := migrate.Version(ctx, db, migrate.MySQL, mysqlstore.Migrations())
	if err != nil || v != 999 {
		t.Fatalf("version after refusing = %d, %v; want 999 untouched", v, err)
	}
}
