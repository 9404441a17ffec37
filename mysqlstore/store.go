package mysqlstore

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"net/url"
	"strings"
	"sync/atomic"
	"time"

	"github.com/go-sql-driver/mysql"

	"github.com/eventlog/eventlog"
	"github.com/eventlog/eventlog/internal/migrate"
)

//go:embed migration/*.sql
var migrationFiles embed.FS

// Migrations returns the store's embedded goose migrations.
func Migrations() fs.FS {
	sub, err := fs.Sub(migrationFiles, "migration")
	if err != nil { // the directory is embedded above, so this cannot happen
		panic(err)
	}
	return sub
}

// Options configure Open. A nil *Options means all defaults.
type Options struct {
	// Migrate applies pending schema migrations on open. Without it a
	// database whose schema is missing or older than this build is an
	// error wrapping eventlog.ErrSchemaOutdated. Defaults to false.
	Migrate bool
	// MaxOpenConns bounds the connection pool. Defaults to 16.
	MaxOpenConns int
}

// Store is an eventlog.Store on MySQL or MariaDB. It is safe for
// concurrent use.
type Store struct {
	db     *sql.DB
	closed atomic.Bool
	// testBulkHook, set by tests only, fails BulkLoad at a stage.
	testBulkHook func(stage string) error
	// testRollupRows, set by tests only, replaces bulkRollupRows.
	testRollupRows int
}

var (
	_ eventlog.Store      = (*Store)(nil)
	_ eventlog.SQLTxStore = (*Store)(nil)
	_ eventlog.SQLStore   = (*Store)(nil)
)

// Open connects to the database named by rawURL
// (mysql://user:pass@host:port/db?param=value, or mariadb://…), checks
// its schema (or migrates it when opts.Migrate) and returns the store.
// Query parameters are passed to go-sql-driver/mysql (for example tls=true
// or timeout=5s); parseTime, loc=UTC and a utf8mb4 connection are always
// set.
func Open(ctx context.Context, rawURL string, opts *Options) (*Store, error) {
	if opts == nil {
		opts = &Options{}
	}
	maxConns := opts.MaxOpenConns
	if maxConns == 0 {
		maxConns = 16
	}
	if maxConns < 0 {
		return nil, fmt.Errorf("mysqlstore: MaxOpenConns %d must be positive", opts.MaxOpenConns)
	}
	cfg, err := ParseURL(rawURL)
	if err != nil {
		return nil, err
	}
	conn, err := mysql.NewConnector(cfg)
	if err != nil {
		return nil, fmt.Errorf("mysqlstore: %w", err)
	}
	db := sql.OpenDB(conn)
	db.SetMaxOpenConns(maxConns)
	db.SetMaxIdleConns(maxConns)
	db.SetConnMaxIdleTime(5 * time.Minute)
	s := &Store{db: db}
	if err := s.open(ctx, opts.Migrate); err != nil {
		db.Close()
		return nil, err
	}
	return s, nil
}

func (s *Store) open(ctx context.Context, doMigrate bool) error {
	if err := s.db.PingContext(ctx); err != nil {
		return fmt.Errorf("mysqlstore: connecting: %w", err)
	}
	if doMigrate {
		_, err := s.Migrate(ctx)
		return err
	}
	if err := migrate.Check(ctx, s.db, migrate.MySQL, Migrations()); err != nil {
		return fmt.Errorf("mysqlstore: %w", err)
	}
	return nil
}

// ParseURL converts a mysql:// or mariadb:// URL to a go-sql-driver/mysql
// configuration: user and password from the user info, host and port
// (default 3306), the database from the path, and the query parameters
// as driver DSN parameters. It forces parseTime, loc=UTC, a utf8mb4
// connection and client-side parameter interpolation (one round trip per
// statement instead of prepare, execute and close).
func ParseURL(rawURL string) (*mysql.Config, error) {
	u, err := url.Parse(rawURL)
	if err != nil {
		return nil, fmt.Errorf("mysqlstore: database URL: %w", err)
	}
	if u.Scheme != "mysql" && u.Scheme != "mariadb" {
		return nil, fmt.Errorf("mysqlstore: database URL scheme %q: want mysql:// or mariadb://: %w", u.Scheme, eventlog.ErrNotSupported)
	}
	db := strings.TrimPrefix(u.Path, "/")
	if db == "" || strings.Contains(db, "/") {
		return nil, fmt.Errorf("mysqlstore: database URL: the path must name one database, as in mysql://user@host:3306/eventlog")
	}
	host := u.Hostname()
	if host == "" {
		host = "127.0.0.1"
	}
	port := u.Port()
	if port == "" {
		port = "3306"
	}
	dsn := mysql.NewConfig()
	if len(u.Query()) > 0 {
		// Let the driver read its own parameters (tls, timeout, …).
		parsed, err := mysql.ParseDSN("/?" + u.RawQuery)
		if err != nil {
			return nil, fmt.Errorf("mysqlstore: database URL parameters: %w", err)
		}
		dsn = parsed
	}
	dsn.Net = "tcp"
	dsn.Addr = net.JoinHostPort(host, port)
	dsn.DBName = db
	if u.User != nil {
		dsn.User = u.User.Username()
		dsn.Passwd, _ = u.User.Password()
	}
	dsn.ParseTime = true
	dsn.Loc = time.UTC
	if dsn.Collation == "" || !strings.HasPrefix(dsn.Collation, "utf8mb4") {
		dsn.Collation = "utf8mb4_general_ci"
	}
	dsn.InterpolateParams = true
	return dsn, nil
}

// Migrate applies every pending migration and returns how many it
// applied; re-running is a no-op. A database migrated by a newer eventlog
// is an error wrapping eventlog.ErrSchemaTooNew and is left untouched.
func (s *Store) Migrate(ctx context.Context) (int, error) {
	n, err := migrate.Up(ctx, s.db, migrate.MySQL, Migrations())
	if err != nil {
		return n, fmt.Errorf("mysqlstore: %w", err)
	}
	return n, nil
}

// SQLDB returns the connection pool, for packages that keep their own
// tables (tokens, admins, settings) in the same database.
func (s *Store) SQLDB() *sql.DB { return s.db }

// Dialect returns "mysql".
func (s *Store) Dialect() string { return "mysql" }

// Ping reports whether the database is reachable.
func (s *Store) Ping(ctx context.Context) error {
	if s.closed.Load() {
		return eventlog.ErrClosed
	}
	return s.db.PingContext(ctx)
}

// Close closes the connection pool. Later calls fail with
// eventlog.ErrClosed.
func (s *Store) Close() error {
	if s.closed.Swap(true) {
		return nil
	}
	return s.db.Close()
}

func (s *Store) check() error {
	if s.closed.Load() {
		return eventlog.ErrClosed
	}
	return nil
}

// wrap adds the operation to err, mapping a closed pool to ErrClosed.
func wrap(op string, err error) error {
	if errors.Is(err, sql.ErrConnDone) {
		return fmt.Errorf("mysqlstore: %s: %w", op, eventlog.ErrClosed)
	}
	return fmt.Errorf("mysqlstore: %s: %w", op, err)
}
