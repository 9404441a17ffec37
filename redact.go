package eventlog

import (
	"bytes"
	"encoding/json"
	"strings"
)

// Redacted is the value that replaces the value of a redacted key.
const Redacted = "[redacted]"

var redactedJSON = []byte(`"` + Redacted + `"`)

// DefaultRedactKeys returns the key names a Logger redacts when
// Config.RedactKeys is nil: password, passwd, secret, token, api_key,
// authorization, cookie, credit_card and ssn.
func DefaultRedactKeys() []string {
	return []string{"password", "passwd", "secret", "token", "api_key", "authorization", "cookie", "credit_card", "ssn"}
}

// Redactor replaces the values of sensitive keys in an event's extra and
// context by "[redacted]". A key matches when its whole name equals one of
// the configured names, ignoring case ("Password" matches "password";
// "password_hint" does not). Keys match at any depth of extra, in objects
// nested in objects and arrays. The value of a matching key, whatever its
// type (a string, a number, an object, an array), becomes the string
// "[redacted]".
//
// Extra that holds no matching key is returned unchanged, byte for byte,
// without allocating. A nil *Redactor redacts nothing.
type Redactor struct {
	keys  [][]byte
	names []string
}

// NewRedactor returns a Redactor for these key names, or nil (redact
// nothing) when keys is empty. Empty names are ignored.
func NewRedactor(keys []string) *Redactor {
	r := &Redactor{}
	for _, k := range keys {
		k = strings.TrimSpace(k)
		if k == "" {
			continue
		}
		r.keys = append(r.keys, []byte(k))
		r.names = append(r.names, k)
	}
	if len(r.keys) == 0 {
		return nil
	}
	return r
}

// Keys returns the key names r redacts.
func (r *Redactor) Keys() []string {
	if r == nil {
		return nil
	}
	return append([]string(nil), r.names...)
}

// RedactEvent redacts e's extra and context in place and reports whether
// it changed anything. e.Extra must be valid JSON (as after Normalize).
func (r *Redactor) RedactEvent(e *Event) bool {
	if r == nil {
		return false
	}
	changed := false
	if out, ok := r.RedactJSON(e.Extra); ok {
		e.Extra, changed = out, true
	}
	if c := e.Context; c != nil {
		fields := [...]struct {
			name string
			v    *string
		}{
			{"ip", &c.IP}, {"user_agent", &c.UserAgent}, {"request_id", &c.RequestID},
			{"trace_id", &c.TraceID}, {"method", &c.Method}, {"path", &c.Path},
		}
		var copied *RequestContext
		for _, f := range fields {
			if *f.v == "" || *f.v == Redacted || !r.matchString(f.name) {
				continue
			}
			if copied == nil {
				// The caller's RequestContext may be shared (a context
				// value); redact a copy.
				cc := *c
				copied = &cc
			}
			switch f.name {
			case "ip":
				copied.IP = Redacted
			case "user_agent":
				copied.UserAgent = Redacted
			case "request_id":
				copied.RequestID = Redacted
			case "trace_id":
				copied.TraceID = Redacted
			case "method":
				copied.Method = Redacted
			case "path":
				copied.Path = Redacted
			}
		}
		if copied != nil {
			e.Context, changed = copied, true
		}
	}
	return changed
}

func (r *Redactor) matchString(name string) bool {
	for _, k := range r.names {
		if strings.EqualFold(k, name) {
			return true
		}
	}
	return false
}

// matchKey reports whether the raw JSON string token key (quotes
// included) names a redacted key.
func (r *Redactor) matchKey(key []byte) bool {
	inner := key[1 : len(key)-1]
	if bytes.IndexByte(inner, '\\') >= 0 {
		var s string
		if json.Unmarshal(key, &s) != nil {
			return false
		}
		return r.matchString(s)
	}
	for _, k := range r.keys {
		if bytes.EqualFold(k, inner) {
			return true
		}
	}
	return false
}

// span is a byte range [start, end) of a value to replace.
type span struct{ start, end int }

// RedactJSON returns raw with the value of every matching key replaced by
// "[redacted]", and true, or raw itself and false when no key matches (or
// raw is not valid JSON). Everything but the replaced values is kept byte
// for byte.
func (r *Redactor) RedactJSON(raw []byte) ([]byte, bool) {
	if r == nil || len(raw) == 0 {
		return raw, false
	}
	var spans []span
	end, ok := r.walk(raw, skipSpace(raw, 0), &spans)
	if !ok || skipSpace(raw, end) != len(raw) || len(spans) == 0 {
		return raw, false
	}
	out := make([]byte, 0, len(raw)+len(spans)*len(redactedJSON))
	prev := 0
	for _, s := range spans {
		out = append(out, raw[prev:s.start]...)
		out = append(out, redactedJSON...)
		prev = s.end
	}
	return append(out, raw[prev:]...), true
}

// walk scans the JSON value starting at i, records the values of matching
// keys in spans (in order) and returns the index after the value.
func (r *Redactor) walk(b []byte, i int, spans *[]span) (int, bool) {
	if i >= len(b) {
		return i, false
	}
	switch b[i] {
	case '{':
		i = skipSpace(b, i+1)
		if i < len(b) && b[i] == '}' {
			return i + 1, true
		}
		for {
			if i >= len(b) || b[i] != '"' {
				return i, false
			}
			keyEnd, ok := skipString(b, i)
			if !ok {
				return i, false
			}
			match := r.matchKey(b[i:keyEnd])
			i = skipSpace(b, keyEnd)
			if i >= len(b) || b[i] != ':' {
				return i, false
			}
			start := skipSpace(b, i+1)
			end, ok := r.walk(b, start, spansIf(!match, spans))
			if !ok {
				return end, false
			}
			if match {
				*spans = append(*spans, span{start, end})
			}
			i = skipSpace(b, end)
			if i >= len(b) {
				return i, false
			}
			if b[i] == '}' {
				return i + 1, true
			}
			if b[i] != ',' {
				return i, false
			}
			i = skipSpace(b, i+1)
		}
	case '[':
		i = skipSpace(b, i+1)
		if i < len(b) && b[i] == ']' {
			return i + 1, true
		}
		for {
			end, ok := r.walk(b, i, spans)
			if !ok {
				return end, false
			}
			i = skipSpace(b, end)
			if i >= len(b) {
				return i, false
			}
			if b[i] == ']' {
				return i + 1, true
			}
			if b[i] != ',' {
				return i, false
			}
			i = skipSpace(b, i+1)
		}
	case '"':
		return skipString(b, i)
	default: // number, true, false, null
		j := i
		for j < len(b) {
			switch b[j] {
			case ',', '}', ']', ' ', '\t', '\n', '\r':
				return j, j > i
			}
			j++
		}
		return j, j > i
	}
}

// spansIf returns spans, or a throwaway when the enclosing value is
// already redacted as a whole and its inner matches do not matter.
func spansIf(keep bool, spans *[]span) *[]span {
	if keep {
		return spans
	}
	return new([]span)
}

func skipString(b []byte, i int) (int, bool) {
	for j := i + 1; j < len(b); j++ {
		switch b[j] {
		case '\\':
			j++
		case '"':
			return j + 1, true
		}
	}
	return len(b), false
}

func skipSpace(b []byte, i int) int {
	for i < len(b) && (b[i] == ' ' || b[i] == '\t' || b[i] == '\n' || b[i] == '\r') {
		i++
	}
	return i
}
