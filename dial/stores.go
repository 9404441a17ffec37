package dial

import (
	"context"
	"fmt"

	"github.com/eventlog/eventlog"
	"github.com/eventlog/eventlog/mysqlstore"
	"github.com/eventlog/eventlog/pgstore"
)

// Each store's helper below is replaced by the store package's Open when
// that store lands.

func openSQLite(ctx context.Context, url string, opts Options) (eventlog.Store, error) {
	return nil, fmt.Errorf("sqlite store: %w yet", eventlog.ErrNotSupported)
}

func openPostgres(ctx context.Context, url string, opts Options) (eventlog.Store, error) {
	return pgstore.Open(ctx, url, &pgstore.Options{Migrate: opts.Migrate})
}

func openMySQL(ctx context.Context, url string, opts Options) (eventlog.Store, error) {
	return mysqlstore.Open(ctx, url, &mysqlstore.Options{Migrate: opts.Migrate})
}
