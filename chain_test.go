package eventlog_test

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"testing"
	"time"

	"github.com/eventlog/eventlog"
)

// sliceChain is a chain held in memory, as a store would stream it.
type sliceChain struct {
	cps   []eventlog.ChainCheckpoint
	links []eventlog.ChainLink
}

func (c *sliceChain) ReadChain(ctx context.Context, checkpoints func([]eventlog.ChainCheckpoint) error, fn func(eventlog.ChainLink) error) error {
	if err := checkpoints(c.cps); err != nil {
		return err
	}
	for _, l := range c.links {
		if err := fn(l); err != nil {
			return err
		}
	}
	return nil
}

// chainOf chains events at seqs 1, 2, ... as a store does on insert.
func chainOf(t *testing.T, n int) *sliceChain {
	t.Helper()
	c := &sliceChain{}
	var prev [32]byte
	for i := range n {
		e := eventlog.Event{
			ID:        eventlog.NewID(),
			Timestamp: time.Date(2026, 1, 1, 0, 0, i, 0, time.UTC),
			Action:    "SIGNED_IN",
			User:      &eventlog.User{ID: "u1", Name: "Ada"},
			Extra:     json.RawMessage(`{"n":1}`),
		}
		seq := int64(i + 1)
		ud := eventlog.UserDigest(e.ID, e.User)
		h := eventlog.ChainNext(prev, seq, eventlog.EventDigest(e, ud))
		c.links = append(c.links, eventlog.ChainLink{Seq: seq, Event: e, UserDigest: ud, Prev: seq - 1, Hash: h[:]})
		prev = h
	}
	return c
}

func TestEventDigestIgnoresUserFields(t *testing.T) {
	t.Parallel()
	e := eventlog.Event{ID: eventlog.NewID(), Timestamp: time.Unix(1, 0).UTC(), Action: "A", User: &eventlog.User{ID: "42", Name: "Zoë"}, Extra: json.RawMessage(`{}`)}
	ud := eventlog.UserDigest(e.ID, e.User)
	if len(ud) != 32 {
		t.Fatalf("UserDigest is %d bytes, want 32", len(ud))
	}
	if eventlog.UserDigest(e.ID, nil) != nil {
		t.Error("UserDigest of no user is not nil")
	}
	if other := eventlog.UserDigest(eventlog.NewID(), e.User); string(other) == string(ud) {
		t.Error("two events of one user have the same user digest; erased events could be linked")
	}
	forgotten := e
	forgotten.User = nil
	if eventlog.EventDigest(e, ud) != eventlog.EventDigest(forgotten, ud) {
		t.Error("erasing the user fields changed the event digest")
	}
	if eventlog.EventDigest(e, ud) == eventlog.EventDigest(e, nil) {
		t.Error("the user digest does not enter the event digest")
	}
	changed := e
	changed.Extra = json.RawMessage(`{"a":1}`)
	if eventlog.EventDigest(e, ud) == eventlog.EventDigest(changed, ud) {
		t.Error("changing extra kept the event digest")
	}
}

func TestVerify(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	verify := func(c *sliceChain) eventlog.VerifyResult {
		t.Helper()
		var last int64
		res, err := eventlog.Verify(ctx, c, func(n int64) { last = n })
		if err != nil {
			t.Fatal(err)
		}
		if res.OK && last != res.Checked {
			t.Errorf("progress ended at %d, want %d", last, res.Checked)
		}
		return res
	}
	good := chainOf(t, 5)
	res := verify(good)
	if !res.OK || res.Checked != 5 || res.Head != hex.EncodeToString(good.links[4].Hash) {
		t.Fatalf("an untouched chain: %v", res)
	}
	if got := res.String(); got != "verified 5 events; head "+res.Head {
		t.Errorf("String() = %q", got)
	}

	for _, tc := range []struct {
		name    string
		tamper  func(c *sliceChain)
		seq     int64
		problem string
	}{
		{"edited extra", func(c *sliceChain) { c.links[2].Event.Extra = json.RawMessage(`{"n":2}`) }, 3, eventlog.ProblemModified},
		{"edited user", func(c *sliceChain) { c.links[1].Event.User = &eventlog.User{ID: "u2"} }, 2, eventlog.ProblemModified},
		{"changed timestamp", func(c *sliceChain) { c.links[0].Event.Timestamp = c.links[0].Event.Timestamp.Add(time.Second) }, 1, eventlog.ProblemModified},
		{"deleted row", func(c *sliceChain) { c.links = append(c.links[:1], c.links[2:]...) }, 3, eventlog.ProblemDeleted},
		{"row without hash", func(c *sliceChain) { c.links[4].Hash = nil }, 5, eventlog.ProblemOutOfBand},
	} {
		c := chainOf(t, 5)
		tc.tamper(c)
		res := verify(c)
		if res.OK || res.Seq != tc.seq || res.Problem != tc.problem || res.ID != c.links[indexOfSeq(c, tc.seq)].Event.ID {
			t.Errorf("%s: %v; want seq %d %s", tc.name, res, tc.seq, tc.problem)
		}
	}

	// Forgetting a user keeps the chain: the stored digest stands in.
	c := chainOf(t, 3)
	c.links[1].Event.User = nil
	if res := verify(c); !res.OK {
		t.Errorf("after erasing a user: %v", res)
	}

	// A prune of rows 1-2 and of the tail (4-5) leaves checkpoints.
	c = chainOf(t, 5)
	head := hex.EncodeToString(c.links[4].Hash)
	c.cps = []eventlog.ChainCheckpoint{
		{Before: 3, Seq: 2, Hash: c.links[1].Hash},
		{Before: eventlog.ChainTail, Seq: 5, Hash: c.links[4].Hash},
	}
	c.links = c.links[2:3]
	if res := verify(c); !res.OK || res.Checked != 1 || res.Head != head {
		t.Errorf("after pruning: %v; want 1 event and head %s", res, head)
	}
	// A checkpoint before an event that is gone.
	c.links = nil
	if res := verify(c); res.OK || res.Problem != eventlog.ProblemDeleted || res.Seq != 3 {
		t.Errorf("checkpoint without its event: %v; want seq 3 deleted", res)
	}
}

func indexOfSeq(c *sliceChain, seq int64) int {
	for i, l := range c.links {
		if l.Seq == seq {
			return i
		}
	}
	return 0
}
