// Package dial opens a store from a URL: sqlite:PATH (the embedded
// default), postgres://… and mysql://…. It is the one place that imports
// every store driver; the root package eventlog imports none.
package dial

import (
	"context"
	"fmt"
	"strings"

	"github.com/eventlog/eventlog"
)

// DefaultURL is the store used when none is given.
const DefaultURL = "sqlite:eventlog.db"

// Options tune Open.
type Options struct {
	// Migrate applies pending schema migrations on open. Without it, a
	// PostgreSQL or MySQL database with a missing or outdated schema is an
	// error wrapping eventlog.ErrSchemaOutdated. A new SQLite file is
	// always given the schema, so the first run just works.
	Migrate bool
}

// Open opens the store named by url.
func Open(ctx context.Context, url string, opts Options) (eventlog.Store, error) {
	scheme, _, ok := strings.Cut(url, ":")
	if !ok {
		return nil, fmt.Errorf("database URL %q has no scheme: use sqlite:PATH, postgres://… or mysql://…: %w", redact(url), eventlog.ErrNotSupported)
	}
	switch scheme {
	case "sqlite", "sqlite3", "file":
		return openSQLite(ctx, url, opts)
	case "postgres", "postgresql":
		return openPostgres(ctx, url, opts)
	case "mysql", "mariadb":
		return openMySQL(ctx, url, opts)
	}
	return nil, fmt.Errorf("database URL scheme %q is not supported: use sqlite:PATH, postgres://… or mysql://…: %w", scheme, eventlog.ErrNotSupported)
}

// redact hides a password in a URL for error messages.
func redact(url string) string {
	scheme, rest, ok := strings.Cut(url, "://")
	if !ok {
		return url
	}
	at := strings.LastIndex(rest, "@")
	if at < 0 {
		return url
	}
	user, _, hasPass := strings.Cut(rest[:at], ":")
	if !hasPass {
		return url
	}
	return scheme + "://" + user + ":xxxxx" + rest[at:]
}

// Redact returns url with any password replaced, for logs and messages.
func Redact(url string) string { return redact(url) }
