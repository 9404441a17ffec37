package mysqlstore_test

import (
	"testing"

	"github.com/eventlog/eventlog"
	"github.com/eventlog/eventlog/storetest"
)

func TestStore(t *testing.T) {
	t.Parallel()
	testURL(t)
	storetest.Exercise(t, func(t *testing.T) eventlog.Store { return newStore(t) })
}

// BenchmarkStore runs the shared benchmark; see docs/benchmarks.md for
// the command and figures.
func BenchmarkStore(b *testing.B) {
	testURL(b)
	storetest.Benchmark(b, func(b *testing.B) eventlog.Store { return newStore(b) })
}
