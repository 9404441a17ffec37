package faulttest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// TestHostileClients attacks a real serve process over SQLite, all at
// once: 10,000 idle connections, 100 slowloris clients trickling headers,
// 100 trickling bodies. Meanwhile an honest client must get every answer
// within 2s, huge, deeply nested and invalid-UTF-8 bodies must be refused
// with the documented errors, the slow header clients must be cut by the
// header timeout, and the server's peak RSS must stay bounded.
func TestHostileClients(t *testing.T) {
	if testing.Short() {
		t.Skip("opens 10,200 connections to a serve process")
	}
	t.Parallel()
	srv := startServe(t, "sqlite:"+filepath.Join(t.TempDir(), "events.db"))
	addr := strings.TrimPrefix(srv.url, "http://")
	baseRSS := srv.rssKB(t, "VmRSS")

	var conns []net.Conn
	var connsMu sync.Mutex
	keep := func(c net.Conn) { connsMu.Lock(); conns = append(conns, c); connsMu.Unlock() }
	t.Cleanup(func() {
		for _, c := range conns {
			c.Close()
		}
	})
	dial := func() net.Conn {
		c, err := net.DialTimeout("tcp", addr, 5*time.Second)
		if err != nil {
			t.Fatalf("dialing the server: %v", err)
		}
		keep(c)
		return c
	}

	// 10,000 connections that send nothing.
	for range 10000 {
		dial()
	}
	// Slowloris: headers one byte at a time, never finished.
	stop := make(chan struct{})
	var slow sync.WaitGroup
	cut := make(chan time.Duration, 100)
	for range 100 {
		c := dial()
		slow.Go(func() {
			start := time.Now()
			header := "POST /api/v1/events HTTP/1.1\r\nHost: x\r\nX-Slow: " + strings.Repeat("a", 1000)
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				case <-time.After(100 * time.Millisecond):
				}
				if _, err := c.Write([]byte{header[i%len(header)]}); err != nil {
					cut <- time.Since(start)
					return
				}
			}
		})
	}
	// Slow bodies: complete headers, then a byte every 100ms.
	for range 100 {
		c := dial()
		fmt.Fprintf(c, "POST /api/v1/events HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100000\r\n\r\n{")
		slow.Go(func() {
			for {
				select {
				case <-stop:
					return
				case <-time.After(100 * time.Millisecond):
				}
				if _, err := c.Write([]byte(" ")); err != nil {
					return
				}
			}
		})
	}
	defer func() { close(stop); slow.Wait() }()

	c := &http.Client{Timeout: 10 * time.Second}
	do := func(method, path string, body io.Reader) (int, []byte, time.Duration) {
		t.Helper()
		req, _ := http.NewRequest(method, srv.url+path, body)
		start := time.Now()
		resp, err := c.Do(req)
		if err != nil {
			t.Fatalf("%s %s while under attack: %v", method, path, err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, b, time.Since(start)
	}
	var slowest time.Duration
	honest := func() {
		t.Helper()
		for _, r := range []struct {
			method, path, body string
			want               int
		}{
			{"POST", "/api/v1/events", `{"action":"HONEST","user":{"id":"1","name":"a"}}`, 201},
			{"GET", "/api/v1/events?limit=10", "", 200},
			{"GET", "/api/v1/stats", "", 200},
		} {
			st, body, took := do(r.method, r.path, strings.NewReader(r.body))
			if st != r.want {
				t.Errorf("honest %s %s under attack: %d %s", r.method, r.path, st, body)
			}
			slowest = max(slowest, took)
		}
	}
	honest()

	errorField := func(body []byte) string {
		var e struct {
			Error struct{ Code, Field string }
		}
		json.Unmarshal(body, &e)
		return e.Error.Code + "/" + e.Error.Field
	}
	huge := bytes.Repeat([]byte(" "), 11<<20)
	huge[0] = '['
	for _, h := range []struct {
		name      string
		body      io.Reader
		status    int
		codeField string
	}{
		{"11 MiB body", bytes.NewReader(huge), 413, "too_large/body"},
		{"11 MiB body, chunked (no length)", io.MultiReader(bytes.NewReader(huge)), 413, "too_large/body"},
		{"array nested 100,000 deep", strings.NewReader(strings.Repeat("[", 100000) + strings.Repeat("]", 100000)), 400, "invalid/body"},
		{"extra nested 100,000 deep", strings.NewReader(`{"action":"A","extra":` + strings.Repeat(`{"a":`, 100000) + "1" + strings.Repeat("}", 100000) + "}"), 400, "invalid/body"},
		{"invalid UTF-8 in action", strings.NewReader("{\"action\":\"A\xff\xfe\"}"), 400, "invalid/action"},
		{"invalid UTF-8 in extra", strings.NewReader("{\"action\":\"A\",\"extra\":{\"k\":\"\xc3\x28\"}}"), 400, "invalid/extra"},
		{"10,001 events", strings.NewReader("[" + strings.TrimSuffix(strings.Repeat(`{"action":"A"},`, 10001), ",") + "]"), 413, "too_large/body"},
	} {
		st, body, _ := do("POST", "/api/v1/events", h.body)
		if st != h.status || errorField(body) != h.codeField {
			t.Errorf("%s: %d %s, want %d with code/field %s", h.name, st, body, h.status, h.codeField)
		}
		honest()
	}

	// The header timeout (5s) must cut every slowloris client.
	deadline := time.After(15 * time.Second)
	var longest time.Duration
	for range 100 {
		select {
		case d := <-cut:
			longest = max(longest, d)
		case <-deadline:
			t.Fatalf("slowloris clients still connected 15s after they started")
		}
	}
	honest()
	if slowest > 2*time.Second {
		t.Errorf("slowest honest request under attack took %v, want under 2s", slowest)
	}
	peak := srv.rssKB(t, "VmHWM")
	if peak > 300*1024 {
		t.Errorf("server peak RSS %d MB under attack, want under 300 MB", peak/1024)
	}
	if !srv.running() {
		t.Fatalf("serve died: %s", srv.stderr)
	}
	t.Logf("10,000 idle + 100 slow-header + 100 slow-body connections: slowest honest request %v, slow headers cut after at most %v, server RSS %d MB at start, peak %d MB",
		slowest.Round(time.Millisecond), longest.Round(100*time.Millisecond), baseRSS/1024, peak/1024)
}
