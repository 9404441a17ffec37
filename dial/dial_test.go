package dial_test

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
	"testing"

	"github.com/eventlog/eventlog"
	"github.com/eventlog/eventlog/dial"
)

func TestOpenRejectsUnknownSchemes(t *testing.T) {
	t.Parallel()
	for _, url := range []string{"eventlog.db", "redis://127.0.0.1:6379", "mongodb://u:secret@h/db"} {
		s, err := dial.Open(context.Background(), url, dial.Options{})
		if !errors.Is(err, eventlog.ErrNotSupported) {
			t.Errorf("Open(%q) error = %v, want ErrNotSupported", url, err)
		}
		if s != nil {
			t.Errorf("Open(%q) returned a store %v with the error", url, s)
		}
		if err != nil && strings.Contains(err.Error(), "secret") {
			t.Errorf("Open(%q) error leaks the password: %v", url, err)
		}
	}
}

func TestOpenSQLiteCreatesTheSchema(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s, err := dial.Open(ctx, "sqlite:"+filepath.Join(t.TempDir(), "e.db"), dial.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	l, err := eventlog.New(s, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	ev, err := l.Log(ctx, "OPENED")
	if err != nil {
		t.Fatal(err)
	}
	got, err := s.Get(ctx, ev.ID)
	if err != nil || got.Action != "OPENED" {
		t.Fatalf("Get = %+v, %v; want the logged event", got, err)
	}
}

func TestOpenErrorIsANilInterface(t *testing.T) {
	t.Parallel()
	// A directory cannot be opened as a database file.
	s, err := dial.Open(context.Background(), "sqlite:"+t.TempDir(), dial.Options{})
	if err == nil {
		s.Close()
		t.Fatal("opening a directory as SQLite succeeded")
	}
	if s != nil {
		t.Fatalf("Open returned a non-nil Store (%T) with error %v", s, err)
	}
}

func TestRedact(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{
		"postgres://app:hunter2@db:5432/x": "postgres://app:xxxxx@db:5432/x",
		"mysql://root@127.0.0.1:3306/test": "mysql://root@127.0.0.1:3306/test",
		"sqlite:eventlog.db":               "sqlite:eventlog.db",
	} {
		if got := dial.Redact(in); got != want {
			t.Errorf("Redact(%q) = %q, want %q", in, got, want)
		}
	}
}
