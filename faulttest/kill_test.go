package faulttest

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/eventlog/eventlog/sqlitestore"
)

// TestKillServeDuringIngest: SIGKILL a real serve process over SQLite
// while 16 clients post single events and batches; restart it; retry
// every request that got no 201 with the same ids. Every event answered
// 201 must be stored exactly once, the retries must be accepted without
// duplicates, and the file must pass PRAGMA integrity_check.
func TestKillServeDuringIngest(t *testing.T) {
	if testing.Short() {
		t.Skip("starts and kills serve processes")
	}
	t.Parallel()
	path := filepath.Join(t.TempDir(), "events.db")
	db := "sqlite:" + path
	srv := startServe(t, db)

	l := newLedger()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { ingest(ctx, srv.url, 16, l); close(done) }()
	deadline := time.Now().Add(20 * time.Second)
	for {
		if acked, _, _ := l.counts(); acked >= 2000 || time.Now().After(deadline) {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	srv.kill() // mid-ingest: requests are in flight
	time.Sleep(200 * time.Millisecond)
	cancel()
	<-done
	acked, unsure, status := l.counts()
	if acked < 500 {
		t.Fatalf("only %d events acknowledged before the kill (answers by status %v); too few to test anything: %s", acked, status, srv.stderr)
	}

	srv = startServe(t, db)
	// Retry what got no 201, same ids: each must now be 201.
	l.retry(t, srv.url)
	srv.stop(t)

	store, err := sqlitestore.Open(context.Background(), path, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	dbh := store.SQLDB()
	var check string
	if err := dbh.QueryRow("PRAGMA integrity_check").Scan(&check); err != nil || check != "ok" {
		t.Fatalf("integrity_check after SIGKILL: %q, %v", check, err)
	}
	stored := map[string]int{}
	rows, err := dbh.Query("SELECT id FROM eventlog_events WHERE action = 'FAULT_TEST'")
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			t.Fatal(err)
		}
		stored[id]++
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	for id := range l.acked {
		if stored[id] != 1 {
			t.Errorf("event %s was answered 201 (or retried to 201) but is stored %d times", id, stored[id])
		}
	}
	if len(stored) != len(l.acked) {
		t.Errorf("%d events stored, %d sent and acknowledged: something was stored that no client sent", len(stored), len(l.acked))
	}
	t.Logf("before SIGKILL: %d events answered 201, %d without an answer (answers by status, 0 = connection error: %v); after restart and retry: %d stored, each once, integrity ok",
		acked, unsure, status, len(stored))
}
