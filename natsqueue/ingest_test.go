package natsqueue_test

import (
	"context"
	"testing"
	"time"

	"github.com/eventlog/eventlog"
	"github.com/eventlog/eventlog/natsqueue"
)

// Two ingest nodes run an unchanged eventlog.Logger over IngestStore, as
// `eventlog serve --queue` does; a tail on node A sees what node B logged,
// once, and the worker makes it readable through either node's store.
func TestIngestStoreAcrossNodes(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := context.Background()
	type node struct {
		logger *eventlog.Logger
		live   <-chan eventlog.Event
	}
	var nodes [2]node
	for i := range nodes {
		_, js := connect(t, natsURL)
		q, err := natsqueue.NewQueue(ctx, js, b.cfg)
		if err != nil {
			t.Fatal(err)
		}
		l, err := eventlog.New(q.IngestStore(b.store), nil)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { l.Close() })
		cancel, err := q.Subscribe(ctx, func(e eventlog.Event) { l.Notify(e) })
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(cancel)
		live, stop := l.SubscribeChan(16)
		t.Cleanup(stop)
		nodes[i] = node{logger: l, live: live}
	}
	if _, ok := nodes[0].logger.Store().(eventlog.SQLStore); !ok {
		t.Errorf("IngestStore over %T hides its SQLStore methods", b.store)
	}
	e, err := nodes[1].logger.Log(ctx, "LOGGED_ON_B", eventlog.User{ID: "7"})
	if err != nil {
		t.Fatal(err)
	}
	for i, n := range nodes {
		select {
		case got := <-n.live:
			if got.ID != e.ID {
				t.Errorf("node %d's tail saw %s, want %s", i, got.ID, e.ID)
			}
		case <-time.After(5 * time.Second):
			t.Fatalf("node %d's tail did not see the event logged on node B", i)
		}
		select {
		case got := <-n.live:
			t.Errorf("node %d's tail saw %s (%s) a second time", i, got.ID, got.Action)
		case <-time.After(200 * time.Millisecond):
		}
	}
	if _, err := nodes[0].logger.Store().Get(ctx, e.ID); err == nil {
		t.Error("the event is readable before any worker stored it")
	}
	w, err := natsqueue.NewWorker(b.js, b.store, b.cfg)
	if err != nil {
		t.Fatal(err)
	}
	runWorker(t, w)
	waitStored(t, b.store, 1, 10*time.Second)
	if got, err := nodes[0].logger.Store().Get(ctx, e.ID); err != nil || got.User == nil || got.User.ID != "7" {
		t.Errorf("Get through node A's store = %+v, %v; want the event logged on B", got, err)
	}
}
