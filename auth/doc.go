// Package auth keeps the HTTP API's bearer tokens in the table
// eventlog_tokens of the event database, next to the events.
//
// A token is 32 random bytes shown once when it is created; only its hex
// SHA-256 is stored. Each token has a scope: write may only ingest, read
// may only query and stream, admin may do both. Tokens are compared in
// constant time.
//
// The package needs only a database/sql handle and a dialect, which it
// gets from a store implementing eventlog.SQLStore. It imports no driver
// and no HTTP package; the api package turns its answers into statuses.
package auth
