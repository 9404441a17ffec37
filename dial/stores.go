package dial

import (
	"context"

	"github.com/eventlog/eventlog"
	"github.com/eventlog/eventlog/mysqlstore"
	"github.com/eventlog/eventlog/pgstore"
	"github.com/eventlog/eventlog/sqlitestore"
)

// Each helper returns a nil interface on error, never a nil store pointer
// wrapped in a non-nil interface.

func openSQLite(ctx context.Context, url string, opts Options) (eventlog.Store, error) {
	path, so, err := sqlitestore.ParseURL(url)
	if err != nil {
		return nil, err
	}
	so.Migrate = opts.Migrate
	s, err := sqlitestore.Open(ctx, path, so)
	if err != nil {
		return nil, err
	}
	return s, nil
}

func openPostgres(ctx context.Context, url string, opts Options) (eventlog.Store, error) {
	s, err := pgstore.Open(ctx, url, &pgstore.Options{Migrate: opts.Migrate})
	if err != nil {
		return nil, err
	}
	return s, nil
}

func openMySQL(ctx context.Context, url string, opts Options) (eventlog.Store, error) {
	s, err := mysqlstore.Open(ctx, url, &mysqlstore.Options{Migrate: opts.Migrate})
	if err != nil {
		return nil, err
	}
	return s, nil
}
