package eventlog_test

import (
	"bufio"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/eventlog/eventlog"
	"github.com/eventlog/eventlog/spool"
)

const crashChildEnv = "EVENTLOG_TEST_SPOOL_CHILD_DIR"

// TestSpoolSurvivesKill re-runs this test binary as a child that logs in
// Spooled mode as fast as it can and prints the id of each accepted event;
// the parent kills it with SIGKILL mid-stream, then starts a Logger on the
// same spool and store and checks that every accepted event is stored
// exactly once.
func TestSpoolSurvivesKill(t *testing.T) {
	if dir := os.Getenv(crashChildEnv); dir != "" {
		runCrashChild(t, dir)
		return
	}
	if testing.Short() {
		t.Skip("starts a child process")
	}
	t.Parallel()
	dir := t.TempDir()
	cmd := exec.Command(os.Args[0], "-test.run=^TestSpoolSurvivesKill$", "-test.count=1")
	cmd.Env = append(os.Environ(), crashChildEnv+"="+dir)
	cmd.Stderr = os.Stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	accepted := map[string]bool{}
	lines := bufio.NewScanner(out)
	for lines.Scan() {
		if id := lines.Text(); len(id) == 36 {
			accepted[id] = true
		}
		if len(accepted) == 3000 {
			if err := cmd.Process.Kill(); err != nil { // SIGKILL: no cleanup runs
				t.Fatal(err)
			}
		}
	}
	cmd.Wait()
	if len(accepted) < 3000 {
		t.Fatalf("child accepted only %d events before it ended", len(accepted))
	}

	store := openStore(t, filepath.Join(dir, "events.db"))
	before := len(storedIDs(t, store))
	b := setupOn(t, store, &eventlog.Config{Mode: eventlog.Spooled, SpoolDir: filepath.Join(dir, "spool")})
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := b.logger.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	ids := storedIDs(t, store)
	for id := range accepted {
		if ids[id] != 1 {
			t.Fatalf("accepted event %s stored %d times, want exactly once", id, ids[id])
		}
	}
	if len(ids) <= before {
		t.Fatalf("nothing was replayed: %d events stored before the restart and after; the kill came too late to test anything", before)
	}
	t.Logf("%d events accepted before SIGKILL; %d were stored by the child, %d replayed from the spool", len(accepted), before, len(ids)-before)
}

func runCrashChild(t *testing.T, dir string) {
	// A slow store keeps a backlog in the spool when the kill comes.
	store := &slowStore{Store: openStore(t, filepath.Join(dir, "events.db")), d: 5 * time.Millisecond}
	l, err := eventlog.New(store, &eventlog.Config{
		Mode: eventlog.Spooled, SpoolDir: filepath.Join(dir, "spool"),
		SpoolSync: spool.SyncNever, MaxBatch: 200,
	})
	if err != nil {
		t.Fatal(err)
	}
	line := make([]byte, 0, 37)
	for i := 0; ; i++ {
		e, err := l.Log(context.Background(), "CRASH_TEST", eventlog.Extra{"i": i})
		if err != nil {
			t.Fatal(err)
		}
		// Unbuffered: an id the parent reads was accepted before the kill.
		line = append(append(line[:0], e.ID...), '\n')
		if _, err := os.Stdout.Write(line); err != nil {
			return
		}
	}
}
