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
