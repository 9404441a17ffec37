package eventlog

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/google/uuid"
)

// Query limits.
const (
	DefaultLimit = 50
	MaxLimit     = 1000
)

// Query selects events. Zero fields do not filter. Results are newest
// first (timestamp descending, then id descending) and identical on every
// store.
type Query struct {
	// Actions keeps events whose action is one of these.
	Actions []string
	// UserID keeps events of this user.
	UserID string
	// ObjectType and ObjectID keep events linked to this object type
	// and/or id.
	ObjectType string
	ObjectID   string
	// Since and Until keep events with Since <= timestamp < Until.
	Since, Until time.Time
	// Text keeps events where it occurs, case-insensitively, in the action,
	// the user id or name, the object type or id, or the JSON text of extra.
	Text string
	// Where keeps events whose extra is an object with all these top-level
	// key/value pairs.
	Where []Where
	// Limit is the page size. Defaults to 50; at most 1000.
	Limit int
	// After continues from a cursor returned in Page.Next.
	After *Cursor
}

// Where is an extra containment filter: the top-level key Key equals
// Value, compared as JSON values (the number 200 does not equal the
// string "200").
type Where struct {
	Key string
	// Value is a string, a float64, a bool or nil (JSON null). Numbers are
	// compared numerically.
	Value any
}

// ParseWhere parses KEY=VALUE. VALUE is read as JSON when it is a number,
// true, false, null or a quoted string, and as a plain string otherwise:
// status=200 matches {"status":200}, status="200" matches {"status":"200"},
// plan=pro matches {"plan":"pro"}.
func ParseWhere(s string) (Where, error) {
	k, v, ok := strings.Cut(s, "=")
	if !ok {
		return Where{}, invalid("where", "%q must be KEY=VALUE", s)
	}
	// Invalid UTF-8 could never match stored JSON, and String could not
	// write it back: JSON replaces it with U+FFFD.
	if !utf8.ValidString(s) {
		return Where{}, invalid("where", "%q must be valid UTF-8", s)
	}
	if err := checkWhereKey(k); err != nil {
		return Where{}, err
	}
	w := Where{Key: k, Value: v}
	switch {
	case v == "true":
		w.Value = true
	case v == "false":
		w.Value = false
	case v == "null":
		w.Value = nil
	case len(v) >= 2 && v[0] == '"' && v[len(v)-1] == '"':
		var str string
		if err := json.Unmarshal([]byte(v), &str); err != nil {
			return Where{}, invalid("where", "%q: bad quoted string", s)
		}
		w.Value = str
	default:
		if looksNumeric(v) {
			if f, err := strconv.ParseFloat(v, 64); err == nil && json.Valid([]byte(v)) {
				w.Value = f
			}
		}
	}
	return w, nil
}

func looksNumeric(v string) bool {
	return v != "" && (v[0] == '-' || (v[0] >= '0' && v[0] <= '9'))
}

func checkWhereKey(k string) error {
	if k == "" {
		return invalid("where", "key is empty")
	}
	if len(k) > 128 {
		return invalid("where", "key is longer than 128 bytes")
	}
	if !utf8.ValidString(k) {
		return invalid("where", "key %q must be valid UTF-8", k)
	}
	for _, r := range k {
		if r == '"' || r == '\\' || r == '\'' || unicode.IsControl(r) {
			return invalid("where", "key %q must not contain quotes, backslashes or control characters", k)
		}
	}
	return nil
}

// String formats w as KEY=VALUE so that ParseWhere reads it back.
func (w Where) String() string {
	switch v := w.Value.(type) {
	case string:
		if v == "true" || v == "false" || v == "null" || looksNumeric(v) || strings.HasPrefix(v, `"`) {
			b, _ := json.Marshal(v)
			return w.Key + "=" + string(b)
		}
		return w.Key + "=" + v
	default:
		b, _ := json.Marshal(v)
		return w.Key + "=" + string(b)
	}
}

// JSONValue returns the value as JSON text.
func (w Where) JSONValue() []byte {
	b, _ := json.Marshal(w.Value)
	return b
}

// Normalize validates q and applies defaults: Limit 50 when zero. Errors
// are *ValidationError naming the field (query parameter names).
func (q *Query) Normalize() error {
	if q.Limit == 0 {
		q.Limit = DefaultLimit
	}
	if q.Limit < 1 || q.Limit > MaxLimit {
		return invalid("limit", "must be between 1 and %d", MaxLimit)
	}
	for _, a := range q.Actions {
		if err := ValidateAction(a); err != nil {
			return err
		}
	}
	for _, w := range q.Where {
		if err := checkWhereKey(w.Key); err != nil {
			return err
		}
		switch v := w.Value.(type) {
		case string:
			if !utf8.ValidString(v) {
				return invalid("where", "value of %q must be valid UTF-8", w.Key)
			}
		case nil, float64, bool:
		default:
			return invalid("where", "value of %q must be a string, number, boolean or null", w.Key)
		}
	}
	if !q.Since.IsZero() {
		q.Since = q.Since.UTC().Truncate(time.Microsecond)
	}
	if !q.Until.IsZero() {
		q.Until = q.Until.UTC().Truncate(time.Microsecond)
	}
	if !q.Since.IsZero() && !q.Until.IsZero() && !q.Since.Before(q.Until) {
		return invalid("until", "must be after since")
	}
	for _, f := range [...]struct{ n, v string }{{"user", q.UserID}, {"object_type", q.ObjectType}, {"object_id", q.ObjectID}, {"q", q.Text}} {
		if err := checkText(f.n, f.v); err != nil {
			return err
		}
	}
	return nil
}

// Page is one page of query results.
type Page struct {
	Events []Event
	// Next is the cursor of the following (older) page, or nil at the end.
	Next *Cursor
}

// Cursor is a keyset position: the (timestamp, id) of the last event of a
// page. Its text form is opaque.
type Cursor struct {
	Timestamp time.Time
	ID        string
}

// CursorAfter returns the cursor that continues after e.
func CursorAfter(e Event) *Cursor { return &Cursor{Timestamp: e.Timestamp, ID: e.ID} }

// MarshalText encodes the cursor as an opaque URL-safe string.
func (c Cursor) MarshalText() ([]byte, error) {
	raw := strconv.AppendInt(nil, c.Timestamp.UnixMicro(), 10)
	raw = append(raw, '.')
	raw = append(raw, c.ID...)
	out := make([]byte, base64.RawURLEncoding.EncodedLen(len(raw)))
	base64.RawURLEncoding.Encode(out, raw)
	return out, nil
}

// String returns the text form.
func (c Cursor) String() string { b, _ := c.MarshalText(); return string(b) }

// UnmarshalText decodes a cursor; a malformed one is a *ValidationError
// for the field "cursor".
func (c *Cursor) UnmarshalText(b []byte) error {
	bad := invalid("cursor", "is not a cursor returned by this server")
	raw := make([]byte, base64.RawURLEncoding.DecodedLen(len(b)))
	n, err := base64.RawURLEncoding.Decode(raw, b)
	if err != nil {
		return bad
	}
	ts, id, ok := bytes.Cut(raw[:n], []byte("."))
	if !ok {
		return bad
	}
	us, err := strconv.ParseInt(string(ts), 10, 64)
	if err != nil || us < -62135596800000000 || us > 253402300799999999 {
		return bad
	}
	u, err := uuid.ParseBytes(id)
	if err != nil || len(id) != 36 {
		return bad
	}
	*c = Cursor{Timestamp: time.UnixMicro(us).UTC(), ID: u.String()}
	return nil
}

// ParseCursor decodes the text form of a cursor.
func ParseCursor(s string) (*Cursor, error) {
	var c Cursor
	if err := c.UnmarshalText([]byte(s)); err != nil {
		return nil, err
	}
	return &c, nil
}

// ParseTime reads an RFC 3339 time or a relative age before now: a number
// followed by s, m, h, d or w ("90s", "15m", "12h", "7d", "2w").
func ParseTime(field, s string, now time.Time) (time.Time, error) {
	if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
		return t.UTC(), nil
	}
	d, err := ParseAge(s)
	if err != nil {
		return time.Time{}, invalid(field, "%q is neither RFC 3339 (2026-01-02T15:04:05Z) nor an age like 7d or 12h", s)
	}
	return now.Add(-d).UTC(), nil
}

// ParseAge reads a duration written as a number and a unit s, m, h, d
// (24h) or w (7d).
func ParseAge(s string) (time.Duration, error) {
	if len(s) < 2 {
		return 0, invalid("age", "%q must be a number and a unit (s, m, h, d, w)", s)
	}
	n, err := strconv.ParseInt(s[:len(s)-1], 10, 64)
	if err != nil || n < 0 {
		return 0, invalid("age", "%q must be a non-negative number and a unit (s, m, h, d, w)", s)
	}
	var unit time.Duration
	switch s[len(s)-1] {
	case 's':
		unit = time.Second
	case 'm':
		unit = time.Minute
	case 'h':
		unit = time.Hour
	case 'd':
		unit = 24 * time.Hour
	case 'w':
		unit = 7 * 24 * time.Hour
	default:
		return 0, invalid("age", "%q: unknown unit (use s, m, h, d or w)", s)
	}
	if n > int64(200*365*24*time.Hour/unit) {
		return 0, invalid("age", "%q is too long", s)
	}
	return time.Duration(n) * unit, nil
}

// ActionCount is one row of the action list.
type ActionCount struct {
	Action string `json:"action"`
	Count  int64  `json:"count"`
}

// Stats are pinax-eventlog's four figures. Used is the number of distinct
// users with an event in the last N days; active is those of them whose
// first event is older than N days.
type Stats struct {
	UsedSeven    int64 `json:"used_seven"`
	UsedThirty   int64 `json:"used_thirty"`
	ActiveSeven  int64 `json:"active_seven"`
	ActiveThirty int64 `json:"active_thirty"`
}

// Interval is the bucket width of a series.
type Interval string

// Intervals.
const (
	Hour Interval = "hour"
	Day  Interval = "day"
)

// Duration returns the bucket width.
func (i Interval) Duration() time.Duration {
	if i == Hour {
		return time.Hour
	}
	return 24 * time.Hour
}

// SeriesQuery asks for event counts per bucket in [Since, Until).
type SeriesQuery struct {
	Interval Interval
	Since    time.Time
	Until    time.Time
	// Actions, when set, counts only these actions.
	Actions []string
}

// MaxBuckets bounds a series.
const MaxBuckets = 10000

// Normalize validates the series query and aligns Since down and Until up
// to bucket boundaries (UTC).
func (s *SeriesQuery) Normalize() error {
	if s.Interval == "" {
		s.Interval = Day
	}
	if s.Interval != Hour && s.Interval != Day {
		return invalid("interval", "must be hour or day")
	}
	if s.Since.IsZero() {
		return invalid("since", "is required")
	}
	if s.Until.IsZero() {
		return invalid("until", "is required")
	}
	w := s.Interval.Duration()
	s.Since = s.Since.UTC().Truncate(w)
	if u := s.Until.UTC(); u.Truncate(w).Equal(u) {
		s.Until = u
	} else {
		s.Until = u.Truncate(w).Add(w)
	}
	if !s.Since.Before(s.Until) {
		return invalid("until", "must be after since")
	}
	if n := s.Until.Sub(s.Since) / w; n > MaxBuckets {
		return invalid("since", "range has %d buckets; the limit is %d", n, MaxBuckets)
	}
	for _, a := range s.Actions {
		if err := ValidateAction(a); err != nil {
			return err
		}
	}
	return nil
}

// Bucket is one point of a series.
type Bucket struct {
	Start time.Time `json:"start"`
	Count int64     `json:"count"`
}

// FillSeries turns sparse counts keyed by bucket start (Unix seconds) into
// the dense series of a normalized query, empty buckets included.
func FillSeries(q SeriesQuery, counts map[int64]int64) []Bucket {
	w := q.Interval.Duration()
	out := make([]Bucket, 0, int(q.Until.Sub(q.Since)/w))
	for t := q.Since; t.Before(q.Until); t = t.Add(w) {
		out = append(out, Bucket{Start: t, Count: counts[t.Unix()]})
	}
	return out
}

// Matches reports whether e passes q's filters (Limit and After aside),
// with the meaning the stores give them, so a live stream shows what a
// list with the same filters would. Text is matched after lower-casing
// both sides with strings.ToLower; the stores guarantee this for ASCII
// letters (SQLite's lower() folds ASCII only).
func (q *Query) Matches(e *Event) bool {
	if len(q.Actions) > 0 && !slices.Contains(q.Actions, e.Action) {
		return false
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
	if q.Text != "" && !containsText(e, strings.ToLower(q.Text)) {
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

func containsText(e *Event, lowerText string) bool {
	in := func(s string) bool { return strings.Contains(strings.ToLower(s), lowerText) }
	if in(e.Action) || in(string(e.Extra)) {
		return true
	}
	if e.User != nil && (in(e.User.ID) || in(e.User.Name)) {
		return true
	}
	return e.Object != nil && (in(e.Object.Type) || in(e.Object.ID))
}

// jsonEqual compares a stored JSON value with a Where value: numbers
// numerically, strings, booleans and null exactly; objects and arrays
// never equal a filter value.
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
