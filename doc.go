// Package eventlog records what happens in a web application — diagnostic
// and business-intelligence events — with one call, and lets you query,
// count and chart them later.
//
// It is the Go successor of the Django app pinax-eventlog: call [Log] (or
// [Logger.Log]) with an action, an optional actor, an optional object and
// any JSON as extra data, and the event is stored durably.
//
// This package holds the domain only: [Event], [Query], [Cursor], the
// [Logger] front end and the [Store] interface that storage drivers
// implement. It imports no database driver, HTTP framework or queue client;
// those live in their own packages (sqlitestore, pgstore, mysqlstore, api,
// admin, ...). Open a store by URL with the dial package.
package eventlog
