package faulttest

import (
	"bufio"
	"context"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// soakEnv sets the soak's duration (a Go duration such as 5m); without
// it TestSoak is skipped.
const soakEnv = "EVENTLOG_SOAK"

// sample is the server's state at one moment of the soak.
type sample struct {
	at         time.Duration
	acked      int64
	tailed     int64
	goroutines int64
	heapInuse  int64 // bytes
	anonKB     int64 // RssAnon: the process's own memory
	fileKB     int64 // RssFile: mapped file pages, mostly the memory-mapped SQLite file
}

// TestSoak runs a serve process over SQLite under sustained ingest (8
// clients, single events and batches), queries (2 clients walking pages
// with filters, stats, actions) and a live tail of every event, for
// EVENTLOG_SOAK. It samples the server's goroutines and heap (from its
// /metrics) and RSS (from /proc) and fails when they grow after warm-up
// instead of staying flat, or when the tail misses an event.
func TestSoak(t *testing.T) {
	raw := os.Getenv(soakEnv)
	if raw == "" {
		t.Skipf("set %s=5m (or another duration) to run the soak test", soakEnv)
	}
	total, err := time.ParseDuration(raw)
	if err != nil || total < 10*time.Second {
		t.Fatalf("%s=%q must be a duration of at least 10s, like 5m", soakEnv, raw)
	}
	srv := startServe(t, "sqlite:"+filepath.Join(t.TempDir(), "events.db"))
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()

	// The live tail, opened before any event is sent.
	var tailed atomic.Int64
	// Its own context: it must outlive the clients' last requests.
	streamCtx, closeStream := context.WithCancel(context.Background())
	defer closeStream()
	streamReq, _ := http.NewRequestWithContext(streamCtx, http.MethodGet, srv.url+"/api/v1/stream", nil)
	resp, err := http.DefaultClient.Do(streamReq)
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("opening the stream: %v %v", resp, err)
	}
	seen := map[string]bool{}
	var dupes atomic.Int64
	go func() {
		defer resp.Body.Close()
		sc := bufio.NewScanner(resp.Body)
		sc.Buffer(make([]byte, 1<<20), 1<<20)
		for sc.Scan() {
			if id, ok := strings.CutPrefix(sc.Text(), "id: "); ok {
				if seen[id] {
					dupes.Add(1)
				}
				seen[id] = true
				tailed.Add(1)
			}
		}
	}()

	l := newLedger()
	var wg sync.WaitGroup
	wg.Go(func() { ingest(ctx, srv.url, 8, l) })
	var queries, queryErrors atomic.Int64
	for q := range 2 {
		wg.Go(func() {
			c := &http.Client{Timeout: 10 * time.Second}
			paths := []string{"/api/v1/events?limit=100", "/api/v1/events?action=FAULT_TEST&user=u7", "/api/v1/events?q=sustained&limit=20", "/api/v1/stats", "/api/v1/actions", "/api/v1/events?where=i%3D3"}
			for i := q; ctx.Err() == nil; i++ {
				resp, err := c.Get(srv.url + paths[i%len(paths)])
				if err != nil {
					if ctx.Err() == nil {
						queryErrors.Add(1)
					}
					continue
				}
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if resp.StatusCode != http.StatusOK {
					queryErrors.Add(1)
				}
				queries.Add(1)
			}
		})
	}

	every := max(5*time.Second, total/20)
	start := time.Now()
	var samples []sample
	for time.Since(start) < total {
		time.Sleep(min(every, total-time.Since(start)))
		acked, _, _ := l.counts()
		s := sample{at: time.Since(start).Round(time.Second), acked: int64(acked), tailed: tailed.Load(), anonKB: srv.rssKB(t, "RssAnon"), fileKB: srv.rssKB(t, "RssFile")}
		s.goroutines, s.heapInuse = serverMetrics(t, srv.url)
		samples = append(samples, s)
		t.Logf("+%-6v acked %8d  tailed %8d  goroutines %4d  heap in use %6.1f MB  RSS anonymous %6.1f MB, file-backed %6.1f MB",
			s.at, s.acked, s.tailed, s.goroutines, float64(s.heapInuse)/1e6, float64(s.anonKB)/1024, float64(s.fileKB)/1024)
	}
	cancel()
	wg.Wait()

	acked, unsure, status := l.counts()
	t.Logf("%d events acknowledged, %d unanswered; answers by status %v; %d queries (%d failed)", acked, unsure, status, queries.Load(), queryErrors.Load())
	if unsure > 0 || queryErrors.Load() > 0 {
		t.Errorf("under sustained load, %d events got no 201 and %d queries failed", unsure, queryErrors.Load())
	}
	// Flat: compare the last sample with the first one after warm-up.
	warm := samples[min(1, len(samples)-1)]
	last := samples[len(samples)-1]
	if last.goroutines > warm.goroutines+20 {
		t.Errorf("goroutines grew from %d to %d", warm.goroutines, last.goroutines)
	}
	if last.heapInuse > 2*warm.heapInuse+32<<20 {
		t.Errorf("heap in use grew from %d to %d bytes", warm.heapInuse, last.heapInuse)
	}
	// File-backed RSS is the memory-mapped database (mmap_size 1 GiB),
	// page cache the kernel reclaims; it grows with the file by design.
	if last.anonKB > 2*warm.anonKB+64<<10 {
		t.Errorf("anonymous RSS grew from %d to %d kB", warm.anonKB, last.anonKB)
	}
	for wait := time.Now(); tailed.Load() < int64(acked) && time.Since(wait) < 10*time.Second; {
		time.Sleep(50 * time.Millisecond)
	}
	if n := tailed.Load(); n < int64(acked) || dupes.Load() > 0 {
		t.Errorf("the live tail saw %d events (%d twice), %d were acknowledged", n, dupes.Load(), acked)
	}
}

// serverMetrics scrapes go_goroutines and go_memstats_heap_inuse_bytes.
func serverMetrics(t *testing.T, url string) (goroutines, heapInuse int64) {
	t.Helper()
	resp, err := http.Get(url + "/metrics")
	if err != nil {
		t.Fatalf("scraping /metrics: %v", err)
	}
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		name, value, ok := strings.Cut(sc.Text(), " ")
		if !ok {
			continue
		}
		f, _ := strconv.ParseFloat(value, 64)
		switch name {
		case "go_goroutines":
			goroutines = int64(f)
		case "go_memstats_heap_inuse_bytes":
			heapInuse = int64(f)
		case "eventlog_logger_subscriber_drops_total":
			if f > 0 {
				t.Logf("the server's Logger dropped %v deliveries to its subscribers (the stream catches up from the store)", f)
			}
		}
	}
	return goroutines, heapInuse
}
