package cli

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"

	"github.com/spf13/cobra"

	"github.com/eventlog/eventlog"
	"github.com/eventlog/eventlog/sqlitestore"
)

// migrator is implemented by every store: it applies pending schema
// migrations and returns how many it applied.
type migrator interface {
	Migrate(ctx context.Context) (int, error)
}

func newMigrateCmd(e *env) *cobra.Command {
	return &cobra.Command{
		Use:   "migrate",
		Short: "Create or upgrade the database schema",
		Long: `migrate applies the pending schema migrations of the database named by
--db, each in its own transaction, and prints the resulting schema version.
Running it again is harmless: it says the schema is up to date.

A new SQLite file is given the schema by any command, so migrate is only
needed for PostgreSQL and MySQL, and after upgrading eventlog. A database
migrated by a newer eventlog is refused and left untouched.`,
		Example: `  eventlog migrate
  eventlog migrate --db postgres://postgres@localhost:5432/app`,
		Args: exactArgs(),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runMigrate(cmd.Context(), e)
		},
	}
}

func runMigrate(ctx context.Context, e *env) error {
	// A new SQLite file gets its schema as soon as it is opened, so find
	// out before opening whether this run creates it.
	fresh := isNewSQLiteFile(e.databaseURL())
	st, err := e.openStore(ctx, false)
	migratedOnOpen := false
	if errors.Is(err, eventlog.ErrSchemaOutdated) {
		// PostgreSQL and MySQL stores refuse to open an outdated schema
		// unless asked to migrate it while opening.
		st, err = e.openStore(ctx, true)
		migratedOnOpen = true
	}
	if err != nil {
		return err
	}
	defer st.Close()

	applied := 0
	if m, ok := st.(migrator); ok {
		if applied, err = m.Migrate(ctx); err != nil {
			return err
		}
	}
	version, err := schemaVersion(ctx, st)
	if err != nil {
		return err
	}
	w := e.stdout
	switch {
	case fresh:
		n, err := appliedMigrations(ctx, st)
		if err != nil {
			return err
		}
		_, err = fmt.Fprintf(w, "Created the database: applied %d %s; schema version %d.\n", n, plural(n, "migration", "migrations"), version)
		return err
	case migratedOnOpen:
		_, err = fmt.Fprintf(w, "Migrated the database to schema version %d.\n", version)
		return err
	case applied > 0:
		_, err = fmt.Fprintf(w, "Applied %d %s; schema version %d.\n", applied, plural(int64(applied), "migration", "migrations"), version)
		return err
	}
	_, err = fmt.Fprintf(w, "The database schema is up to date (version %d).\n", version)
	return err
}

// versionTable is where internal/migrate records applied migrations.
const versionTable = "eventlog_schema_version"

// schemaVersion reads the highest applied migration of a SQL store, or -1
// for a store that is not SQL.
func schemaVersion(ctx context.Context, st eventlog.Store) (int64, error) {
	ss, ok := st.(eventlog.SQLStore)
	if !ok {
		return -1, nil
	}
	var v sql.NullInt64
	err := ss.SQLDB().QueryRowContext(ctx, "SELECT MAX(version_id) FROM "+versionTable+" WHERE is_applied").Scan(&v)
	if err != nil {
		return 0, fmt.Errorf("reading the schema version: %w", err)
	}
	return v.Int64, nil
}

// appliedMigrations counts the migrations recorded as applied.
func appliedMigrations(ctx context.Context, st eventlog.Store) (int64, error) {
	ss, ok := st.(eventlog.SQLStore)
	if !ok {
		return 0, nil
	}
	var n int64
	err := ss.SQLDB().QueryRowContext(ctx, "SELECT COUNT(*) FROM "+versionTable+" WHERE is_applied AND version_id > 0").Scan(&n)
	if err != nil {
		return 0, fmt.Errorf("reading the schema version: %w", err)
	}
	return n, nil
}

// isNewSQLiteFile reports whether url names a SQLite file that does not
// exist yet or is empty.
func isNewSQLiteFile(url string) bool {
	path, _, err := sqlitestore.ParseURL(url)
	if err != nil {
		return false
	}
	fi, err := os.Stat(path)
	return errors.Is(err, os.ErrNotExist) || (err == nil && fi.Mode().IsRegular() && fi.Size() == 0)
}

func plural(n int64, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}
