package api

import (
	"errors"
	"fmt"
	"net/http"
	"sync"
	"time"

	"github.com/eventlog/eventlog"
)

// catchUpPage is how many events one ReadAfter call returns while a
// stream catches up.
const catchUpPage = 1000

// Stream writes carry their own deadline instead of the server's
// WriteTimeout: a client that takes no bytes for streamStall is dropped,
// and once the server shuts down a blocked write gets streamStallClosing,
// so a stream whose client stopped reading cannot hold Shutdown.
const (
	streamStall        = 30 * time.Second
	streamStallClosing = time.Second
)

// stream serves Server-Sent Events: every matching event committed after
// the client connected, or, with Last-Event-ID, after that event.
//
// How nothing is missed: the stream subscribes to the Logger before it
// reads the store, so an event committed during the catch-up is both read
// and delivered live; the ids sent by the catch-up are remembered until
// the live channel has moved past them, so none is sent twice. When the
// Logger reports dropped deliveries (a stream slower than the ingest
// rate), the next live event is not trusted to follow the last one: the
// stream catches up from the store after the last event it handled.
func (h *Handler) stream(w http.ResponseWriter, r *http.Request) {
	q, err := h.parseQuery(r.URL.Query(), streamParams)
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	h.streamsMu.Lock()
	closed := h.closed
	h.streamsMu.Unlock()
	if closed {
		h.writeError(w, r, eventlog.ErrClosed)
		return
	}
	live, cancel := h.logger.SubscribeChan(h.streamBuf)
	defer cancel()
	drops := h.logger.Metrics().SubscriberDrops

	s := &sseWriter{w: w, rc: http.NewResponseController(w), q: &q}
	// Shutdown cuts short a write that is blocked on a client that
	// stopped reading.
	done := make(chan struct{})
	defer close(done)
	go func() {
		select {
		case <-h.closing:
			s.shuttingDown()
		case <-done:
		}
	}()
	lastID := r.Header.Get("Last-Event-ID")
	var seen map[string]struct{}
	if lastID != "" {
		// Read the first page before answering, so an unknown id is a 400.
		first, err := h.store.ReadAfter(r.Context(), lastID, catchUpPage)
		if errors.Is(err, eventlog.ErrNotFound) {
			h.writeError(w, r, &fieldError{field: "Last-Event-ID", msg: fmt.Sprintf("event %q is not stored here", lastID), err: eventlog.ErrInvalid})
			return
		}
		if err != nil {
			h.writeError(w, r, err)
			return
		}
		s.start()
		if seen, lastID, err = h.catchUp(r, s, first, lastID); err != nil {
			return
		}
	} else {
		s.start()
	}
	if err := s.flush(); err != nil {
		return
	}
	h.metrics.streams.Inc()
	defer h.metrics.streams.Dec()

	// live handles one event from the channel: skip what the catch-up
	// already sent, and when the Logger dropped deliveries since the last
	// event (the channel may have a gap before e), catch up from the store
	// instead, which also covers e.
	live1 := func(e *eventlog.Event) error {
		if seen != nil {
			if _, dup := seen[e.ID]; dup {
				return nil
			}
			seen = nil // the live channel is past the catch-up
		}
		if d := h.logger.Metrics().SubscriberDrops; d != drops {
			drops = d
			if lastID != "" {
				var err error
				seen, lastID, err = h.catchUp(r, s, nil, lastID)
				return err
			}
		}
		lastID = e.ID
		return s.send(e)
	}
	tick := time.NewTicker(h.keepAlive)
	defer tick.Stop()
	for {
		select {
		case e, ok := <-live:
			if !ok { // the Logger closed
				s.flush()
				return
			}
			if err := live1(&e); err != nil {
				return
			}
			// Send what is already queued before flushing once.
			for more := true; more; {
				select {
				case e, ok := <-live:
					if !ok {
						s.flush()
						return
					}
					if err := live1(&e); err != nil {
						return
					}
				default:
					more = false
				}
			}
			if err := s.flush(); err != nil {
				return
			}
		case <-tick.C:
			s.comment("keep-alive")
			if err := s.flush(); err != nil {
				return
			}
		case <-r.Context().Done():
			return
		case <-h.closing:
			s.comment("server shutting down")
			s.flush()
			return
		}
	}
}

// catchUp sends the events stored after lastID (first is the first page
// when already read) and returns the ids it sent and the new last id.
func (h *Handler) catchUp(r *http.Request, s *sseWriter, first []eventlog.Event, lastID string) (map[string]struct{}, string, error) {
	seen := map[string]struct{}{}
	page := first
	for {
		if page == nil {
			var err error
			page, err = h.store.ReadAfter(r.Context(), lastID, catchUpPage)
			if err != nil {
				h.log.Error("stream catch-up failed", "error", err)
				return nil, lastID, err
			}
		}
		for i := range page {
			seen[page[i].ID] = struct{}{}
			lastID = page[i].ID
			if err := s.send(&page[i]); err != nil {
				return nil, lastID, err
			}
		}
		if err := s.flush(); err != nil {
			return nil, lastID, err
		}
		if len(page) < catchUpPage {
			return seen, lastID, nil
		}
		page = nil
	}
}

// sseWriter writes Server-Sent Events.
type sseWriter struct {
	w   http.ResponseWriter
	rc  *http.ResponseController
	q   *eventlog.Query
	buf []byte
	err error

	mu      sync.Mutex // guards closing and the write deadline
	closing bool
}

func (s *sseWriter) start() {
	// A stream outlives the server's read timeout by design; its writes
	// get a deadline each (see deadline).
	s.rc.SetReadDeadline(time.Time{})
	s.deadline()
	hd := s.w.Header()
	hd.Set("Content-Type", "text/event-stream")
	hd.Set("Cache-Control", "no-cache")
	hd.Set("X-Accel-Buffering", "no")
	s.w.WriteHeader(http.StatusOK)
	s.buf = append(s.buf[:0], "retry: 2000\n\n"...)
}

// send writes e when it matches the stream's filters.
func (s *sseWriter) send(e *eventlog.Event) error {
	if s.err != nil {
		return s.err
	}
	if !s.q.Matches(e) {
		return nil
	}
	s.buf = append(s.buf, "id: "...)
	s.buf = append(s.buf, e.ID...)
	s.buf = append(s.buf, "\ndata: "...)
	s.buf = e.AppendJSON(s.buf)
	s.buf = append(s.buf, "\n\n"...)
	if len(s.buf) > 64<<10 {
		return s.flush()
	}
	return nil
}

func (s *sseWriter) comment(text string) {
	s.buf = append(s.buf, ": "...)
	s.buf = append(s.buf, text...)
	s.buf = append(s.buf, "\n\n"...)
}

func (s *sseWriter) flush() error {
	if s.err != nil {
		return s.err
	}
	s.deadline()
	if len(s.buf) > 0 {
		if _, err := s.w.Write(s.buf); err != nil {
			s.err = err
			return err
		}
		s.buf = s.buf[:0]
	}
	if err := s.rc.Flush(); err != nil {
		s.err = err
	}
	return s.err
}

// deadline sets the write deadline for the next write: streamStall from
// now, or streamStallClosing once the server is shutting down.
func (s *sseWriter) deadline() {
	s.mu.Lock()
	defer s.mu.Unlock()
	d := streamStall
	if s.closing {
		d = streamStallClosing
	}
	s.rc.SetWriteDeadline(time.Now().Add(d))
}

// shuttingDown shortens the deadline of a write that may be blocked now,
// from another goroutine.
func (s *sseWriter) shuttingDown() {
	s.mu.Lock()
	s.closing = true
	s.mu.Unlock()
	s.deadline()
}
