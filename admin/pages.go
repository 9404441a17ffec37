package admin

import (
	"bytes"
	"encoding/json"
	"errors"
	"html/template"
	"net/http"
	"net/url"
	"slices"
	"sort"
	"strings"
	"time"
	"unicode/utf8"

	"golang.org/x/sync/errgroup"

	"github.com/eventlog/eventlog"
)

// row is one event as the tables and timelines show it.
type row struct {
	ID, Action, Extra    string
	Time                 time.Time
	UserID, UserName     string
	ObjectType, ObjectID string
	URL, UserURL         string
	ObjectURL            string
	Sentence             template.HTML
}

const extraPreview = 140 // characters of extra shown in a table cell

func (h *Handler) row(e eventlog.Event) row {
	rw := row{ID: e.ID, Action: e.Action, Time: e.Timestamp, URL: h.base + "events/" + url.PathEscape(e.ID)}
	if e.User != nil {
		rw.UserID, rw.UserName = e.User.ID, e.User.Name
		rw.UserURL = h.base + "user?id=" + url.QueryEscape(e.User.ID)
	}
	if e.Object != nil {
		rw.ObjectType, rw.ObjectID = e.Object.Type, e.Object.ID
		rw.ObjectURL = h.base + "object?type=" + url.QueryEscape(e.Object.Type) + "&id=" + url.QueryEscape(e.Object.ID)
	}
	if x := string(e.Extra); x != "{}" && x != "" {
		rw.Extra = truncate(x, extraPreview)
	}
	return rw
}

func truncate(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	r := []rune(s)
	return string(r[:n]) + "…"
}

func (h *Handler) link(path string, v url.Values) string {
	if len(v) == 0 {
		return h.base + path
	}
	return h.base + path + "?" + v.Encode()
}

type errorPage struct {
	Status  int
	Message string
}

func (p *errorPage) title() (string, string) { return http.StatusText(p.Status), "" }

// eventsPage is the events list with its filter sidebar.
type eventsPage struct {
	Filter       filter
	Error        string
	Rows         []row
	Chips        []chip
	Actions      []actionLink
	MoreActions  int
	Ranges       []rangeLink
	Newer, Older string
	ClearURL     string
	ExportCSV    string
	ExportJSONL  string
	LiveURL      string
	Total        int64 // from the rollup; -1 when unknown
	Heading      string
	// SearchedFrom, when set, is where a bounded free-text search
	// stopped: events before it were not searched; Older continues.
	SearchedFrom time.Time
}

func (p *eventsPage) title() (string, string) { return "Events", "events" }

type actionLink struct {
	Action   string
	Count    int64
	Selected bool
	URL      string
}

type rangeLink struct {
	Key, Label, URL string
	Selected        bool
}

// maxSidebarActions bounds the action list; the rest are reachable by
// the search box or by typing the action in the URL.
const maxSidebarActions = 40

func (h *Handler) eventsPage(w http.ResponseWriter, r *http.Request) {
	f := parseFilter(r.URL.Query())
	p := &eventsPage{Filter: f, Total: -1, Heading: "Events"}
	status := http.StatusOK
	now := h.now()
	q, err := f.query(now, h.pageSize)
	var page eventlog.Page
	var from time.Time // start of a free-text search's window, if bounded
	if err == nil && windowed(q) {
		if from, err = h.searchWindow(r.Context(), q, now); err == nil && !from.IsZero() {
			q.Since = from
		}
	}
	if err == nil {
		page, err = h.store.Query(r.Context(), q)
	}
	if err != nil {
		if !isInvalid(err) {
			h.fail(w, r, err)
			return
		}
		p.Error, status = err.Error(), http.StatusBadRequest
	}
	if !from.IsZero() && page.Next == nil {
		// The window ended before a page was full: older events were
		// not searched. Continue strictly before the window's start.
		page.Next = &eventlog.Cursor{Timestamp: from, ID: oldestCursorID}
		p.SearchedFrom = from
	}
	for _, e := range page.Events {
		p.Rows = append(p.Rows, h.row(e))
	}
	acts, err := h.store.Actions(r.Context())
	if err != nil {
		h.fail(w, r, err)
		return
	}
	h.fillSidebar(p, f, acts)
	h.fillPaging(p, f, page)
	h.render(w, r, status, "events", p)
}

func isInvalid(err error) bool { return errors.Is(err, eventlog.ErrInvalid) }

func (h *Handler) fillSidebar(p *eventsPage, f filter, acts []eventlog.ActionCount) {
	events := func(g filter) string { return h.link("events", g.values()) }
	var total int64
	for i, a := range acts {
		sel := f.hasAction(a.Action)
		if sel {
			total += a.Count
		} else if f.onlyActions() && len(f.Actions) == 0 {
			total += a.Count
		}
		if i < maxSidebarActions || sel {
			p.Actions = append(p.Actions, actionLink{a.Action, a.Count, sel, events(f.toggleAction(a.Action))})
		} else {
			p.MoreActions++
		}
	}
	if f.onlyActions() {
		p.Total = total
	}
	for _, rg := range ranges[:len(ranges)-1] {
		g := f
		g.Range, g.Since, g.Until = rg.Key, "", ""
		if f.Range == rg.Key {
			g.Range = "" // clicking the selected range removes it
		}
		p.Ranges = append(p.Ranges, rangeLink{rg.Key, rg.Label, events(g), f.Range == rg.Key})
	}
	p.Chips = f.chips(events)
	p.ClearURL = h.base + "events"
	p.ExportCSV = h.link("export.csv", f.values())
	p.ExportJSONL = h.link("export.jsonl", f.values())
	p.LiveURL = h.link("live", f.values())
}

// fillPaging makes the newer/older links. Older continues after the
// page's last event; newer pops the stack of cursors that led here.
func (h *Handler) fillPaging(p *eventsPage, f filter, page eventlog.Page) {
	p.Older, p.Newer = pagingLinks(f, page, func(v url.Values) string { return h.link("events", v) })
}

func pagingLinks(f filter, page eventlog.Page, link func(url.Values) string) (older, newer string) {
	if page.Next != nil {
		v := f.values()
		v.Set("after", page.Next.String())
		cur := f.After
		if cur == "" {
			cur = firstPage
		}
		back := append(append([]string(nil), f.Back...), cur)
		if len(back) > maxBack {
			back = back[len(back)-maxBack:]
		}
		v.Set("back", strings.Join(back, "~"))
		older = link(v)
	}
	if f.After != "" {
		v := f.values()
		if n := len(f.Back); n > 0 {
			if prev := f.Back[n-1]; prev != firstPage {
				v.Set("after", prev)
			}
			if n > 1 {
				v.Set("back", strings.Join(f.Back[:n-1], "~"))
			}
		}
		newer = link(v)
	}
	return older, newer
}

// eventPage shows one event in full.
type eventDetail struct {
	Row      row
	Extra    string
	Context  []kv
	Sentence template.HTML
}

type kv struct{ Key, Value string }

func (p *eventDetail) title() (string, string) { return "Event " + p.Row.Action, "events" }

func (h *Handler) eventPage(w http.ResponseWriter, r *http.Request) {
	e, err := h.store.Get(r.Context(), r.PathValue("id"))
	if err != nil {
		h.fail(w, r, err)
		return
	}
	p := &eventDetail{Row: h.row(e), Sentence: h.sentence(e)}
	var pretty bytes.Buffer
	if json.Indent(&pretty, e.Extra, "", "  ") == nil {
		p.Extra = pretty.String()
	} else {
		p.Extra = string(e.Extra)
	}
	if c := e.Context; !c.IsZero() {
		for _, f := range []kv{{"IP", c.IP}, {"User agent", c.UserAgent}, {"Request id", c.RequestID}, {"Trace id", c.TraceID}, {"Method", c.Method}, {"Path", c.Path}} {
			if f.Value != "" {
				p.Context = append(p.Context, f)
			}
		}
	}
	h.render(w, r, http.StatusOK, "event", p)
}

// templateEvent is what a host template receives: the event, with its
// extra decoded as Data.
type templateEvent struct {
	eventlog.Event
	Data any
}

// sentence renders e in words with the host's template for its action,
// or else as a sentence from its fields: Alice created widget “42”.
func (h *Handler) sentence(e eventlog.Event) template.HTML {
	if h.hostTmpl != nil {
		t, err := h.hostTmpl.lookup(e.TemplateName())
		if err != nil {
			h.log.Error("admin: host template", "name", e.TemplateName(), "err", err)
		} else if t != nil {
			te := templateEvent{Event: e}
			json.Unmarshal(e.Extra, &te.Data)
			var buf bytes.Buffer
			if err := t.Execute(&buf, te); err == nil {
				// html/template escaped the event's fields already.
				return template.HTML(buf.String())
			} else {
				h.log.Error("admin: host template", "name", e.TemplateName(), "err", err)
			}
		}
	}
	who := "Someone"
	if e.User != nil {
		who = e.User.Name
		if who == "" {
			who = e.User.ID
		}
	}
	act := humanAction(e.Action)
	s := template.HTMLEscapeString(who) + " " + template.HTMLEscapeString(act)
	if e.Object != nil {
		// "created widget" already names the type: no "created widget widget 7".
		if !strings.HasSuffix(act, " "+strings.ToLower(e.Object.Type)) {
			s += " " + template.HTMLEscapeString(e.Object.Type)
		}
		s += " <q>" + template.HTMLEscapeString(e.Object.ID) + "</q>"
	}
	return template.HTML(s)
}

// humanAction turns CREATED_FOO_WIDGET into "created foo widget".
func humanAction(a string) string {
	return strings.ToLower(strings.ReplaceAll(a, "_", " "))
}

// timelinePage lists the events of one user or one object, by day.
type timelinePage struct {
	Heading      string
	Kind         string
	Days         []timelineDay
	Older, Newer string
	EventsURL    string
	Error        string
}

type timelineDay struct {
	Day  string
	Rows []row
}

func (p *timelinePage) title() (string, string) { return p.Heading, "events" }

func (h *Handler) userTimeline(w http.ResponseWriter, r *http.Request) {
	id := r.URL.Query().Get("id")
	if id == "" {
		h.fail(w, r, &eventlog.ValidationError{Field: "id", Index: -1, Message: "is required"})
		return
	}
	h.timeline(w, r, filter{User: id}, "User "+id, "user", url.Values{"id": {id}}, "user")
}

func (h *Handler) objectTimeline(w http.ResponseWriter, r *http.Request) {
	v := r.URL.Query()
	typ, id := v.Get("type"), v.Get("id")
	if typ == "" {
		h.fail(w, r, &eventlog.ValidationError{Field: "type", Index: -1, Message: "is required"})
		return
	}
	fv := url.Values{"type": {typ}}
	heading := "Object " + typ
	if id != "" {
		fv.Set("id", id)
		heading += " " + id
	}
	h.timeline(w, r, filter{ObjectType: typ, ObjectID: id}, heading, "object", fv, "object")
}

func (h *Handler) timeline(w http.ResponseWriter, r *http.Request, f filter, heading, kind string, self url.Values, path string) {
	pv := r.URL.Query()
	f.After = pv.Get("after")
	if b := pv.Get("back"); b != "" {
		f.Back = strings.Split(b, "~")
	}
	p := &timelinePage{Heading: heading, Kind: kind, EventsURL: h.link("events", f.values())}
	q, err := f.query(h.now(), h.pageSize)
	var page eventlog.Page
	if err == nil {
		page, err = h.store.Query(r.Context(), q)
	}
	if err != nil {
		h.fail(w, r, err)
		return
	}
	for _, e := range page.Events {
		day := e.Timestamp.UTC().Format("Monday 2 January 2006")
		if n := len(p.Days); n == 0 || p.Days[n-1].Day != day {
			p.Days = append(p.Days, timelineDay{Day: day})
		}
		rw := h.row(e)
		rw.Sentence = h.sentence(e)
		p.Days[len(p.Days)-1].Rows = append(p.Days[len(p.Days)-1].Rows, rw)
	}
	p.Older, p.Newer = pagingLinks(f, page, func(v url.Values) string {
		for k, vs := range self {
			v[k] = vs
		}
		v.Del("user")
		v.Del("otype")
		v.Del("oid")
		return h.link(path, v)
	})
	h.render(w, r, http.StatusOK, "timeline", p)
}

// dashboardPage shows the four stats, the top actions and the charts,
// which its script draws from dashboard.json.
type dashboardPage struct {
	Stats      eventlog.Stats
	Top        []eventlog.ActionCount
	Ranges     []rangeLink
	Range      string
	DataURL    string
	TotalCount int64
}

func (p *dashboardPage) title() (string, string) { return "Dashboard", "dashboard" }

var dashboardRanges = []struct {
	Key, Label string
	Days       int
}{{"7d", "7 days", 7}, {"30d", "30 days", 30}, {"90d", "90 days", 90}, {"365d", "365 days", 365}}

func dashboardDays(key string) (string, int) {
	for _, r := range dashboardRanges {
		if r.Key == key {
			return r.Key, r.Days
		}
	}
	return "30d", 30
}

// topActions is how many actions the chart stacks; the rest are "other".
const topActions = 6

func (h *Handler) dashboardPage(w http.ResponseWriter, r *http.Request) {
	key, _ := dashboardDays(r.URL.Query().Get("range"))
	stats, err := h.store.Stats(r.Context(), h.now())
	if err != nil {
		h.fail(w, r, err)
		return
	}
	acts, err := h.store.Actions(r.Context())
	if err != nil {
		h.fail(w, r, err)
		return
	}
	p := &dashboardPage{Stats: stats, Range: key, DataURL: h.base + "dashboard.json?range=" + key}
	for _, a := range acts {
		p.TotalCount += a.Count
	}
	if len(acts) > 10 {
		acts = acts[:10]
	}
	p.Top = acts
	for _, rg := range dashboardRanges {
		p.Ranges = append(p.Ranges, rangeLink{rg.Key, rg.Label, h.base + "dashboard?range=" + rg.Key, rg.Key == key})
	}
	h.render(w, r, http.StatusOK, "dashboard", p)
}

// dashboardData is the JSON the dashboard's charts draw: day starts in
// Unix seconds, one count series per top action plus "other", and the
// daily active users.
type dashboardData struct {
	Days   []int64       `json:"days"`
	Series []seriesCount `json:"series"`
	Active []int64       `json:"active"`
}

type seriesCount struct {
	Action string  `json:"action"`
	Counts []int64 `json:"counts"`
}

func (h *Handler) dashboardJSON(w http.ResponseWriter, r *http.Request) {
	_, days := dashboardDays(r.URL.Query().Get("range"))
	ctx := r.Context()
	now := h.now().UTC()
	sq := eventlog.SeriesQuery{Interval: eventlog.Day, Since: now.Truncate(24 * time.Hour).Add(-time.Duration(days-1) * 24 * time.Hour), Until: now}
	if err := sq.Normalize(); err != nil {
		h.fail(w, r, err)
		return
	}
	all, err := h.store.Series(ctx, sq)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	acts, err := h.store.Actions(ctx)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	d := dashboardData{}
	other := make([]int64, len(all))
	for i, b := range all {
		d.Days = append(d.Days, b.Start.Unix())
		other[i] = b.Count
	}
	// The all-time top actions may be quiet in this range: fetch twice as
	// many candidates as are stacked and keep the busiest in the range.
	// The queries read the hourly rollup and run a few at a time.
	type ranked struct {
		s   seriesCount
		sum int64
	}
	if len(acts) > 2*topActions {
		acts = acts[:2*topActions]
	}
	rs := make([]ranked, len(acts))
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(4)
	for i, a := range acts {
		g.Go(func() error {
			one := sq
			one.Actions = []string{a.Action}
			bs, err := h.store.Series(gctx, one)
			if err != nil {
				return err
			}
			rk := ranked{s: seriesCount{Action: a.Action, Counts: make([]int64, len(bs))}}
			for j, b := range bs {
				rk.s.Counts[j] = b.Count
				rk.sum += b.Count
			}
			rs[i] = rk
			return nil
		})
	}
	var active []eventlog.Bucket
	g.Go(func() error {
		var err error
		active, err = h.store.ActiveUsers(gctx, sq)
		return err
	})
	if err := g.Wait(); err != nil {
		h.fail(w, r, err)
		return
	}
	rs = slices.DeleteFunc(rs, func(rk ranked) bool { return rk.sum == 0 })
	sort.SliceStable(rs, func(i, j int) bool { return rs[i].sum > rs[j].sum })
	if len(rs) > topActions {
		rs = rs[:topActions]
	}
	for _, rk := range rs {
		for j, c := range rk.s.Counts {
			if j < len(other) {
				other[j] -= c
			}
		}
		d.Series = append(d.Series, rk.s)
	}
	for _, c := range other {
		if c > 0 {
			d.Series = append(d.Series, seriesCount{Action: "other", Counts: other})
			break
		}
	}
	for _, b := range active {
		d.Active = append(d.Active, b.Count)
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	json.NewEncoder(w).Encode(d)
}
