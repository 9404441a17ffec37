package pgstore

import (
	"context"
	"database/sql"
	"fmt"
	"sync"
	"sync/atomic"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/jackc/pgx/v5/stdlib"

	"github.com/eventlog/eventlog"
	"github.com/eventlog/eventlog/internal/migrate"
)

// Options configure Open. A nil *Options means all defaults.
type Options struct {
	// Migrate applies pending schema migrations on open. Without it, a
	// missing or outdated schema is an error wrapping
	// eventlog.ErrSchemaOutdated. Defaults to false.
	Migrate bool
	// Schema, when set, is used as the search_path of every connection,
	// so the eventlog tables live in (and are looked up in) that schema.
	// The schema must exist. Defaults to the server's search_path.
	Schema string
}

// Store is the PostgreSQL eventlog.Store. It is safe for concurrent use.
type Store struct {
	pool *pgxpool.Pool
	db   *sql.DB
	// textWalk overrides textWalkRows in tests; 0 means textWalkRows.
	textWalk int

	closeOnce sync.Once
	closed    atomic.Bool
}

var (
	_ eventlog.Store      = (*Store)(nil)
	_ eventlog.SQLTxStore = (*Store)(nil)
	_ eventlog.SQLStore   = (*Store)(nil)
)

// Open connects to the PostgreSQL database at url (postgres://… or a
// key=value connection string) and checks, or with opts.Migrate applies,
// its schema.
func Open(ctx context.Context, url string, opts *Options) (*Store, error) {
	if opts == nil {
		opts = &Options{}
	}
	cfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		return nil, fmt.Errorf("pgstore: parsing database URL: %w", err)
	}
	if opts.Schema != "" {
		cfg.ConnConfig.RuntimeParams["search_path"] = opts.Schema
	}
	// A page query reads a few hundred rows along an index; starting
	// parallel workers costs more than that (40 ms measured on a loaded
	// server for a 2 ms query). A URL may still set its own value.
	if _, ok := cfg.ConnConfig.RuntimeParams["max_parallel_workers_per_gather"]; !ok {
		cfg.ConnConfig.RuntimeParams["max_parallel_workers_per_gather"] = "0"
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("pgstore: connecting: %w", err)
	}
	s := &Store{pool: pool, db: stdlib.OpenDBFromPool(pool)}
	if err := pool.Ping(ctx); err != nil {
		s.Close()
		return nil, fmt.Errorf("pgstore: connecting: %w", err)
	}
	if opts.Migrate {
		_, err = s.Migrate(ctx)
	} else {
		err = migrate.Check(ctx, s.db, migrate.Postgres, Migrations())
	}
	if err != nil {
		s.Close()
		return nil, fmt.Errorf("pgstore: %w", err)
	}
	return s, nil
}

// Migrate applies pending schema migrations and returns how many it
// applied; re-running it is a no-op. A schema newer than this build is an
// error wrapping eventlog.ErrSchemaTooNew and is left untouched.
func (s *Store) Migrate(ctx context.Context) (int, error) {
	return migrate.Up(ctx, s.db, migrate.Postgres, Migrations())
}

// Pool returns the store's connection pool, for applications that want
// to begin pgx transactions for InsertTx and Outbox on it.
func (s *Store) Pool() *pgxpool.Pool { return s.pool }

// SQLDB returns a database/sql handle on the store's pool.
func (s *Store) SQLDB() *sql.DB { return s.db }

// Dialect returns "postgres".
func (s *Store) Dialect() string { return "postgres" }

// Ping reports whether the database is reachable.
func (s *Store) Ping(ctx context.Context) error {
	if err := s.pool.Ping(ctx); err != nil {
		return fmt.Errorf("pgstore: ping: %w", err)
	}
	return nil
}

// Close closes the pool. Calls after the first return nil.
func (s *Store) Close() error {
	var err error
	s.closeOnce.Do(func() {
		s.closed.Store(true)
		err = s.db.Close()
		s.pool.Close()
	})
	return err
}

// wrapErr adds the operation name, and reports eventlog.ErrClosed for
// calls on a closed store rather than the pool's own error.
func (s *Store) wrapErr(op string, err error) error {
	if s.closed.Load() {
		return fmt.Errorf("pgstore: %s: %w", op, eventlog.ErrClosed)
	}
	return fmt.Errorf("pgstore: %s: %w", op, err)
}
