package admin

import (
	"net/url"
	"strings"
	"time"

	"github.com/eventlog/eventlog"
)

// filter is the events filter as it lives in the URL, so a view can be
// bookmarked and shared. Parameters: action (repeatable), user, otype,
// oid, where (repeatable KEY=VALUE), q, range (today, 7d, 30d, year,
// custom with since and until as YYYY-MM-DD, until inclusive), after (a
// cursor) and back (the cursors of the newer pages, "~"-separated).
type filter struct {
	Actions    []string
	User       string
	ObjectType string
	ObjectID   string
	Where      []string
	Text       string
	Range      string
	Since      string
	Until      string
	After      string
	Back       []string
}

// firstPage stands for "no cursor" in the back stack.
const firstPage = "first"

// maxBack bounds the back stack so URLs stay short; past it, "newer"
// from the deepest pages returns to the first page.
const maxBack = 40

var ranges = []struct{ Key, Label string }{
	{"today", "Today"}, {"7d", "Last 7 days"}, {"30d", "Last 30 days"}, {"year", "This year"}, {"custom", "Custom range"},
}

func parseFilter(v url.Values) filter {
	f := filter{
		Actions:    nonEmpty(v["action"]),
		User:       strings.TrimSpace(v.Get("user")),
		ObjectType: strings.TrimSpace(v.Get("otype")),
		ObjectID:   strings.TrimSpace(v.Get("oid")),
		Where:      nonEmpty(v["where"]),
		Text:       strings.TrimSpace(v.Get("q")),
		Range:      v.Get("range"),
		Since:      v.Get("since"),
		Until:      v.Get("until"),
		After:      v.Get("after"),
	}
	if b := v.Get("back"); b != "" {
		f.Back = strings.Split(b, "~")
	}
	// Dates typed in the form win over a quick range kept from before;
	// the quick-range links drop the dates.
	if f.Since != "" || f.Until != "" {
		f.Range = "custom"
	}
	return f
}

func nonEmpty(ss []string) []string {
	var out []string
	for _, s := range ss {
		if s = strings.TrimSpace(s); s != "" {
			out = append(out, s)
		}
	}
	return out
}

// query turns the filter into an eventlog.Query, validated; errors are
// *eventlog.ValidationError naming the parameter.
func (f filter) query(now time.Time, limit int) (eventlog.Query, error) {
	q := eventlog.Query{
		Actions:    f.Actions,
		UserID:     f.User,
		ObjectType: f.ObjectType,
		ObjectID:   f.ObjectID,
		Text:       f.Text,
		Limit:      limit,
	}
	for _, w := range f.Where {
		pw, err := eventlog.ParseWhere(w)
		if err != nil {
			return q, err
		}
		q.Where = append(q.Where, pw)
	}
	now = now.UTC()
	day := now.Truncate(24 * time.Hour)
	switch f.Range {
	case "":
	case "today":
		q.Since = day
	case "7d":
		q.Since = now.Add(-7 * 24 * time.Hour)
	case "30d":
		q.Since = now.Add(-30 * 24 * time.Hour)
	case "year":
		q.Since = time.Date(now.Year(), 1, 1, 0, 0, 0, 0, time.UTC)
	case "custom":
		if f.Since != "" {
			t, err := time.Parse(time.DateOnly, f.Since)
			if err != nil {
				return q, &eventlog.ValidationError{Field: "since", Index: -1, Message: "must be a date like 2026-01-31"}
			}
			q.Since = t
		}
		if f.Until != "" {
			t, err := time.Parse(time.DateOnly, f.Until)
			if err != nil {
				return q, &eventlog.ValidationError{Field: "until", Index: -1, Message: "must be a date like 2026-01-31"}
			}
			q.Until = t.Add(24 * time.Hour) // the until day is included
		}
	default:
		return q, &eventlog.ValidationError{Field: "range", Index: -1, Message: "must be today, 7d, 30d, year or custom"}
	}
	if f.After != "" {
		c, err := eventlog.ParseCursor(f.After)
		if err != nil {
			return q, err
		}
		q.After = c
	}
	err := q.Normalize()
	return q, err
}

// values is the filter without its page position.
func (f filter) values() url.Values {
	v := url.Values{}
	for _, a := range f.Actions {
		v.Add("action", a)
	}
	set := func(k, s string) {
		if s != "" {
			v.Set(k, s)
		}
	}
	set("user", f.User)
	set("otype", f.ObjectType)
	set("oid", f.ObjectID)
	for _, w := range f.Where {
		v.Add("where", w)
	}
	set("q", f.Text)
	set("range", f.Range)
	if f.Range == "custom" {
		set("since", f.Since)
		set("until", f.Until)
	}
	return v
}

// empty reports whether the filter keeps every event.
func (f filter) empty() bool { return len(f.values()) == 0 }

// onlyActions reports whether the filter has no condition but actions,
// so the rollup's counts give its exact total.
func (f filter) onlyActions() bool {
	g := f
	g.Actions, g.After, g.Back = nil, "", nil
	return g.empty()
}

func (f filter) hasAction(a string) bool {
	for _, x := range f.Actions {
		if x == a {
			return true
		}
	}
	return false
}

// toggleAction returns the filter with action a added or removed.
func (f filter) toggleAction(a string) filter {
	g := f
	g.Actions = nil
	found := false
	for _, x := range f.Actions {
		if x == a {
			found = true
			continue
		}
		g.Actions = append(g.Actions, x)
	}
	if !found {
		g.Actions = append(g.Actions, a)
	}
	return g
}

// chip is one active filter condition with the URL that removes it.
type chip struct {
	Label  string
	Value  string
	Remove string
}

func (f filter) chips(link func(filter) string) []chip {
	var out []chip
	for _, a := range f.Actions {
		out = append(out, chip{"action", a, link(f.toggleAction(a))})
	}
	add := func(label, value string, clear func(*filter)) {
		if value == "" {
			return
		}
		g := f
		clear(&g)
		out = append(out, chip{label, value, link(g)})
	}
	add("user", f.User, func(g *filter) { g.User = "" })
	add("object type", f.ObjectType, func(g *filter) { g.ObjectType = "" })
	add("object id", f.ObjectID, func(g *filter) { g.ObjectID = "" })
	for i, w := range f.Where {
		g := f
		g.Where = append(append([]string(nil), f.Where[:i]...), f.Where[i+1:]...)
		out = append(out, chip{"extra", w, link(g)})
	}
	add("search", f.Text, func(g *filter) { g.Text = "" })
	label := f.Range
	for _, r := range ranges {
		if r.Key == f.Range {
			label = r.Label
		}
	}
	if f.Range == "custom" {
		label = strings.TrimSpace(f.Since + " – " + f.Until)
	}
	add("date", label, func(g *filter) { g.Range, g.Since, g.Until = "", "", "" })
	return out
}
