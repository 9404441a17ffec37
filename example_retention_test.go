package eventlog_test

import (
	"context"
	"encoding/json"
	"fmt"
	"log"
	"time"

	"github.com/eventlog/eventlog"
)

// Keep secrets out of the log: the Logger redacts the default keys
// (password, token, ...) unless Config.RedactKeys says otherwise.
func ExampleConfig_redactKeys() {
	store, cleanup := openExampleStore()
	defer cleanup()
	logger, err := eventlog.New(store, &eventlog.Config{RedactKeys: []string{"password", "pin"}})
	if err != nil {
		log.Fatal(err)
	}
	defer logger.Close()
	e, err := logger.Log(context.Background(), "SIGNED_IN",
		json.RawMessage(`{"form":{"user":"alice","password":"hunter2","PIN":1234}}`))
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(string(e.Extra))
	// Output: {"form":{"user":"alice","password":"[redacted]","PIN":"[redacted]"}}
}

// Redact any JSON with a Redactor; JSON without a matching key comes
// back unchanged.
func ExampleRedactor_RedactJSON() {
	r := eventlog.NewRedactor(eventlog.DefaultRedactKeys())
	out, changed := r.RedactJSON([]byte(`{"headers":[{"Authorization":"Bearer x"}],"status":200}`))
	fmt.Println(string(out), changed)
	out, changed = r.RedactJSON([]byte(`{"status": 200}`))
	fmt.Println(string(out), changed)
	// Output:
	// {"headers":[{"Authorization":"[redacted]"}],"status":200} true
	// {"status": 200} false
}

// Delete events older than a cut-off through the store's Pruner.
func ExamplePruner() {
	store, cleanup := openExampleStore()
	defer cleanup()
	ctx := context.Background()
	day := 24 * time.Hour
	now := time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
	var events []eventlog.Event
	for i := range 5 {
		e := eventlog.Event{Action: "HEARTBEAT", Timestamp: now.Add(-time.Duration(i*100) * day)}
		if err := e.Normalize(now); err != nil {
			log.Fatal(err)
		}
		events = append(events, e)
	}
	if _, _, err := store.Insert(ctx, events); err != nil {
		log.Fatal(err)
	}
	pruner := store.(eventlog.Pruner)
	q := eventlog.PruneQuery{Before: now.Add(-250 * day)}
	n, _ := pruner.CountPrunable(ctx, q)
	fmt.Println("would delete", n)
	n, err := pruner.Prune(ctx, q)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("deleted", n)
	// Output:
	// would delete 2
	// deleted 2
}
