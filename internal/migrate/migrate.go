// Package migrate runs a store's embedded, versioned SQL migrations with
// pressly/goose and checks that a database's schema matches this build.
// Each store package embeds its own migration/NNN_name.sql files,
// numbered alike across dialects, and hands them here.
//
// Versions are recorded in the table eventlog_schema_version, so they never
// mix with a host application's own goose table in the same database.
package migrate

import (
	"context"
	"database/sql"
	"fmt"
	"io"
	"io/fs"
	"log/slog"

	"github.com/pressly/goose/v3"

	"github.com/eventlog/eventlog"
)

// Table records applied schema versions.
const Table = "eventlog_schema_version"

// Dialects, re-exported so store packages need not import goose.
const (
	SQLite   = goose.DialectSQLite3
	Postgres = goose.DialectPostgres
	MySQL    = goose.DialectMySQL
)

func provider(db *sql.DB, dialect goose.Dialect, fsys fs.FS) (*goose.Provider, error) {
	return goose.NewProvider(dialect, db, fsys,
		goose.WithTableName(Table),
		goose.WithSlog(slog.New(slog.NewTextHandler(io.Discard, nil))),
	)
}

// Latest returns the highest version among the migrations in fsys.
func Latest(fsys fs.FS, db *sql.DB, dialect goose.Dialect) (int64, error) {
	p, err := provider(db, dialect, fsys)
	if err != nil {
		return 0, err
	}
	src := p.ListSources()
	if len(src) == 0 {
		return 0, nil
	}
	return src[len(src)-1].Version, nil
}

// Up applies every pending migration, each in its own transaction, and
// returns how many it applied. Re-running is a no-op. A database whose
// schema is newer than this build is an error wrapping
// eventlog.ErrSchemaTooNew and is left untouched.
func Up(ctx context.Context, db *sql.DB, dialect goose.Dialect, fsys fs.FS) (int, error) {
	p, err := provider(db, dialect, fsys)
	if err != nil {
		return 0, err
	}
	if err := checkNotNewer(ctx, p); err != nil {
		return 0, err
	}
	res, err := p.Up(ctx)
	if err != nil {
		return 0, fmt.Errorf("migrate: %w", err)
	}
	return len(res), nil
}

// Check returns nil when the database is at exactly this build's schema
// version, an error wrapping eventlog.ErrSchemaOutdated when the schema is
// missing or older, and one wrapping eventlog.ErrSchemaTooNew when newer.
func Check(ctx context.Context, db *sql.DB, dialect goose.Dialect, fsys fs.FS) error {
	p, err := provider(db, dialect, fsys)
	if err != nil {
		return err
	}
	if err := checkNotNewer(ctx, p); err != nil {
		return err
	}
	pending, err := p.HasPending(ctx)
	if err != nil {
		return fmt.Errorf("migrate: checking schema: %w", err)
	}
	if pending {
		return eventlog.ErrSchemaOutdated
	}
	return nil
}

// Version returns the database's current schema version (0 when none).
func Version(ctx context.Context, db *sql.DB, dialect goose.Dialect, fsys fs.FS) (int64, error) {
	p, err := provider(db, dialect, fsys)
	if err != nil {
		return 0, err
	}
	return p.GetDBVersion(ctx)
}

func checkNotNewer(ctx context.Context, p *goose.Provider) error {
	cur, err := p.GetDBVersion(ctx)
	if err != nil {
		// A database without the version table has version 0.
		return nil
	}
	src := p.ListSources()
	var latest int64
	if len(src) > 0 {
		latest = src[len(src)-1].Version
	}
	if cur > latest {
		return fmt.Errorf("database is at schema version %d, this eventlog knows up to %d: upgrade eventlog: %w", cur, latest, eventlog.ErrSchemaTooNew)
	}
	return nil
}
