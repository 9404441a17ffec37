package api_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/eventlog/eventlog"
	"github.com/eventlog/eventlog/api"
	"github.com/eventlog/eventlog/auth"
	"github.com/eventlog/eventlog/sqlitestore"
)

// benchServer starts the real server over a temporary SQLite file with
// a write token and access logs formatted as JSON into io.Discard (so
// their cost is counted).
func benchServer(b *testing.B, spooled bool) (url, token string, logger *eventlog.Logger) {
	b.Helper()
	ctx := context.Background()
	store, err := sqlitestore.Open(ctx, filepath.Join(b.TempDir(), "bench.db"), nil)
	if err != nil {
		b.Fatal(err)
	}
	log := slog.New(slog.NewJSONHandler(io.Discard, nil))
	cfg := &eventlog.Config{ErrorLog: log}
	if spooled {
		cfg.Mode, cfg.SpoolDir = eventlog.Spooled, filepath.Join(b.TempDir(), "spool")
	}
	logger, err = eventlog.New(store, cfg)
	if err != nil {
		b.Fatal(err)
	}
	tokens, err := auth.New(store, nil)
	if err != nil {
		b.Fatal(err)
	}
	if token, err = tokens.Create(ctx, "bench", auth.Write); err != nil {
		b.Fatal(err)
	}
	h, err := api.New(&api.Config{Logger: logger, Tokens: tokens, Log: log})
	if err != nil {
		b.Fatal(err)
	}
	srv, err := api.NewServer(h, &api.ServerConfig{Log: log})
	if err != nil {
		b.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	go srv.Serve(ln)
	b.Cleanup(func() {
		srv.Shutdown(ctx)
		logger.Close()
		store.Close()
	})
	return "http://" + ln.Addr().String(), token, logger
}

func benchClient() *http.Client {
	return &http.Client{Transport: &http.Transport{MaxIdleConns: 256, MaxIdleConnsPerHost: 256}}
}

func post(b *testing.B, c *http.Client, url, token string, body []byte) {
	req, _ := http.NewRequest("POST", url+"/api/v1/events", bytes.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Content-Type", "application/json")
	resp, err := c.Do(req)
	if err != nil {
		b.Error(err)
		return
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusCreated {
		b.Errorf("POST: %d", resp.StatusCode)
	}
}

// BenchmarkPostSingle sends one event per request from 64 concurrent
// clients; each 201 means that event is committed (group commit).
func BenchmarkPostSingle(b *testing.B) { benchPostSingle(b, false) }

// BenchmarkPostSingleSpooled is BenchmarkPostSingle with the Logger in
// Spooled mode (an embedding application's choice; serve has no flag for
// it): each answer means the event is fsynced in the spool, and the
// Logger stores it in large batches behind. The rate includes storing:
// the benchmark ends after Flush.
func BenchmarkPostSingleSpooled(b *testing.B) { benchPostSingle(b, true) }

func benchPostSingle(b *testing.B, spooled bool) {
	url, token, logger := benchServer(b, spooled)
	postSingles(b, url, token, func() error { return logger.Flush(context.Background()) })
	reportCommits(b, logger)
	reportRSS(b)
}

// postSingles posts one small event per request from 64 concurrent
// clients, b.N requests in all, then calls done (when not nil) inside
// the timed span, and reports req/s.
func postSingles(b *testing.B, url, token string, done func() error) {
	c := benchClient()
	body := []byte(`{"action":"PAGE_VIEWED","user":{"id":"42","name":"alice"},"object":{"type":"page","id":"/pricing"},"extra":{"ref":"newsletter","ms":123}}`)
	b.SetParallelism((64 + runtimeProcs() - 1) / runtimeProcs())
	b.ReportAllocs()
	b.ResetTimer()
	start := time.Now()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			post(b, c, url, token, body)
		}
	})
	if done != nil {
		if err := done(); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "req/s")
}

// BenchmarkPostBatch sends arrays of 1,000 events, 4 requests at a time.
func BenchmarkPostBatch(b *testing.B) {
	url, token, logger := benchServer(b, false)
	c := benchClient()
	var sb strings.Builder
	sb.WriteByte('[')
	for i := range 1000 {
		if i > 0 {
			sb.WriteByte(',')
		}
		fmt.Fprintf(&sb, `{"action":"ITEM_SYNCED","user":{"id":"u%d","name":""},"object":{"type":"item","id":"%d"},"extra":{"n":%d,"ok":true}}`, i%50, i, i)
	}
	sb.WriteByte(']')
	body := []byte(sb.String())
	b.SetParallelism((4 + runtimeProcs() - 1) / runtimeProcs())
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	b.ResetTimer()
	start := time.Now()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			post(b, c, url, token, body)
		}
	})
	b.ReportMetric(float64(b.N*1000)/time.Since(start).Seconds(), "events/s")
	reportCommits(b, logger)
	reportRSS(b)
}

func runtimeProcs() int {
	n, _ := strconv.Atoi(os.Getenv("GOMAXPROCS"))
	if n > 0 {
		return n
	}
	return max(1, testingProcs)
}

// reportCommits reports how many events the group commit wrote per
// transaction.
func reportCommits(b *testing.B, l *eventlog.Logger) {
	if m := l.Metrics(); m.Batches > 0 {
		b.ReportMetric(float64(m.Written)/float64(m.Batches), "events/commit")
	}
}

// reportRSS reports the process's peak resident set (server and clients
// together, as they share the process).
func reportRSS(b *testing.B) {
	data, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return
	}
	for _, l := range strings.Split(string(data), "\n") {
		if strings.HasPrefix(l, "VmHWM:") {
			f := strings.Fields(l)
			if kb, err := strconv.Atoi(f[1]); err == nil {
				b.ReportMetric(float64(kb)/1024, "peak-RSS-MB")
			}
		}
	}
}
