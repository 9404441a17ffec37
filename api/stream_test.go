package api_test

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/eventlog/eventlog"
)

type sseMsg struct {
	id, data, comment string
}

// openStream connects to /api/v1/stream and returns its messages; the
// stream closes when the test ends or cancel is called.
func (b *bundle) openStream(t *testing.T, query, token, lastID string) (msgs <-chan sseMsg, resp *http.Response, cancel func()) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	req, _ := http.NewRequestWithContext(ctx, "GET", b.url+"/api/v1/stream"+query, nil)
	req.Header.Set("Authorization", "Bearer "+token)
	if lastID != "" {
		req.Header.Set("Last-Event-ID", lastID)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	ch := make(chan sseMsg, 100)
	go func() {
		defer close(ch)
		defer resp.Body.Close()
		sc := bufio.NewScanner(resp.Body)
		sc.Buffer(nil, 1<<20)
		var m sseMsg
		for sc.Scan() {
			line := sc.Text()
			switch {
			case line == "":
				if m != (sseMsg{}) {
					ch <- m
				}
				m = sseMsg{}
			case strings.HasPrefix(line, "id: "):
				m.id = line[4:]
			case strings.HasPrefix(line, "data: "):
				m.data = line[6:]
			case strings.HasPrefix(line, ": "):
				m.comment = line[2:]
			}
		}
	}()
	return ch, resp, cancel
}

// nextEvent returns the next event of the stream, skipping comments.
func nextEvent(t *testing.T, msgs <-chan sseMsg) eventlog.Event {
	t.Helper()
	timeout := time.After(10 * time.Second)
	for {
		select {
		case m, ok := <-msgs:
			if !ok {
				t.Fatal("stream ended while waiting for an event")
			}
			if m.id == "" {
				continue
			}
			e := decode[eventlog.Event](t, m.data)
			if e.ID != m.id {
				t.Fatalf("SSE id %s differs from the event's id %s", m.id, e.ID)
			}
			return e
		case <-timeout:
			t.Fatal("no event on the stream within 10s")
		}
	}
}

func TestStream(t *testing.T) {
	t.Parallel()
	forEachBackend(t, func(t *testing.T, open func(testing.TB) eventlog.Store) {
		b := setup(t, open(t), setupOpts{keepAlive: 100 * time.Millisecond})
		post := func(body string) eventlog.Event {
			t.Helper()
			status, resp := b.do(t, "POST", "/api/v1/events", b.write, body)
			if status != http.StatusCreated {
				t.Fatalf("POST: %d %s", status, resp)
			}
			return decode[eventlog.Event](t, resp)
		}

		msgs, resp, cancel := b.openStream(t, "?action=PAID", b.read, "")
		if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "text/event-stream" {
			t.Fatalf("stream answered %d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
		}
		paid1 := post(`{"action":"PAID","extra":{"amount":10}}`)
		post(`{"action":"VIEWED"}`)
		paid2 := post(`{"action":"PAID","extra":{"amount":20}}`)
		if e := nextEvent(t, msgs); e.ID != paid1.ID || string(e.Extra) != `{"amount":10}` {
			t.Fatalf("first streamed event = %+v, want %s", e, paid1.ID)
		}
		if e := nextEvent(t, msgs); e.ID != paid2.ID {
			t.Fatalf("second streamed event = %s, want %s (VIEWED must be filtered out)", e.ID, paid2.ID)
		}
		// Keep-alive comments flow while nothing happens.
		for m := range msgs {
			if m.comment == "keep-alive" {
				break
			}
		}
		cancel()

		// Events committed while the client is away arrive on reconnect.
		var missed []string
		for range 3 {
			missed = append(missed, post(`{"action":"PAID"}`).ID)
			post(`{"action":"VIEWED"}`)
		}
		msgs, _, _ = b.openStream(t, "?action=PAID", b.read, paid2.ID)
		for i, want := range missed {
			if e := nextEvent(t, msgs); e.ID != want {
				t.Fatalf("resumed event %d = %s, want %s", i, e.ID, want)
			}
		}
		live := post(`{"action":"PAID"}`)
		if e := nextEvent(t, msgs); e.ID != live.ID {
			t.Fatalf("live event after resume = %s, want %s", e.ID, live.ID)
		}

		// An unknown Last-Event-ID is refused before the stream starts.
		req, _ := http.NewRequest("GET", b.url+"/api/v1/stream", nil)
		req.Header.Set("Authorization", "Bearer "+b.read)
		req.Header.Set("Last-Event-ID", "00000000-0000-7000-8000-0000000000ff")
		r2, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer r2.Body.Close()
		var eb errBody
		if err := json.NewDecoder(r2.Body).Decode(&eb); err != nil || r2.StatusCode != 400 || eb.Error.Field != "Last-Event-ID" {
			t.Errorf("unknown Last-Event-ID: %d %+v %v", r2.StatusCode, eb, err)
		}
	})
}

// TestStreamDropsAreCaughtUp gives a stream room for one live event and
// logs a burst of 200: the Logger drops deliveries, and the stream fills
// the gap from the store, in order, without duplicates.
func TestStreamDropsAreCaughtUp(t *testing.T) {
	t.Parallel()
	forEachBackend(t, func(t *testing.T, open func(testing.TB) eventlog.Store) {
		b := setup(t, open(t), setupOpts{streamBuf: 1})
		msgs, _, _ := b.openStream(t, "", b.read, "")
		status, body := b.do(t, "POST", "/api/v1/events", b.write, `{"action":"FIRST"}`)
		if status != http.StatusCreated {
			t.Fatalf("POST: %d %s", status, body)
		}
		if e := nextEvent(t, msgs); e.Action != "FIRST" {
			t.Fatalf("first event = %s", e.Action)
		}
		var batch []string
		for i := range 200 {
			batch = append(batch, fmt.Sprintf(`{"action":"BURST","extra":{"i":%d}}`, i))
		}
		status, body = b.do(t, "POST", "/api/v1/events", b.write, "["+strings.Join(batch, ",")+"]")
		if status != http.StatusCreated {
			t.Fatalf("POST batch: %d %s", status, body)
		}
		stored := decode[[]eventlog.Event](t, body)
		if b.logger.Metrics().SubscriberDrops == 0 {
			t.Fatal("the burst caused no drop; the test does not exercise the catch-up")
		}
		for i, want := range stored {
			if e := nextEvent(t, msgs); e.ID != want.ID {
				t.Fatalf("streamed event %d = %s (%s), want %s", i, e.ID, e.Extra, want.ID)
			}
		}
	})
}

// TestStreamOutlivesServerTimeouts: a stream lifts the server's read and
// write deadlines for itself, while ordinary requests keep them.
func TestStreamOutlivesServerTimeouts(t *testing.T) {
	t.Parallel()
	b := setup(t, openSQLite(t), setupOpts{timeouts: 300 * time.Millisecond, keepAlive: time.Hour})
	msgs, _, _ := b.openStream(t, "", b.read, "")
	time.Sleep(time.Second)
	status, body := b.do(t, "POST", "/api/v1/events", b.write, `{"action":"LATE"}`)
	if status != http.StatusCreated {
		t.Fatalf("POST: %d %s", status, body)
	}
	if e := nextEvent(t, msgs); e.Action != "LATE" {
		t.Fatalf("event after the server timeouts = %s", e.Action)
	}
}
