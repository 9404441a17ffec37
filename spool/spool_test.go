package spool_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/eventlog/eventlog/spool"
)

func replayAll(t *testing.T, s *spool.Spool, ack bool) []string {
	t.Helper()
	var got []string
	err := s.Replay(func(pos spool.Pos, rec []byte) error {
		got = append(got, string(rec))
		if ack {
			s.Ack(pos)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return got
}

func segments(t *testing.T, dir string) []string {
	t.Helper()
	m, err := filepath.Glob(filepath.Join(dir, "*.wal"))
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func TestReplayUnacknowledged(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	s, err := spool.Open(dir, spool.Options{Sync: spool.SyncNever, SegmentBytes: 64})
	if err != nil {
		t.Fatal(err)
	}
	var pos []spool.Pos
	for i := range 10 {
		p, err := s.Append(fmt.Appendf(nil, "record-%02d", i))
		if err != nil {
			t.Fatal(err)
		}
		pos = append(pos, p)
	}
	// Each 17-byte record fills a 64-byte segment in threes: segment 1
	// holds records 0-2 and is fully acknowledged, segment 2 (3-5) only
	// partly, so its records come back: delivery is at least once, and
	// ids make that harmless.
	for _, p := range pos[:5] {
		s.Ack(p)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}

	s, err = spool.Open(dir, spool.Options{})
	if err != nil {
		t.Fatal(err)
	}
	got := replayAll(t, s, true)
	if len(got) != 7 || got[0] != "record-03" || got[6] != "record-09" {
		t.Fatalf("replayed %q, want record-03..record-09", got)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if m := segments(t, dir); len(m) != 0 {
		t.Fatalf("segments left after everything was acknowledged: %v", m)
	}
}

func TestTornTailIgnored(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	s, err := spool.Open(dir, spool.Options{})
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range []string{"one", "two", "three"} {
		if _, err := s.Append([]byte(r)); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	m := segments(t, dir)
	if len(m) != 1 {
		t.Fatalf("segments = %v, want 1", m)
	}
	info, _ := os.Stat(m[0])
	// Cut the last record in half, as a crash mid-write would.
	if err := os.Truncate(m[0], info.Size()-3); err != nil {
		t.Fatal(err)
	}
	s, err = spool.Open(dir, spool.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if got := replayAll(t, s, false); len(got) != 2 || got[1] != "two" {
		t.Fatalf("replayed %q, want [one two]", got)
	}
}

func TestCorruptRecordEndsSegment(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	s, _ := spool.Open(dir, spool.Options{})
	s.Append([]byte("good"))
	s.Append([]byte("flipped"))
	s.Close()
	m := segments(t, dir)
	b, _ := os.ReadFile(m[0])
	b[len(b)-1] ^= 0xff
	os.WriteFile(m[0], b, 0o600)
	s, err := spool.Open(dir, spool.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if got := replayAll(t, s, false); len(got) != 1 || got[0] != "good" {
		t.Fatalf("replayed %q, want [good]", got)
	}
}

func TestMaxBytes(t *testing.T) {
	t.Parallel()
	s, err := spool.Open(t.TempDir(), spool.Options{Sync: spool.SyncInterval, SyncInterval: time.Millisecond, MaxBytes: 40, SegmentBytes: 20})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	var pos []spool.Pos
	for range 4 { // 4 × (8+2) = 40 bytes
		p, err := s.Append([]byte("ab"))
		if err != nil {
			t.Fatal(err)
		}
		pos = append(pos, p)
	}
	if _, err := s.Append([]byte("ab")); !errors.Is(err, spool.ErrFull) {
		t.Fatalf("Append past MaxBytes = %v, want ErrFull", err)
	}
	if got := s.Bytes(); got != 40 {
		t.Fatalf("Bytes = %d, want 40", got)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	if err := s.WaitRoom(ctx, 2); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("WaitRoom on a full spool = %v, want deadline", err)
	}
	done := make(chan error)
	go func() { done <- s.WaitRoom(context.Background(), 2) }()
	s.Ack(pos[0])
	s.Ack(pos[1]) // the first segment is complete and deleted
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if got := s.Bytes(); got != 20 {
		t.Fatalf("Bytes after acknowledging a segment = %d, want 20", got)
	}
	if _, err := s.Append([]byte("ab")); err != nil {
		t.Fatal(err)
	}
}

func TestOptionsValidated(t *testing.T) {
	t.Parallel()
	if _, err := spool.Open(t.TempDir(), spool.Options{MaxBytes: -1}); err == nil {
		t.Fatal("negative MaxBytes accepted")
	}
	if _, err := spool.Open(t.TempDir(), spool.Options{Sync: 9}); err == nil {
		t.Fatal("unknown Sync accepted")
	}
}

func TestConcurrentAppendsShareFsync(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	s, err := spool.Open(dir, spool.Options{Sync: spool.SyncAlways, SegmentBytes: 4096})
	if err != nil {
		t.Fatal(err)
	}
	const writers, each = 16, 50
	errs := make(chan error, writers)
	for w := range writers {
		go func() {
			for i := range each {
				if _, err := s.Append(fmt.Appendf(nil, "w%02d-%03d", w, i)); err != nil {
					errs <- err
					return
				}
			}
			errs <- nil
		}()
	}
	for range writers {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s, err = spool.Open(dir, spool.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	got := replayAll(t, s, true)
	seen := map[string]bool{}
	for _, r := range got {
		seen[r] = true
	}
	if len(got) != writers*each || len(seen) != writers*each {
		t.Fatalf("replayed %d records (%d distinct), want %d", len(got), len(seen), writers*each)
	}
}
