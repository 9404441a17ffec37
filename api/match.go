package api

import (
	"bytes"
	"encoding/json"
	"strings"

	"github.com/eventlog/eventlog"
)

// matches reports whether e passes the filters of q, the same filters the
// stores apply to a query (limit and cursor aside), so a stream shows
// what a list with the same parameters would.
func matches(q *eventlog.Query, e *eventlog.Event) bool {
	if len(q.Actions) > 0 {
		ok := false
		for _, a := range q.Actions {
			if a == e.Action {
				ok = true
				break
			}
		}
		if !ok {
			return false
		}
	}
	if q.UserID != "" && (e.User == nil || e.User.ID != q.UserID) {
		return false
	}
	if q.ObjectType != "" && (e.Object == nil || e.Object.Type != q.ObjectType) {
		return false
	}
	if q.ObjectID != "" && (e.Object == nil || e.Object.ID != q.ObjectID) {
		return false
	}
	if !q.Since.IsZero() && e.Timestamp.Before(q.Since) {
		return false
	}
	if !q.Until.IsZero() && !e.Timestamp.Before(q.Until) {
		return false
	}
	if q.Text != "" && !containsText(e, q.Text) {
		return false
	}
	if len(q.Where) > 0 {
		var extra map[string]json.RawMessage
		if json.Unmarshal(e.Extra, &extra) != nil {
			return false
		}
		for _, w := range q.Where {
			raw, ok := extra[w.Key]
			if !ok || !jsonEqual(raw, w.Value) {
				return false
			}
		}
	}
	return true
}

func containsText(e *eventlog.Event, text string) bool {
	t := strings.ToLower(text)
	in := func(s string) bool { return strings.Contains(strings.ToLower(s), t) }
	if in(e.Action) || in(string(e.Extra)) {
		return true
	}
	if e.User != nil && (in(e.User.ID) || in(e.User.Name)) {
		return true
	}
	return e.Object != nil && (in(e.Object.Type) || in(e.Object.ID))
}

// jsonEqual compares a stored JSON value with a Where value: numbers
// numerically, strings, booleans and null exactly.
func jsonEqual(raw json.RawMessage, want any) bool {
	raw = bytes.TrimSpace(raw)
	switch v := want.(type) {
	case nil:
		return string(raw) == "null"
	case bool:
		return (v && string(raw) == "true") || (!v && string(raw) == "false")
	case string:
		var s string
		return len(raw) > 0 && raw[0] == '"' && json.Unmarshal(raw, &s) == nil && s == v
	case float64:
		var f float64
		return len(raw) > 0 && (raw[0] == '-' || (raw[0] >= '0' && raw[0] <= '9')) && json.Unmarshal(raw, &f) == nil && f == v
	}
	return false
}
