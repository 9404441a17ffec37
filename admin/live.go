package admin

import (
	"encoding/json"
	"net/http"
	"strings"
	"time"

	"github.com/eventlog/eventlog"
)

type livePage struct {
	Available bool
	StreamURL string
	Chips     []chip
	Filter    filter
	Error     string
}

func (p *livePage) title() (string, string) { return "Live tail", "live" }

func (h *Handler) livePage(w http.ResponseWriter, r *http.Request) {
	f := parseFilter(r.URL.Query())
	f = tailFilter(f)
	p := &livePage{Available: h.logger != nil, Filter: f, StreamURL: h.link("live/stream", f.values())}
	if _, err := f.query(h.now(), 1); err != nil {
		p.Error = err.Error()
	}
	p.Chips = f.chips(func(g filter) string { return h.link("live", g.values()) })
	h.render(w, r, http.StatusOK, "live", p)
}

// tailFilter drops what a tail has no use for (dates, cursors: it shows
// what comes next) and splits the live form's comma-separated actions.
func tailFilter(f filter) filter {
	f.Range, f.Since, f.Until, f.After, f.Back = "", "", "", "", nil
	var acts []string
	for _, a := range f.Actions {
		acts = append(acts, nonEmpty(strings.Split(a, ","))...)
	}
	f.Actions = acts
	return f
}

// liveEvent is one event as the live tail's script shows it; the script
// sets it as text, never as HTML.
type liveEvent struct {
	ID        string `json:"id"`
	Time      string `json:"time"`
	Action    string `json:"action"`
	User      string `json:"user"`
	UserURL   string `json:"user_url"`
	Object    string `json:"object"`
	ObjectURL string `json:"object_url"`
	Extra     string `json:"extra"`
	URL       string `json:"url"`
}

// liveReplay bounds how many missed events a reconnecting tail gets.
const liveReplay = 1000

// liveStream is the SSE endpoint: each new event matching the filter is
// sent as it is stored. A reconnecting browser sends Last-Event-ID and
// first receives what it missed (up to liveReplay events), read from the
// store in commit order.
func (h *Handler) liveStream(w http.ResponseWriter, r *http.Request) {
	if h.logger == nil {
		http.Error(w, "live tail unavailable: the admin has no Logger", http.StatusServiceUnavailable)
		return
	}
	f := tailFilter(parseFilter(r.URL.Query()))
	q, err := f.query(h.now(), 1)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	m := newMatcher(q)
	rc := http.NewResponseController(w)
	rc.SetWriteDeadline(time.Time{}) // a stream outlives the server's write timeout
	events, cancel := h.logger.SubscribeChan(256)
	defer cancel()
	shutdown := h.shutdownSignal(r)

	w.Header().Set("Content-Type", "text/event-stream")
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("X-Accel-Buffering", "no")
	w.WriteHeader(http.StatusOK)
	w.Write([]byte(": eventlog live tail\nretry: 2000\n\n"))

	seen := map[string]bool{}
	if last := r.Header.Get("Last-Event-ID"); last != "" {
		missed, err := h.store.ReadAfter(r.Context(), last, liveReplay)
		if err == nil {
			for _, e := range missed {
				seen[e.ID] = true
				if m.match(e) {
					h.sendEvent(w, e)
				}
			}
		}
	}
	if err := rc.Flush(); err != nil {
		return
	}
	beat := time.NewTicker(15 * time.Second)
	defer beat.Stop()
	for {
		select {
		case <-r.Context().Done():
			return
		case <-shutdown:
			return
		case <-beat.C:
			w.Write([]byte(": keep-alive\n\n"))
		case e, ok := <-events:
			if !ok {
				return
			}
			if seen[e.ID] {
				delete(seen, e.ID)
				continue
			}
			if !m.match(e) {
				continue
			}
			h.sendEvent(w, e)
		}
		if err := rc.Flush(); err != nil {
			return
		}
	}
}

// shutdownSignal returns a channel closed when the http.Server serving r
// shuts down, because a stream never goes idle by itself and would hold
// Shutdown until its timeout. It is nil (never ready) outside a Server.
func (h *Handler) shutdownSignal(r *http.Request) <-chan struct{} {
	srv, ok := r.Context().Value(http.ServerContextKey).(*http.Server)
	if !ok {
		return nil
	}
	h.shutdownMu.Lock()
	defer h.shutdownMu.Unlock()
	ch, ok := h.shutdown[srv]
	if !ok {
		ch = make(chan struct{})
		h.shutdown[srv] = ch
		srv.RegisterOnShutdown(func() { close(ch) })
	}
	return ch
}

func (h *Handler) sendEvent(w http.ResponseWriter, e eventlog.Event) {
	rw := h.row(e)
	le := liveEvent{ID: e.ID, Time: rw.Time.UTC().Format("2006-01-02 15:04:05"), Action: e.Action, Extra: rw.Extra,
		URL: rw.URL, UserURL: rw.UserURL, ObjectURL: rw.ObjectURL}
	if e.User != nil {
		le.User = e.User.Name
		if le.User == "" {
			le.User = e.User.ID
		}
	}
	if e.Object != nil {
		le.Object = e.Object.Type + " " + e.Object.ID
	}
	b, _ := json.Marshal(le) // escapes <, > and &; the data line has no newline
	w.Write([]byte("id: " + e.ID + "\ndata: "))
	w.Write(b)
	w.Write([]byte("\n\n"))
}

// matcher applies a query's conditions to one event in memory, with the
// meaning the stores give them (eventlog.Query.Matches), dates aside: a
// tail shows what arrives now.
type matcher struct{ q eventlog.Query }

func newMatcher(q eventlog.Query) matcher {
	q.Since, q.Until = time.Time{}, time.Time{}
	return matcher{q: q}
}

func (m matcher) match(e eventlog.Event) bool { return m.q.Matches(&e) }
