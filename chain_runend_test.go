package eventlog_test

import (
	"testing"

	"github.com/eventlog/eventlog"
)

func TestChainRunEnd(t *testing.T) {
	t.Parallel()
	h := []byte{1}
	run := map[int64][]byte{3: h, 4: h, 7: h}
	five := int64(4)
	if seq, ok := eventlog.ChainRunEnd(run, map[int64]bool{3: true}, &five); !ok || seq != 4 {
		t.Errorf("with the survivor's prev in the run: got %d, %v; want 4, true", seq, ok)
	}
	outside := int64(99)
	if seq, ok := eventlog.ChainRunEnd(run, map[int64]bool{3: true, 4: true}, &outside); !ok || seq != 7 {
		t.Errorf("prev outside the run: got %d, %v; want the entry nothing follows, 7", seq, ok)
	}
	if seq, ok := eventlog.ChainRunEnd(run, map[int64]bool{}, nil); !ok || seq != 7 {
		t.Errorf("no survivor, nothing referenced: got %d, %v; want the largest, 7", seq, ok)
	}
	if _, ok := eventlog.ChainRunEnd(map[int64][]byte{}, nil, nil); ok {
		t.Error("an empty run has no end")
	}
}
