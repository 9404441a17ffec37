//go:build !race

package eventlog_test

// raceEnabled reports whether the race detector is on.
const raceEnabled = false
