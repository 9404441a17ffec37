package httplog

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/netip"
	"strings"

	"github.com/eventlog/eventlog"
)

// DefaultRequestIDHeader is the header read for a request id.
const DefaultRequestIDHeader = "X-Request-ID"

// Options configure the middleware. A nil *Options means all defaults.
type Options struct {
	// User returns the acting user of a request, or nil for none. Defaults
	// to none, which leaves the user put in the request's context with
	// eventlog.ContextWithUser, if any.
	User func(*http.Request) *eventlog.User
	// TrustedProxies are the CIDRs (like "10.0.0.0/8" or "127.0.0.1/32")
	// of reverse proxies whose X-Forwarded-For and Forwarded headers are
	// believed. Defaults to none: the client IP is the peer address.
	TrustedProxies []string
	// RequestIDHeader is the request header holding a request id; when it
	// is missing or malformed a new id is generated. The id is echoed in
	// the response under the same header. Defaults to X-Request-ID.
	RequestIDHeader string
	// ErrorLog receives events that could not be logged (the response has
	// already been sent by then). Defaults to slog.Default().
	ErrorLog *slog.Logger
}

// Middleware logs events for the handlers it wraps. It is safe for
// concurrent use.
type Middleware struct {
	logger   *eventlog.Logger
	user     func(*http.Request) *eventlog.User
	trusted  []netip.Prefix
	idHeader string
	errLog   *slog.Logger
}

// New returns middleware that logs to l.
func New(l *eventlog.Logger, opts *Options) (*Middleware, error) {
	if l == nil {
		return nil, errors.New("httplog.New: logger is nil")
	}
	if opts == nil {
		opts = &Options{}
	}
	m := &Middleware{logger: l, user: opts.User, idHeader: opts.RequestIDHeader, errLog: opts.ErrorLog}
	if m.idHeader == "" {
		m.idHeader = DefaultRequestIDHeader
	}
	if m.errLog == nil {
		m.errLog = slog.Default()
	}
	for _, s := range opts.TrustedProxies {
		p, err := netip.ParsePrefix(s)
		if err != nil {
			if a, aerr := netip.ParseAddr(s); aerr == nil {
				p = netip.PrefixFrom(a, a.BitLen())
			} else {
				return nil, fmt.Errorf("httplog.New: TrustedProxies: %q is not a CIDR like 10.0.0.0/8", s)
			}
		}
		m.trusted = append(m.trusted, p.Masked())
	}
	return m, nil
}

// Action names the event a wrapped handler logs: Name outright, or Kind
// and ObjectType joined and upper-cased (CREATE + widget = CREATE_WIDGET).
type Action struct {
	Kind       string
	ObjectType string
	Name       string
}

// String returns the action name.
func (a Action) String() string {
	if a.Name != "" {
		return a.Name
	}
	return strings.ToUpper(a.Kind + "_" + a.ObjectType)
}

// Wrap returns h with event logging. It panics when the action is not a
// valid action name, since that is a programming error found at startup.
func (m *Middleware) Wrap(action Action, h http.Handler) http.Handler {
	name := action.String()
	if action.Name == "" && (action.Kind == "" || action.ObjectType == "") {
		panic("httplog: Action needs a Name, or both Kind and ObjectType")
	}
	if err := eventlog.ValidateAction(name); err != nil {
		panic("httplog: " + err.Error())
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rc := m.requestContext(r)
		w.Header().Set(m.idHeader, rc.RequestID)
		st := &state{}
		ctx := context.WithValue(r.Context(), stateKey{}, st)
		ctx = eventlog.ContextWithRequest(ctx, rc)
		var user *eventlog.User
		if m.user != nil {
			if user = m.user(r); user != nil {
				ctx = eventlog.ContextWithUser(ctx, *user)
			}
		}
		rw := &statusWriter{ResponseWriter: w}
		h.ServeHTTP(rw, r.WithContext(ctx))
		if !succeeded(r.Method, rw.status()) || st.skip {
			return
		}
		e := eventlog.Event{Action: name, User: user, Object: st.object, Extra: st.extra, Context: &rc}
		if st.object == nil && action.ObjectType != "" && st.objectID != "" {
			e.Object = &eventlog.Object{Type: action.ObjectType, ID: st.objectID}
		}
		// The response is sent; the request's own cancellation must not
		// lose the event.
		if _, err := m.logger.LogEvent(context.WithoutCancel(ctx), e); err != nil {
			m.errLog.Error("httplog: event not logged", "action", name, "path", r.URL.Path, "err", err)
		}
	})
}

// succeeded is the rule for logging: any 2xx, and 3xx after a POST (a
// form that redirects on success).
func succeeded(method string, status int) bool {
	switch {
	case status >= 200 && status < 300:
		return true
	case status >= 300 && status < 400:
		return method == http.MethodPost
	}
	return false
}

type stateKey struct{}

// state is what the handler attaches to its event while it runs.
type state struct {
	object   *eventlog.Object
	objectID string
	extra    json.RawMessage
	skip     bool
}

func stateOf(ctx context.Context) *state {
	st, _ := ctx.Value(stateKey{}).(*state)
	return st
}

// SetObject links the event of the current request to obj. It does
// nothing outside a wrapped handler.
func SetObject(ctx context.Context, obj eventlog.Object) {
	if st := stateOf(ctx); st != nil {
		st.object = &obj
	}
}

// SetObjectID links the event to the object of the Action's ObjectType
// with this id (CREATE + widget and SetObjectID(ctx, "17") link widget 17).
func SetObjectID(ctx context.Context, id string) {
	if st := stateOf(ctx); st != nil {
		st.objectID = id
	}
}

// SetExtra sets the event's extra data: an eventlog.Extra, a
// json.RawMessage or any value encoding/json turns into JSON. It returns
// an error, and changes nothing, when v cannot be encoded.
func SetExtra(ctx context.Context, v any) error {
	st := stateOf(ctx)
	if st == nil {
		return nil
	}
	raw, ok := v.(json.RawMessage)
	if !ok {
		b, err := json.Marshal(v)
		if err != nil {
			return fmt.Errorf("httplog: extra: %w", err)
		}
		raw = b
	}
	st.extra = raw
	return nil
}

// Skip cancels the event of the current request, for a handler that
// succeeded without doing what the action names.
func Skip(ctx context.Context) {
	if st := stateOf(ctx); st != nil {
		st.skip = true
	}
}

// statusWriter remembers the status code the handler sent.
type statusWriter struct {
	http.ResponseWriter
	code int
}

func (w *statusWriter) WriteHeader(code int) {
	if w.code == 0 && code >= 200 {
		w.code = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.code == 0 {
		w.code = http.StatusOK
	}
	return w.ResponseWriter.Write(b)
}

// Unwrap lets http.ResponseController reach Flush, Hijack and deadlines.
func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

func (w *statusWriter) status() int {
	if w.code == 0 {
		return http.StatusOK // a handler that writes nothing answers 200
	}
	return w.code
}
