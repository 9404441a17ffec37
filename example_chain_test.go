package eventlog_test

import (
	"context"
	"fmt"
	"log"
	"time"

	"github.com/eventlog/eventlog"
)

// Prove that nobody edited the history: walk the store's hash chain and
// record the head hash somewhere else. Erasing a user keeps it verifying.
func ExampleVerify() {
	store, cleanup := openExampleStore()
	defer cleanup()
	ctx := context.Background()
	for i, who := range []string{"alice", "bob", "alice"} {
		e := eventlog.Event{Action: "SIGNED_IN", User: &eventlog.User{ID: who},
			Timestamp: time.Date(2026, 1, 1, 9, i, 0, 0, time.UTC)}
		if err := e.Normalize(time.Now()); err != nil {
			log.Fatal(err)
		}
		if _, _, err := store.Insert(ctx, []eventlog.Event{e}); err != nil {
			log.Fatal(err)
		}
	}
	chain := store.(eventlog.ChainReader)
	before, err := eventlog.Verify(ctx, chain, nil)
	if err != nil {
		log.Fatal(err)
	}
	if _, err := store.ForgetUser(ctx, "alice"); err != nil {
		log.Fatal(err)
	}
	after, err := eventlog.Verify(ctx, chain, nil)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(after.OK, after.Checked, after.Head == before.Head)
	// Output: true 3 true
}
