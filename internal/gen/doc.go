// Package gen generates realistic, deterministic eventlog events for
// benchmarks and load tests: Zipf-distributed actions and users, a
// timeline spread evenly over a year, extra data of 100–400 bytes. The
// same seed always yields the same events, and batches are produced in
// constant memory, so ten million events load as easily as a thousand.
//
// It depends on the root package only and knows nothing of stores.
package gen
