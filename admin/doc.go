// Package admin is eventlog's web UI: an http.Handler serving the events
// list with filters and keyset pagination, event detail, user and object
// timelines, a dashboard with charts, a live tail (server-sent events)
// and CSV/JSONL export.
//
// Pages are server-rendered html/template; htmx, uPlot, the stylesheet
// and the admin's script are vendored and embedded with go:embed, so the
// binary needs no internet and no Node build. The Content-Security-Policy
// allows no inline script, and everything an event carries is escaped.
//
// Mount it under any prefix of a host mux:
//
//	h, err := admin.New(&admin.Config{Store: store, Logger: logger,
//		BasePath: "/admin/", Authorize: isStaff})
//	mux.Handle("/admin/", http.StripPrefix("/admin", h))
//
// Without Authorize the admin has its own login: users kept in the table
// eventlog_admins (see Accounts; passwords hashed with argon2id), sessions
// in HMAC-signed HttpOnly SameSite=Lax cookies (Secure under TLS) keyed by
// a secret kept in eventlog_settings, a CSRF token on every POST, and
// login throttling per client address and per user name.
//
// The admin reads through Querier, the read half of eventlog.Store; it
// imports no database driver. Account management uses the
// eventlog.SQLStore handle of the SQL stores.
package admin
