package api_test

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/eventlog/eventlog"
)

// TestGracefulShutdown shuts the server down while clients are posting
// and a stream is open: the stream ends, in-flight requests are answered,
// and every event acknowledged with 201 is in the store afterwards.
func TestGracefulShutdown(t *testing.T) {
	t.Parallel()
	forEachBackend(t, func(t *testing.T, open func(testing.TB) eventlog.Store) {
		b := setup(t, open(t), setupOpts{})
		msgs, _, _ := b.openStream(t, "", b.read, "")

		var (
			mu    sync.Mutex
			acked []string
			n     atomic.Int64
			wg    sync.WaitGroup
		)
		client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 32}}
		for w := range 32 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := 0; ; i++ {
					body := fmt.Sprintf(`{"action":"SHUTDOWN_TEST","extra":{"worker":%d,"i":%d}}`, w, i)
					req, _ := http.NewRequest("POST", b.url+"/api/v1/events", strings.NewReader(body))
					req.Header.Set("Authorization", "Bearer "+b.write)
					resp, err := client.Do(req)
					if err != nil {
						return // the server stopped accepting
					}
					data, _ := io.ReadAll(resp.Body)
					resp.Body.Close()
					if resp.StatusCode != http.StatusCreated {
						return
					}
					var e eventlog.Event
					if err := json.Unmarshal(data, &e); err != nil {
						t.Errorf("201 with a bad body %q: %v", data, err)
						return
					}
					mu.Lock()
					acked = append(acked, e.ID)
					mu.Unlock()
					n.Add(1)
				}
			}()
		}
		for n.Load() < 200 {
			time.Sleep(5 * time.Millisecond)
		}
		start := time.Now()
		if err := b.server.Shutdown(context.Background()); err != nil {
			t.Fatalf("Shutdown: %v", err)
		}
		if err := b.logger.Close(); err != nil {
			t.Fatalf("Logger.Close: %v", err)
		}
		if d := time.Since(start); d > 5*time.Second {
			t.Errorf("shutdown took %v", d)
		}
		wg.Wait()

		// The stream ended rather than holding the shutdown.
		for range msgs {
		}
		for _, id := range acked {
			if _, err := b.store.Get(context.Background(), id); err != nil {
				t.Fatalf("acknowledged event %s is not stored: %v", id, err)
			}
		}
		t.Logf("%d acknowledged events, all stored", len(acked))
	})
}

// TestShutdownStalledStream: a stream client that stopped reading, with
// the socket buffers full, does not hold Shutdown until its timeout.
func TestShutdownStalledStream(t *testing.T) {
	t.Parallel()
	b := setup(t, openSQLite(t), setupOpts{})
	conn, err := net.Dial("tcp", strings.TrimPrefix(b.url, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	// A tiny receive buffer so the server's writes block soon.
	conn.(*net.TCPConn).SetReadBuffer(4096)
	fmt.Fprintf(conn, "GET /api/v1/stream HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer %s\r\n\r\n", b.read)
	// The status line arrives once the stream has subscribed; after it,
	// never read again.
	status, err := bufio.NewReader(conn).ReadString('\n')
	if err != nil || !strings.Contains(status, " 200 ") {
		t.Fatalf("stream status %q, %v", status, err)
	}
	big := strings.Repeat("x", 60<<10)
	for range 200 { // 12 MB: more than any loopback socket buffer holds
		if _, err := b.logger.LogEvent(context.Background(), eventlog.Event{Action: "BIG", Extra: json.RawMessage(`"` + big + `"`)}); err != nil {
			t.Fatal(err)
		}
	}
	start := time.Now()
	if err := b.server.Shutdown(context.Background()); err != nil {
		t.Fatalf("Shutdown with a stalled stream: %v after %v", err, time.Since(start))
	}
	if d := time.Since(start); d > 3*time.Second {
		t.Errorf("Shutdown took %v with a stalled stream", d)
	}
}
