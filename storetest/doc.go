// Package storetest is the conformance suite every eventlog.Store runs:
// Exercise checks each behaviour of the Store interface against results
// computed in Go by a small reference model, so SQLite, PostgreSQL and
// MySQL answer every query identically. Benchmark measures a store with
// the same workload everywhere.
//
// A store package calls both from its own tests:
//
//	func TestStore(t *testing.T) {
//		storetest.Exercise(t, func(t *testing.T) eventlog.Store { return openTemp(t) })
//	}
//
// Text search (Query.Text) is guaranteed to fold ASCII letters only; the
// fixtures use no upper-case non-ASCII letters so that stores whose
// lower() folds all of Unicode agree with those that fold ASCII.
//
// This package imports only the root package, internal/gen, go-cmp and
// uuid; it must never import a store driver.
package storetest
