package admin

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/eventlog/eventlog"
)

// Querier is what the admin reads from a store: the read half of
// eventlog.Store. Every eventlog.Store satisfies it.
type Querier interface {
	Get(ctx context.Context, id string) (eventlog.Event, error)
	Query(ctx context.Context, q eventlog.Query) (eventlog.Page, error)
	Actions(ctx context.Context) ([]eventlog.ActionCount, error)
	Stats(ctx context.Context, now time.Time) (eventlog.Stats, error)
	Series(ctx context.Context, q eventlog.SeriesQuery) ([]eventlog.Bucket, error)
	ActiveUsers(ctx context.Context, q eventlog.SeriesQuery) ([]eventlog.Bucket, error)
	ReadAfter(ctx context.Context, afterID string, limit int) ([]eventlog.Event, error)
}

// Config configures the admin handler.
type Config struct {
	// Store is where events are read. Required.
	Store Querier
	// Logger feeds the live tail. Defaults to none: the live tail page
	// then says it is unavailable.
	Logger *eventlog.Logger
	// Authorize, when set, decides every request instead of the admin's
	// own login: an application mounting the admin passes its own check
	// (for example "is a staff user"). Requests it refuses get 403.
	// Defaults to nil: the admin's own login with Accounts.
	Authorize func(*http.Request) bool
	// Accounts holds the admin users and the session key for the admin's
	// own login. Required when Authorize is nil.
	Accounts *Accounts
	// BasePath is the URL path the admin is mounted at, ending in "/";
	// every link and cookie is made under it. Mount the handler at it
	// directly (mux.Handle(BasePath, h)) or behind
	// http.StripPrefix(strings.TrimSuffix(BasePath, "/"), h).
	// Defaults to "/admin/".
	BasePath string
	// Templates holds the host application's event templates, looked up
	// by Event.TemplateName() ("eventlog/created_widget.html"); each is
	// an html/template executed with the Event (Extra decoded as
	// .Data). Defaults to none: a sentence made from the event's fields.
	Templates fs.FS
	// SessionTTL is how long a login lasts. Defaults to 12 hours.
	SessionTTL time.Duration
	// LoginFailures is how many failed logins a client address or a user
	// name may make per LoginWindow before further attempts are refused
	// (429). Defaults to 10.
	LoginFailures int
	// LoginWindow is the throttling window. Defaults to 15 minutes.
	LoginWindow time.Duration
	// PageSize is the number of events per page. Defaults to 50.
	PageSize int
	// SearchBudget bounds the rows one free-text search (q) request
	// reads: the events page searches the newest window, ending at the
	// page's position, that holds at most this many events by the
	// rollups' counts, and offers to search older from where it stopped.
	// Defaults to DefaultSearchBudget (25,000). A search with a user or
	// object id filter is not windowed: that index bounds it.
	SearchBudget int
	// Now returns the current time. Defaults to time.Now.
	Now func() time.Time
	// ErrorLog receives errors that are not shown to the user.
	// Defaults to slog.Default().
	ErrorLog *slog.Logger
}

// Handler serves the admin UI. Create it with New.
type Handler struct {
	store    Querier
	logger   *eventlog.Logger
	auth     func(*http.Request) bool
	accounts *Accounts
	sessions *sessions
	throttle *throttle
	base     string
	hostTmpl *hostTemplates
	pageSize int
	budget   int
	now      func() time.Time
	log      *slog.Logger
	pages    pageTemplates
	mux      *http.ServeMux
	cop      *http.CrossOriginProtection

	shutdownMu sync.Mutex
	shutdown   map[*http.Server]chan struct{}
}

// New validates cfg and returns the admin handler.
func New(cfg *Config) (http.Handler, error) { return newHandler(cfg) }

func newHandler(cfg *Config) (*Handler, error) {
	if cfg == nil || cfg.Store == nil {
		return nil, errors.New("admin.New: Config.Store is required")
	}
	if cfg.Authorize == nil && cfg.Accounts == nil {
		return nil, errors.New("admin.New: Config.Accounts is required when Config.Authorize is nil")
	}
	h := &Handler{
		store:    cfg.Store,
		logger:   cfg.Logger,
		auth:     cfg.Authorize,
		accounts: cfg.Accounts,
		base:     cfg.BasePath,
		pageSize: cfg.PageSize,
		budget:   cfg.SearchBudget,
		now:      cfg.Now,
		log:      cfg.ErrorLog,
		cop:      http.NewCrossOriginProtection(),
		shutdown: map[*http.Server]chan struct{}{},
	}
	if h.base == "" {
		h.base = "/admin/"
	}
	if !strings.HasPrefix(h.base, "/") || !strings.HasSuffix(h.base, "/") {
		return nil, fmt.Errorf("admin.New: Config.BasePath %q must begin and end with /", cfg.BasePath)
	}
	if h.pageSize == 0 {
		h.pageSize = eventlog.DefaultLimit
	}
	if h.pageSize < 1 || h.pageSize > eventlog.MaxLimit {
		return nil, fmt.Errorf("admin.New: Config.PageSize %d must be between 1 and %d", cfg.PageSize, eventlog.MaxLimit)
	}
	if h.budget == 0 {
		h.budget = DefaultSearchBudget
	}
	if h.budget < 0 {
		return nil, fmt.Errorf("admin.New: Config.SearchBudget %d must be positive", cfg.SearchBudget)
	}
	if h.now == nil {
		h.now = time.Now
	}
	if h.log == nil {
		h.log = slog.Default()
	}
	ttl := cfg.SessionTTL
	if ttl == 0 {
		ttl = 12 * time.Hour
	}
	if ttl < 0 {
		return nil, fmt.Errorf("admin.New: Config.SessionTTL %v must be positive", cfg.SessionTTL)
	}
	fails, window := cfg.LoginFailures, cfg.LoginWindow
	if fails == 0 {
		fails = 10
	}
	if window == 0 {
		window = 15 * time.Minute
	}
	if fails < 0 || window < 0 {
		return nil, errors.New("admin.New: Config.LoginFailures and LoginWindow must be positive")
	}
	h.throttle = newThrottle(fails, window, h.now)
	if cfg.Templates != nil {
		h.hostTmpl = &hostTemplates{fsys: cfg.Templates, cache: map[string]*hostTemplate{}}
	}
	if h.auth == nil {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		key, err := cfg.Accounts.SessionKey(ctx)
		if err != nil {
			return nil, fmt.Errorf("admin.New: %w", err)
		}
		h.sessions = &sessions{key: key, accounts: cfg.Accounts, ttl: ttl, now: h.now}
	}
	var err error
	if h.pages, err = parsePages(); err != nil {
		return nil, fmt.Errorf("admin.New: %w", err)
	}
	h.routes()
	return h, nil
}

func (h *Handler) routes() {
	m := http.NewServeMux()
	m.Handle("GET /assets/", assetHandler())
	m.HandleFunc("GET /login", h.loginPage)
	m.HandleFunc("POST /login", h.loginSubmit)
	m.HandleFunc("POST /logout", h.authed(h.logout))
	m.HandleFunc("GET /{$}", h.authed(h.eventsPage))
	m.HandleFunc("GET /events", h.authed(h.eventsPage))
	m.HandleFunc("GET /events/{id}", h.authed(h.eventPage))
	m.HandleFunc("GET /user", h.authed(h.userTimeline))
	m.HandleFunc("GET /object", h.authed(h.objectTimeline))
	m.HandleFunc("GET /dashboard", h.authed(h.dashboardPage))
	m.HandleFunc("GET /dashboard.json", h.authed(h.dashboardJSON))
	m.HandleFunc("GET /live", h.authed(h.livePage))
	m.HandleFunc("GET /live/stream", h.authed(h.liveStream))
	m.HandleFunc("GET /export.csv", h.authed(h.exportCSV))
	m.HandleFunc("GET /export.jsonl", h.authed(h.exportJSONL))
	h.mux = m
}

// ServeHTTP implements http.Handler.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	hd := w.Header()
	hd.Set("Content-Security-Policy", "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'")
	hd.Set("X-Content-Type-Options", "nosniff")
	hd.Set("Referrer-Policy", "same-origin")
	hd.Set("X-Frame-Options", "DENY")
	if err := h.cop.Check(r); err != nil {
		http.Error(w, "cross-origin request refused", http.StatusForbidden)
		return
	}
	// Serve both a mount behind http.StripPrefix and a direct one
	// (mux.Handle(BasePath, h)).
	if p := r.URL.Path; strings.HasPrefix(p, h.base) {
		r2 := new(http.Request)
		*r2 = *r
		u := *r.URL
		u.Path = "/" + strings.TrimPrefix(p, h.base)
		u.RawPath = ""
		r2.URL = &u
		r = r2
	}
	h.mux.ServeHTTP(w, r)
}

type ctxKey struct{}

// authed wraps a page so it is served only to an authorized user: the
// host's Authorize, or a valid session (others are sent to the login
// page, or get 401 for data endpoints). POSTs also need the CSRF token.
func (h *Handler) authed(next func(http.ResponseWriter, *http.Request)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if h.auth != nil {
			if !h.auth(r) {
				http.Error(w, "forbidden", http.StatusForbidden)
				return
			}
			next(w, r)
			return
		}
		var s session
		ok := false
		if c, err := r.Cookie(sessionCookie); err == nil {
			s, ok = h.sessions.check(r.Context(), c.Value)
		}
		if !ok {
			if r.Method == http.MethodGet && !isData(r.URL.Path) {
				back := h.base + strings.TrimPrefix(r.URL.Path, "/")
				if r.URL.RawQuery != "" {
					back += "?" + r.URL.RawQuery
				}
				http.Redirect(w, r, h.base+"login?next="+url.QueryEscape(back), http.StatusSeeOther)
				return
			}
			http.Error(w, "login required", http.StatusUnauthorized)
			return
		}
		if r.Method == http.MethodPost {
			r.Body = http.MaxBytesReader(w, r.Body, 16<<10) // the admin's forms are tiny
		}
		if r.Method == http.MethodPost && !h.sessions.csrfOK("session", s.Nonce, r.PostFormValue("csrf")) {
			http.Error(w, "invalid or missing CSRF token: reload the page and try again", http.StatusForbidden)
			return
		}
		next(w, r.WithContext(context.WithValue(r.Context(), ctxKey{}, s)))
	}
}

// isData reports whether path is an endpoint a script or a download
// reads, which answers 401 rather than redirecting to the login page.
func isData(path string) bool {
	return strings.HasSuffix(path, ".json") || strings.HasPrefix(path, "/export") || path == "/live/stream"
}

func sessionOf(r *http.Request) (session, bool) {
	s, ok := r.Context().Value(ctxKey{}).(session)
	return s, ok
}

// clientIP is the address the request came from; behind a reverse
// proxy every client shares the proxy's address, which throttling then
// counts together (safe, if strict).
func clientIP(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

// fail answers with a status and a message safe to show: validation
// errors name the bad parameter, anything else is logged and hidden.
func (h *Handler) fail(w http.ResponseWriter, r *http.Request, err error) {
	status, msg := http.StatusInternalServerError, "internal error"
	switch {
	case errors.Is(err, eventlog.ErrInvalid):
		status, msg = http.StatusBadRequest, err.Error()
	case errors.Is(err, eventlog.ErrNotFound):
		status, msg = http.StatusNotFound, "not found"
	case errors.Is(err, context.Canceled):
		return
	default:
		h.log.Error("admin: request failed", "path", r.URL.Path, "err", err)
	}
	h.render(w, r, status, "error", &errorPage{Status: status, Message: msg})
}
