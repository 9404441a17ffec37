package cli

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/eventlog/eventlog"
	"github.com/eventlog/eventlog/dial"
)

// syncBuffer is a bytes.Buffer safe for a logging goroutine and a reader.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func writeKey(t *testing.T) (string, ed25519.PublicKey) {
	t.Helper()
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	der, err := x509.MarshalPKCS8PrivateKey(priv)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "checkpoint.pem")
	if err := os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	return path, pub
}

func TestCheckpointsAreSigned(t *testing.T) {
	t.Parallel()
	b := setupStore(t)
	b.mustRun(t, "import", writeFile(t, "e.jsonl", roundTripJSONL))
	ctx := context.Background()
	st, err := dial.Open(ctx, b.db, dial.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	keyPath, pub := writeKey(t)
	var out syncBuffer
	log := slog.New(slog.NewJSONHandler(&out, nil))
	now := func() time.Time { return testNow }
	stop, err := startCheckpoints(ctx, st, keyPath, time.Hour, now, log)
	if err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for !strings.Contains(out.String(), "chain checkpoint") && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	stop()
	var rec struct {
		Msg       string `json:"msg"`
		At        string `json:"at"`
		Events    int64  `json:"events"`
		Head      string `json:"head"`
		PublicKey string `json:"public_key"`
		Signature string `json:"signature"`
	}
	if err := json.Unmarshal([]byte(strings.SplitN(out.String(), "\n", 2)[0]), &rec); err != nil || rec.Msg != "chain checkpoint" {
		t.Fatalf("log %q: %v; want a chain checkpoint record first", out.String(), err)
	}
	want := b.mustRun(t, "verify")
	if got := "verified 6 events; head " + rec.Head + "\n"; rec.Events != 6 || got != want {
		t.Errorf("checkpoint of %d events, head %s; verify printed %q", rec.Events, rec.Head, want)
	}
	if rec.PublicKey != hex.EncodeToString(pub) {
		t.Errorf("public_key %s, want %x", rec.PublicKey, pub)
	}
	sig, err := base64.StdEncoding.DecodeString(rec.Signature)
	if err != nil {
		t.Fatal(err)
	}
	msg := "eventlog checkpoint v1\n" + rec.At + "\n6\n" + rec.Head + "\n"
	if rec.At != eventlog.FormatTime(testNow) || !ed25519.Verify(pub, []byte(msg), sig) {
		t.Errorf("the signature does not verify over %q", msg)
	}
	if ed25519.Verify(pub, []byte(strings.Replace(msg, "\n6\n", "\n7\n", 1)), sig) {
		t.Error("the signature verifies over a different count")
	}
}

func TestCheckpointKeyErrors(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	notPEM := filepath.Join(dir, "key.txt")
	if err := os.WriteFile(notPEM, []byte("hello"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct{ path, want string }{
		{filepath.Join(dir, "missing.pem"), "no such file"},
		{notPEM, "no PEM block"},
	} {
		if _, err := readCheckpointKey(c.path); err == nil || !strings.Contains(err.Error(), c.want) || !strings.Contains(err.Error(), "--checkpoint-key") {
			t.Errorf("readCheckpointKey(%s) = %v; want an error naming --checkpoint-key and saying %q", c.path, err, c.want)
		}
	}
}
