// Package faulttest holds no library code: its tests break things on
// purpose, on loopback only, and check that eventlog keeps its promises.
//
//   - kill -9 of a real `eventlog serve` process during sustained ingest
//     over SQLite: after a restart every event answered 201 is stored
//     exactly once, and retrying the unanswered ones is idempotent;
//   - a private PostgreSQL (initdb + pg_ctl on a free port, never the
//     shared server) stopped and started during ingest: errors while it is
//     down, never a false 201, recovery without restarting serve;
//   - SQLite on a tiny tmpfs that fills up, then is remounted read-only: a
//     clear error, PRAGMA integrity_check still ok, writes resume when
//     space returns;
//   - hostile clients (slowloris headers and bodies, huge and deeply
//     nested bodies, invalid UTF-8, 10,000 idle connections) against the
//     real server, which must stay responsive within bounded memory;
//   - a soak (only with EVENTLOG_SOAK=5m or another duration) of ingest,
//     queries and a live tail, reporting memory and goroutines over time.
//
// The serve process is this test binary re-executed (see TestMain), so
// the tests need no separate build. docs/faults.md describes each test,
// how to run it and what it showed.
package faulttest
