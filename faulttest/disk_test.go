package faulttest

import (
	"context"
	"errors"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/eventlog/eventlog"
	"github.com/eventlog/eventlog/sqlitestore"
)

// tmpfs mounts a tmpfs of size at a new directory, or skips the test when
// mounting is not allowed (it needs root or CAP_SYS_ADMIN).
func tmpfs(t *testing.T, size string) (dir string, remount func(opts string)) {
	t.Helper()
	dir = filepath.Join(t.TempDir(), "tmpfs")
	if out, err := exec.Command("mkdir", dir).CombinedOutput(); err != nil {
		t.Fatalf("mkdir: %v %s", err, out)
	}
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size="+size, "tmpfs", dir).CombinedOutput(); err != nil {
		t.Skipf("cannot mount a tmpfs to fill up (needs root or CAP_SYS_ADMIN): %v %s", err, strings.TrimSpace(string(out)))
	}
	t.Cleanup(func() { exec.Command("umount", "-l", dir).Run() })
	return dir, func(opts string) {
		t.Helper()
		if out, err := exec.Command("mount", "-o", "remount,"+opts, dir).CombinedOutput(); err != nil {
			t.Fatalf("remount %s: %v %s", opts, err, out)
		}
	}
}

// TestSQLiteDiskFullAndReadOnly logs through a Sync Logger into a SQLite
// file on a 2 MiB tmpfs until the disk is full, then grows the tmpfs,
// then reopens it on the tmpfs remounted read-only, then read-write. Each
// failure must be an error saying what is wrong, the file must pass PRAGMA
// integrity_check throughout, the same store and Logger must write again
// once space returns, a reopened one once write access returns, and every
// acknowledged event must be stored.
func TestSQLiteDiskFullAndReadOnly(t *testing.T) {
	t.Parallel()
	dir, remount := tmpfs(t, "2m")
	ctx := context.Background()
	store, err := sqlitestore.Open(ctx, filepath.Join(dir, "events.db"), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	logger, err := eventlog.New(store, &eventlog.Config{ErrorLog: quietLog()})
	if err != nil {
		t.Fatal(err)
	}
	defer logger.Close()

	acked := map[string]bool{}
	logBatch := func() error {
		batch := make([]eventlog.Event, 50)
		for i := range batch {
			batch[i] = eventlog.Event{Action: "FILL_DISK", User: &eventlog.User{ID: "u1"}, Extra: []byte(`{"pad":"` + strings.Repeat("x", 400) + `"}`)}
		}
		stored, err := logger.LogBatch(ctx, batch)
		if err == nil {
			for _, e := range stored {
				acked[e.ID] = true
			}
		}
		return err
	}
	integrity := func(when string) {
		t.Helper()
		var check string
		if err := store.SQLDB().QueryRowContext(ctx, "PRAGMA integrity_check").Scan(&check); err != nil || check != "ok" {
			t.Fatalf("integrity_check %s: %q, %v", when, check, err)
		}
	}
	countStored := func() int {
		t.Helper()
		var n int
		if err := store.SQLDB().QueryRowContext(ctx, "SELECT COUNT(*) FROM eventlog_events").Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}

	var full error
	for i := 0; i < 1000 && full == nil; i++ {
		full = logBatch()
	}
	if full == nil {
		t.Fatal("50,000 events fit on a 2 MiB tmpfs; the disk never filled")
	}
	if !strings.Contains(full.Error(), "full") {
		t.Errorf("disk full error does not say so: %v", full)
	}
	if errors.Is(full, eventlog.ErrInvalid) {
		t.Errorf("disk full is reported as invalid input: %v", full)
	}
	integrity("on a full disk")
	if n := countStored(); n != len(acked) {
		t.Fatalf("disk full: %d events stored, %d acknowledged", n, len(acked))
	}
	fullAt := len(acked)

	remount("size=64m")
	if err := logBatch(); err != nil {
		t.Fatalf("after the tmpfs grew, the same Logger still fails: %v", err)
	}
	integrity("after space returned")

	// A file system cannot be made read-only under open files, so the
	// read-only case closes the store, remounts, and opens it again, as
	// an operator's restart would.
	logger.Close()
	store.Close()
	remount("ro")
	var readOnly error
	store, err = sqlitestore.Open(ctx, filepath.Join(dir, "events.db"), nil)
	if err != nil {
		readOnly = err
	} else {
		logger, err = eventlog.New(store, &eventlog.Config{ErrorLog: quietLog()})
		if err != nil {
			t.Fatal(err)
		}
		if readOnly = logBatch(); readOnly == nil {
			t.Fatal("a batch was acknowledged on a read-only file system")
		}
		logger.Close()
		store.Close()
	}
	// The path holds the test's name, so look only past it.
	if msg := strings.ToLower(strings.ReplaceAll(readOnly.Error(), dir, "DIR")); !strings.Contains(msg, "read-only") && !strings.Contains(msg, "readonly") {
		t.Errorf("read-only error does not say so: %v", readOnly)
	}
	remount("rw")
	if store, err = sqlitestore.Open(ctx, filepath.Join(dir, "events.db"), nil); err != nil {
		t.Fatalf("reopening after the file system became writable again: %v", err)
	}
	defer store.Close()
	if logger, err = eventlog.New(store, &eventlog.Config{ErrorLog: quietLog()}); err != nil {
		t.Fatal(err)
	}
	defer logger.Close()
	if err := logBatch(); err != nil {
		t.Fatalf("after the file system became writable again: %v", err)
	}
	integrity("after write access returned")
	if n := countStored(); n != len(acked) {
		t.Fatalf("%d events stored, %d acknowledged", n, len(acked))
	}
	t.Logf("disk full after %d events: %q, recovered without reopening once the tmpfs grew; read-only: %q, recovered after reopening; %d events stored, integrity ok", fullAt, full, readOnly, len(acked))
}
