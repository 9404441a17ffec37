package pgstore_test

import (
	"testing"

	"github.com/eventlog/eventlog"
	"github.com/eventlog/eventlog/storetest"
)

// BenchmarkVerify measures eventlog.Verify over a loaded store
// (EVENTLOG_BENCH_EVENTS events, default 100000).
func BenchmarkVerify(b *testing.B) {
	storetest.BenchmarkVerify(b, func(b *testing.B) eventlog.Store { return newStore(b) })
}
