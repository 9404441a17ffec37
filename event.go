package eventlog

import (
	"bytes"
	"encoding/json"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/google/uuid"
)

// Limits enforced by Normalize.
const (
	MaxActionLen = 128      // characters
	MaxExtraSize = 64 << 10 // bytes of compact JSON
	MaxFieldLen  = 1024     // characters of user, object and context fields
	timeLayout   = "2006-01-02T15:04:05.000000Z"
)

// Event is one thing that happened. Its JSON form (MarshalJSON) is the
// canonical form used by the CLI, the HTTP API, export and import.
type Event struct {
	// ID is a UUID; Normalize assigns a UUIDv7 when it is empty. Storing an
	// event whose ID is already stored stores nothing and returns the
	// stored event, so retries are idempotent.
	ID string
	// Timestamp is when it happened, UTC, microsecond precision.
	// Defaults to now.
	Timestamp time.Time
	// Action names what happened, by convention in ALL_CAPS
	// (CREATED_FOO_WIDGET). Required, 1–128 characters, no control
	// characters.
	Action string
	// User is the actor, or nil for none (anonymous).
	User *User
	// Object links the event to any object, or nil.
	Object *Object
	// Extra is any JSON value, at most 64 KiB; defaults to {}.
	Extra json.RawMessage
	// Context is request metadata, or nil.
	Context *RequestContext
}

// User is the actor of an event. ID is required; Name is a display name.
type User struct {
	ID   string `json:"id"`
	Name string `json:"name"`
}

// Object is a generic link to any object of the application (pinax's
// generic foreign key). Both fields are required.
type Object struct {
	Type string `json:"type"`
	ID   string `json:"id"`
}

// Objecter is implemented by application values that can describe
// themselves as the object of an event.
type Objecter interface {
	EventObject() Object
}

// ObjectOf returns the object link of v, or nil when v is nil.
func ObjectOf(v Objecter) *Object {
	if v == nil {
		return nil
	}
	o := v.EventObject()
	return &o
}

// RequestContext is request metadata recorded with an event.
type RequestContext struct {
	IP        string `json:"ip,omitempty"`
	UserAgent string `json:"user_agent,omitempty"`
	RequestID string `json:"request_id,omitempty"`
	TraceID   string `json:"trace_id,omitempty"`
	Method    string `json:"method,omitempty"`
	Path      string `json:"path,omitempty"`
}

// IsZero reports whether no field is set.
func (c *RequestContext) IsZero() bool { return c == nil || *c == RequestContext{} }

// TemplateName is the name of the template fragment that renders this
// event in words: "eventlog/<action lowercased>.html" (pinax's
// template_fragment_name).
func (e Event) TemplateName() string {
	return "eventlog/" + strings.ToLower(e.Action) + ".html"
}

// NewID returns a new UUIDv7 string (time-ordered).
func NewID() string {
	id, err := uuid.NewV7()
	if err != nil { // only when the system random source fails
		return uuid.NewString()
	}
	return id.String()
}

// Normalize validates e and fills defaults in place: a UUIDv7 id, the
// timestamp now (truncated to microseconds, UTC), {} for missing extra,
// compact extra, no user for an anonymous one, no context when empty.
// Errors are *ValidationError naming the field.
func (e *Event) Normalize(now time.Time) error {
	if e.ID == "" {
		e.ID = NewID()
	} else {
		u, err := uuid.Parse(e.ID)
		if err != nil || len(e.ID) != 36 {
			return invalid("id", "must be a UUID in the form xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx")
		}
		e.ID = u.String()
	}
	if e.Timestamp.IsZero() {
		e.Timestamp = now
	}
	e.Timestamp = e.Timestamp.UTC().Truncate(time.Microsecond)
	if y := e.Timestamp.Year(); y < 1 || y > 9999 {
		return invalid("timestamp", "year %d is out of range 1–9999", y)
	}
	if err := ValidateAction(e.Action); err != nil {
		return err
	}
	if e.User != nil {
		if e.User.ID == "" && e.User.Name == "" {
			e.User = nil // anonymous: stored as no user, as pinax does
		} else {
			if e.User.ID == "" {
				return invalid("user.id", "is required when a user is given")
			}
			if err := checkText("user.id", e.User.ID); err != nil {
				return err
			}
			if err := checkText("user.name", e.User.Name); err != nil {
				return err
			}
		}
	}
	if e.Object != nil {
		if e.Object.Type == "" {
			return invalid("object.type", "is required when an object is given")
		}
		if e.Object.ID == "" {
			return invalid("object.id", "is required when an object is given")
		}
		if err := checkText("object.type", e.Object.Type); err != nil {
			return err
		}
		if err := checkText("object.id", e.Object.ID); err != nil {
			return err
		}
	}
	if err := normalizeExtra(&e.Extra); err != nil {
		return err
	}
	if e.Context.IsZero() {
		e.Context = nil
	} else {
		c := e.Context
		for _, f := range [...]struct{ name, v string }{
			{"context.ip", c.IP}, {"context.user_agent", c.UserAgent}, {"context.request_id", c.RequestID},
			{"context.trace_id", c.TraceID}, {"context.method", c.Method}, {"context.path", c.Path},
		} {
			if err := checkText(f.name, f.v); err != nil {
				return err
			}
		}
	}
	return nil
}

// ValidateAction checks an action name: 1–128 characters, valid UTF-8, no
// control characters.
func ValidateAction(a string) error {
	if a == "" {
		return invalid("action", "is required")
	}
	if !utf8.ValidString(a) {
		return invalid("action", "must be valid UTF-8")
	}
	if n := utf8.RuneCountInString(a); n > MaxActionLen {
		return invalid("action", "is %d characters long; the limit is %d", n, MaxActionLen)
	}
	for _, r := range a {
		if unicode.IsControl(r) {
			return invalid("action", "must not contain control characters")
		}
	}
	return nil
}

func checkText(field, s string) error {
	if !utf8.ValidString(s) {
		return invalid(field, "must be valid UTF-8")
	}
	if n := utf8.RuneCountInString(s); n > MaxFieldLen {
		return invalid(field, "is %d characters long; the limit is %d", n, MaxFieldLen)
	}
	if strings.IndexByte(s, 0) >= 0 {
		return invalid(field, "must not contain NUL characters")
	}
	return nil
}

var emptyObject = json.RawMessage("{}")

func normalizeExtra(x *json.RawMessage) error {
	raw := bytes.TrimSpace(*x)
	if len(raw) == 0 {
		*x = emptyObject
		return nil
	}
	if !json.Valid(raw) {
		return invalid("extra", "is not valid JSON")
	}
	if !isCompact(raw) {
		var buf bytes.Buffer
		buf.Grow(len(raw))
		if err := json.Compact(&buf, raw); err != nil {
			return invalid("extra", "is not valid JSON")
		}
		raw = buf.Bytes()
	}
	if len(raw) > MaxExtraSize {
		return invalid("extra", "is %d bytes; the limit is %d (64 KiB)", len(raw), MaxExtraSize)
	}
	if bytes.IndexByte(raw, 0) >= 0 || bytes.Contains(raw, []byte(`\u0000`)) {
		return invalid("extra", "must not contain NUL characters")
	}
	// encoding/json accepts both, but PostgreSQL refuses them, so one store
	// would fail an event that another stores.
	if !utf8.Valid(raw) {
		return invalid("extra", "must be valid UTF-8")
	}
	if !pairedSurrogates(raw) {
		return invalid("extra", `must not contain an unpaired UTF-16 surrogate escape such as \ud800`)
	}
	if bytes.Contains(raw, []byte(`\u`)) && hasLoneSurrogate(raw) {
		return invalid("extra", "contains a \\u escape of an unpaired UTF-16 surrogate, which is not valid text")
	}
	*x = raw
	return nil
}

// pairedSurrogates reports whether every \uD800–\uDBFF escape in valid
// JSON is followed by a \uDC00–\uDFFF escape and every low surrogate
// escape follows a high one.
func pairedSurrogates(raw []byte) bool {
	if !bytes.Contains(raw, []byte(`\u`)) {
		return true
	}
	wantLow := false
	for i := 0; i < len(raw); i++ {
		if raw[i] != '\\' {
			if wantLow {
				return false
			}
			continue
		}
		i++ // raw[i] is the escaped character; valid JSON has one
		if raw[i] != 'u' {
			if wantLow {
				return false
			}
			continue
		}
		var r rune
		for _, c := range raw[i+1 : i+5] {
			r <<= 4
			switch {
			case c >= '0' && c <= '9':
				r |= rune(c - '0')
			case c >= 'a' && c <= 'f':
				r |= rune(c - 'a' + 10)
			case c >= 'A' && c <= 'F':
				r |= rune(c - 'A' + 10)
			}
		}
		i += 4
		switch {
		case r >= 0xD800 && r <= 0xDBFF:
			if wantLow {
				return false
			}
			wantLow = true
		case r >= 0xDC00 && r <= 0xDFFF:
			if !wantLow {
				return false
			}
			wantLow = false
		default:
			if wantLow {
				return false
			}
		}
	}
	return !wantLow
}

// isCompact reports whether valid JSON has no insignificant whitespace,
// so the common case needs no copy.
func isCompact(raw []byte) bool {
	inStr, esc := false, false
	for _, c := range raw {
		if inStr {
			switch {
			case esc:
				esc = false
			case c == '\\':
				esc = true
			case c == '"':
				inStr = false
			}
			continue
		}
		switch c {
		case '"':
			inStr = true
		case ' ', '\t', '\n', '\r':
			return false
		}
	}
	return true
}

// FormatTime formats t in the canonical form: RFC 3339, UTC, exactly six
// fractional digits.
func FormatTime(t time.Time) string { return t.UTC().Format(timeLayout) }

// MarshalJSON writes the canonical form: fields in the order id,
// timestamp, action, user, object, extra, context; user and object are
// null when absent; context is omitted when empty.
func (e Event) MarshalJSON() ([]byte, error) {
	return e.AppendJSON(make([]byte, 0, 160+len(e.Extra))), nil
}

// AppendJSON appends the canonical JSON form of e to b.
func (e Event) AppendJSON(b []byte) []byte {
	b = append(b, `{"id":`...)
	b = appendString(b, e.ID)
	b = append(b, `,"timestamp":"`...)
	b = e.Timestamp.UTC().AppendFormat(b, timeLayout)
	b = append(b, `","action":`...)
	b = appendString(b, e.Action)
	b = append(b, `,"user":`...)
	if e.User == nil {
		b = append(b, "null"...)
	} else {
		b = append(b, `{"id":`...)
		b = appendString(b, e.User.ID)
		b = append(b, `,"name":`...)
		b = appendString(b, e.User.Name)
		b = append(b, '}')
	}
	b = append(b, `,"object":`...)
	if e.Object == nil {
		b = append(b, "null"...)
	} else {
		b = append(b, `{"type":`...)
		b = appendString(b, e.Object.Type)
		b = append(b, `,"id":`...)
		b = appendString(b, e.Object.ID)
		b = append(b, '}')
	}
	b = append(b, `,"extra":`...)
	if len(e.Extra) == 0 {
		b = append(b, "{}"...)
	} else {
		b = append(b, e.Extra...)
	}
	if !e.Context.IsZero() {
		c, _ := json.Marshal(e.Context)
		b = append(b, `,"context":`...)
		b = append(b, c...)
	}
	return append(b, '}')
}

// appendString appends s as a JSON string, escaping like encoding/json
// (including <, > and & so output is safe to embed in HTML).
func appendString(b []byte, s string) []byte {
	simple := true
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < 0x20 || c == '"' || c == '\\' || c == '<' || c == '>' || c == '&' || c >= utf8.RuneSelf {
			simple = false
			break
		}
	}
	if simple {
		b = append(b, '"')
		b = append(b, s...)
		return append(b, '"')
	}
	q, _ := json.Marshal(s)
	return append(b, q...)
}

// hasLoneSurrogate reports whether valid JSON text has a \uD800–\uDFFF
// escape that is not part of a high+low pair. encoding/json accepts them,
// but they are not Unicode text and PostgreSQL's jsonb rejects them.
func hasLoneSurrogate(raw []byte) bool {
	hex4 := func(b []byte) (rune, bool) {
		if len(b) < 4 {
			return 0, false
		}
		var r rune
		for _, c := range b[:4] {
			switch {
			case c >= '0' && c <= '9':
				r = r<<4 | rune(c-'0')
			case c >= 'a' && c <= 'f':
				r = r<<4 | rune(c-'a'+10)
			case c >= 'A' && c <= 'F':
				r = r<<4 | rune(c-'A'+10)
			default:
				return 0, false
			}
		}
		return r, true
	}
	for i := 0; i < len(raw)-1; i++ {
		if raw[i] != '\\' {
			continue
		}
		if raw[i+1] != 'u' {
			i++ // skip the escaped character, which may be a backslash
			continue
		}
		r, ok := hex4(raw[i+2:])
		if !ok {
			continue
		}
		switch {
		case r >= 0xDC00 && r <= 0xDFFF:
			return true
		case r >= 0xD800 && r <= 0xDBFF:
			j := i + 6
			if j+1 >= len(raw) || raw[j] != '\\' || raw[j+1] != 'u' {
				return true
			}
			lo, ok := hex4(raw[j+2:])
			if !ok || lo < 0xDC00 || lo > 0xDFFF {
				return true
			}
			i = j + 5
		default:
			i += 5
		}
	}
	return false
}
