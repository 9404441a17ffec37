package dial

import (
	"context"

	"github.com/eventlog/eventlog"
	"github.com/eventlog/eventlog/mysqlstore"
	"github.com/eventlog/eventlog/pgstore"
	"github.com/eventlog/eventlog/sqlitestore"
)

// Each store's helper below is replaced by the store package's Open when
// that store lands.

func openSQLite(ctx context.Context, url string, opts Options) (eventlog.Store, error) {
	path, so, err := sqlitestore.ParseURL(url)
	if err != nil {
		return nil, err
	}
	so.Migrate = opts.Migrate
	return sqlitestore.Open(ctx, path, so)
}

func openPostgres(ctx context.Context, url string, opts Options) (eventlog.Store, error) {
	s, err := pgstore.Open(ctx, url, &pgstore.Options{Migrate: opts.Migrate})
	if err != nil {
		return nil, err // not a nil *pgstore.Store in a non-nil interface
	}
	return s, nil
}

func openMySQL(ctx context.Context, url string, opts Options) (eventlog.Store, error) {
	return mysqlstore.Open(ctx, url, &mysqlstore.Options{Migrate: opts.Migrate})
}
