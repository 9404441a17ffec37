package sqlitestore

import (
	"fmt"
	"net/url"
	"strings"

	"github.com/eventlog/eventlog"
)

// ParseURL reads a database URL naming a SQLite file and returns the path
// and the options it sets. Accepted forms:
//
//	sqlite:PATH              relative or absolute, e.g. sqlite:eventlog.db
//	sqlite:///abs/path.db    absolute path
//	file:PATH                as sqlite:PATH
//
// sqlite3: is accepted as sqlite:. An optional query may set
// synchronous=FULL|NORMAL. The path is used as written (no percent
// decoding). The returned options have Migrate false; the caller sets it.
func ParseURL(raw string) (string, *Options, error) {
	scheme, rest, ok := strings.Cut(raw, ":")
	switch {
	case !ok:
		return "", nil, fmt.Errorf("sqlite URL %q has no scheme: use sqlite:PATH: %w", raw, eventlog.ErrNotSupported)
	case scheme != "sqlite" && scheme != "sqlite3" && scheme != "file":
		return "", nil, fmt.Errorf("sqlite URL %q: scheme %q is not sqlite:, sqlite3: or file:: %w", raw, scheme, eventlog.ErrNotSupported)
	}
	path, query, _ := strings.Cut(rest, "?")
	if after, ok := strings.CutPrefix(path, "//"); ok {
		if !strings.HasPrefix(after, "/") {
			return "", nil, fmt.Errorf("sqlite URL %q: after %s:// give an absolute path (%s:///abs/file.db) or use %s:relative.db", raw, scheme, scheme, scheme)
		}
		path = after
	}
	if path == "" {
		return "", nil, fmt.Errorf("sqlite URL %q names no file", raw)
	}
	opts := &Options{}
	if query != "" {
		vals, err := url.ParseQuery(query)
		if err != nil {
			return "", nil, fmt.Errorf("sqlite URL %q: bad query: %w", raw, err)
		}
		for k, v := range vals {
			switch k {
			case "synchronous":
				opts.Synchronous = v[len(v)-1]
			default:
				return "", nil, fmt.Errorf("sqlite URL %q: unknown parameter %q (supported: synchronous)", raw, k)
			}
		}
		if _, err := opts.withDefaults(); err != nil {
			return "", nil, fmt.Errorf("sqlite URL %q: %w", raw, err)
		}
	}
	return path, opts, nil
}
