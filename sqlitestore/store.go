package sqlitestore

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"time"

	_ "modernc.org/sqlite" // registers the "sqlite" database/sql driver

	"github.com/eventlog/eventlog"
	"github.com/eventlog/eventlog/internal/migrate"
)

//go:embed migration/*.sql
var migrationFiles embed.FS

// Migrations returns the embedded schema migrations (goose SQL files).
func Migrations() fs.FS {
	sub, err := fs.Sub(migrationFiles, "migration")
	if err != nil { // the embed pattern guarantees the directory
		panic(err)
	}
	return sub
}

// Options configure Open. A nil *Options means all defaults.
type Options struct {
	// Migrate applies pending migrations to an existing file whose schema
	// is older than this build. A new or empty file is always migrated.
	// Defaults to false: an outdated file is an error wrapping
	// eventlog.ErrSchemaOutdated.
	Migrate bool
	// Synchronous is SQLite's synchronous setting for the writer: "FULL"
	// makes every commit durable against power loss; "NORMAL" may lose the
	// last commits on power loss (never on a process crash) and commits
	// faster. Defaults to "FULL".
	Synchronous string
	// BusyTimeout is how long a statement waits for another process that
	// holds the write lock. Defaults to 5s.
	BusyTimeout time.Duration
	// ReadConns is the size of the read connection pool.
	// Defaults to 4, or the number of CPUs when larger.
	ReadConns int
	// MmapSize is how many bytes of the file each connection memory-maps
	// (SQLite's mmap_size): reads of mapped pages are memory accesses, not
	// read syscalls, but the mapped pages count in the process's resident
	// set. Defaults to 256 MiB; a negative value turns mapping off.
	MmapSize int64
}

// defaultMmapSize keeps the resident set of a server well under 150 MB
// of heap plus what the kernel maps, while the hot part of the indexes
// of a few million events stays mapped.
const defaultMmapSize = 256 << 20

// Store is an eventlog.Store on one SQLite file. It is safe for
// concurrent use.
type Store struct {
	path   string
	writer *sql.DB // one connection: every write, and SQLDB
	reader *sql.DB // read-only pool
	stmts  *writeStmts
}

var (
	_ eventlog.Store      = (*Store)(nil)
	_ eventlog.SQLTxStore = (*Store)(nil)
	_ eventlog.SQLStore   = (*Store)(nil)
)

// Open opens (creating it if needed) the SQLite database at path. A new or
// empty file is given the schema; an existing one must be at this build's
// schema version unless opts.Migrate is set. A file migrated by a newer
// eventlog is refused with an error wrapping eventlog.ErrSchemaTooNew and
// left untouched. In-memory databases are not supported: the writer and
// the readers must share a file.
func Open(ctx context.Context, path string, opts *Options) (*Store, error) {
	o, err := opts.withDefaults()
	if err != nil {
		return nil, err
	}
	if path == "" || path == ":memory:" || strings.HasPrefix(path, "file::memory:") {
		return nil, fmt.Errorf("sqlitestore: path %q: an in-memory database is not supported; give a file path", path)
	}
	writer, err := sql.Open("sqlite", dsn(path, o, false))
	if err != nil {
		return nil, fmt.Errorf("sqlitestore: opening %s: %w", path, err)
	}
	writer.SetMaxOpenConns(1)
	writer.SetMaxIdleConns(1)
	writer.SetConnMaxLifetime(0)
	writer.SetConnMaxIdleTime(0)
	s := &Store{path: path, writer: writer, stmts: newWriteStmts()}
	if err := s.prepareSchema(ctx, o.Migrate); err != nil {
		writer.Close()
		return nil, err
	}
	if err := s.stmts.prepare(ctx, writer); err != nil {
		s.stmts.close()
		writer.Close()
		return nil, fmt.Errorf("sqlitestore: opening %s: %w", path, err)
	}
	reader, err := sql.Open("sqlite", dsn(path, o, true))
	if err != nil {
		writer.Close()
		return nil, fmt.Errorf("sqlitestore: opening %s for reading: %w", path, err)
	}
	reader.SetMaxOpenConns(o.ReadConns)
	reader.SetMaxIdleConns(o.ReadConns)
	reader.SetConnMaxIdleTime(0)
	s.reader = reader
	if err := reader.PingContext(ctx); err != nil {
		s.Close()
		return nil, fmt.Errorf("sqlitestore: opening %s for reading: %w", path, err)
	}
	return s, nil
}

func (o *Options) withDefaults() (Options, error) {
	var c Options
	if o != nil {
		c = *o
	}
	switch strings.ToUpper(c.Synchronous) {
	case "":
		c.Synchronous = "FULL"
	case "FULL", "NORMAL":
		c.Synchronous = strings.ToUpper(c.Synchronous)
	default:
		return c, fmt.Errorf("sqlitestore: Options.Synchronous %q must be FULL or NORMAL", c.Synchronous)
	}
	if c.BusyTimeout == 0 {
		c.BusyTimeout = 5 * time.Second
	}
	if c.BusyTimeout < 0 {
		return c, fmt.Errorf("sqlitestore: Options.BusyTimeout %v must not be negative", c.BusyTimeout)
	}
	if c.ReadConns == 0 {
		c.ReadConns = max(4, runtime.NumCPU())
	}
	if c.ReadConns < 0 {
		return c, fmt.Errorf("sqlitestore: Options.ReadConns %d must not be negative", c.ReadConns)
	}
	switch {
	case c.MmapSize == 0:
		c.MmapSize = defaultMmapSize
	case c.MmapSize < 0:
		c.MmapSize = 0
	}
	return c, nil
}

// dsn builds the modernc.org/sqlite connection string. The writer begins
// transactions IMMEDIATE so a transaction that will write takes the lock
// up front instead of failing to upgrade later.
func dsn(path string, o Options, readOnly bool) string {
	q := url.Values{}
	q.Add("_pragma", fmt.Sprintf("busy_timeout(%d)", o.BusyTimeout.Milliseconds()))
	q.Add("_pragma", "foreign_keys(1)")
	// Index pages of a large file are read through the page cache on
	// every insert; memory-mapping them turns a read syscall per page
	// into a memory access.
	q.Add("_pragma", fmt.Sprintf("mmap_size(%d)", o.MmapSize))
	if readOnly {
		q.Add("_pragma", "query_only(1)")
	} else {
		q.Add("_pragma", "journal_mode(WAL)")
		q.Add("_pragma", "synchronous("+o.Synchronous+")")
		// Inserts touch leaf pages of several indexes; keep them cached.
		q.Add("_pragma", "cache_size(-32768)")
		// A multi-row upsert keeps a statement journal of the pages it
		// changes, to undo itself alone on error; in a temporary file that
		// is a write syscall per page.
		q.Add("_pragma", "temp_store(MEMORY)")
		// A 1,000-event batch dirties a few thousand pages, so the default
		// checkpoint every 1,000 WAL pages copied each batch's pages back
		// into the file right away; checkpointing every 10,000 pages copies
		// a page changed by several batches (index interior and hot leaf
		// pages, rollups) once. journal_size_limit truncates a WAL that a
		// large batch grew beyond that, after the checkpoint.
		q.Add("_pragma", "wal_autocheckpoint(10000)")
		q.Add("_pragma", "journal_size_limit(67108864)")
		q.Set("_txlock", "immediate")
	}
	return "file:" + (&url.URL{Path: path}).EscapedPath() + "?" + q.Encode()
}

// notWritable says why the file at path, or its directory when the file
// does not exist, cannot be written: SQLite's own message for a read-only
// file system or a missing permission is only "unable to open database
// file".
func notWritable(path string) error {
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err == nil {
		f.Close()
		return nil
	}
	if !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	f, err = os.CreateTemp(filepath.Dir(path), ".eventlog-write-test-*")
	if err != nil {
		return err
	}
	f.Close()
	os.Remove(f.Name())
	return nil
}

// prepareSchema migrates a new file and checks an existing one.
func (s *Store) prepareSchema(ctx context.Context, allowMigrate bool) error {
	var tables int
	if err := s.writer.QueryRowContext(ctx, `SELECT count(*) FROM sqlite_master`).Scan(&tables); err != nil {
		if why := notWritable(s.path); why != nil {
			return fmt.Errorf("sqlitestore: opening %s: %w (%v)", s.path, err, why)
		}
		return fmt.Errorf("sqlitestore: reading %s: %w", s.path, err)
	}
	if tables == 0 || allowMigrate {
		if _, err := s.Migrate(ctx); err != nil {
			return err
		}
		return nil
	}
	// Checking through goose would create its version table; a file that
	// has none is simply not migrated, and must stay untouched.
	var versioned int
	if err := s.writer.QueryRowContext(ctx, `SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = ?`, migrate.Table).Scan(&versioned); err != nil {
		return fmt.Errorf("sqlitestore: reading %s: %w", s.path, err)
	}
	if versioned == 0 {
		return fmt.Errorf("sqlitestore: %s has no eventlog schema (open with Migrate): %w", s.path, eventlog.ErrSchemaOutdated)
	}
	if err := migrate.Check(ctx, s.writer, migrate.SQLite, Migrations()); err != nil {
		return fmt.Errorf("sqlitestore: %s: %w", s.path, err)
	}
	return nil
}

// Migrate applies pending schema migrations and returns how many it
// applied; re-running is a no-op. A newer schema is refused with an error
// wrapping eventlog.ErrSchemaTooNew.
func (s *Store) Migrate(ctx context.Context) (int, error) {
	n, err := migrate.Up(ctx, s.writer, migrate.SQLite, Migrations())
	if err != nil {
		return n, fmt.Errorf("sqlitestore: migrating %s: %w", s.path, err)
	}
	return n, nil
}

// SQLDB returns the writer handle (one connection). Packages keeping
// auxiliary tables in the same file (tokens, admins, settings) use it for
// reads and writes; a transaction on it also serves Logger.OutboxSQL.
// Hold its transactions briefly: while one is open, event writes wait.
func (s *Store) SQLDB() *sql.DB { return s.writer }

// Dialect returns "sqlite".
func (s *Store) Dialect() string { return "sqlite" }

// Ping reports whether the file is readable.
func (s *Store) Ping(ctx context.Context) error {
	if err := s.reader.PingContext(ctx); err != nil {
		return fmt.Errorf("sqlitestore: ping %s: %w", s.path, err)
	}
	return nil
}

// Close closes both handles after letting SQLite refresh its planner
// statistics.
func (s *Store) Close() error {
	var errs []error
	if s.reader != nil {
		errs = append(errs, s.reader.Close())
	}
	if s.stmts != nil {
		s.stmts.close()
	}
	if s.writer != nil {
		// Cheap, and keeps index choices good as the data grows.
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		_, _ = s.writer.ExecContext(ctx, `PRAGMA optimize`)
		cancel()
		errs = append(errs, s.writer.Close())
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("sqlitestore: closing %s: %w", s.path, err)
	}
	return nil
}
